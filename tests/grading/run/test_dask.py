"""Grading on a real Dask cluster: a `dask scheduler` and `dask worker` processes started here.

* a mixed class gets the grades the local pool gives (EXPECTED_TINY, which test_demo checks
  against the local pool);
* a representative subset of the hostile corpus is contained through the cluster: every attack
  on processes, files and the network (the notebook-level cases run the same worker code either
  way and stay in test_hostile);
* a worker killed mid-batch loses no submission: its jobs are graded by the other worker;
* a TLS cluster (certificates made here with openssl) grades as the local pool does, refuses a
  client without a certificate of the course CA, and the driver refuses a plain tcp:// scheduler
  on another machine unless told `insecure`;
* no run leaves its template or a temporary folder in the workers' or the driver's temp dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

import cnncourse
from cnncourse.grading.demo import synthetic_class, synthetic_submission
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.dask_pool import ClusterSecurity, DaskPool, check_scheduler
from cnncourse.grading.run.driver import GradingOptions, grade_lab, sandbox_mode
from tests.grading.run.file_hashes import file_hashes
from tests.grading.run.hostile.corpus import Kit, cases
from tests.grading.tiny_course import EXPECTED_TINY, FAST, TINY, make_course, write_honest
from tests.labs.typical_mistakes import ROOT, packed_class, with_mistakes

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")
CONTAINED = ("os_exit", "kill_grader", "fork_bomb", "memory_bomb", "network", "tamper_files",
             "read_hidden_tests", "symlink_to_solutions")  # fmt: skip


# Dask's own monitoring, which grading never reads, made rarer in the processes started here:
# an idle scheduler and two workers then spend ~0.7 s of CPU a minute instead of ~5 (a stack
# sample every 10 ms, an event-loop tick every 20 ms, memory read every 100 ms).
QUIET_MONITORING = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s",
}


def start(*argv: str, cwd: Path) -> subprocess.Popen:
    """A dask process; its temporary files go to cwd/tmp, which the tests inspect."""
    (cwd / "tmp").mkdir(exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", TMPDIR=str(cwd / "tmp"), **QUIET_MONITORING)
    return subprocess.Popen([DASK, *argv], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start_worker(scheduler_file: Path, name: str, cwd: Path, *tls: str) -> subprocess.Popen:
    return start("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--name", name, *tls, cwd=cwd)  # fmt: skip


def make_certificates(folder: Path, roles=("scheduler", "worker", "driver")) -> Path:
    """A course CA and, for each role, a key and a certificate it signed (openssl CLI, as the
    README shows); returns folder."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*argv: str) -> None:
        subprocess.run(["openssl", *argv], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=course CA", "-keyout", "ca-key.pem", "-out", "ca.pem")  # fmt: skip
    for role in roles:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={role}", "-keyout",
                f"{role}-key.pem", "-out", f"{role}.csr")  # fmt: skip
        openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-out", f"{role}.pem")  # fmt: skip
    return folder


def tls_options(certificates: Path, role: str) -> tuple[str, ...]:
    return ("--tls-ca-file", str(certificates / "ca.pem"), "--tls-cert",
            str(certificates / f"{role}.pem"), "--tls-key", str(certificates / f"{role}-key.pem"))


def driver_security(certificates: Path) -> ClusterSecurity:
    return ClusterSecurity(str(certificates / "ca.pem"), str(certificates / "driver.pem"),
                           str(certificates / "driver-key.pem"))  # fmt: skip


@contextlib.contextmanager
def running_cluster(folder: Path, certificates: Path | None = None):
    """(scheduler address, scheduler file, folder): one scheduler and two workers, with TLS
    when certificates are given."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    tls = lambda role: tls_options(certificates, role) if certificates else ()  # noqa: E731
    protocol = ("--protocol", "tls") if certificates else ()
    processes = [start("scheduler", "--port", "0", "--no-dashboard", *protocol, *tls("scheduler"),
                       "--scheduler-file", str(scheduler_file), cwd=folder)]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        processes += [start_worker(scheduler_file, f"w{i}", folder, *tls("worker"))
                      for i in (1, 2)]  # fmt: skip
        address = json.loads(scheduler_file.read_text())["address"]
        security = driver_security(certificates).dask_security() if certificates else None
        with Client(address, timeout="60s", security=security) as client:
            client.wait_for_workers(2, timeout=180)
        yield address, scheduler_file, folder
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, scheduler file, folder): one scheduler and two workers."""
    with running_cluster(tmp_path_factory.mktemp("dask")) as found:
        yield found


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory, certificates):
    """(tls:// address, scheduler file, folder): the cluster of `cluster`, over mutual TLS."""
    with running_cluster(tmp_path_factory.mktemp("dask-tls"), certificates) as found:
        yield found


@pytest.fixture
def driver_tmp(tmp_path, monkeypatch):
    """The driver's temporary directory, for this test only."""
    folder = tmp_path / "driver-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def leftovers(*folders: Path) -> list[str]:
    """What a grading run left in these temporary directories."""
    return sorted(str(p) for folder in folders for p in folder.glob("cnncourse-*"))


def on(address: str):
    return replace(FAST, scheduler=address)


def hand_in(course: Course, students: dict[str, str]) -> None:
    """Each student's submission of the tiny lab: the demo's synthetic one of their kind."""
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    for student, kind in students.items():
        folder = course.submitted / student / TINY
        folder.mkdir(parents=True)
        nbformat.write(synthetic_submission(source, release, kind), folder / f"{TINY}.ipynb")


def test_a_mixed_class_gets_the_grades_of_the_local_pool(cluster, tmp_path, driver_tmp):
    course = make_course(tmp_path / "course")
    synthetic_class(course, TINY)
    results = {r.student: r for r in grade_lab(course, TINY, options=on(cluster[0]))}
    assert leftovers(driver_tmp, cluster[2] / "tmp") == []  # template, jobs, worker logs gone
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
    check_hostile_corpus(cluster, on(cluster[0]), tmp_path)


@pytest.mark.skipif(sandbox_mode(FAST) != "bubblewrap", reason="needs bubblewrap")
def test_hostile_submissions_are_contained_through_the_tls_cluster(
    tls_cluster, certificates, tmp_path
):
    options = replace(FAST, scheduler=tls_cluster[0],
                      cluster_security=driver_security(certificates))  # fmt: skip
    check_hostile_corpus(tls_cluster, options, tmp_path)


def check_hostile_corpus(cluster, options, tmp_path) -> None:
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
    results = {r.student: r for r in grade_lab(course, TINY, options=options)}
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
    students = {f"s{index}_{kind}": kind for index, kind in enumerate(kinds)}
    hand_in(course, students)
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
    assert len(results) == len(kinds)
    for result in results:
        kind = students[result.student]
        assert (result.score, result.status) == EXPECTED_TINY[kind], result.reasons


@pytest.mark.parametrize("losses", ["once", "always"])
def test_jobs_whose_template_the_cluster_lost_are_sent_again(cluster, tmp_path, monkeypatch,
                                                             losses):
    """The scheduler keeps the scattered template where it likes (its memory manager drops
    replicas); a killed worker that held the last one takes it along, and the scheduler cancels
    the jobs that need it ('already forgotten'). Here the template is dropped on purpose after a
    job is sent: lost once, every job is still graded; lost every time, each job is sent a few
    times, then it is a grader error that says why (never a grade)."""
    course = make_course(tmp_path / "course")
    students = {f"s_{kind}": kind for kind in ("correct", "partly_right", "blank")}
    hand_in(course, students)
    send, lost = DaskPool.submit, []

    def send_then_lose_the_template(self, job):
        future = send(self, job)
        if job.student.startswith("s_") and (losses == "always" or not lost):
            lost.append(job.student)
            self.client.cancel([self.templates[job.template]], force=True)
        return future

    monkeypatch.setattr(DaskPool, "submit", send_then_lose_the_template)
    results = {r.student: r for r in grade_lab(course, TINY, options=on(cluster[0]))}
    got = {student: (r.score, r.status) for student, r in results.items()}
    if losses == "once":
        assert len(lost) == 1
        assert got == {student: EXPECTED_TINY[kind] for student, kind in students.items()}, [
            r.reasons for r in results.values()]
    else:  # each job sent, then sent again three times
        assert sorted(lost) == sorted(list(students) * 4)
        assert {status for _, status in got.values()} == {"grader error"}
        assert all("cancelled its grading 4 times" in r.reasons[0] for r in results.values())


def test_a_tls_cluster_grades_a_mixed_class_as_the_local_pool_and_leaves_nothing(
    tls_cluster, certificates, tmp_path, driver_tmp
):
    address, _scheduler_file, folder = tls_cluster
    assert address.startswith("tls://")
    course = make_course(tmp_path / "course")
    synthetic_class(course, TINY)
    options = replace(FAST, scheduler=address, cluster_security=driver_security(certificates))
    results = {r.student: r for r in grade_lab(course, TINY, options=options)}
    got = {student: (r.score, r.status) for student, r in results.items()}
    assert got == EXPECTED_TINY, {s: results[s].reasons for s in got if got[s] != EXPECTED_TINY[s]}
    assert leftovers(driver_tmp, folder / "tmp") == []


def typical_class_course(root: Path, lab: str) -> Course:
    """A course holding `lab` as the repository has it and its typical-mistake class as
    submissions (each student at most one mistake per answer cell)."""
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / lab, root / folder / lab)
    course = Course.load(root)
    for i, mistakes in enumerate(packed_class(lab)):
        folder = course.submitted / f"student{i}" / lab
        folder.mkdir(parents=True)
        nbformat.write(with_mistakes(lab, mistakes), folder / f"{lab}.ipynb")
    return course


def test_a_labs_typical_mistakes_get_the_local_pools_grades_through_the_tls_cluster(
    tls_cluster, certificates, tmp_path
):
    """Lab 1's typical-mistake class, cell by cell, graded by the local pool and by the
    mutual-TLS cluster: the same points for every student and cell."""
    lab = "lab1_convolution"
    address = tls_cluster[0]
    local = GradingOptions(jobs=2, progress=False, skip_preflight=True)
    remote = replace(local, scheduler=address, cluster_security=driver_security(certificates))
    grades = {}
    for where, options in (("local", local), ("tls", remote)):
        course = typical_class_course(tmp_path / where, lab)
        grades[where] = {r.student: (r.status, sorted((g.grade_id, g.score) for g in r.grades
                                                      if not g.needs_manual_grade))
                         for r in grade_lab(course, lab, options=options)}  # fmt: skip
    assert grades["tls"] == grades["local"]
    lost = [s for s, (status, cells) in grades["local"].items()
            if status == "ok" and any(score == 0 for _, score in cells)]  # fmt: skip
    assert len(lost) == len(grades["local"]), grades["local"]  # every student lost some points


def test_a_tls_cluster_refuses_a_client_without_a_certificate_of_the_course_ca(
    tls_cluster, certificates, tmp_path
):
    from distributed import Client

    host, port = tls_cluster[0].removeprefix("tls://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    context.check_hostname = False  # the scheduler's certificate is the course CA's, no host name
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):  # no client certificate
            with context.wrap_socket(raw) as connection:
                connection.sendall(b"hello")
                connection.recv(10)
    stranger = make_certificates(tmp_path / "stranger", roles=("driver",))  # another CA
    security = ClusterSecurity(str(certificates / "ca.pem"), str(stranger / "driver.pem"),
                               str(stranger / "driver-key.pem")).dask_security()  # fmt: skip
    with pytest.raises(OSError):  # distributed's CommClosedError / TimeoutError
        Client(tls_cluster[0], security=security, timeout="20s")


def test_a_plain_scheduler_on_another_machine_is_refused_unless_insecure(certificates):
    elsewhere = "tcp://198.51.100.7:8786"  # TEST-NET-2: documentation only, not ours
    with pytest.raises(ValueError, match="refusing the unencrypted.*--insecure"):
        check_scheduler(elsewhere, ClusterSecurity())
    check_scheduler(elsewhere, ClusterSecurity(insecure=True))
    check_scheduler("tcp://127.0.0.1:8786", ClusterSecurity())  # this machine: allowed
    check_scheduler(f"tcp://{socket.gethostname()}:8786", ClusterSecurity())
    with pytest.raises(ValueError, match="speaks TLS: give --tls-ca-file"):
        check_scheduler("tls://127.0.0.1:8786", ClusterSecurity())
    with pytest.raises(ValueError, match="is not tls://"):
        check_scheduler("tcp://127.0.0.1:8786", driver_security(certificates))
    with pytest.raises(ValueError, match="refusing the unencrypted"):
        DaskPool(elsewhere, Path("."))  # before any connection is tried
    with pytest.raises(ValueError, match="missing: certificate, key"):
        ClusterSecurity(ca_file=str(certificates / "ca.pem"))
    with pytest.raises(ValueError, match="nowhere.pem' does not exist"):
        ClusterSecurity(str(certificates / "ca.pem"), "nowhere.pem", "nowhere.pem")


def test_tls_files_come_from_the_command_line_or_the_course_config(certificates, tmp_path):
    from cnncourse.cli import build_parser

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CnnCourse.tls_ca_file = {str(certificates / 'ca.pem')!r}\n"
        "c.CnnCourse.tls_cert = 'driver.pem'\n"  # relative to the course folder
        "c.CnnCourse.tls_key = 'driver-key.pem'\n"
    )
    for name in ("driver.pem", "driver-key.pem"):
        (tmp_path / name).write_bytes((certificates / name).read_bytes())
    from cnncourse.grading.cli import grading_options

    parse = build_parser().parse_args
    options = grading_options(parse(["grade", "lab0", "--course", str(tmp_path)]))
    assert options.cluster_security == ClusterSecurity(
        str(certificates / "ca.pem"), str(tmp_path / "driver.pem"),
        str(tmp_path / "driver-key.pem"))  # fmt: skip
    chosen = parse(["grade", "lab0", "--course", str(tmp_path), "--tls-cert",
                    str(certificates / "worker.pem"), "--tls-key",
                    str(certificates / "worker-key.pem"), "--insecure"])  # fmt: skip
    security = grading_options(chosen).cluster_security
    assert (security.cert_file, security.insecure) == (str(certificates / "worker.pem"), True)
