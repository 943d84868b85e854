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
whose workers die three times, distributed's KilledWorker, is 'not graded': a grader failure).
The scheduler may keep the scattered template on one worker only (its active memory manager drops
replicas no waiting task needs); when that worker dies the template is lost and the scheduler
cancels the jobs that need it: those are sent again with the template scattered anew
(LOST_RESENDS times at most, then a grader failure that says so).
What a worker machine needs: see README ("Grading on a Dask cluster").

Security. Whoever can talk to the scheduler can run code on the workers, read the broadcast
template (solutions and hidden tests) and forge results. `ClusterSecurity` makes the driver speak
TLS with a certificate of the course's own CA (distributed's `Security`: the scheduler and the
workers then accept only peers whose certificate that CA signed); a plain tcp:// scheduler that
is not on this machine is refused unless the instructor says `insecure`. Each run has an id: its
template and every temporary folder it makes on a worker (`cnncourse-template-*`,
`cnncourse-job-*`, `cnncourse-dask-worker-*`) carry it and are removed when the run ends.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

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


# ----------------------------------------------------------------------------- security
@dataclass(frozen=True)
class ClusterSecurity:
    """How the driver reaches a Dask scheduler: TLS with the course CA's certificates, or plain
    tcp (only to a scheduler on this machine, unless `insecure`).

    ca_file:   the course CA's certificate (PEM): the scheduler must present one it signed
    cert_file: the driver's certificate (PEM), signed by that CA: the scheduler requires it
    key_file:  the driver's private key (PEM)
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        files = {"CA file": self.ca_file, "certificate": self.cert_file, "key": self.key_file}
        given = {name for name, path in files.items() if path}
        if given and given != set(files):
            missing = ", ".join(sorted(set(files) - given))
            raise ValueError(f"TLS needs a CA file, a certificate and a key; missing: {missing}")
        for name, path in files.items():
            if path and not os.access(path, os.R_OK):
                raise ValueError(f"TLS {name} {path!r} does not exist or cannot be read")

    @property
    def tls(self) -> bool:
        return self.ca_file is not None

    @classmethod
    def from_config(cls, config: dict, root: Path, **given) -> ClusterSecurity:
        """The command line's values (`given`, None where not given) over the course's
        nbgrader_config.py: c.CnnCourse.tls_ca_file, tls_cert, tls_key (relative to the course
        folder) and c.CnnCourse.insecure_cluster."""
        section = dict(config.get("CnnCourse", {}) or {})
        keys = {"ca_file": "tls_ca_file", "cert_file": "tls_cert", "key_file": "tls_key"}
        paths = {field: given.get(field) or section.get(key) for field, key in keys.items()}
        paths = {field: str(root / p) if p else None for field, p in paths.items()}
        insecure = bool(given.get("insecure") or section.get("insecure_cluster", False))
        return cls(**paths, insecure=insecure)

    def dask_security(self):
        """distributed's Security for the driver's client (None for plain tcp)."""
        if not self.tls:
            return None
        from distributed import Security

        return Security(tls_ca_file=self.ca_file, tls_client_cert=self.cert_file,
                        tls_client_key=self.key_file, require_encryption=True)  # fmt: skip


def check_scheduler(address: str, security: ClusterSecurity) -> None:
    """Refuse a connection that would expose the workers: TLS files with a non-TLS address,
    a tls:// address without them, plain tcp to another machine unless `insecure`."""
    scheme = urlsplit(address).scheme
    if address == "local":
        if security.tls:
            raise ValueError("--scheduler local starts a cluster on this machine's loopback "
                             "without TLS; the TLS files are for a tls://HOST:PORT scheduler")
        return
    if security.tls and scheme != "tls":
        raise ValueError(f"TLS files are given but the scheduler address {address!r} is not "
                         "tls://: start the scheduler with --protocol tls and use its tls:// "
                         "address")  # fmt: skip
    if scheme == "tls" and not security.tls:
        raise ValueError(f"the scheduler {address} speaks TLS: give --tls-ca-file, --tls-cert "
                         "and --tls-key (or c.CnnCourse.tls_ca_file, tls_cert, tls_key)")
    if scheme != "tls" and not security.insecure and not on_this_machine(address):
        raise ValueError(
            f"refusing the unencrypted, unauthenticated scheduler {address}: anyone who can "
            "reach it can run code on the workers, read the solutions and hidden tests, and "
            "forge grades. Use TLS (README: 'Grading on a Dask cluster'), or --insecure to "
            "accept that risk")  # fmt: skip


def on_this_machine(address: str) -> bool:
    """True when every address the scheduler's host name resolves to belongs to this machine
    (one can bind a socket only to one's own addresses)."""
    host = urlsplit(address).hostname
    if not host:
        return False
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    for family, _type, _proto, _name, sockaddr in found:
        if ipaddress.ip_address(sockaddr[0].split("%")[0]).is_loopback:
            continue  # ::1 cannot be bound where IPv6 is off, yet it is this machine
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((sockaddr[0], 0))
            except OSError:
                return False
    return bool(found)


# ------------------------------------------------------------------------- on a Dask worker
_workers: dict[tuple[str, int, bool], tuple[WorkerProcess, int | None]] = {}
_finished_runs: set[str] = set()
_lock = threading.Lock()


def worker_process(run_id: str, private_uid: bool) -> WorkerProcess:
    """This worker thread's grading process for run_id, started on first use; with private_uid
    (root and the sandbox on), its kernels get a user id no other worker of this machine holds
    (the lock file stays open until `finish_run`)."""
    key = (run_id, threading.get_ident(), private_uid)
    with _lock:
        if key not in _workers:
            logs = Path(tempfile.mkdtemp(prefix=f"cnncourse-dask-worker-{run_id}-"))
            uid, fd = claim_uid() if private_uid and os.geteuid() == 0 else (None, None)
            _workers[key] = WorkerProcess(threading.get_ident() % 10_000, logs, uid), fd
        return _workers[key][0]


def unpacked_template(archive: bytes, run_id: str) -> Path:
    """The template course of this run, unpacked once per machine."""
    digest = hashlib.sha256(archive).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"cnncourse-template-{run_id}-{digest}"
    with _lock:
        if not folder.exists():
            partial = Path(tempfile.mkdtemp(prefix=f"cnncourse-template-{run_id}-partial-"))
            unpack(archive, partial)
            try:
                os.rename(partial, folder)
            except OSError:  # another worker process of this machine was faster
                shutil.rmtree(partial, ignore_errors=True)
    return folder


def finish_run(run_id: str, cancel: bool = False) -> list[str]:
    """Runs on every Dask worker when a run ends: stop its grading processes, release their
    kernel uids, remove every temporary folder of the run on this machine (also those a worker
    killed mid-run left). Returns the folders removed."""
    with _lock:
        _finished_runs.add(run_id)
        mine = [key for key in _workers if key[0] == run_id]
        stopping = [_workers.pop(key) for key in mine]
    for process, fd in stopping:
        process.stop() if cancel else process.close()
        if fd is not None:
            os.close(fd)
    removed = sorted(str(p) for p in Path(tempfile.gettempdir()).glob(f"cnncourse-*-{run_id}-*"))
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def grade_on_worker(
    job: Job, submission: bytes, template: bytes, run_id: str = "default"
) -> tuple[dict, bytes]:
    """Runs on a Dask worker: grade one job, return (result as a dict, autograded folder tar)."""
    if run_id in _finished_runs:
        return asdict(Result(job.student, "cancelled", reasons=["the run has ended"])), b""
    template_dir = unpacked_template(template, run_id)
    with tempfile.TemporaryDirectory(prefix=f"cnncourse-job-{run_id}-") as scratch:
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
        result = worker_process(run_id, job.use_bubblewrap).run(local)
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
LOST_RESENDS = 3  # times a job cancelled by the cluster (its template lost) is sent again


class DaskPool:
    """Grading jobs on the workers of a Dask cluster (see the module docstring)."""

    def __init__(
        self,
        scheduler: str,
        scratch: Path,
        local_workers: int = 2,
        security: ClusterSecurity | None = None,
    ) -> None:
        from distributed import Client, LocalCluster

        security = security or ClusterSecurity()
        check_scheduler(scheduler, security)
        self.cluster = None
        self.scratch = scratch
        self.futures: dict = {}
        self.resent: dict[str, int] = {}  # student -> times their job was sent again
        self.templates: dict[str, object] = {}  # template folder -> its scattered archive
        self.run_id = uuid.uuid4().hex[:12]
        if scheduler == "local":
            self.cluster = LocalCluster(
                n_workers=local_workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
            )  # fmt: skip
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler, timeout="30s", security=security.dask_security())
        try:
            self.client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            self.close()
            raise ValueError(f"no Dask worker joined the scheduler {scheduler} in 120 s") from None

    def sandbox_probes(self) -> dict[str, tuple[bool, str]]:
        """Worker address -> (bubblewrap starts there, why not)."""
        return {address: tuple(probe) for address, probe in self.client.run(probe_worker).items()}

    def _template(self, folder: str):
        """The scattered template archive of folder, scattered (again) unless held now; under a
        new key each time (hash=False): the scheduler may still be forgetting the lost one."""
        if folder not in self.templates or self.templates[folder].status != "finished":
            archive = pack_folder(Path(folder))
            self.templates[folder] = self.client.scatter(archive, broadcast=True, hash=False)
        return self.templates[folder]

    def submit(self, job: Job):
        """Send the job to the cluster; its future."""
        submission = pack_folder(Path(job.submission))
        key = f"grade-{uuid.uuid4().hex}"
        template = self._template(job.template)
        future = self.client.submit(
            grade_on_worker, job, submission, template, self.run_id, key=key, pure=False
        )
        self.futures[future] = job
        return future

    def results(self) -> Iterator[tuple[Job, Result]]:
        """(job, result) as they finish; a job the cluster cancelled is sent again first."""
        from distributed import as_completed

        finished = as_completed(list(self.futures))
        for future in finished:
            job = self.futures.pop(future)
            if future.status == "cancelled" and self.resent.get(job.student, 0) < LOST_RESENDS:
                self.resent[job.student] = self.resent.get(job.student, 0) + 1
                finished.add(self.submit(job))
                continue
            yield job, self._collect(job, future)

    def _collect(self, job: Job, future) -> Result:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            payload, autograded = future.result()
        except CancelledError:  # by the cluster (results() sends such a job again first)
            return Result(job.student, "grader error", reasons=[
                f"the cluster cancelled its grading {1 + LOST_RESENDS} times (the lab's "
                "template was lost with the workers that held it; see the scheduler's log)"])
        except KilledWorker:  # the student's code runs in a sandboxed kernel, not the worker
            return Result(job.student, "grader error", reasons=[
                "the Dask workers grading it died, three times (see the workers' logs; a "
                "submission that brings its worker machine down shows there)"])  # fmt: skip
        except Exception as error:  # the task itself failed: our bug, not the student's
            detail = traceback.format_exception_only(error)[-1].strip()
            return Result(job.student, "grader error", reasons=[f"on the cluster: {detail}"])
        result = Result.from_dict(payload)
        if autograded:
            result.autograded = str(unpack(autograded, Path(job.job_dir) / "autograded"))
        return result

    def close(self, cancel: bool = False) -> None:
        """End the run: cancel what is left (with cancel), then stop its grading processes and
        remove its template and temporary folders on every worker."""
        if cancel and self.futures:
            self.client.cancel(list(self.futures))
        try:
            self.client.run(finish_run, self.run_id, cancel)
        except Exception as error:  # a worker lost now: its machine keeps the folders
            print(f"WARNING: could not clean up every Dask worker: {error}", file=sys.stderr)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
