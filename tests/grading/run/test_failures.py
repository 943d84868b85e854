"""Failure paths of the driver that a real worker rarely takes: they must not stop a batch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnncourse.grading.run.gradebook import record_or_note
from cnncourse.grading.run.jobs import Job, Result
from cnncourse.grading.run.nbgrader_commands import ensure_assignment
from cnncourse.grading.run.pool import WorkerProcess
from tests.grading.tiny_course import TINY


def job(tmp_path) -> Job:
    return Job(lab=TINY, student="ada", submission=str(tmp_path), template=str(tmp_path),
               job_dir=str(tmp_path / "job"), config_file=None, cell_timeout=5, limits={},
               timeout=30)


def worker_running(tmp_path, code: str) -> WorkerProcess:
    """A WorkerProcess whose process is `python -c code` instead of the real worker."""
    worker = WorkerProcess(0, tmp_path, uid=None)
    worker.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, start_new_session=True)
    return worker


def test_a_worker_answering_garbage_is_a_grader_error_and_is_replaced(tmp_path):
    worker = worker_running(tmp_path, "input(); print('not json', flush=True); input()")
    result = worker.run(job(tmp_path))
    assert (result.student, result.status) == ("ada", "grader error")
    assert "unreadable answer from the worker" in result.reasons[0]
    assert "not json" in result.reasons[0]
    assert worker.proc is None  # killed; the next job starts a fresh worker


def test_a_worker_dead_before_the_job_is_the_grader_s_failure_not_graded(tmp_path):
    worker = worker_running(tmp_path, "import os; os.close(0)")
    worker.proc.wait()
    worker.proc.poll = lambda: None  # as if it died between the check and the write
    result = worker.run(job(tmp_path))
    assert (result.status, result.reasons) == (
        "grader error", ["the grading worker died before it got the submission"])
    assert not result.graded


def test_a_result_that_cannot_be_recorded_is_not_graded_and_records_nothing(tiny_course):
    from nbgrader.api import Gradebook, MissingEntry

    ensure_assignment(tiny_course, TINY)
    result = Result("unrecordable", "ok", autograded=str(tiny_course.root / "no such folder"))
    record_or_note(tiny_course, TINY, result)
    assert result.status == "grader error" and not result.graded
    assert "could not record the result" in result.reasons[0]
    assert "no such folder" in result.reasons[0]
    with Gradebook(tiny_course.db_url) as gb, pytest.raises(MissingEntry):
        gb.find_submission(TINY, "unrecordable")
