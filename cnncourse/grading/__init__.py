"""Grading: what the course adds to nbgrader.

    checks      checks with diagnostic messages, used by the labs' test cells
    driver      grade a class: lock, pool, template, preflight, grade, record; release, ...
    course      the course directory and its configuration (per-lab cell timeouts)
    jobs        Job and Result, what travels between the driver and a worker
    pool        LocalPool: worker processes on this machine (submit jobs, results as they finish)
    dask_pool   DaskPool: the same, on the workers of a Dask distributed cluster
    gradebook   recording grades (the driver is the only writer), the lock, the summary
    preflight   grades the lab's own solution first; stops a run that would grade wrongly
    worker      grades one submission in a private nbgrader course (run by a pool)
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
    "Course": "course",
    "GradingOptions": "driver",
    "grade_lab": "driver",
    "format_summary": "gradebook",
    "Job": "jobs",
    "Result": "jobs",
    "PreflightError": "preflight",
    "ResourceLimits": "sandbox",
    "run_demo": "demo",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
