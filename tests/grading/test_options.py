"""Grading options: defaults come from the course's nbgrader configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncourse.grading.driver import Course, GradingOptions, format_summary, resolved_timeouts
from cnncourse.grading.worker import Result

REPO = Path(__file__).resolve().parents[2]


def test_cell_timeout_defaults_to_the_course_configuration(tiny_course):
    # the repository's nbgrader_config.py sets Execute.timeout; the tiny course does not
    from traitlets.config.loader import PyFileConfigLoader

    configured = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    cell = configured.Execute.timeout
    assert resolved_timeouts(Course.load(REPO), GradingOptions()) == (2 * cell + 60, cell)
    assert resolved_timeouts(tiny_course, GradingOptions()) == (120, 30)  # nbgrader's 30 s
    assert resolved_timeouts(tiny_course, GradingOptions(timeout=7, cell_timeout=3)) == (7, 3)


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
