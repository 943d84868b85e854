"""Wall time of the test suite per marker, and its ten slowest tests.

Runs the suite the way `python3 tasks.py test` does (pytest-xdist on every core, the keras tests
that differ between backends once more under JAX), one pytest run per marker group so that each
group's wall time is its own, and prints the times, their total and the ten slowest tests (from
each run's JUnit XML: a test's time includes the set-up of the fixtures it was first to use).
The groups split the suite without overlap; the book group reads the built book (`tasks.py book`).

    .venv/bin/python benchmarks/bench_tests.py                   every group, in parallel
    .venv/bin/python benchmarks/bench_tests.py --serial          one process, as before xdist
    .venv/bin/python benchmarks/bench_tests.py --groups rest,keras   (names from the table)
    .venv/bin/python benchmarks/bench_tests.py --groups rest tests/nn   (paths or pytest options)

Run both ways on one quiet machine for the speed-up of the parallel suite. Each run starts
pytest (imports, collection) again: the total is a little above one `tasks.py test`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tasks import JAX_TESTS, PARALLEL, PYTEST, course_env  # noqa: E402  (as `tasks.py test`)


@dataclass(frozen=True)
class Group:
    name: str
    markers: str
    backend: str = "tensorflow"


GROUPS = (
    Group("rest", "not keras and not slow and not book"),
    Group("keras", "keras and not slow and not book"),
    Group("slow", "slow and not book"),
    Group("book", "book"),
    Group("jax", JAX_TESTS, backend="jax"),
)


@dataclass(frozen=True)
class GroupRun:
    group: Group
    wall_s: float
    tests: int
    failures: int
    timings: list[tuple[float, str]]  # (seconds, test id)


def junit_timings(report: Path) -> tuple[list[tuple[float, str]], int]:
    """(seconds, test id) of every test case in a JUnit XML report, and how many failed."""
    timings, failures = [], 0
    for case in ElementTree.parse(report).iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        timings.append((float(case.get("time", 0.0)), test_id))
        failures += any(child.tag in ("failure", "error") for child in case)
    return timings, failures


def run_group(group: Group, pytest_args: list[str], *, serial: bool, report_dir: Path
              ) -> GroupRun:
    report = report_dir / f"{group.name}.xml"
    argv = [*map(str, PYTEST), "-q", "-m", group.markers, f"--junitxml={report}", *pytest_args]
    if not serial:
        argv[len(PYTEST):len(PYTEST)] = PARALLEL
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=course_env(MPLBACKEND="Agg", KERAS_BACKEND=group.backend),
                   stdout=subprocess.DEVNULL)
    wall_s = time.perf_counter() - start
    if not report.exists():
        sys.exit(f"pytest wrote no report for group {group.name!r} ({group.markers}): "
                 f"run `python3 tasks.py pytest -m '{group.markers}'` to see why")
    timings, failures = junit_timings(report)
    return GroupRun(group, wall_s, len(timings), failures, timings)


def slowest(runs: list[GroupRun], count: int = 10) -> list[tuple[float, str, str]]:
    """The `count` slowest tests of all runs: (seconds, group name, test id), slowest first."""
    every = [(seconds, run.group.name, test_id) for run in runs for seconds, test_id in run.timings]
    return sorted(every, reverse=True)[:count]


ROW = "{:6} {:45} {:>6} {:>6} {:>8}"


def print_row(run: GroupRun) -> None:
    print(ROW.format(run.group.name, run.group.markers, run.tests, run.failures,
                     f"{run.wall_s:.1f}"), flush=True)


def print_totals(runs: list[GroupRun]) -> None:
    total = sum(run.wall_s for run in runs)
    print(ROW.format("total", "", sum(run.tests for run in runs),
                     sum(run.failures for run in runs), f"{total:.1f}"), f"({total / 60:.1f} min)")
    print("\nTen slowest tests (seconds, group, test):")
    for seconds, group, test_id in slowest(runs):
        print(f"{seconds:8.1f}  {group:6} {test_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serial", action="store_true", help="one pytest process, no xdist")
    parser.add_argument("--groups", default=",".join(group.name for group in GROUPS),
                        help="comma-separated group names (default: all)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (test paths)")
    args = parser.parse_args()
    by_name = {group.name: group for group in GROUPS}
    unknown = [name for name in args.groups.split(",") if name not in by_name]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; the groups are {', '.join(by_name)}")
    mode = "serial (one process)" if args.serial else f"parallel ({' '.join(PARALLEL)})"
    print(f"Test suite, {mode}, each group's line as soon as it ran\n")
    print(ROW.format("group", "markers", "tests", "failed", "wall s"), flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-tests-") as report_dir:
        for name in args.groups.split(","):
            runs.append(run_group(by_name[name], args.pytest_args, serial=args.serial,
                                  report_dir=Path(report_dir)))
            print_row(runs[-1])
    print_totals(runs)

if __name__ == "__main__":
    main()
