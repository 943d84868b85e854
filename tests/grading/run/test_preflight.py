"""Preflight: a run set up wrongly stops before any student is graded, and says why.

Each course here breaks the tiny lab the way a real set-up breaks (a package the kernel cannot
import, a solution that fails its own hidden test), then grades one correct submission.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from cnncourse.cli import main
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import grade_lab
from cnncourse.grading.run.preflight import PreflightError, likely_cause, solution_notebook
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow


def course_with(root: Path, change_source) -> object:
    """The tiny course with its source notebook changed, and one correct submission."""
    course = make_course(root)
    path = course.source / TINY / f"{TINY}.ipynb"
    source = nbformat.read(path, as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    folder = course.submitted / "ada" / TINY
    folder.mkdir(parents=True)
    nbformat.write(synthetic_submission(source, release, "correct"), folder / f"{TINY}.ipynb")
    change_source(source)
    nbformat.write(source, path)
    return course


def cell(notebook, grade_id: str):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == grade_id)  # fmt: skip


def missing_package(source) -> None:
    cell(source, "imports").source += "\nimport cnncourse_dependency_not_installed"


def wrong_hidden_test(source) -> None:
    cell(source, "test_output_size").source += "\nassert output_size(9, 3) == 8  # wrong test"


def recorded(course) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(TINY)}


@pytest.fixture(scope="module")
def unimportable(tmp_path_factory):
    return course_with(tmp_path_factory.mktemp("unimportable"), missing_package)


def test_a_kernel_that_cannot_import_stops_the_run_and_says_why(unimportable, capsys):
    status = main(["grade", TINY, "--course", str(unimportable.root), "--cell-timeout", "30"])
    message = capsys.readouterr().err
    assert status == 1
    assert "PREFLIGHT FAILED" in message and "0/3" in message
    assert "imports: ModuleNotFoundError: No module named 'cnncourse_dependency_not_installed'" in (
        message
    )
    assert "likely cause: the sandboxed kernel cannot import a package" in message
    log = unimportable.autograded / f"{TINY}_logs" / "preflight.log"
    assert f"worker log: {log}" in message and log.read_text()
    assert recorded(unimportable) == {}  # nothing recorded
    assert not (unimportable.autograded / f"{TINY}_summary.csv").exists()
    assert not (unimportable.autograded / "ada").exists()


def test_skip_preflight_grades_anyway(unimportable):
    options = replace(FAST, skip_preflight=True)
    (result,) = grade_lab(unimportable, TINY, options=options)
    assert result.student == "ada" and result.score < 3
    assert recorded(unimportable) == {"ada": result.score}


def test_a_solution_failing_its_own_test_stops_the_run(tmp_path):
    course = course_with(tmp_path, wrong_hidden_test)
    with pytest.raises(PreflightError) as stopped:
        grade_lab(course, TINY, options=FAST)
    message = str(stopped.value)
    assert "2/3" in message and "test_output_size: AssertionError" in message
    assert "solution fails its own tests" in message
    assert recorded(course) == {}


def warning_in_test(source) -> None:
    cell(source, "test_conv1d").source += (
        "\nimport sys\nprint('joblib: [Errno 13] Permission denied, serial mode', file=sys.stderr)"
    )


def test_a_test_cell_writing_on_stderr_is_named_and_quoted_not_failed(tmp_path, capsys):
    course = course_with(tmp_path, warning_in_test)
    (result,) = grade_lab(course, TINY, options=FAST)
    said = capsys.readouterr().err
    assert (result.status, result.score, result.max_score) == ("ok", 3, 3)
    assert ("preflight: the solution's test_conv1d: wrote on stderr, not counted as a failure: "
            "'joblib: [Errno 13] Permission denied, serial mode'") in said  # fmt: skip
    assert recorded(course) == {"ada": 3.0}


def test_the_package_the_driver_imported_is_the_one_graded_with(tmp_path):
    """The course folder holds a broken `cnncourse/` copy and is the current folder: the
    workers and kernels must still import the driver's package (here the installed one)."""
    course = course_with(tmp_path / "course", lambda source: None)
    decoy = course.root / "cnncourse"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the course folder copy was imported')")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = Path(sys.executable).parent / "cnncourse"  # the installed command: not the copy
    done = subprocess.run([str(script), "grade", TINY, "--cell-timeout", "30", "-j", "1"],
                          cwd=course.root, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert recorded(course) == {"ada": 3.0}
    shutil.rmtree(decoy)


@pytest.mark.parametrize(
    ("reason", "cause"),
    [("imports: ModuleNotFoundError: No module named 'x'", "cannot import a package"),
     ("setup: ImportError: libcudart.so.12: cannot open", "cannot import a package"),
     ("train: InternalError: CUDA_ERROR_NO_DEVICE", "GPU library"),
     ("setup: MemoryError: Unable to allocate", "memory limit"),
     ("save: OSError: [Errno 30] Read-only file system", "read-only"),
     ("train: ran past the cell time limit (infinite loop?)", "timeout is too short"),
     ("the kernel died (exit, crash or memory limit); no tests could run", "kernel died"),
     ("test_conv: AssertionError: Not equal to tolerance", "fails its own tests"),
     ("something else entirely", "read the worker log")],
)  # fmt: skip
def test_likely_causes(reason, cause):
    assert cause in likely_cause(reason)


def test_the_solution_submission_answers_every_solution_cell():
    from tests.grading.tiny_course import FIXTURES

    source = nbformat.read(FIXTURES / "solutions" / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(FIXTURES / "solutions" / TINY / f"{TINY}.ipynb", as_version=4)
    for c in release.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = "raise NotImplementedError"
    answered = solution_notebook(source, release)
    code = "\n".join(c.source for c in answered.cells)
    assert "NotImplementedError" not in code and "BEGIN SOLUTION" not in code
    assert "return (n + 2 * padding - k) // stride + 1" in code
