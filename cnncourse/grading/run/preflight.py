"""Preflight: grade the lab's own solution before any student, through the very same pipeline.

A grading run that is set up wrongly (a package the sandboxed kernel cannot import, a memory
limit too small for TensorFlow, a cell timeout too short for this machine, a read-only path)
does not fail loudly on its own: every student gets the same silent zero. So before grading a
class the driver hands the pool one more job, the release notebook with the solutions of the
source notebook in place, graded by the same workers, in the same sandbox, with the same limits
and timeouts. Unless it scores full marks the driver stops, records nothing, and raises
`PreflightError`, whose message names the cells that failed, their errors, and the likely cause.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from cnncourse.grading.run.jobs import Result

STUDENT = "preflight"  # the student id of the solution in the worker's private course
SOLUTION_MARKS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")

# (words found in a failing cell's reason or the worker log, the likely cause); first match wins.
CAUSES = (
    (
        ("ModuleNotFoundError", "ImportError", "No module named"),
        "the sandboxed kernel cannot import a package the lab uses: install it into the Python "
        "environment that grades (the workers' environment on a cluster); a package installed "
        "outside that environment is not visible inside the sandbox",
    ),
    (
        ("CUDA", "cuDNN", "libcuda", "GPU", "XLA"),
        "a GPU library failed inside the sandbox: grade on the CPU (CUDA_VISIBLE_DEVICES=) or "
        "install the CPU build of the framework on the grading machines",
    ),
    (
        ("MemoryError", "Cannot allocate memory", "std::bad_alloc"),
        "the kernel's memory limit is too small for this lab: raise address_space_bytes "
        "(GradingOptions(limits=...))",
    ),
    (
        ("Read-only file system", "PermissionError", "Permission denied"),
        "the lab writes outside its own folder, which the sandbox makes read-only: write files "
        "next to the notebook, or grade with --no-sandbox to confirm",
    ),
    (
        ("time limit", "timeout", "stopped responding", "stopped after"),
        "the cell or submission timeout is too short for this lab on these machines: raise the "
        "lab's entry in c.CnnCourse.cell_timeouts (nbgrader_config.py) or pass --cell-timeout",
    ),
    (
        ("kernel died", "worker died"),
        "the kernel died: a memory limit (address_space_bytes) too small for the lab's libraries, "
        "or a crash in a compiled library; read the worker log",
    ),
    (
        ("AssertionError", "assert"),
        "the solution fails its own tests: the source notebook's solution or hidden test is wrong, "
        "or the kernel imports another version of a package than the one the tests expect",
    ),
)
DEFAULT_CAUSE = "the grading pipeline itself failed here: read the worker log"
STDERR_NOTE = "wrote on stderr"  # the worker's note of a test cell whose stderr it kept


class PreflightError(RuntimeError):
    """The lab's own solution did not get full marks; nothing was graded or recorded."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


def solved(source_cell: str) -> str:
    """The solution code of a source cell, without nbgrader's BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source_cell.splitlines() if not SOLUTION_MARKS.match(line))


def solution_notebook(source: NotebookNode, release: NotebookNode) -> NotebookNode:
    """The release as a student gets it, with every solution cell answered as in the source."""
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: solved(cell.source)
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def write_solution_submission(template: Path, lab: str, folder: Path) -> Path:
    """Write the solution submission of the lab's template course into folder/STUDENT/LAB/."""
    source = nbformat.read(template / "source" / lab / f"{lab}.ipynb", as_version=4)
    release = nbformat.read(template / "release" / lab / f"{lab}.ipynb", as_version=4)
    submission = folder / STUDENT / lab
    submission.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution_notebook(source, release), submission / f"{lab}.ipynb")
    return submission


def stderr_notes(result: Result) -> list[str]:
    """The worker's notes of test cells that wrote on stderr (kept, not counted as failures)."""
    return [reason for reason in result.reasons if STDERR_NOTE in reason]


def likely_cause(text: str) -> str:
    for words, cause in CAUSES:
        if any(word.lower() in text.lower() for word in words):
            return cause
    return DEFAULT_CAUSE


def check_preflight(result: Result, lab: str, log: Path | None = None) -> None:
    """Raise PreflightError unless the solution got full marks with status 'ok' (the points of
    manually graded cells are not expected from it)."""
    if result.full_marks:
        return
    lines = [
        f"PREFLIGHT FAILED: the solution of {lab} scored {result.score:g}/"
        f"{result.autograded_max_score or result.max_score:g} "
        f"(status {result.status!r}) through the grading pipeline, so every student would be "
        "graded wrongly. Nothing was graded or recorded.",
    ]
    lines += [f"  {reason}" for reason in result.reasons] or ["  (no cell reported an error)"]
    lines.append(f"likely cause: {likely_cause(' '.join(result.reasons) or result.log)}")
    if log is not None:
        lines.append(f"worker log: {log}")
    lines.append("(--skip-preflight grades anyway)")
    raise PreflightError("\n".join(lines), result)
