"""Grading throughput: plain `nbgrader autograde` against the parallel, sandboxed driver.

Both grade the same 30 submissions of lab 1 (a numpy lab: correct, blank, partly right, flipped
kernel, off-by-one padding, six of each) in two copies of one course, in this one run, and must
agree on every grade. Prints submissions per minute and the ratio. Target on a 2-core machine:
the driver (2 workers) at least 1.7x plain nbgrader.

    python benchmarks/bench_grading.py [--lab lab1_convolution] [--count 30] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from cnncourse.grading.demo import make_demo_course, synthetic_submission  # noqa: E402
from cnncourse.grading.driver import (  # noqa: E402
    DEFAULT_JOBS,
    Course,
    GradingOptions,
    grade_lab,
    sandbox_mode,
)

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
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", lab],
        cwd=course.root, check=True, capture_output=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    with Gradebook(course.db_url) as gb:
        grades = {s.student.id: float(s.score) for s in gb.assignment_submissions(lab)}
    return seconds, grades


def driver(course: Course, lab: str, jobs: int) -> tuple[float, dict[str, float]]:
    options = GradingOptions(jobs=jobs, progress=False)
    print(f"driver sandbox: {sandbox_mode(options)}")
    start = time.perf_counter()
    results = grade_lab(course, lab, options=options)
    seconds = time.perf_counter() - start
    return seconds, {r.student: r.score for r in results}


SPIN = "import time; t = time.perf_counter(); sum(range(40_000_000)); print(time.perf_counter()-t)"


def parallel_capacity(jobs: int) -> float:
    """How many times one CPU-bound process's work `jobs` of them get done in the same time
    (2.0 on two idle cores; less when other work shares the machine)."""

    def spin(n: int) -> float:
        procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE)
                 for _ in range(n)]  # fmt: skip
        return max(float(p.communicate()[0]) for p in procs)

    return jobs * spin(1) / spin(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab1_convolution")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        repo = Course.load(REPO)
        first, second = (make_demo_course(repo, args.lab, Path(scratch) / n) for n in "ab")
        for course in (first, second):
            write_class(course, args.lab, args.count)
        capacity_before = parallel_capacity(args.jobs)
        plain_s, plain = plain_nbgrader(first, args.lab)
        driver_s, ours = driver(second, args.lab, args.jobs)
        capacity = (capacity_before + parallel_capacity(args.jobs)) / 2
    assert ours == plain, f"grades differ:\n plain  {plain}\n driver {ours}"
    n = args.count
    print(f"grading {n} submissions of {args.lab} on {os.cpu_count()} cores")
    print(f"  plain nbgrader autograde: {plain_s:6.1f} s  {60 * n / plain_s:6.1f} submissions/min")
    print(f"  driver, {args.jobs} workers:       {driver_s:6.1f} s  {60 * n / driver_s:6.1f} "
          f"submissions/min")
    print(f"  speed-up: {plain_s / driver_s:.2f}x, identical grades for all {n} submissions")
    print(f"  the machine ran {args.jobs} CPU-bound processes at {capacity:.2f}x the work of one "
          f"during this run ({min(args.jobs, os.cpu_count() or 1)}.0 when idle)")


if __name__ == "__main__":
    main()
