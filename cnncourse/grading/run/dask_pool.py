"""A pool of grading workers on a Dask distributed cluster: `cnncourse grade LAB --scheduler ...`.

    pool = DaskPool("tcp://scheduler:8786", scratch)   # or "local": a LocalCluster on this machine
    pool.submit(job); for job, result in pool.results(): ...; pool.close()

The same interface as `pool.LocalPool`, and the same grading: each task runs on
a Dask worker, which grades the job with a `WorkerProcess` of its own (the same worker program,
sandbox, limits and timeouts as on the instructor's machine; one per worker thread). The driver
stays the only writer of the gradebook: a task only returns the result and the autograded folder.

Files travel with the job, so the workers need no shared filesystem: each task carries its
submission folder as a tar archive, the lab's template course (source, release, a gradebook with
only this lab, the course's configuration as JSON) is scattered to the cluster once per run and
unpacked once per worker machine, and the autograded folder comes back as a tar archive.

A worker that dies mid-batch loses nothing: the scheduler hands its tasks to other workers (a task
whose workers die three times is reported 'crashed', as distributed's KilledWorker says).
What a worker machine needs: see README ("Grading on a Dask cluster").
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tarfile
import tempfile
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

from cnncourse.grading.run.jobs import Job, Result
from cnncourse.grading.run.pool import WorkerProcess, claim_uid
from cnncourse.grading.run.sandbox import bubblewrap_probe

BROKEN_LINK = "symbolic-link-not-sent"  # what a submission's symbolic link points to once sent


# ----------------------------------------------------------------------------- files in transit
def pack_folder(folder: Path) -> bytes:
    """A gzipped tar of folder's contents. Symbolic links stay links but point nowhere (the
    grader refuses a linked notebook and never copies links; their targets must not travel)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
            if info.issym():
                info.linkname = BROKEN_LINK
                tar.addfile(info)
            elif info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            elif info.isdir():
                tar.addfile(info)
    return buffer.getvalue()


def unpack(archive: bytes, folder: Path) -> Path:
    """Extract a `pack_folder` archive into folder (tarfile's 'data' filter: nothing outside)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
    return folder


# ------------------------------------------------------------------------- on a Dask worker
_thread = threading.local()  # each worker thread's WorkerProcess
_templates_lock = threading.Lock()


def worker_process(private_uid: bool) -> WorkerProcess:
    """This worker thread's grading process, started on first use; with private_uid (root and
    the sandbox on), its kernels get a user id no other worker of this machine holds."""
    key = "sandboxed" if private_uid else "plain"
    if not hasattr(_thread, key):
        logs = Path(tempfile.mkdtemp(prefix="cnncourse-dask-worker-"))
        # the lock file stays open as long as this worker process lives: the uid stays ours
        uid = claim_uid()[0] if private_uid and os.geteuid() == 0 else None
        setattr(_thread, key, WorkerProcess(threading.get_ident() % 10_000, logs, uid))
    return getattr(_thread, key)


def unpacked_template(archive: bytes) -> Path:
    """The template course of this archive, unpacked once per machine (by content hash)."""
    digest = hashlib.sha256(archive).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"cnncourse-template-{os.geteuid()}-{digest}"
    with _templates_lock:
        if not folder.exists():
            partial = Path(tempfile.mkdtemp(prefix="cnncourse-template-partial-"))
            unpack(archive, partial)
            try:
                os.rename(partial, folder)
            except OSError:  # another worker process of this machine was faster
                pass
    return folder


def grade_on_worker(job: Job, submission: bytes, template: bytes) -> tuple[dict, bytes]:
    """Runs on a Dask worker: grade one job, return (result as a dict, autograded folder tar)."""
    template_dir = unpacked_template(template)
    with tempfile.TemporaryDirectory(prefix="cnncourse-job-") as scratch:
        local = replace(
            job,
            submission=str(unpack(submission, Path(scratch) / "submission")),
            template=str(template_dir),
            job_dir=str(Path(scratch) / "job"),
            config_file=str(template_dir / Path(job.config_file).name) if job.config_file else None,
        )
        if job.use_bubblewrap and not bubblewrap_probe()[0]:
            why = bubblewrap_probe()[1]
            return asdict(Result(job.student, "grader error", reasons=[f"{host()}: {why}"])), b""
        result = worker_process(job.use_bubblewrap).run(local)
        autograded = pack_folder(Path(result.autograded)) if result.autograded else b""
        result.autograded = None
        if result.log:
            result.log = f"[graded on {host()}]\n{result.log}"
        return asdict(result), autograded


def host() -> str:
    return socket.gethostname()


def probe_worker() -> tuple[bool, str]:
    """Runs on each Dask worker: can bubblewrap start a sandbox there?"""
    return bubblewrap_probe()


# --------------------------------------------------------------------------- on the driver
class DaskPool:
    """Grading jobs on the workers of a Dask cluster (see the module docstring)."""

    def __init__(self, scheduler: str, scratch: Path, local_workers: int = 2) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        self.scratch = scratch
        self.futures: dict = {}
        self.templates: dict[str, object] = {}  # template folder -> its scattered archive
        if scheduler == "local":
            self.cluster = LocalCluster(
                n_workers=local_workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
            )  # fmt: skip
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler, timeout="30s")
        try:
            self.client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            self.close()
            raise ValueError(f"no Dask worker joined the scheduler {scheduler} in 120 s") from None

    def sandbox_probes(self) -> dict[str, tuple[bool, str]]:
        """Worker address -> (bubblewrap starts there, why not)."""
        return {address: tuple(probe) for address, probe in self.client.run(probe_worker).items()}

    def _template(self, folder: str):
        if folder not in self.templates:
            archive = pack_folder(Path(folder))
            self.templates[folder] = self.client.scatter(archive, broadcast=True)
        return self.templates[folder]

    def submit(self, job: Job) -> None:
        submission = pack_folder(Path(job.submission))
        key = f"grade-{uuid.uuid4().hex}"
        future = self.client.submit(
            grade_on_worker, job, submission, self._template(job.template), key=key, pure=False
        )
        self.futures[future] = job

    def results(self) -> Iterator[tuple[Job, Result]]:
        from distributed import as_completed

        for future in as_completed(list(self.futures)):
            job = self.futures.pop(future)
            yield job, self._collect(job, future)

    def _collect(self, job: Job, future) -> Result:
        from distributed import KilledWorker

        try:
            payload, autograded = future.result()
        except KilledWorker:
            return Result(job.student, "crashed",
                          reasons=["the Dask workers grading it died, three times"])  # fmt: skip
        except Exception as error:  # the task itself failed: our bug, not the student's
            detail = traceback.format_exception_only(error)[-1].strip()
            return Result(job.student, "grader error", reasons=[f"on the cluster: {detail}"])
        result = Result.from_dict(payload)
        if autograded:
            result.autograded = str(unpack(autograded, Path(job.job_dir) / "autograded"))
        return result

    def close(self, cancel: bool = False) -> None:
        if cancel and self.futures:
            self.client.cancel(list(self.futures))
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
