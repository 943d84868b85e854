"""Grading options: defaults come from the course's nbgrader configuration."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cnncourse.grading.run.driver import Course, GradingOptions, format_summary, resolved_timeouts
from cnncourse.grading.run.jobs import Result

REPO = Path(__file__).resolve().parents[3]


def configured(*argvs: list[str]) -> list[tuple[int, dict]]:
    """(Execute.timeout, the per-lab table) of the repository's nbgrader_config.py as nbgrader
    loads it for each command line (one fresh interpreter for them all)."""
    code = (
        "import sys; from traitlets.config.loader import PyFileConfigLoader\n"
        f"for argv in {list(argvs)!r}:\n"
        "    sys.argv = argv\n"
        "    c = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "    print(repr((c.Execute.timeout, dict(c.CnnCourse.cell_timeouts))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    return [ast.literal_eval(line) for line in out.stdout.splitlines()]


def test_every_lab_declares_its_cell_timeout_and_nbgrader_uses_it():
    course = Course.load(REPO)
    lines = [(lab, argv) for lab in course.labs
             for argv in (["nbgrader", "autograde", lab],
                          ["nbgrader", "autograde", f"--assignment={lab}"],
                          ["nbgrader", "validate", f"/home/ada/{lab}/{lab}.ipynb"])]  # fmt: skip
    answers = configured(["nbgrader"], *[argv for _lab, argv in lines])
    table = answers[0][1]
    assert set(table) <= set(course.labs) and "lab1_convolution" in table
    for (lab, argv), (timeout, _table) in zip(lines, answers[1:], strict=True):
        # plain nbgrader; a lab not in the table gets the largest value, in both
        assert timeout == table.get(lab, max(table.values())), argv
        assert resolved_timeouts(course, GradingOptions(), lab) == (2 * timeout + 60, timeout)


def test_a_numpy_lab_stops_an_infinite_loop_in_seconds_and_lab4_may_train():
    (_, table), (without_lab, _) = configured(["nbgrader"], ["nbgrader", "autograde"])
    assert table["lab1_convolution"] <= 30
    assert table["lab4_lenet"] >= 4 * 45  # its training cells take ~45 s on one idle core
    assert without_lab == max(table.values())  # `nbgrader autograde` of every lab


def test_cell_timeout_option_overrides_the_lab_and_a_course_without_table_uses_nbgrader(
    tiny_course,
):
    course = Course.load(REPO)
    assert resolved_timeouts(course, GradingOptions(cell_timeout=3), "lab4_lenet") == (66, 3)
    assert resolved_timeouts(tiny_course, GradingOptions(), "lab0_tiny") == (120, 30)  # default
    assert resolved_timeouts(tiny_course, GradingOptions(timeout=7, cell_timeout=3)) == (7, 3)


def test_a_scheduler_must_be_local_or_an_address():
    assert GradingOptions(scheduler="tcp://10.0.0.1:8786").scheduler == "tcp://10.0.0.1:8786"
    with pytest.raises(ValueError, match="got 'cluster1'"):
        GradingOptions(scheduler="cluster1")


@pytest.mark.parametrize("field", ["timeout", "cell_timeout"])
def test_non_positive_timeouts_are_refused(field):
    with pytest.raises(ValueError, match=f"{field}=0"):
        GradingOptions(**{field: 0})


def test_summary_table_has_one_row_per_student_and_shortens_long_reasons():
    results = [Result("ada", "ok", 3, 3), Result("bob", "timeout", 0, 3, ["x" * 300])]
    lines = format_summary(results, width=80).splitlines()
    assert lines[0].split() == ["student", "score", "status", "reason"]
    assert lines[1].split() == ["ada", "3/3", "ok", "-"]
    assert lines[2].startswith("bob") and lines[2].endswith("...") and len(lines[2]) <= 80


def test_unknown_limits_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown fields \['memory'\]"):
        GradingOptions(limits={"memory": 1})
