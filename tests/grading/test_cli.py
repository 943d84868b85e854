"""The instructor sub-commands are registered on the lead's `cnncourse` parser."""

from __future__ import annotations

import pytest

from cnncourse.cli import build_parser, main


@pytest.mark.parametrize(
    ("argv", "func"),
    [(["release"], "run_release"),
     (["grade", "lab1_convolution", "--jobs", "3"], "run_grade"),
     (["feedback", "lab1_convolution"], "run_feedback"),
     (["export", "--to", "g.csv"], "run_export"),
     (["demo"], "run_demo")],
)  # fmt: skip
def test_subcommands_parse(argv, func):
    args = build_parser().parse_args(argv)
    assert args.func.__name__ == func


def test_grade_options_reach_the_driver():
    args = build_parser().parse_args(["grade", "lab1_convolution", "-j", "3", "--timeout", "9",
                                      "--cell-timeout", "4", "--no-sandbox"])  # fmt: skip
    from cnncourse.grading.cli import grading_options

    got = grading_options(args)
    assert (got.jobs, got.timeout, got.cell_timeout, got.sandbox) == (3, 9, 4, False)


def test_grading_an_unknown_lab_names_it(tiny_course):
    with pytest.raises(ValueError, match="'lab42'"):
        main(["grade", "lab42", "--course", str(tiny_course.root)])


def test_zero_jobs_is_refused(tiny_course):
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        main(["grade", "lab0_tiny", "--jobs", "0", "--course", str(tiny_course.root)])
