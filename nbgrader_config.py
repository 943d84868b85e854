"""nbgrader configuration of the course; the course directory is the repository root.

    solutions/LAB/LAB.ipynb   source notebooks (solutions and hidden tests), edited by instructors
    exercises/LAB/LAB.ipynb   the student release: `nbgrader generate_assignment LAB --force`
    submitted/STUDENT/LAB/    hand-ins to grade; autograded/ and feedback/ are written beside it
    gradebook.db              SQLite gradebook (never committed)

The labs are the folders of solutions/ (lab1_convolution ... lab6_transposed_segmentation).

Run nbgrader from the repository root: `nbgrader generate_assignment lab1_convolution`.
"""

import sys
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader injects get_config)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Seconds one cell of a lab may run before it is interrupted: about four to five times the lab's
# slowest solution cell, measured on a 2-core machine under a load of 16 (slowest cells: lab 1
# 3.9 s, labs 2 and 3 under 1 s, lab 4 36 s training LeNet, lab 5 41 s importing Keras). This is
# also what an infinite loop costs the grader per submission: a numpy lab fails one in seconds,
# while lab 4, which trains networks inside single cells, gets minutes.
# `cnncourse grade` reads this table (`--cell-timeout` overrides it); plain nbgrader gets the
# same value through Execute.timeout below. A lab missing here gets the largest value.
c.CnnCourse.cell_timeouts = {
    "lab1_convolution": 30,
    "lab2_conv_layer": 30,
    "lab3_pooling": 30,
    "lab4_lenet": 180,
    "lab5_model_zoo": 150,
    "lab6_transposed_segmentation": 180,  # trains an encoder-decoder (about 30 s) in one cell
}


def lab_on_command_line(labs, argv=sys.argv[1:]):
    """The lab an nbgrader command works on (`autograde LAB`, `--assignment=LAB`, or a path
    inside the lab's folder, as `validate` gets), or None."""
    for arg in argv:
        for part in Path(arg.split("=", 1)[-1]).parts:
            if part in labs:
                return part
    return None


_lab = lab_on_command_line(c.CnnCourse.cell_timeouts)
c.Execute.timeout = c.CnnCourse.cell_timeouts.get(_lab, max(c.CnnCourse.cell_timeouts.values()))
# Students see every failing test, not only the first, when they validate.
c.Validator.validate_all = True

# Feedback without the hidden tests: plain `nbgrader generate_feedback` and formgrader's button
# make what `cnncourse feedback LAB` makes (cnncourse/grading/run/feedback.py).
from cnncourse.grading.run.feedback import feedback_config  # noqa: E402

c.merge(feedback_config())

# Due dates and late penalties (cnncourse/grading/run/deadlines.py), read by `cnncourse grade`
# and, being nbgrader's own settings, by plain `nbgrader autograde`. A lab named here gets this
# due date in the gradebook when graded; else the gradebook's (`nbgrader db assignment add LAB
# --duedate ...`). Extensions: `cnncourse extend STUDENT LAB --hours N` or formgrader.
c.CnnCourse.due_dates = {}  # e.g. {"lab1_convolution": "2026-10-05 23:59:00 Europe/Berlin"}
# nbgrader's policy: "none" (no penalty) or "zero" (a late notebook scores 0); for a share per
# hour or day started, capped:
#   c.AssignLatePenalties.plugin_class = "cnncourse.grading.run.late_penalty.SharePerPeriod"
#   c.SharePerPeriod.share = 0.1; c.SharePerPeriod.period = "day"; c.SharePerPeriod.cap = 0.5
c.LateSubmissionPlugin.penalty_method = "none"
