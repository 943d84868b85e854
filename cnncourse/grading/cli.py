"""The instructors' sub-commands of `cnncourse`, each a thin layer over nbgrader.

    cnncourse release [LAB ...]              nbgrader generate_assignment (every lab by default)
    cnncourse grade LAB [--submissions DIR] [--jobs N] [--timeout S] [--cell-timeout S]
                        [--student S ...] [--no-sandbox]
                                             autograde in parallel, sandboxed, with a summary
    cnncourse feedback LAB                   nbgrader generate_feedback
    cnncourse export [--to grades.csv]       nbgrader export
    cnncourse demo [LAB] [--dir demo]        a synthetic class, graded end to end

Every command works on the course directory given by --course (default: the current folder,
whose nbgrader_config.py also serves plain nbgrader commands).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register the grading sub-commands; each sets `func` on the parsed arguments."""
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course", type=Path, default=Path("."), help="course directory")

    release = subparsers.add_parser("release", parents=[course], help="release labs to students")
    release.add_argument("labs", nargs="*", help="labs to release (default: all)")
    release.set_defaults(func=run_release)

    grade = subparsers.add_parser("grade", parents=[course], help="autograde a lab in parallel")
    grade.add_argument("lab")
    grade.add_argument("--submissions", type=Path, help="folder of STUDENT/LAB/ (submitted/)")
    grade.add_argument("--student", action="append", help="grade only this student (repeat)")
    add_grading_options(grade)
    grade.set_defaults(func=run_grade)

    feedback = subparsers.add_parser("feedback", parents=[course], help="HTML feedback for a lab")
    feedback.add_argument("lab")
    feedback.set_defaults(func=run_feedback)

    export = subparsers.add_parser("export", parents=[course], help="export grades to CSV")
    export.add_argument("--to", type=Path, default=Path("grades.csv"), help="CSV file to write")
    export.set_defaults(func=run_export)

    demo = subparsers.add_parser("demo", parents=[course], help="grade a synthetic class")
    demo.add_argument("lab", nargs="?", default="lab1_convolution")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="demo course folder")
    add_grading_options(demo, timeout=180, cell_timeout=10)
    demo.set_defaults(func=run_demo)


def add_grading_options(
    parser: argparse.ArgumentParser, timeout: float | None = None, cell_timeout: int | None = None
) -> None:
    parser.add_argument(
        "--jobs", "-j", type=int, default=None,
        help="parallel workers (default: one more than the cores)",
    )
    parser.add_argument(
        "--timeout", type=float, default=timeout,
        help="seconds per submission (default: twice the cell timeout plus 60)",
    )  # fmt: skip
    parser.add_argument(
        "--cell-timeout", type=int, default=cell_timeout,
        help="seconds per cell (default: Execute.timeout of nbgrader_config.py)",
    )  # fmt: skip
    parser.add_argument("--no-sandbox", action="store_true", help="resource limits only")


def grading_options(args: argparse.Namespace):
    from cnncourse.grading.driver import DEFAULT_JOBS, GradingOptions

    return GradingOptions(
        jobs=DEFAULT_JOBS if args.jobs is None else args.jobs,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        sandbox=False if args.no_sandbox else None,
    )


def run_release(args: argparse.Namespace) -> int:
    from cnncourse.grading.driver import Course, release_labs

    for lab in release_labs(Course.load(args.course), args.labs or None):
        print(f"released {lab}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from cnncourse.grading.driver import Course, format_summary, grade_lab

    course = Course.load(args.course)
    results = grade_lab(
        course,
        args.lab,
        submissions=args.submissions,
        students=args.student,
        options=grading_options(args),
    )
    print(format_summary(results))
    print(f"summary: {course.autograded / (args.lab + '_summary.csv')}")
    return 0


def run_feedback(args: argparse.Namespace) -> int:
    from cnncourse.grading.driver import Course, generate_feedback

    print(f"feedback written to {generate_feedback(Course.load(args.course), args.lab)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from cnncourse.grading.driver import Course, export_grades

    print(f"grades written to {export_grades(Course.load(args.course), args.to)}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from cnncourse.grading.demo import run_demo as demo
    from cnncourse.grading.driver import Course

    course = Course.load(args.course)
    demo(args.lab, course=course, root=course.root / args.dir, options=grading_options(args))
    return 0
