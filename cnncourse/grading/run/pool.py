"""Pools of grading workers: submit jobs, get results as they finish.

    pool = LocalPool(size=3, scratch=Path("/tmp/x"), private_uids=True)
    for job in jobs:
        pool.submit(job)
    for job, result in pool.results():   # in the order they finish
        ...
    pool.close()

Every pool has these three methods (`Pool`); the driver does not know which one it drives.
`LocalPool` grades on this machine; `cnncourse.grading.run.dask_pool.DaskPool` sends the jobs to the
workers of a Dask cluster, where each job is graded by the same `WorkerProcess` as here.

A `WorkerProcess` is one long-lived `python -m cnncourse.grading.run.worker` (see that module): it
imports the very `cnncourse` package this process imported, is killed and replaced when a job runs
past its wall-clock timeout, and, when the grader is root and the sandbox is on, lends its kernels a
user id of their own, which no other worker on this machine holds at the same time (`claim_uid`).
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from cnncourse.grading.run.jobs import LOG_TAIL, Job, Result, read_progress
from cnncourse.grading.run.sandbox import (
    SUBID_FILES,
    ids_of_processes,
    kernel_id_range,
    kill_processes_of,
    package_dir,
)

UID_COUNT = 100_000  # kernels run as user ids of `sandbox.kernel_id_range` (unprivileged)
# Lock files, one per kernel user id in use; /run is root's own, so nobody else can plant one.
UID_LOCKS = Path("/run/cnncourse-kernel-uids")


class Pool(Protocol):
    """What the driver needs of a pool of grading workers."""

    def submit(self, job: Job) -> None:
        """Queue one job; it is graded as soon as a worker is free."""

    def results(self) -> Iterator[tuple[Job, Result]]:
        """(job, result) for every job submitted, each as soon as it is graded."""

    def close(self, cancel: bool = False) -> None:
        """Stop the workers; with cancel, drop the queued jobs and stop the running ones now."""


def claim_uid(locks: Path = UID_LOCKS, subid_files=SUBID_FILES) -> tuple[int, int]:
    """(uid, fd): a kernel user id that no other worker on this machine holds, and the open lock
    file that holds it (released when the fd is closed or this process ends). The ids come from
    `kernel_id_range` (no user, group or /etc/subuid, /etc/subgid range of this machine); an
    id that a process runs under and no grader ever claimed is skipped, never killed. Processes
    still running under an id claimed before (left by a grader that was killed) are killed."""
    locks.mkdir(mode=0o700, parents=True, exist_ok=True)
    if locks.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{locks} belongs to uid {locks.stat().st_uid}, not to this grader")
    ids, running = kernel_id_range(UID_COUNT, subid_files), ids_of_processes()
    for uid in ids:
        claimed_before = (locks / str(uid)).exists()
        fd = os.open(locks / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if uid in running and not claimed_before:  # someone else's process: not ours to kill
            os.unlink(locks / str(uid))
            os.close(fd)
            continue
        kill_processes_of(uid)
        return uid, fd
    raise RuntimeError(f"all {UID_COUNT} kernel user ids from {ids.start} are in use")


def claim_uids(count: int, locks: Path = UID_LOCKS) -> list[tuple[int, int]]:
    """`count` distinct kernel user ids (see `claim_uid`), with their lock fds."""
    return [claim_uid(locks) for _ in range(count)]


def log_tail(path: Path, limit: int = LOG_TAIL) -> str:
    """The last `limit` characters of a log file ('' if there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - limit))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def worker_env() -> dict[str, str]:
    """The worker's environment: BLAS on one thread, and this process's package first on its
    path, so that a `cnncourse/` folder in the current directory is never imported instead."""
    path = [str(package_dir().parent), *filter(None, os.environ.get("PYTHONPATH", "").split(":"))]
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join(path))  # fmt: skip


class WorkerProcess:
    """One long-lived `python -m cnncourse.grading.run.worker`, replaced when a job times out."""

    def __init__(self, slot: int, log_dir: Path, uid: int | None) -> None:
        self.slot, self.uid = slot, uid
        self.log_dir = log_dir
        self.log_path = log_dir / f"worker-{slot}.log"
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.stopped = False  # set by `stop`: never start again
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock, open(self.log_path, "ab") as log:
            if self.stopped:
                return
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cnncourse.grading.run.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=worker_env(),
                cwd=self.log_dir,  # not the course folder: it may hold a copy of the package
                start_new_session=True,  # its own process group, killed as one
            )
        self.buffer = b""

    def run(self, job: Job) -> Result:
        """Grade one job; never raises. The result carries the job's log unless it got full
        marks."""
        started = time.perf_counter()
        result = self._run(job)
        if not result.seconds:
            result.seconds = time.perf_counter() - started
        if not result.full_marks:
            result.log = log_tail(Path(job.job_dir) / "worker.log") or log_tail(self.log_path)
        return result

    def _run(self, job: Job) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        if self.proc is None:
            return Result(job.student, "cancelled", reasons=["grading was stopped"])
        job.uid = self.uid
        try:
            self.proc.stdin.write((json.dumps(asdict(job)) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:  # the worker died between two jobs (BrokenPipeError)
            self.kill()
            return Result(  # the submission played no part: the grader's failure
                job.student,
                "grader error",
                reasons=["the grading worker died before it got the submission"],
            )
        line = self._read_line(job.timeout)
        if line is None:
            self.kill()
            return stopped_at_limit(job)
        if not line:
            self.kill()
            return Result(job.student, "crashed", reasons=["the grading worker died"])
        try:
            return Result.from_dict(json.loads(line))
        except (ValueError, TypeError) as error:  # not the protocol: replace the worker
            self.kill()
            return Result(
                job.student,
                "grader error",
                reasons=[f"unreadable answer from the worker ({error}): {line[:80]!r}"],
            )

    def _read_line(self, timeout: float) -> bytes | None:
        """The next line of the worker's stdout; None after `timeout` s; b'' if it exited."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    return b""
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def kill(self) -> None:
        with self.lock:
            if self.proc is not None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
                self.proc = None
            if self.uid is not None:
                kill_processes_of(self.uid)

    def stop(self) -> None:
        """Kill it now and never start it again (Ctrl-C)."""
        self.stopped = True
        self.kill()

    def close(self) -> None:
        """Let it finish: close its stdin, wait a little, then kill it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def stopped_at_limit(job: Job) -> Result:
    """The result of a job killed at its whole-submission time limit: the test cells that had
    finished keep their credit (as at a cell timeout), the cell that was running is named."""
    grades, running = read_progress(job)
    where = f" while running {running}" if running else " before the first cell ran"
    kept = sum(g.score for g in grades)
    return Result(job.student, "timeout", kept, grades=grades, reasons=[
        f"stopped after {job.timeout:g} s{where}; the {len(grades)} test cells that finished "
        f"keep their credit ({kept:g} points)"])  # fmt: skip


class LocalPool:
    """`size` worker processes on this machine, each grading one job at a time."""

    def __init__(self, size: int, scratch: Path, private_uids: bool) -> None:
        private_uids = private_uids and os.geteuid() == 0  # only root can hand out user ids
        self.uid_locks = claim_uids(size) if private_uids else []
        uids = [uid for uid, _fd in self.uid_locks] or [None] * size
        self.all = [WorkerProcess(slot, scratch, uid) for slot, uid in enumerate(uids)]
        for worker in self.all:
            worker.start()
        self.idle: queue.SimpleQueue[WorkerProcess] = queue.SimpleQueue()
        for worker in self.all:
            self.idle.put(worker)
        self.executor = ThreadPoolExecutor(size, thread_name_prefix="grading")
        self.futures: dict = {}

    def submit(self, job: Job) -> None:
        self.futures[self.executor.submit(self._run, job)] = job

    def _run(self, job: Job) -> Result:
        worker = self.idle.get()
        try:
            return worker.run(job)
        finally:
            self.idle.put(worker)

    def results(self) -> Iterator[tuple[Job, Result]]:
        for future in as_completed(list(self.futures)):
            yield self.futures.pop(future), future.result()

    def close(self, cancel: bool = False) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for worker in self.all:
            worker.stop() if cancel else worker.close()
        self.executor.shutdown(wait=True)
        for _uid, fd in self.uid_locks:
            os.close(fd)
        self.uid_locks = []
