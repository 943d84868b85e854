"""What due dates and late penalties cost the grading driver: recording one result with and
without them, side by side, and the throughput that leaves (issue 20: within 5% of before).

The only work they add is in the driver's recording (`run/deadlines.py`: read timestamp.txt,
load the course's policy, write the due date, timestamp, extension and each notebook's penalty
in the same commit). This records the same graded results again and again into two copies of
one course, in alternating rounds so that the machine's load falls on both alike:
    today       no due date, no timestamp.txt (what every course had before)
    deadlines   c.CnnCourse.due_dates, a SharePerPeriod late-penalty plugin, an extension,
                a timestamp.txt per submission, half of them late

    python benchmarks/bench_deadlines.py [--lab lab1_convolution] [--count 10] [--rounds 5]
    (bench_grading.py prints the same line for the class it grades)
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from cnncourse.grading.run.course import Course  # noqa: E402
from cnncourse.grading.run.jobs import CellGrade, Result  # noqa: E402

DUE = datetime.datetime(2026, 10, 5, 12)
POLICY = (
    "\nc.AssignLatePenalties.plugin_class = 'cnncourse.grading.run.late_penalty.SharePerPeriod'\n"
    "c.SharePerPeriod.share = 0.1\nc.SharePerPeriod.period = 'day'\nc.SharePerPeriod.cap = 0.5\n"
)


def graded_results(course: Course, lab: str) -> list[Result]:
    """A Result per recorded submission of `lab`, with the grades the gradebook holds."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return [
            Result(s.student.id, "ok", grades=[
                CellGrade(nb.name, g.name, float(g.score), float(g.max_score))
                for nb in s.notebooks for g in nb.grades])
            for s in gb.find_assignment(lab).submissions
        ]  # fmt: skip


def copy_course(course: Course, folder: Path) -> Course:
    """A copy of the course in `folder`, its gradebook included (paths in its configuration
    moved there too)."""
    shutil.copytree(course.root, folder, symlinks=True)
    config = folder / "nbgrader_config.py"
    config.write_text(config.read_text().replace(str(course.root), str(folder)))
    copy = Course.load(folder)
    assert copy.db_url != course.db_url, copy.db_url
    return copy


def with_deadlines(course: Course, lab: str, folder: Path) -> Course:
    """A copy of the graded course with a due date, a late policy, an extension and a
    timestamp.txt for every submission (every other one a day late)."""
    copy_course(course, folder)
    config = folder / "nbgrader_config.py"
    config.write_text(config.read_text() + POLICY
                      + f"c.CnnCourse.due_dates = {{'{lab}': '{DUE} UTC'}}\n")  # fmt: skip
    copy = Course.load(folder)
    for index, student in enumerate(sorted(p.name for p in copy.submitted.iterdir())):
        when = DUE + datetime.timedelta(days=index % 2, hours=-1)
        (copy.submitted / student / lab / "timestamp.txt").write_text(f"{when} UTC\n")
    first = sorted(p.name for p in copy.submitted.iterdir())[0]
    (folder / "extensions.csv").write_text(f"student,lab,hours\n{first},{lab},48\n")
    return copy


def recording_seconds(course: Course, lab: str, results: list[Result], timestamps: bool) -> float:
    """Mean seconds of the driver's `record_or_note` per result (timestamps as the driver
    reads them, from each submission's timestamp.txt)."""
    from cnncourse.grading.run.deadlines import read_timestamp_text
    from cnncourse.grading.run.gradebook import record_or_note

    times = []
    for result in results:
        result = replace(result, reasons=[], timestamp=None)
        start = time.perf_counter()
        if timestamps:
            result.timestamp = read_timestamp_text(course.submitted / result.student / lab)
        record_or_note(course, lab, result)
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def recording_cost(course: Course, lab: str, rounds: int = 5) -> tuple[float, float]:
    """(seconds to record one result today, with due dates and penalties), alternating rounds,
    on copies of a course whose `lab` is graded (the course itself is left alone)."""
    with tempfile.TemporaryDirectory(prefix="bench-deadlines-") as scratch:
        today = copy_course(course, Path(scratch) / "today")
        late = with_deadlines(course, lab, Path(scratch) / "deadlines")
        results = graded_results(today, lab)
        plain, timed = [], []
        for _ in range(rounds):
            plain.append(recording_seconds(today, lab, results, timestamps=False))
            timed.append(recording_seconds(late, lab, results, timestamps=True))
    return statistics.median(plain), statistics.median(timed)


def cost_line(course: Course, lab: str, seconds_per_submission: float) -> str:
    """One line: recording today and with deadlines, and the throughput ratio it leaves
    (seconds per submission of the batch, plus the extra recording, which is serial work)."""
    plain, timed = recording_cost(course, lab)
    extra = timed - plain
    ratio = seconds_per_submission / (seconds_per_submission + max(extra, 0.0))
    return (f"recording with due dates and late penalties: {timed:.4f} s vs {plain:.4f} s today "
            f"(+{extra * 1000:.1f} ms per submission) -> throughput {ratio:.3f}x today's "
            f"({seconds_per_submission:.2f} s per submission)")


def main() -> None:
    from cnncourse.grading.demo import make_demo_course
    from cnncourse.grading.run.driver import GradingOptions, grade_lab

    sys_path_repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab1_convolution")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=3)
    args = parser.parse_args()
    import bench_grading  # the class of bench_grading.py, beside this file

    with tempfile.TemporaryDirectory(prefix="bench-deadlines-") as scratch:
        course = make_demo_course(Course.load(sys_path_repo), args.lab, Path(scratch) / "c")
        bench_grading.write_class(course, args.lab, args.count)
        options = GradingOptions(jobs=args.jobs, progress=False, skip_preflight=True)
        start = time.perf_counter()
        grade_lab(course, args.lab, options=options)
        per_submission = (time.perf_counter() - start) / args.count
        print(f"graded {args.count} submissions of {args.lab}, {args.jobs} workers")
        print(cost_line(course, args.lab, per_submission))


if __name__ == "__main__":
    main()
