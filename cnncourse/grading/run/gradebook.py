"""Recording grades: the driver process is the only writer of the course's gradebook.

    with gradebook_lock(course):          # a second `cnncourse grade` on this gradebook is refused
        record_or_note(course, lab, result)   # one transaction and one copy per submission
    write_summary(course, lab, results)   # autograded/LAB_summary.csv

Each result is recorded whole or not at all: the gradebook commit and the copy of the autograded
notebook run with Ctrl-C held back until they are done (`interrupt_deferred`). The worker log of
every submission short of full marks (failed tests, timeouts, crashes, invalid files) is kept in
autograded/LAB_logs/STUDENT.log, which the summary names.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import shutil
import signal
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from cnncourse.grading.run.course import Course
from cnncourse.grading.run.jobs import Result


class GradebookBusy(RuntimeError):
    """Another grading run holds the course's gradebook."""


def lock_path(course: Course) -> Path:
    """gradebook.db.lock beside an SQLite gradebook; else a lock file in the course folder."""
    prefix = "sqlite:///"
    if course.db_url.startswith(prefix):
        return Path(course.db_url[len(prefix) :] + ".lock")
    return course.root / ".cnncourse-grading.lock"


@contextlib.contextmanager
def gradebook_lock(course: Course) -> Iterator[None]:
    """Hold the course's grading lock, or refuse at once if another run holds it."""
    path = lock_path(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GradebookBusy(
                f"another `cnncourse grade` ({holder}) is grading with the gradebook "
                f"{course.db_url}; wait for it to finish (lock: {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


@contextlib.contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block is done, then raise it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def record(course: Course, lab: str, result: Result) -> None:
    """Write one result into the course gradebook and autograded/ (driver process only)."""
    from nbgrader.api import Gradebook

    scores = {(g.notebook, g.grade_id): g.score for g in result.grades}
    with Gradebook(course.db_url, course.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns about nbgrader's own session use
        gb.update_or_create_student(result.student)
        submission = gb.update_or_create_submission(lab, result.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = scores.get((notebook.name, grade.name), 0.0)
                grade.needs_manual_grade = False
        gb.db.commit()
        # what the gradebook now holds is what the summary shows (failures get the lab's max)
        result.score, result.max_score = float(submission.score), float(submission.max_score)
    destination = course.autograded / result.student / lab
    shutil.rmtree(destination, ignore_errors=True)
    if result.autograded:
        shutil.copytree(result.autograded, destination, symlinks=True)


def record_or_note(course: Course, lab: str, result: Result) -> None:
    """`record` and `keep_log`, turning a failure into the result's status: the batch goes on."""
    with interrupt_deferred():
        try:
            record(course, lab, result)
        except Exception as error:  # e.g. an autograded folder that cannot be copied
            detail = traceback.format_exception_only(error)[-1].strip()
            result.status = "grader error"
            result.reasons.append(f"could not record the result: {detail}")
        keep_log(course, lab, result)


def log_file(course: Course, lab: str, student: str) -> Path:
    """Where the worker log of a submission short of full marks is kept."""
    return course.autograded / f"{lab}_logs" / f"{student}.log"


def keep_log(course: Course, lab: str, result: Result) -> None:
    """Write the worker log of a result short of full marks; remove a stale one otherwise."""
    path = log_file(course, lab, result.student)
    if result.full_marks or not result.log:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.log)


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str]]:
    """(student, score/max, status, reason) for each result."""
    return [
        (r.student, f"{r.score:g}/{r.max_score:g}", r.status, "; ".join(r.reasons) or "-")
        for r in results
    ]


def format_summary(results: list[Result], width: int = 110) -> str:
    """The summary table printed after a batch."""
    header = ("student", "score", "status", "reason")
    rows = summary_rows(results)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        left = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        reason = row[3]
        room = max(width - len(left) - 2, 20)
        lines.append(f"{left}  {reason if len(reason) <= room else reason[: room - 3] + '...'}")
    return "\n".join(lines)


def write_summary(course: Course, lab: str, results: list[Result]) -> Path:
    """autograded/LAB_summary.csv: the summary with full reasons, grading seconds and the kept
    worker log of each submission short of full marks."""
    course.autograded.mkdir(parents=True, exist_ok=True)
    path = course.autograded / f"{lab}_summary.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "status", "reason", "seconds", "log"])
        for r in results:
            log = log_file(course, lab, r.student)
            writer.writerow([r.student, r.score, r.max_score, r.status, "; ".join(r.reasons),
                             f"{r.seconds:.1f}", str(log) if log.exists() else ""])  # fmt: skip
    return path
