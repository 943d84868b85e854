"""Grading: what the course adds to nbgrader.

    checks      checks with diagnostic messages, used by the labs' test cells
    driver      grade a class in parallel, record grades, release, feedback, export
    worker      grades one submission in a private nbgrader course (run by the driver)
    sandbox     bubblewrap and resource limits around a student's kernel (threat model inside)
    validation  reads and repairs a submitted notebook before nbgrader sees it
    guard       restores monkey-patched test helpers before each test cell
    demo        a synthetic class graded end to end
    cli         the instructors' `cnncourse` sub-commands

Student kernels import `cnncourse.grading.checks`, so this package imports nothing eagerly;
the names below are loaded on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Course": "driver",
    "GradingOptions": "driver",
    "grade_lab": "driver",
    "format_summary": "driver",
    "ResourceLimits": "sandbox",
    "run_demo": "demo",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
