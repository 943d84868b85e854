"""Due dates, extensions and late penalties, kept in the gradebook exactly as nbgrader keeps them.

The gradebook fields are nbgrader's: the assignment's `duedate`, the submission's `timestamp`
and `extension`, and each submitted notebook's `late_submission_penalty`; `nbgrader export`
subtracts the penalty, and so do `cnncourse export` and the LMS exports (`final_score`).

Set them the nbgrader way and `cnncourse grade` records what `nbgrader autograde` records:

    nbgrader db assignment add LAB --duedate "2026-10-05 23:59:00 UTC"
    submitted/STUDENT/LAB/timestamp.txt       written by `nbgrader submit`, copied by `collect`
    c.LateSubmissionPlugin.penalty_method = "zero"           # nbgrader's 'none' (default) | 'zero'
    c.AssignLatePenalties.plugin_class = "some.module.Plugin"  # any nbgrader late-penalty plugin

or with the course's conveniences, which write the same fields:

    c.CnnCourse.due_dates = {"lab1_convolution": "2026-10-05 23:59:00 Europe/Berlin"}
    cnncourse extend STUDENT LAB --hours 48   # extensions.csv + the submission's extension
    c.AssignLatePenalties.plugin_class = "cnncourse.grading.run.late_penalty.SharePerPeriod"
    c.SharePerPeriod.share = 0.1   # a tenth of the score per period started after the due date
    c.SharePerPeriod.period = "day"   # or "hour"
    c.SharePerPeriod.cap = 0.5     # never more than half the score

`SharePerPeriod` (late_penalty.py) is an ordinary nbgrader plugin: plain `nbgrader autograde`
applies it too.
A due date in `c.CnnCourse.due_dates` replaces the gradebook's when a lab is graded; a lab it
does not name keeps the gradebook's. An extension in extensions.csv replaces the gradebook's;
one set in formgrader stays when the file does not name the student and lab.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass
from pathlib import Path

from cnncourse.grading.run.course import Course, load_config

EXTENSIONS_FILE = "extensions.csv"  # student,lab,hours in the course folder


def read_timestamp_text(folder: Path) -> str | None:
    """The text of a submission's timestamp.txt (as `nbgrader submit` writes it), or None."""
    path = Path(folder) / "timestamp.txt"
    try:
        return path.read_text(errors="replace").strip() if path.is_file() else None
    except OSError:
        return None


def parse_time(text: str, what: str) -> datetime.datetime:
    """nbgrader's parse_utc (naive UTC), with an error that names what could not be read."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{what}: {text!r} is not a date and time ({error})") from None


def final_score(submission) -> float:
    """What nbgrader's export writes as the score: the raw score less the late penalty."""
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0.0))


# ----------------------------------------------------------------------------- extensions
def read_extensions(course: Course) -> dict[tuple[str, str], float]:
    """(student, lab) -> hours, from the course's extensions.csv (none when it is missing)."""
    path = course.root / EXTENSIONS_FILE
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    extensions = {}
    for number, row in enumerate(rows, start=2):
        try:
            extensions[(row["student"], row["lab"])] = float(row["hours"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"{path}, line {number}: expected the columns student,lab,hours with hours a "
                f"number, got {row}"
            ) from None
    return extensions


def write_extension(course: Course, student: str, lab: str, hours: float) -> Path:
    """Set (replace) a student's extension for a lab in extensions.csv."""
    if hours < 0:
        raise ValueError(f"an extension is a number of hours >= 0, got {hours}")
    extensions = read_extensions(course)
    extensions[(student, lab)] = hours
    path = course.root / EXTENSIONS_FILE
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lab", "hours"])
        for (who, which), length in sorted(extensions.items()):
            writer.writerow([who, which, f"{length:g}"])
    return path


# ----------------------------------------------------------------------------- the policy
@dataclass
class LatePolicy:
    """The course's due dates, extensions and nbgrader late-penalty preprocessor."""

    due_dates: dict[str, datetime.datetime]
    extensions: dict[tuple[str, str], float]
    assigner: object  # nbgrader's AssignLatePenalties, its plugin initialised

    @classmethod
    def load(cls, course: Course) -> LatePolicy:
        from nbgrader.preprocessors import AssignLatePenalties
        from traitlets.config import Config

        config = load_config(course.config_file) if course.config_file else Config()
        due = dict(config.get("CnnCourse", {}).get("due_dates", {}) or {})
        due_dates = {lab: parse_time(str(text), f"c.CnnCourse.due_dates[{lab!r}]")
                     for lab, text in due.items()}  # fmt: skip
        assigner = AssignLatePenalties(config=config)
        assigner.init_plugin()
        return cls(due_dates, read_extensions(course), assigner)

    def apply(self, gb, lab: str, submission, timestamp: str | None) -> str | None:
        """Write the due date, the submission time and extension, then each notebook's
        penalty as nbgrader's AssignLatePenalties does; no commit. Returns a note for the
        summary when the submission is late, else None."""
        if lab in self.due_dates and submission.assignment.duedate != self.due_dates[lab]:
            submission.assignment.duedate = self.due_dates[lab]
        if timestamp:  # nbgrader keeps the recorded time when timestamp.txt is missing or empty
            what = f"timestamp.txt of {submission.student.id}/{lab}"
            submission.timestamp = parse_time(timestamp, what)
        hours = self.extensions.get((submission.student.id, lab))
        if hours is not None:
            submission.extension = datetime.timedelta(hours=hours) if hours else None
        gb.db.flush()
        return self.assign_penalties(gb, submission)

    def assign_penalties(self, gb, submission) -> str | None:
        late = submission.total_seconds_late
        total = 0.0
        for notebook in submission.notebooks:
            gb.db.expire(notebook)  # its score is an SQL sum over the grades just written
            notebook.late_submission_penalty = None
            if late > 0:
                penalty = self.assigner.plugin_inst.late_submission_penalty(
                    submission.student.id, notebook.score, late
                )
                if penalty is not None:
                    penalty = self.assigner._check_late_penalty(notebook, penalty)  # nbgrader's
                    notebook.late_submission_penalty = penalty
                    total += penalty
        if late <= 0:
            return None
        return f"late by {format_lateness(late)}: penalty {total:g}"


def format_lateness(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def apply_late_policy(course: Course, gb, lab: str, submission, timestamp: str | None):
    """`LatePolicy.apply` with the course's current policy (read from its configuration)."""
    return LatePolicy.load(course).apply(gb, lab, submission, timestamp)


def late_submissions(course: Course, lab: str) -> list[str]:
    """One line per late submission of `lab` in the gradebook: when, how late, the penalty."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            submissions = gb.find_assignment(lab).submissions
        except MissingEntry:
            return []
        lines = []
        for s in sorted(submissions, key=lambda s: s.student.id):
            if s.total_seconds_late > 0:
                extension = f", extension {s.extension}" if s.extension else ""
                lines.append(f"{s.student.id}: submitted {s.timestamp:%Y-%m-%d %H:%M} UTC, late by "
                             f"{format_lateness(s.total_seconds_late)}{extension}, penalty "
                             f"{float(s.late_submission_penalty or 0):g}")  # fmt: skip
        return lines
