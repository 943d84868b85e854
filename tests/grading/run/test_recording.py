"""Recording: only the student's own outcome becomes a grade; a grader failure changes nothing.

Each test records results by hand into the tiny course's gradebook (no notebook is executed), as
the driver does when a worker answers.
"""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import pytest

from cnncourse.grading.run import gradebook
from cnncourse.grading.run.driver import run_jobs
from cnncourse.grading.run.gradebook import format_summary, record_or_note, write_summary
from cnncourse.grading.run.jobs import CellGrade, Job, Result
from cnncourse.grading.run.nbgrader_commands import ensure_assignment
from tests.grading.tiny_course import TINY


@pytest.fixture(scope="module")
def course(tiny_course):
    ensure_assignment(tiny_course, TINY)
    return tiny_course


def full_marks(course, student: str) -> Result:
    """A 3/3 result with its autograded folder, as a worker returns it."""
    folder = course.root / "worker-output" / student / TINY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{TINY}.ipynb").write_text(f"graded notebook of {student}")
    grades = [CellGrade(TINY, "test_conv1d", 2, 2), CellGrade(TINY, "test_output_size", 1, 1)]
    return Result(student, "ok", 3, 3, grades=grades, autograded=str(folder))


def in_gradebook(course, student: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return float(gb.find_submission(TINY, student).score)


def autograded_text(course, student: str) -> str:
    return (course.autograded / student / TINY / f"{TINY}.ipynb").read_text()


@pytest.mark.parametrize("status", ["grader error", "cancelled"])
def test_a_grader_failure_after_full_marks_keeps_the_grade_and_the_notebook(course, status):
    student = f"full-then-{status.replace(' ', '-')}"
    record_or_note(course, TINY, full_marks(course, student))
    failure = Result(student, status, reasons=["on the cluster: CancelledError"])
    record_or_note(course, TINY, failure)
    assert in_gradebook(course, student) == 3
    assert autograded_text(course, student) == f"graded notebook of {student}"
    assert not failure.graded
    assert f"not graded: {status}" in format_summary([failure])


def test_a_result_that_cannot_be_copied_keeps_the_earlier_grade_and_notebook(course):
    record_or_note(course, TINY, full_marks(course, "disk-full"))
    result = Result("disk-full", "ok", 0, 3, grades=[CellGrade(TINY, "test_conv1d", 0, 2)],
                    autograded=str(course.root / "no such folder"))  # fmt: skip
    record_or_note(course, TINY, result)
    assert not result.graded
    assert "could not record the result" in result.reasons[0] and "no such folder" in (
        result.reasons[0]
    )
    assert in_gradebook(course, "disk-full") == 3
    assert autograded_text(course, "disk-full") == "graded notebook of disk-full"


def test_a_gradebook_that_cannot_be_written_leaves_the_notebook_as_it_was(course, monkeypatch):
    record_or_note(course, TINY, full_marks(course, "locked-db"))
    second = full_marks(course, "locked-db")
    Path(second.autograded, f"{TINY}.ipynb").write_text("second attempt")

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gradebook, "commit_grades", refuse)
    record_or_note(course, TINY, second)
    assert not second.graded and "No space left on device" in second.reasons[0]
    assert autograded_text(course, "locked-db") == "graded notebook of locked-db"
    assert not list((course.autograded / "locked-db").glob(".*"))  # no staged copy left behind


def test_the_student_s_own_failures_are_recorded(course):
    record_or_note(course, TINY, full_marks(course, "broke-it"))
    broken = Result("broke-it", "invalid notebook", reasons=["lab0_tiny.ipynb is an empty file"])
    record_or_note(course, TINY, broken)
    assert broken.graded
    assert in_gradebook(course, "broke-it") == 0
    assert not (course.autograded / "broke-it" / TINY).exists()


def test_the_summary_file_lists_not_graded_without_a_score(course):
    results = [Result("ada", "ok", 3, 3), Result("bob", "grader error", reasons=["boom"])]
    path = write_summary(course, TINY, results)
    rows = {row["student"]: row for row in csv.DictReader(path.open())}
    assert rows["bob"]["status"] == "not graded: grader error"
    assert rows["bob"]["score"] == ""
    assert rows["ada"]["status"] == "ok" and float(rows["ada"]["score"]) == 3


def test_grade_exits_non_zero_and_says_not_graded_when_a_result_was_a_grader_failure(
    course, monkeypatch, capsys
):
    from cnncourse.cli import main
    from cnncourse.grading.run import driver

    results = [Result("ada", "ok", 3, 3),
               Result("bob", "grader error", reasons=["worker: no bwrap"])]  # fmt: skip
    monkeypatch.setattr(driver, "grade_lab", lambda *args, **kwargs: results)
    for student in ("ada", "bob"):
        (course.submitted / student / TINY).mkdir(parents=True, exist_ok=True)
    status = main(["grade", TINY, "--course", str(course.root), "--student", "ada",
                   "--student", "bob"])  # fmt: skip
    out = capsys.readouterr()
    assert status != 0
    assert "not graded: grader error" in out.out
    assert "1 submission not graded" in out.err and "(bob)" in out.err
    assert "run the same command again" in out.err


class OnePool:
    """A pool that answers each job at once with a prepared result."""

    def __init__(self, results: dict[str, Result]) -> None:
        self.prepared, self.jobs = results, []

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    def results(self):
        for job in self.jobs:
            yield job, self.prepared[job.student]

    def close(self, cancel: bool = False) -> None:
        pass


def test_ctrl_c_while_recording_keeps_the_result_in_the_summary_and_the_count(
    course, monkeypatch, tmp_path
):
    from cnncourse.grading.run.driver import GradingInterrupted

    real_record = gradebook.record

    def record_then_ctrl_c(*args):
        real_record(*args)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(gradebook, "record", record_then_ctrl_c)
    students = ("interrupted", "later")
    jobs = [Job(lab=TINY, student=s, submission="", template="", job_dir=str(tmp_path / s),
                config_file=None, cell_timeout=5, limits={}) for s in students]  # fmt: skip
    pool = OnePool({s: full_marks(course, s) for s in ("interrupted", "later")})
    with pytest.raises(GradingInterrupted) as stopped:
        run_jobs(jobs, course, pool, show_progress=False)
    assert [r.student for r in stopped.value.results] == ["interrupted"]
    assert "1 of 2" in str(stopped.value)
    assert in_gradebook(course, "interrupted") == 3
    summary = (course.autograded / f"{TINY}_summary.csv").read_text()
    assert "interrupted" in summary


def test_a_partial_regrade_merges_the_summary(course):
    (course.autograded / f"{TINY}_summary.csv").unlink(missing_ok=True)
    write_summary(course, TINY, [Result("ada", "ok", 3, 3), Result("bob", "timeout", 1, 3)])
    write_summary(course, TINY, [Result("bob", "ok", 3, 3)])  # --student bob
    path = course.autograded / f"{TINY}_summary.csv"
    rows = {row["student"]: row for row in csv.DictReader(path.open())}
    assert sorted(rows) == ["ada", "bob"]
    assert rows["ada"]["status"] == "ok" and rows["bob"]["status"] == "ok"
    assert float(rows["bob"]["score"]) == 3


def test_a_student_without_a_submission_is_refused_by_name(course, capsys):
    from cnncourse.cli import main

    (course.submitted / "ada" / TINY).mkdir(parents=True, exist_ok=True)
    status = main(["grade", TINY, "--course", str(course.root), "--student", "ada",
                   "--student", "adda"])  # fmt: skip
    said = capsys.readouterr().err
    assert status == 1
    assert f"no submission of {TINY} for adda" in said and str(course.submitted) in said
    assert "adda" not in {r["student"] for r in csv.DictReader(
        (course.autograded / f"{TINY}_summary.csv").open())}  # fmt: skip


class FailedFuture:
    """A Dask future whose task ended with `error` (what `future.result()` raises)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def result(self):
        raise self.error


def test_a_task_whose_workers_died_is_not_graded_and_says_why():
    """distributed's KilledWorker (the workers running a task died, three times) says nothing
    about the student's code, which runs in a sandboxed kernel, not in the worker: not graded."""
    from distributed import KilledWorker

    from cnncourse.grading.run.dask_pool import DaskPool

    job = Job(lab=TINY, student="ada", submission="unused", template="unused", job_dir="unused",
              config_file=None, cell_timeout=30, limits={})  # fmt: skip
    result = DaskPool._collect(None, job, FailedFuture(KilledWorker("grade-ada", "tcp://w:1", 3)))
    assert not result.graded, result.status
    assert "died" in " ".join(result.reasons)


def test_full_marks_leave_written_answers_aside():
    """A submission with every autograded point is at full marks while its written answer waits
    for a person: no worker log is kept for it, as for a lab without written answers."""
    cells = [CellGrade(TINY, "test_f", 3, 3),
             CellGrade(TINY, "why_flip", 0, 2, needs_manual_grade=True)]  # fmt: skip
    assert Result("ada", "ok", 3, 5, grades=cells).full_marks
    partly = [CellGrade(TINY, "test_f", 2, 3), cells[1]]
    assert not Result("bob", "ok", 2, 5, grades=partly).full_marks
    assert not Result("cy", "timeout", 3, 5, grades=cells).full_marks
