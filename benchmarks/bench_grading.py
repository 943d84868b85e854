"""Grading throughput: plain nbgrader, the local pool and Dask clusters, side by side in one run.

Part 1, throughput. The same class (COUNT submissions of a lab: correct, blank, partly right,
flipped kernel, off-by-one padding, in turn) is graded in four copies of one course by
    plain `nbgrader autograde LAB`  (one process, one kernel after the other, no sandbox)
    the local pool                  (`cnncourse grade`, JOBS workers, sandboxed)
    a Dask cluster on this machine  (`cnncourse grade --scheduler local`, JOBS workers)
    a TLS Dask cluster              (`dask scheduler` and `dask worker --nworkers JOBS` with
                                     mutual TLS, certificates made here with openssl, as the
                                     README sets it up; `cnncourse grade --scheduler tls://...`)
which must agree on every grade; prints submissions per minute for each.

Part 2, where a submission's time goes, one worker, SAMPLE submissions (one of each kind):
    the floor        the notebook alone: kernel start and its cells in nbclient, nothing else
    plain nbgrader   the same notebooks through `nbgrader autograde`
    worker, no sandbox / worker, bubblewrap   seconds the worker spends per submission
    recording        seconds the driver spends recording one result (its serial work)
and, for the Dask pool, the driver's serial work per submission (packing the submission,
unpacking and recording the result) and the bytes that travel, from which the throughput model
of the README follows: rate = min(workers x rate of one worker, 1 / driver's serial seconds,
bandwidth / bytes per submission).

    python benchmarks/bench_grading.py [--lab lab1_convolution] [--count 30] [--jobs N]

Measured here (2 cores, quiet machine, lab 1, 15 submissions, 3 workers): plain nbgrader 18.6
submissions/min, local pool 28.1 (1.51x), Dask LocalCluster 23.0 (1.24x plain; on one machine
its scheduler and nannies cost more than they bring). Per submission: floor 2.79 s, plain
nbgrader 3.79 s, worker 3.08 s without sandbox and 3.49 s with bubblewrap, recording 0.13 s;
driver's serial work 0.14 s (local) and 0.18 s (Dask); 7 KiB sent and 19 KiB returned.
Under a load of 5-9 from other work: 7.8, 10.1 (1.29x) and 4.6 submissions/min.
With the TLS cluster (10 submissions, 3 workers, under a load of 8-15 from other work): plain
4.8, local pool 5.7 (1.19x), LocalCluster 3.9, TLS cluster of `dask worker --nworkers 3` 6.5
submissions/min (1.38x plain); the driver's serial work 0.50 s a submission with TLS, 1.24 s with
the LocalCluster: TLS costs nothing measurable beside that noise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench_deadlines import cost_line  # noqa: E402 (issue 20: due dates' cost, beside this file)

import cnncourse.grading.run.dask_pool as dask_pool  # noqa: E402
import cnncourse.grading.run.driver as driver  # noqa: E402
from cnncourse.grading.demo import make_demo_course, synthetic_submission  # noqa: E402
from cnncourse.grading.run.driver import DEFAULT_JOBS, Course, GradingOptions, grade_lab  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KINDS = ("correct", "blank", "partly_right", "flipped_kernel", "off_by_one_padding")


def write_class(course: Course, lab: str, count: int) -> None:
    import nbformat

    source = nbformat.read(course.source / lab / f"{lab}.ipynb", as_version=4)
    release = nbformat.read(course.release / lab / f"{lab}.ipynb", as_version=4)
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        folder = course.submitted / f"s{index:02d}_{kind}" / lab
        folder.mkdir(parents=True)
        nbformat.write(synthetic_submission(source, release, kind), folder / f"{lab}.ipynb")


def plain_nbgrader(course: Course, lab: str) -> tuple[float, dict[str, float]]:
    """Seconds for `nbgrader autograde LAB` on the whole class, and the grades it recorded."""
    from nbgrader.api import Gradebook

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lab], cwd=course.root,
                   check=True, capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - start
    with Gradebook(course.db_url) as gb:
        grades = {s.student.id: float(s.score) for s in gb.assignment_submissions(lab)}
    return seconds, grades


class Timed:
    """Wraps a function of a module and adds up the seconds spent in it (and its calls)."""

    def __init__(self, module, name: str) -> None:
        self.module, self.name, self.original = module, name, getattr(module, name)
        self.seconds: list[float] = []
        setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def restore(self) -> None:
        setattr(self.module, self.name, self.original)


def pooled(course: Course, lab: str, options: GradingOptions) -> tuple[float, dict, dict]:
    """Seconds for grade_lab, the grades, and the driver's timings per submission."""
    recording = Timed(driver, "record_or_note")
    packing = Timed(dask_pool, "pack_folder")
    unpacking = Timed(dask_pool, "unpack")
    start = time.perf_counter()
    try:
        results = grade_lab(course, lab, options=options)
    finally:
        for timed in (recording, packing, unpacking):
            timed.restore()
    seconds = time.perf_counter() - start
    timings = dict(
        worker=statistics.mean(r.seconds for r in results),
        recording=statistics.mean(recording.seconds),
        packing=sum(packing.seconds) / len(results),
        unpacking=sum(unpacking.seconds) / len(results),
    )
    return seconds, {r.student: r.score for r in results}, timings


def floor(course: Course, lab: str) -> float:
    """Mean seconds to run each submitted notebook alone: a kernel and its cells, no grader."""
    import nbformat
    from nbclient import NotebookClient

    times = []
    for notebook in sorted(course.submitted.glob(f"*/{lab}/{lab}.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        start = time.perf_counter()
        where = {"metadata": {"path": str(course.source / lab)}}
        NotebookClient(nb, timeout=600, allow_errors=True, resources=where).execute()
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def bytes_per_submission(course: Course, lab: str) -> tuple[int, int]:
    """(bytes sent, bytes returned) per submission on a Dask cluster: the tars that travel."""
    sent = [len(dask_pool.pack_folder(p)) for p in course.submitted.glob(f"*/{lab}")]
    back = [len(dask_pool.pack_folder(p)) for p in course.autograded.glob(f"*/{lab}")]
    return int(statistics.mean(sent)), int(statistics.mean(back))


def make_certificates(folder: Path) -> Path:
    """A course CA and a certificate and key per role, with the README's openssl commands."""
    def openssl(*argv: str) -> None:
        subprocess.run(["openssl", *argv], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=course CA", "-keyout", "ca-key.pem", "-out", "ca.pem")  # fmt: skip
    for role in ("scheduler", "worker", "driver"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={role}", "-keyout",
                f"{role}-key.pem", "-out", f"{role}.csr")  # fmt: skip
        openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-out", f"{role}.pem")  # fmt: skip
    return folder


@contextlib.contextmanager
def tls_cluster(folder: Path, workers: int):
    """(tls:// address, the driver's ClusterSecurity): a scheduler and `workers` single-threaded
    worker processes on this machine, all speaking mutual TLS."""
    folder.mkdir(parents=True)
    certificates = make_certificates(folder)
    tls = lambda role: ["--tls-ca-file", "ca.pem", "--tls-cert", f"{role}.pem",  # noqa: E731
                        "--tls-key", f"{role}-key.pem"]  # fmt: skip
    dask = str(Path(sys.executable).parent / "dask")
    started = lambda *argv: subprocess.Popen(  # noqa: E731
        [dask, *argv], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # fmt: skip
    processes = [started("scheduler", "--protocol", "tls", "--port", "0", "--no-dashboard",
                         *tls("scheduler"), "--scheduler-file", "scheduler.json")]  # fmt: skip
    try:
        while not (folder / "scheduler.json").exists():
            time.sleep(0.2)
        processes.append(started("worker", "--scheduler-file", "scheduler.json", "--nworkers",
                                 str(workers), "--nthreads", "1", "--no-dashboard",
                                 *tls("worker")))  # fmt: skip
        address = json.loads((folder / "scheduler.json").read_text())["address"]
        yield address, dask_pool.ClusterSecurity(
            *(str(certificates / name) for name in ("ca.pem", "driver.pem", "driver-key.pem")))
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab1_convolution")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    args = parser.parse_args()
    lab, n = args.lab, args.count
    # the steady rate of a batch: preflight (one more submission, graded alone) is left out
    options = GradingOptions(jobs=args.jobs, progress=False, skip_preflight=True)
    repo = Course.load(REPO)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        make = lambda name: make_demo_course(repo, lab, Path(scratch) / name)  # noqa: E731
        courses = {name: make(name) for name in ("plain", "local", "dask", "tls")}
        for course in courses.values():
            write_class(course, lab, n)
        # part 1: throughput, side by side
        plain_s, plain = plain_nbgrader(courses["plain"], lab)
        local_s, local, local_t = pooled(courses["local"], lab, options)
        dask_s, dasked, dask_t = pooled(courses["dask"], lab, replace(options, scheduler="local"))
        with tls_cluster(Path(scratch) / "tls-cluster", args.jobs) as (address, security):
            tls = replace(options, scheduler=address, cluster_security=security)
            tls_s, tlsed, tls_t = pooled(courses["tls"], lab, tls)
        sent, back = bytes_per_submission(courses["dask"], lab)
        # part 2: one worker, one submission of each kind
        sample = {name: make(f"sample-{name}") for name in ("plain", "off", "bwrap")}
        for course in sample.values():
            write_class(course, lab, len(KINDS))
        floor_s = floor(sample["plain"], lab)
        plain1_s, _ = plain_nbgrader(sample["plain"], lab)
        one = replace(options, jobs=1)
        _, _, off_t = pooled(sample["off"], lab, replace(one, sandbox=False))
        _, _, bwrap_t = pooled(sample["bwrap"], lab, replace(one, sandbox=True))
    assert local == plain == dasked == tlsed, f"grades differ:\n {plain}\n {local}\n {dasked}"
    rate = lambda seconds: 60 * n / seconds  # noqa: E731
    print(f"grading {n} submissions of {lab} on {os.cpu_count()} cores, {args.jobs} workers")
    print(f"  plain nbgrader autograde : {plain_s:6.1f} s  {rate(plain_s):6.1f} submissions/min")
    print(f"  local pool               : {local_s:6.1f} s  {rate(local_s):6.1f} submissions/min"
          f"  ({plain_s / local_s:.2f}x plain)")  # fmt: skip
    print(f"  Dask LocalCluster        : {dask_s:6.1f} s  {rate(dask_s):6.1f} submissions/min"
          f"  ({plain_s / dask_s:.2f}x plain, {local_s / dask_s:.2f}x local pool)")  # fmt: skip
    print(f"  Dask cluster, mutual TLS : {tls_s:6.1f} s  {rate(tls_s):6.1f} submissions/min"
          f"  ({plain_s / tls_s:.2f}x plain, {local_s / tls_s:.2f}x local pool)")  # fmt: skip
    print(f"  identical grades for all {n} submissions in the four")
    print(f"  {cost_line(courses['local'], lab, local_s / n)}")
    k = len(KINDS)
    print(f"where one submission's time goes (one worker, {k} submissions, seconds each):")
    print(f"  the floor: notebook alone (kernel start + cells): {floor_s:6.2f}")
    print(f"  plain nbgrader autograde                        : {plain1_s / k:6.2f}")
    print(f"  worker, no sandbox (check, course, autograde)   : {off_t['worker']:6.2f}")
    print(f"  worker, bubblewrap sandbox                      : {bwrap_t['worker']:6.2f}")
    print(f"  driver recording one result                     : {bwrap_t['recording']:6.3f}")
    serial = dask_t["recording"] + dask_t["packing"] + dask_t["unpacking"]
    print("driver's serial work per submission (bounds the rate whatever the workers):")
    print(f"  local pool: recording {local_t['recording']:.3f} s "
          f"-> at most {60 / local_t['recording']:.0f} submissions/min")  # fmt: skip
    print(f"  Dask: recording {dask_t['recording']:.3f} + packing {dask_t['packing']:.3f} + "
          f"unpacking {dask_t['unpacking']:.3f} = {serial:.3f} s "
          f"-> at most {60 / serial:.0f} submissions/min")  # fmt: skip
    tls_serial = tls_t["recording"] + tls_t["packing"] + tls_t["unpacking"]
    print(f"  Dask with TLS: {tls_serial:.3f} s -> at most {60 / tls_serial:.0f} submissions/min")
    print(f"  bytes per submission on Dask: {sent / 1024:.0f} KiB out, {back / 1024:.0f} KiB "
          f"back -> {100e6 / 8 / (sent + back) * 60:.0f} submissions/min on 100 Mbit/s")
    per_worker = 60 / local_t["worker"]
    print(f"one worker grades {per_worker:.1f} submissions/min here (all {args.jobs} together: "
          f"{rate(local_s):.1f}); model: min(workers x {per_worker:.1f}, "
          f"{60 / serial:.0f}, bandwidth / {(sent + back) / 1024:.0f} KiB) submissions/min")


if __name__ == "__main__":
    main()
