"""Grading on a real Dask cluster: a `dask scheduler` and `dask worker` processes started here.

* a mixed class gets the grades the local pool gives (EXPECTED_TINY, which test_demo checks
  against the local pool);
* a representative subset of the hostile corpus is contained through the cluster: every attack
  on processes, files and the network (the notebook-level cases run the same worker code either
  way and stay in test_hostile);
* a worker killed mid-batch loses no submission: its jobs are graded by the other worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

import cnncourse
from cnncourse.grading.demo import synthetic_class, synthetic_submission
from cnncourse.grading.run.driver import grade_lab, sandbox_mode
from tests.grading.run.file_hashes import file_hashes
from tests.grading.run.hostile.corpus import Kit, cases
from tests.grading.tiny_course import EXPECTED_TINY, FAST, TINY, make_course, write_honest

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")
CONTAINED = ("os_exit", "kill_grader", "fork_bomb", "memory_bomb", "network", "tamper_files",
             "read_hidden_tests", "symlink_to_solutions")  # fmt: skip


def start(*argv: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([DASK, *argv], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start_worker(scheduler_file: Path, name: str, cwd: Path) -> subprocess.Popen:
    return start("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--name", name, cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, scheduler file, folder): one scheduler and two workers."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    processes = [start("scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                       str(scheduler_file), cwd=folder)]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        processes += [start_worker(scheduler_file, f"w{i}", folder) for i in (1, 2)]
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
        yield address, scheduler_file, folder
    finally:
        for process in reversed(processes):
            stop(process)


def on(address: str):
    return replace(FAST, scheduler=address)


def test_a_mixed_class_gets_the_grades_of_the_local_pool(cluster, tmp_path):
    course = make_course(tmp_path / "course")
    synthetic_class(course, TINY)
    results = {r.student: r for r in grade_lab(course, TINY, options=on(cluster[0]))}
    got = {student: (r.score, r.status) for student, r in results.items()}
    assert got == EXPECTED_TINY, {s: results[s].reasons for s in got if got[s] != EXPECTED_TINY[s]}
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:  # the driver recorded them, workers wrote nothing
        recorded = {s.student.id: s.score for s in gb.assignment_submissions(TINY)}
    assert recorded == {student: score for student, (score, _) in EXPECTED_TINY.items()}
    assert (course.autograded / "correct" / TINY / f"{TINY}.ipynb").exists()  # files came back
    log = (course.autograded / f"{TINY}_logs" / "crashes.log").read_text()
    assert "[graded on " in log and "kernel died" in log.lower()  # the worker's log came back


@pytest.mark.skipif(sandbox_mode(FAST) != "bubblewrap", reason="needs bubblewrap")
def test_hostile_submissions_are_contained_through_the_cluster(cluster, tmp_path):
    course = make_course(tmp_path / "course")
    write_honest(course, "correct")
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    package = Path(cnncourse.__file__).parent
    kit = Kit(
        correct=synthetic_submission(source, release, "correct"),
        blank=release,
        targets=[course.root / "gradebook.db",
                 course.submitted / "correct" / TINY / f"{TINY}.ipynb",
                 course.source / TINY / f"{TINY}.ipynb", package / "arithmetic.py"],
        solutions=course.source / TINY / f"{TINY}.ipynb",
    )  # fmt: skip
    corpus = [case for case in cases(kit) if case.name in CONTAINED]
    assert len(corpus) == len(CONTAINED)
    for case in corpus:
        case.build(course.submitted / case.name / TINY, kit)
    protected = (course.source, course.release, course.submitted, package / "arithmetic.py",
                 cluster[1])  # fmt: skip
    before = file_hashes(*protected, skip=("__pycache__",))
    results = {r.student: r for r in grade_lab(course, TINY, options=on(cluster[0]))}
    assert file_hashes(*protected, skip=("__pycache__",)) == before
    assert (results["correct"].score, results["correct"].status) == (3, "ok")
    for case in corpus:
        result = results[case.name]
        reason = "; ".join(result.reasons)
        assert (result.score, result.status) == (case.score, case.status), (case.name, reason)
        assert case.reason.lower() in reason.lower(), (case.name, reason)


def test_a_worker_killed_mid_batch_loses_no_submission(cluster, tmp_path):
    from distributed import Client

    address, scheduler_file, folder = cluster
    victim = start_worker(scheduler_file, "victim", folder)
    course = make_course(tmp_path / "course")
    kinds = ("correct", "partly_right", "blank") * 3
    for index, kind in enumerate(kinds):
        source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
        release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
        folder_ = course.submitted / f"s{index}_{kind}" / TINY
        folder_.mkdir(parents=True)
        nbformat.write(synthetic_submission(source, release, kind), folder_ / f"{TINY}.ipynb")
    killed = threading.Event()
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(3, timeout=180)

    def kill_the_victim_once_busy() -> None:
        with Client(address, timeout="60s") as client:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                busy = {info["name"]: len(client.processing().get(addr, ()))
                        for addr, info in client.scheduler_info()["workers"].items()}  # fmt: skip
                if busy.get("victim") and sum(busy.values()) > 1:
                    stop(victim)
                    killed.set()
                    return
                time.sleep(0.2)

    killer = threading.Thread(target=kill_the_victim_once_busy)
    killer.start()
    try:
        results = grade_lab(course, TINY, options=on(address))
    finally:
        killer.join()
        stop(victim)
    assert killed.is_set(), "the victim never got a job"
    expected = {"correct": 3.0, "partly_right": 2.0, "blank": 0.0}
    assert len(results) == len(kinds)
    for result in results:
        kind = result.student.split("_", 1)[1]
        assert (result.score, result.status) == (expected[kind], "ok"), result.reasons
