"""Grading: what the course adds to nbgrader, in four layers.

Inside a student's kernel (imported by the labs' test cells, in the released notebooks):
    checks          checks with diagnostic messages, and MISTAKES, the catalogue of known mistakes
    lab_checks/     one check per graded lab function, naming that function's known mistakes
        common      what every lab's checks share (plain-numpy reference dependencies)
        lab1, lab2, lab3, lab6
                    the checks of each lab (labs 4 and 5 check inline in their notebooks)

The grading run, in the instructor's process and the workers it starts (run/):
    driver          grade a class: lock, pool, template, preflight, grade, record
    nbgrader_commands  nbgrader's own commands for the course: release, feedback, export,
                    the lab's template course, the lab in the gradebook
    course          the course directory and its configuration (per-lab cell timeouts)
    jobs            Job and Result, what travels between the driver and a worker
    pool            LocalPool: worker processes on this machine (results as they finish)
    dask_pool       DaskPool: the same, on the workers of a Dask distributed cluster
    gradebook       recording grades (the driver is the only writer), the lock, the summary
    preflight       grades the lab's own solution first; stops a run that would grade wrongly
    worker          grades one submission in a private nbgrader course (run by a pool)
    sandbox         bubblewrap and resource limits around a student's kernel (threat model inside)
    validation      reads and repairs a submitted notebook before nbgrader sees it
    guard           the preprocessors that add guard cells, which restore monkey-patched test
                    helpers before each test cell (the cells run in the kernel, the module in
                    the worker)

After grading (reports/):
    class_report    a lab's class report: scores, failed cells, diagnosed mistakes, times
    similarity      pairs of submissions with alike answer code, ranked, side by side
    lms_export      grade files that Canvas's and Moodle's grade import reads

Front ends:
    cli             the instructors' `cnncourse` sub-commands
    demo            a synthetic class graded end to end

The boundary: the kernel-side modules (`checks`, `lab_checks`) import nothing from the
instructor's side (`run`, `reports`, the front ends, nbgrader); tests/grading/test_layers.py
holds them to it. Student kernels import `cnncourse.grading.checks`, so this package imports
nothing eagerly; the names below are loaded on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Course": "run.course",
    "GradingOptions": "run.driver",
    "grade_lab": "run.driver",
    "format_summary": "run.gradebook",
    "Job": "run.jobs",
    "Result": "run.jobs",
    "PreflightError": "run.preflight",
    "ResourceLimits": "run.sandbox",
    "run_demo": "demo",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
