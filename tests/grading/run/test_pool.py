"""The pool and the run around it: kernel user ids, the gradebook lock, Ctrl-C."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from cnncourse.cli import main
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run import driver
from cnncourse.grading.run.driver import GradingOptions, grade_lab, open_pool
from cnncourse.grading.run.gradebook import GradebookBusy, gradebook_lock
from cnncourse.grading.run.pool import WorkerProcess, claim_uids
from tests.grading.tiny_course import FAST, TINY, make_course

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="kernel user ids are handed out by root")


@root_only
def test_kernel_uids_are_never_shared_within_or_across_processes(tmp_path):
    mine = claim_uids(40, tmp_path)  # more than the 16 that used to wrap around
    uids = [uid for uid, _fd in mine]
    assert len(set(uids)) == 40
    code = ("from pathlib import Path; from cnncourse.grading.run.pool import claim_uids; "
            f"print(*[u for u, _ in claim_uids(3, Path({str(tmp_path)!r}))])")  # fmt: skip
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    theirs = [int(u) for u in other.stdout.split()]
    assert len(theirs) == 3 and not set(theirs) & set(uids), other.stderr
    os.close(mine[0][1])  # released: the next claim may take it again
    assert claim_uids(1, tmp_path)[0][0] == uids[0]


def test_a_run_starts_no_more_workers_than_it_has_submissions(tmp_path, monkeypatch):
    """A worker that never gets a job still costs an nbgrader import (~2 s of CPU): a run of
    one submission (or preflight alone) starts one worker, whatever --jobs says."""
    started = []
    monkeypatch.setattr(WorkerProcess, "start", lambda worker: started.append(worker.slot))
    monkeypatch.setattr(driver, "kernel_parallelism", lambda jobs, mode: jobs)
    for submissions, workers in ((1, 1), (2, 2), (5, 3)):
        started.clear()
        pool, _mode = open_pool(GradingOptions(jobs=3, progress=False), tmp_path, submissions)
        pool.close(cancel=True)
        assert len(pool.all) == len(started) == workers, submissions


def test_a_second_run_on_the_same_gradebook_is_refused(tiny_course, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; "
         "from cnncourse.grading.run.gradebook import gradebook_lock; "
         "from cnncourse.grading.run.course import Course\n"
         "with gradebook_lock(Course.load(sys.argv[1])):\n print('held', flush=True); "
         "time.sleep(600)", str(tiny_course.root)],
        stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(GradebookBusy, match=f"pid {holder.pid}"):
            grade_lab(tiny_course, TINY, options=FAST)
        assert main(["grade", TINY, "--course", str(tiny_course.root)]) == 1
        assert "another `cnncourse grade`" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with gradebook_lock(tiny_course):  # released when its holder died
        pass


def interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_keeps_what_was_recorded(tmp_path):
    """One worker, one correct submission then three that loop for 300 s a cell: after the
    first is recorded, Ctrl-C must end the run within a minute (not 15), recording nothing more."""
    from tests.grading.run.hostile.corpus import STUBBORN_LOOP, save, with_extra_cell

    course = make_course(tmp_path / "course")
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    correct = synthetic_submission(source, release, "correct")
    save(course.submitted / "a_correct" / TINY, correct)
    for name in ("b_loop", "c_loop", "d_loop"):
        save(course.submitted / name / TINY, with_extra_cell(correct, STUBBORN_LOOP))
    script = Path(sys.executable).parent / "cnncourse"
    # as a terminal would: a test runner started in the background ignores SIGINT, and its
    # children would inherit that
    run = subprocess.Popen([str(script), "grade", TINY, "--course", str(course.root), "-j", "1",
                            "--cell-timeout", "300"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           preexec_fn=interruptible)  # fmt: skip
    first = course.autograded / "a_correct" / TINY
    deadline = time.monotonic() + 600
    while not first.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert first.exists(), run.communicate()
    time.sleep(3)  # b_loop is being graded now
    run.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    out, err = run.communicate(timeout=600)
    assert time.monotonic() - stopped < 60, err[-2000:]
    assert run.returncode == 130, err[-2000:]
    assert "INTERRUPTED: 1 of 4 submissions graded and recorded" in err
    db = course.root / "gradebook.db"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert {s.student.id: s.score for s in gb.assignment_submissions(TINY)} == {
            "a_correct": 3.0}
    with open(course.autograded / f"{TINY}_summary.csv") as handle:
        assert [row["student"] for row in csv.DictReader(handle)] == ["a_correct"]
    with gradebook_lock(course):  # the lock went with the run
        pass


def test_jobs_results_pools_and_the_driver_import_without_nbconvert_or_dask():
    code = ("import sys; import cnncourse.grading.run.jobs, cnncourse.grading.run.pool, "
            "cnncourse.grading.run.driver; print(sorted({'nbconvert', 'nbgrader', 'distributed'} "
            "& set(sys.modules)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
