"""The instructors' sub-commands of `cnncourse`, each a thin layer over nbgrader.

    cnncourse release [LAB ...]              nbgrader generate_assignment (every lab by default)
    cnncourse grade LAB [--submissions DIR] [--jobs N] [--timeout S] [--cell-timeout S]
                        [--student S ...] [--no-sandbox | --require-sandbox]
                        [--scheduler tls://HOST:8786 | --scheduler local] [--skip-preflight]
                        [--tls-ca-file CA.pem --tls-cert CERT.pem --tls-key KEY.pem | --insecure]
                                             autograde in parallel, sandboxed, with a summary
                                             (on a Dask cluster's workers with --scheduler)
                        [--yes]              a regrade shows every score it changes and records
                                             only when confirmed (--yes: without asking)
    cnncourse extend STUDENT LAB --hours N   extend a student's due date (extensions.csv)
    cnncourse late LAB [--yes]               apply due dates, extensions and the late policy to
                                             the recorded grades (shows changes first)
    cnncourse feedback LAB [--reveal-hidden] nbgrader generate_feedback, hidden tests left out
    cnncourse export [--to grades.csv]       nbgrader export
    cnncourse export --format canvas|moodle [--roster roster.csv] [--match COLUMN]
                                             one column per lab, as the LMS's grade import reads
    cnncourse demo [LAB] [--dir demo]        a synthetic class, graded end to end
    cnncourse report LAB                     class report in autograded/LAB_report.html: scores,
                                             failed cells, diagnosed mistakes, times
    cnncourse similarity LAB [--threshold T] pairs of submissions with alike answer code, ranked,
                                             side by side in autograded/LAB_similarity.html

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
    grade.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="grade on the workers of this Dask cluster (tcp://host:8786), or 'local' to start one",
    )  # fmt: skip
    add_cluster_options(grade)
    grade.add_argument(
        "--skip-preflight", action="store_true",
        help="do not grade the lab's own solution first (it stops the run unless it scores full)",
    )  # fmt: skip
    grade.add_argument(
        "--update-gradebook", action="store_true",
        help="migrate the gradebook to a lab whose graded cells or points changed since release",
    )  # fmt: skip
    grade.add_argument("--yes", action="store_true",
                       help="record a regrade's score changes without asking")
    grade.set_defaults(func=run_grade)
    add_deadline_commands(subparsers, course)

    feedback = subparsers.add_parser("feedback", parents=[course], help="HTML feedback for a lab")
    feedback.add_argument("lab")
    feedback.add_argument("--reveal-hidden", action="store_true",
                          help="show the hidden tests (after the deadline only)")
    feedback.set_defaults(func=run_feedback)

    export = subparsers.add_parser("export", parents=[course], help="export grades to CSV")
    export.add_argument("--to", type=Path, help="CSV file to write (grades[_FORMAT].csv)")
    add_lms_options(export)
    export.set_defaults(func=run_export)

    report = subparsers.add_parser(
        "report", parents=[course], help="class report: scores, failed cells, mistakes, times")
    report.add_argument("lab")
    report.set_defaults(func=run_report)

    similarity = subparsers.add_parser(
        "similarity", parents=[course], help="rank pairs of submissions with alike answer code")
    similarity.add_argument("lab")
    similarity.add_argument("--submissions", type=Path, help="folder of STUDENT/LAB/ (submitted/)")
    similarity.add_argument(
        "--threshold", type=float, default=None,
        help="flag pairs sharing at least this share of the shorter answer (default 0.5)")
    similarity.add_argument(
        "--common-share", type=float, default=None,
        help="ignore passages found in more than this share of the class (default 0.5; 1: none)")
    similarity.add_argument("--with-solution", action="store_true",
                            help="compare the lab's own solution too, as '(solution)'")
    similarity.add_argument("--no-reference", action="store_true",
                            help="do not compare answers with the cnncourse package's source")
    similarity.set_defaults(func=run_similarity)

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
        help="seconds per cell (default: the lab's entry in nbgrader_config.py)",
    )  # fmt: skip
    sandbox = parser.add_mutually_exclusive_group()
    sandbox.add_argument("--no-sandbox", action="store_true", help="resource limits only")
    sandbox.add_argument(
        "--require-sandbox", action="store_true",
        help="refuse to grade where bubblewrap cannot start (default: limits only, with a warning)",
    )  # fmt: skip


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """TLS for --scheduler (defaults: c.CnnCourse.tls_ca_file, tls_cert, tls_key)."""
    tls = "for a tls:// scheduler (default: c.CnnCourse.{} in nbgrader_config.py)"
    parser.add_argument("--tls-ca-file", metavar="PEM", help="the course CA's certificate, "
                        + tls.format("tls_ca_file"))  # fmt: skip
    parser.add_argument("--tls-cert", metavar="PEM",
                        help="this driver's certificate, " + tls.format("tls_cert"))
    parser.add_argument("--tls-key", metavar="PEM",
                        help="this driver's private key, " + tls.format("tls_key"))
    parser.add_argument(
        "--insecure", action="store_true",
        help="accept a plain tcp:// scheduler on another machine (anyone reaching it can run "
             "code on the workers and read the solutions)",
    )  # fmt: skip


def cluster_security(args: argparse.Namespace):
    """The Dask TLS settings: the command line's over the course's nbgrader_config.py."""
    from cnncourse.grading.run.course import load_config
    from cnncourse.grading.run.dask_pool import ClusterSecurity

    config_file = Path(args.course) / "nbgrader_config.py"
    config = load_config(config_file) if config_file.exists() else {}
    files = {"ca_file": "tls_ca_file", "cert_file": "tls_cert", "key_file": "tls_key"}
    given = {field: getattr(args, name, None) for field, name in files.items()}
    given = {field: str(Path(path).resolve()) if path else None for field, path in given.items()}
    return ClusterSecurity.from_config(config, Path(args.course),
                                       insecure=getattr(args, "insecure", False), **given)


def grading_options(args: argparse.Namespace):
    from cnncourse.grading.run.driver import DEFAULT_JOBS, GradingOptions

    return GradingOptions(
        jobs=DEFAULT_JOBS if args.jobs is None else args.jobs,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        sandbox=False if args.no_sandbox else (True if args.require_sandbox else None),
        scheduler=getattr(args, "scheduler", None),
        skip_preflight=getattr(args, "skip_preflight", False),
        update_gradebook=getattr(args, "update_gradebook", False),
        cluster_security=cluster_security(args),
    )


def run_release(args: argparse.Namespace) -> int:
    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.nbgrader_commands import release_labs

    for lab in release_labs(Course.load(args.course), args.labs or None):
        print(f"released {lab}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    """Exit status: 0 graded; 1 preflight failed, the lab changed since its release or another
    run holds the gradebook (nothing recorded); 3 some submissions not graded (a grader
    failure: their grades are left as they were; run the same command again); 4 a regrade's
    score changes not confirmed (nothing recorded: --yes, or answer yes on a terminal); 130
    interrupted by Ctrl-C (what finished is recorded and in the summary)."""
    import sys

    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.driver import GradingInterrupted, NoSubmission
    from cnncourse.grading.run.gradebook import GradebookBusy, LabChanged, format_summary
    from cnncourse.grading.run.preflight import PreflightError
    from cnncourse.grading.run.regrade import RegradeRefused, grade_reviewed

    course = Course.load(args.course)
    summary = course.autograded / f"{args.lab}_summary.csv"
    try:
        results, _changes = grade_reviewed(
            course, args.lab, confirm_changes(args.yes), submissions=args.submissions,
            students=args.student, options=grading_options(args),
        )  # fmt: skip
    except (PreflightError, GradebookBusy, LabChanged, NoSubmission) as error:
        print(error, file=sys.stderr)
        return 1
    except RegradeRefused as refused:
        print(f"NOT RECORDED: {refused}; run again with --yes to record", file=sys.stderr)
        return 4
    except GradingInterrupted as stopped:
        print(format_summary(stopped.results))
        print(f"INTERRUPTED: {len(stopped.results)} of {stopped.total} submissions graded and "
              f"recorded, the others not; summary: {summary}", file=sys.stderr)  # fmt: skip
        return 130
    print(format_summary(results))
    print(f"summary: {summary}")
    return 3 if report_not_graded(results) else 0


def report_not_graded(results) -> bool:
    """Say which submissions the grader failed on (nothing recorded for them); True if any."""
    import sys

    missed = [r.student for r in results if not r.graded]
    if missed:
        noun = "submission" if len(missed) == 1 else "submissions"
        print(f"NOT GRADED: {len(missed)} {noun} not graded because the grader failed "
              f"({', '.join(missed)}); their grades were left as they were. Read the reasons "
              "above, then run the same command again.", file=sys.stderr)  # fmt: skip
    return bool(missed)


def add_deadline_commands(subparsers: argparse._SubParsersAction, course) -> None:
    """`extend` and `late` (due dates, extensions, late penalties: run/deadlines.py)."""
    extend = subparsers.add_parser("extend", parents=[course], help="extend a student's due date")
    extend.add_argument("student")
    extend.add_argument("lab")
    extend.add_argument("--hours", type=float, required=True,
                        help="hours after the lab's due date (0 removes the extension)")
    extend.set_defaults(func=run_extend)
    late = subparsers.add_parser(
        "late", parents=[course], help="apply due dates and the late policy to recorded grades")
    late.add_argument("lab")
    late.add_argument("--yes", action="store_true", help="record the changes without asking")
    late.set_defaults(func=run_late)


def confirm_changes(yes: bool):
    """The confirmation of a regrade: --yes, else a question on a terminal, else no."""
    import sys

    from cnncourse.grading.run.regrade import format_changes

    def confirm(changes) -> bool:
        print(f"scores that change (recorded -> new):\n{format_changes(changes)}")
        if yes:
            return True
        if not sys.stdin.isatty():
            return False
        return input("record these changes? [y/N] ").strip().lower() in {"y", "yes"}

    return confirm


def run_extend(args: argparse.Namespace) -> int:
    import sys

    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.regrade import extend

    try:
        change = extend(Course.load(args.course), args.student, args.lab, args.hours)
    except ValueError as error:  # a negative extension, an unknown lab, a bad extensions.csv
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.student} has {args.hours:g} h more for {args.lab}")
    if change is not None:
        print(f"recorded score {change.before:g} -> {change.after:g}")
    return 0


def run_late(args: argparse.Namespace) -> int:
    import sys

    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.regrade import RegradeRefused, format_changes, reapply_late_policy

    try:
        changes = reapply_late_policy(Course.load(args.course), args.lab, confirm_changes(args.yes))
    except RegradeRefused as refused:
        print(f"NOT RECORDED: {refused}; run again with --yes to record", file=sys.stderr)
        return 4
    except ValueError as error:  # a due date that is not a date, an unknown lab, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_changes(changes) if not changes else f"recorded {len(changes)} change(s)")
    return 0


def run_feedback(args: argparse.Namespace) -> int:
    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.nbgrader_commands import generate_feedback

    written = generate_feedback(Course.load(args.course), args.lab,
                                reveal_hidden=args.reveal_hidden)
    print(f"feedback written to {written}")
    return 0


def add_lms_options(export: argparse.ArgumentParser) -> None:
    from cnncourse.grading.reports.lms_export import FORMATS

    export.add_argument("--format", choices=FORMATS, default="nbgrader",
                        help="nbgrader's CSV, or a file Canvas's / Moodle's grade import reads")
    export.add_argument("--roster", type=Path, help="CSV mapping nbgrader ids to LMS ids")
    export.add_argument("--roster-student", default="student",
                        help="roster column of the nbgrader student ids (default: student)")
    export.add_argument("--match", help="roster column of the LMS id (Canvas: ID, SIS User ID, "
                        "SIS Login ID (default); Moodle: ID number (default), Email address, "
                        "Username, id)")
    export.add_argument("--lab", action="append", help="export only this lab (repeat)")
    export.add_argument("--column", action="append", metavar="LAB=TITLE",
                        help="name a lab's column, e.g. a Canvas assignment 'Lab 1 (4521)'")
    export.add_argument("--skip-unmapped", action="store_true",
                        help="leave out gradebook students the roster lacks (default: refuse)")


def run_export(args: argparse.Namespace) -> int:
    from cnncourse.grading.run.course import Course
    from cnncourse.grading.run.nbgrader_commands import export_grades

    if args.format != "nbgrader":
        return run_lms_export(args)
    print(f"grades written to {export_grades(Course.load(args.course), args.to or 'grades.csv')}")
    return 0


def run_lms_export(args: argparse.Namespace) -> int:
    from cnncourse.grading.reports import lms_export as lms
    from cnncourse.grading.run.course import Course

    course = Course.load(args.course)
    match = args.match or lms.DEFAULT_MATCH[args.format]
    roster = lms.Roster.read(args.roster, match, args.roster_student) if args.roster else None
    grades = lms.read_gradebook(course.db_url, course.course_id, args.lab)
    to = lms.write_lms_grades(grades, args.to or Path(f"grades_{args.format}.csv"), args.format,
                              roster=roster, columns=lms.parse_columns(args.column),
                              skip_unmapped=args.skip_unmapped)  # fmt: skip
    print(f"grades written to {to}\n{lms.import_instructions(args.format, match)}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from cnncourse.grading.reports.class_report import class_report, format_report, write_report
    from cnncourse.grading.run.course import Course

    course = Course.load(args.course)
    report = class_report(course, args.lab)
    print(format_report(report))
    print(f"report: {write_report(report, course.autograded)}")
    return 0


def run_similarity(args: argparse.Namespace) -> int:
    from cnncourse.grading.reports.similarity import (
        SimilarityOptions,
        compare_lab,
        format_pairs,
        write_similarity_report,
    )
    from cnncourse.grading.run.course import Course

    course = Course.load(args.course)
    chosen = {"threshold": args.threshold, "common_share": args.common_share,
              "with_reference": False if args.no_reference else None}
    options = SimilarityOptions(**{name: v for name, v in chosen.items() if v is not None})
    result = compare_lab(course, args.lab, submissions=args.submissions, options=options,
                         with_solution=args.with_solution)
    print(format_pairs(result))
    print(f"report: {write_similarity_report(result, args.lab, course.autograded)}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    import sys

    from cnncourse.grading.demo import NotACourse, course_for_demo
    from cnncourse.grading.demo import run_demo as demo

    try:
        course = course_for_demo(args.course)
    except NotACourse as error:
        print(error, file=sys.stderr)
        return 1
    demo(args.lab, course=course, root=course.root / args.dir, options=grading_options(args))
    return 0
