"""Due dates set the nbgrader way give the same grades from `cnncourse grade` as from plain
`nbgrader autograde`, in every export; a regrade through `cnncourse grade` records nothing until
confirmed (issue 20). Real submissions of the tiny lab, graded both ways."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from cnncourse.cli import main
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.reports.lms_export import read_gradebook
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import grade_lab
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow

DUE = "2026-10-05 12:00:00 UTC"
SUBMITTED = {"early": "2026-10-05 10:00:00.000000 UTC",
             "late90min": "2026-10-05 13:30:00.000000 UTC",
             "late5h": "2026-10-05 17:00:00.000000 UTC"}  # fmt: skip
# nbgrader's way: a late-penalty plugin named in nbgrader_config.py (a quarter of the score per
# hour started, at most three quarters), the due date with `nbgrader db assignment add`
CONFIG = (
    "c = get_config()  # noqa: F821\n"
    'c.CourseDirectory.source_directory = "solutions"\n'
    'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n'
    "c.Execute.timeout = 30\n"
    'c.AssignLatePenalties.plugin_class = "cnncourse.grading.run.late_penalty.SharePerPeriod"\n'
    'c.SharePerPeriod.share = 0.25\nc.SharePerPeriod.period = "hour"\nc.SharePerPeriod.cap = 0.75\n'
)
COMPARED = ("duedate", "timestamp", "raw_score", "late_submission_penalty", "score")


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root,
                          capture_output=True, text=True)  # fmt: skip
    return done


def exported(root: Path) -> dict[str, dict[str, str]]:
    assert nbgrader(root, "export", "--to", "grades.csv").returncode == 0
    with open(root / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def submit_correct(course: Course, student: str) -> None:
    """The demo's correct notebook of the tiny lab, handed in by `student`."""
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    folder = course.submitted / student / TINY
    folder.mkdir(parents=True)
    nbformat.write(synthetic_submission(source, release, "correct"), folder / f"{TINY}.ipynb")


def late_class(root: Path) -> Course:
    """The tiny course, three honest students with nbgrader's timestamp.txt, the nbgrader way."""
    course = make_course(root)
    (root / "nbgrader_config.py").write_text(CONFIG)
    for student, when in SUBMITTED.items():
        submit_correct(course, student)
        (course.submitted / student / TINY / "timestamp.txt").write_text(when + "\n")
    done = nbgrader(root, "db", "assignment", "add", TINY, f"--duedate={DUE}")
    assert done.returncode == 0, done.stderr
    return Course.load(root)


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    ours = late_class(tmp_path_factory.mktemp("cnncourse"))
    plain = late_class(tmp_path_factory.mktemp("plain"))
    grade_lab(ours, TINY, options=replace(FAST, skip_preflight=True))
    assert nbgrader(plain.root, "generate_assignment", TINY, "--force").returncode == 0
    done = nbgrader(plain.root, "autograde", TINY)
    assert done.returncode == 0, done.stderr
    return ours, plain, exported(ours.root), exported(plain.root)


def test_cnncourse_grade_records_what_nbgrader_autograde_records(graded_both_ways):
    ours, plain, mine, theirs = graded_both_ways
    assert set(mine) == set(theirs) == set(SUBMITTED)
    for student in SUBMITTED:
        assert {k: mine[student][k] for k in COMPARED} == {k: theirs[student][k] for k in COMPARED}
    # the expected penalties, worked out by hand: 3 points, a quarter per hour started
    assert {s: float(r["score"]) for s, r in mine.items()} == {
        "early": 3.0, "late90min": 1.5, "late5h": 0.75}  # fmt: skip
    lms = read_gradebook(ours.db_url, ours.course_id).scores
    assert {s: lms[s][TINY] for s in SUBMITTED} == {s: float(mine[s]["score"]) for s in mine}


def test_a_regrade_records_nothing_until_confirmed(graded_both_ways, monkeypatch, capsys):
    ours, _, before, _ = graded_both_ways  # before: the first grading's export
    notebook = ours.autograded / "late90min" / TINY / f"{TINY}.ipynb"
    notebook.unlink()  # the refused regrade must not write autograded/ either
    # a new due date two hours later: late90min is on time, late5h 3 h late
    (ours.root / "nbgrader_config.py").write_text(
        CONFIG + f'c.CnnCourse.due_dates = {{"{TINY}": "2026-10-05 14:00:00 UTC"}}\n')
    argv = ["grade", TINY, "--course", str(ours.root), "--jobs", "2", "--timeout", "90",
            "--cell-timeout", "30", "--skip-preflight"]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # run by a script: nobody to ask
    capsys.readouterr()
    assert main(argv) == 4
    out, err = capsys.readouterr()
    assert re.search(r"late90min +1\.5 +-> +3\b", out), out
    assert re.search(r"late5h +0\.75 +-> +0\.75\b", out) is None  # unchanged: not listed
    assert "NOT RECORDED" in err
    assert exported(ours.root) == before
    assert not notebook.exists()

    assert main([*argv, "--yes"]) == 0
    after = exported(ours.root)
    assert {s: float(r["score"]) for s, r in after.items()} == {
        "early": 3.0, "late90min": 3.0, "late5h": 0.75}  # fmt: skip
    assert notebook.exists()
