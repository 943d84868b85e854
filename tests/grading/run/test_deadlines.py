"""Due dates, extensions and late penalties (issue 20): the gradebook fields nbgrader keeps, set
by recording a result, by `cnncourse late` and `cnncourse extend`, subtracted by every export.

These tests record results made here (no kernel runs); test_deadlines_nbgrader.py grades real
submissions both ways and compares with plain `nbgrader autograde`.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import shutil
import warnings
from pathlib import Path

import pytest
from traitlets import TraitError

from cnncourse.cli import main
from cnncourse.grading.reports.class_report import class_report, format_report
from cnncourse.grading.reports.lms_export import read_gradebook
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.deadlines import read_extensions
from cnncourse.grading.run.gradebook import record
from cnncourse.grading.run.jobs import CellGrade, Result
from cnncourse.grading.run.late_penalty import SharePerPeriod
from cnncourse.grading.run.nbgrader_commands import ensure_assignment, export_grades
from cnncourse.grading.run.regrade import RegradeRefused, reapply_late_policy
from tests.grading.tiny_course import TINY, make_course

DUE = "2026-10-05 12:00:00 UTC"
BASE_CONFIG = (
    "c = get_config()  # noqa: F821\n"
    'c.CourseDirectory.source_directory = "solutions"\n'
    'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n'
)
# student -> (hours after the due date it was submitted, share of the tests it passed)
CLASS = {"early": (-2, 1.0), "late90min": (1.5, 1.0), "late5h": (5, 2 / 3), "notime": (None, 1)}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A released tiny course with the lab's cells in its gradebook (copied by each test)."""
    course = make_course(tmp_path_factory.mktemp("released"))
    ensure_assignment(course, TINY)
    return course.root


@pytest.fixture
def course(released, tmp_path) -> Course:
    root = tmp_path / "course"
    shutil.copytree(released, root)
    return Course.load(root)


def configure(course: Course, extra: str) -> None:
    (course.root / "nbgrader_config.py").write_text(BASE_CONFIG + extra)


def gradebook(course: Course):
    from nbgrader.api import Gradebook

    warnings.simplefilter("ignore")
    return Gradebook(course.db_url, course.course_id)


def cell_points(course: Course) -> dict[str, float]:
    with gradebook(course) as gb:
        notebook = gb.find_assignment(TINY).notebooks[0]
        return {cell.name: float(cell.max_score) for cell in notebook.grade_cells}


def submitted_at(hours: float | None) -> str | None:
    if hours is None:
        return None
    due = datetime.datetime(2026, 10, 5, 12)
    return (due + datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def record_class(course: Course) -> dict[str, Result]:
    """Record a result for every student of CLASS, as the driver does after a worker."""
    points = cell_points(course)
    results = {}
    for student, (hours, share) in CLASS.items():
        first = min(points)  # a student with share < 1 fails the other cells
        grades = [CellGrade(TINY, cell, top if share == 1 or cell == first else 0.0, top)
                  for cell, top in points.items()]  # fmt: skip
        results[student] = Result(student, "ok", grades=grades, timestamp=submitted_at(hours))
        record(course, TINY, results[student])
    return results


def scores(course: Course) -> dict[str, float]:
    """Each student's score less the late penalty, read from the gradebook here."""
    with gradebook(course) as gb:
        return {s.student.id: float(s.score) - float(s.late_submission_penalty or 0)
                for s in gb.find_assignment(TINY).submissions}  # fmt: skip


def exported(course: Course) -> dict[str, dict[str, str]]:
    """`nbgrader export` (what `cnncourse export` runs) as {student: row}."""
    path = export_grades(course, course.root / "grades.csv")
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


# ----------------------------------------------------------------------------- the plugin
def test_share_per_period_takes_a_share_per_period_started_and_stops_at_the_cap():
    plugin = SharePerPeriod(share=0.1, period="day", cap=0.25)
    assert plugin.late_submission_penalty("s", 10.0, 1) == pytest.approx(1.0)  # 1 s: one day
    assert plugin.late_submission_penalty("s", 10.0, 86400 + 1) == pytest.approx(2.0)
    assert plugin.late_submission_penalty("s", 10.0, 10 * 86400) == pytest.approx(2.5)
    hourly = SharePerPeriod(share=0.5, period="hour")
    assert hourly.late_submission_penalty("s", 4.0, 3600 * 1.5) == pytest.approx(4.0)
    with pytest.raises(TraitError, match="share must be in"):
        SharePerPeriod(share=1.5)


# ----------------------------------------------------------------------------- recording
def test_nbgrader_way_due_date_and_zero_policy_are_recorded_and_exported_alike(course):
    """Due date in the gradebook (`nbgrader db assignment add --duedate`), timestamp.txt,
    c.LateSubmissionPlugin.penalty_method = 'zero': the late students get nbgrader's zero in
    the gradebook, in `nbgrader export` and in the LMS export."""
    configure(course, 'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    with gradebook(course) as gb:
        gb.update_or_create_assignment(TINY, duedate=DUE)
    record_class(course)
    rows = exported(course)
    lms = read_gradebook(course.db_url, course.course_id).scores
    expected = {"early": 3.0, "late90min": 0.0, "late5h": 0.0, "notime": 3.0}
    for student, score in expected.items():
        assert float(rows[student]["score"]) == score, rows[student]
        assert lms[student][TINY] == score, student
    assert rows["late5h"]["timestamp"].startswith("2026-10-05 17:00:00")
    assert float(rows["late5h"]["raw_score"]) == 2.0
    assert float(rows["late5h"]["late_submission_penalty"]) == 2.0
    assert rows["notime"]["timestamp"] == ""


def test_course_way_due_date_extension_and_share_policy(course):
    """c.CnnCourse.due_dates, extensions.csv (`cnncourse extend`) and SharePerPeriod, a quarter
    of the score per hour started, at most half: the same gradebook fields."""
    configure(course, f'c.CnnCourse.due_dates = {{"{TINY}": "{DUE}"}}\n'
                      'c.AssignLatePenalties.plugin_class = '
                      '"cnncourse.grading.run.late_penalty.SharePerPeriod"\n'
                      'c.SharePerPeriod.share = 0.25\nc.SharePerPeriod.period = "hour"\n'
                      "c.SharePerPeriod.cap = 0.5\n")  # fmt: skip
    assert main(["extend", "late90min", TINY, "--hours", "2", "--course", str(course.root)]) == 0
    assert read_extensions(course) == {("late90min", TINY): 2.0}
    results = record_class(course)
    rows = exported(course)
    # late5h: 2 of 3 points, 5 h late -> 5 quarters, capped at a half: 1 point off
    expected = {"early": 3.0, "late90min": 3.0, "late5h": 1.0, "notime": 3.0}
    assert {s: float(rows[s]["score"]) for s in expected} == expected
    assert rows["late90min"]["duedate"].startswith("2026-10-05 12:00:00")
    assert "late by 5.0 h: penalty 1" in results["late5h"].reasons
    record(course, TINY, results["late5h"])  # recorded again, as a confirmed regrade does
    assert results["late5h"].reasons.count("late by 5.0 h: penalty 1") == 1
    report = format_report(class_report(course, TINY))
    assert "late submissions: 1" in report
    assert "late5h: submitted 2026-10-05 17:00 UTC, late by 5.0 h, penalty 1" in report


def test_an_unreadable_timestamp_records_nothing_and_says_why(course):
    configure(course, "")
    result = Result("garbled", "ok", grades=[], timestamp="last tuesday-ish")
    with pytest.raises(ValueError, match="timestamp.txt of garbled/lab0_tiny: 'last tuesday-ish'"):
        record(course, TINY, result)
    with gradebook(course) as gb:
        assert [s.student.id for s in gb.find_assignment(TINY).submissions] == []


# ----------------------------------------------------------------------------- regrades
def test_a_new_policy_shows_the_changes_and_records_only_when_confirmed(course, monkeypatch,
                                                                       capsys):  # fmt: skip
    configure(course, f'c.CnnCourse.due_dates = {{"{TINY}": "{DUE}"}}\n')
    record_class(course)
    before = scores(course)
    assert before == {"early": 3.0, "late90min": 3.0, "late5h": 2.0, "notime": 3.0}
    configure(course, f'c.CnnCourse.due_dates = {{"{TINY}": "{DUE}"}}\n'
                      'c.LateSubmissionPlugin.penalty_method = "zero"\n')  # fmt: skip
    seen = []
    with pytest.raises(RegradeRefused):
        reapply_late_policy(course, TINY, lambda changes: seen.extend(changes) or False)
    assert [(c.student, c.before, c.after) for c in seen] == [
        ("late5h", 2.0, 0.0), ("late90min", 3.0, 0.0)]
    assert scores(course) == before  # refused: nothing recorded

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script: no terminal to ask on
    capsys.readouterr()
    assert main(["late", TINY, "--course", str(course.root)]) == 4
    out, err = capsys.readouterr()
    assert re.search(r"late90min +3 +-> +0", out) and "NOT RECORDED" in err
    assert scores(course) == before

    assert main(["late", TINY, "--yes", "--course", str(course.root)]) == 0
    assert scores(course) == {"early": 3.0, "late90min": 0.0, "late5h": 0.0, "notime": 3.0}


def test_extend_an_already_graded_student_removes_the_penalty(course, capsys):
    configure(course, f'c.CnnCourse.due_dates = {{"{TINY}": "{DUE}"}}\n'
                      'c.LateSubmissionPlugin.penalty_method = "zero"\n')  # fmt: skip
    record_class(course)
    assert scores(course)["late5h"] == 0.0
    assert main(["extend", "late5h", TINY, "--hours", "6", "--course", str(course.root)]) == 0
    assert "recorded score 0 -> 2" in capsys.readouterr().out
    assert scores(course)["late5h"] == 2.0


def test_extensions_file_names_the_bad_line(course):
    (course.root / "extensions.csv").write_text("student,lab,hours\nada,lab0_tiny,two\n")
    with pytest.raises(ValueError, match="line 2: expected the columns student,lab,hours"):
        read_extensions(course)


def test_bad_due_dates_and_extensions_are_named(course, capsys):
    configure(course, f'c.CnnCourse.due_dates = {{"{TINY}": "the fifth of Octember"}}\n')
    assert main(["late", TINY, "--course", str(course.root)]) == 2
    assert "c.CnnCourse.due_dates['lab0_tiny']: 'the fifth of Octember' is not a date" in (
        capsys.readouterr().err)
    assert main(["extend", "ada", TINY, "--hours", "-3", "--course", str(course.root)]) == 2
    assert "an extension is a number of hours >= 0, got -3" in capsys.readouterr().err
