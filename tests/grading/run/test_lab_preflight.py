"""Every lab's own solution gets full marks through the sandboxed grading pipeline (preflight),
and what a test cell's stderr means: a warning is not a failed check.

These grade the course's real labs in a copy of the course directory; lab 4 trains LeNet and
labs 5 and 6 import Keras, so they take minutes.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import GradingOptions, check_solution, grade_lab
from cnncourse.grading.run.nbgrader_commands import build_template, python_scripts_on_path
from cnncourse.grading.run.preflight import solution_notebook
from cnncourse.grading.run.sandbox import bubblewrap_probe

ROOT = Path(__file__).resolve().parents[3]
LABS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
KERAS_LABS = {"lab5_model_zoo", "lab6_transposed_segmentation"}
# A cell limit far above the labs' own (nbgrader_config.py): these tests check that the solution
# gets full marks through the sandboxed pipeline, and run beside the rest of the suite, where
# lab 6's training cell (about 30 s on a quiet machine) took over 180 s under JAX at a load of 9.
SANDBOXED = GradingOptions(jobs=1, progress=False, sandbox=True, cell_timeout=900)

pytestmark = pytest.mark.slow


def course_copy(root: Path, labs: list[str]) -> Course:
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for lab in labs:
        shutil.copytree(ROOT / "solutions" / lab, root / "solutions" / lab)
    return Course.load(root)


@pytest.mark.parametrize(
    "lab", [pytest.param(lab, marks=[pytest.mark.keras] if lab in KERAS_LABS else [])
            for lab in LABS])  # fmt: skip
def test_every_lab_s_solution_gets_full_marks_in_the_sandbox(lab, tmp_path):
    assert bubblewrap_probe()[0], f"bubblewrap cannot start here: {bubblewrap_probe()[1]}"
    result = check_solution(course_copy(tmp_path, [lab]), lab, SANDBOXED)
    assert result.full_marks, (result.score, result.max_score, result.reasons)


WARNING = ("    import warnings\n    warnings.simplefilter('always', RuntimeWarning)\n"
           "    warnings.warn('precision lost in corr2d', RuntimeWarning)\n")


def test_a_correct_lab1_whose_corr2d_warns_gets_full_marks_and_the_cell_is_named(tmp_path):
    lab = "lab1_convolution"
    course = course_copy(tmp_path, [lab])
    python_scripts_on_path()  # nbgrader's alembic, as `grade_lab` does
    template = build_template(course, lab, tmp_path / "template")
    source = nbformat.read(template / "source" / lab / f"{lab}.ipynb", as_version=4)
    release = nbformat.read(template / "release" / lab / f"{lab}.ipynb", as_version=4)
    submission = solution_notebook(source, release)
    corr2d = next(c for c in submission.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "corr2d")  # fmt: skip
    corr2d.source = corr2d.source.replace('"""\n', '"""\n' + WARNING, 1)
    assert "warnings.warn" in corr2d.source
    folder = course.submitted / "warns" / lab
    folder.mkdir(parents=True)
    nbformat.write(submission, folder / f"{lab}.ipynb")
    (result,) = grade_lab(course, lab, options=replace(SANDBOXED, skip_preflight=True))
    # every autograded point (written answers, graded by hand, aside); was 3 points short
    assert (result.status, result.score) == ("ok", result.autograded_max_score), result.reasons
    assert result.score >= 15
    assert not [r for r in result.reasons if "edited" in r]  # handed in as released
    assert any(r.startswith("test_corr2d: wrote on stderr") and "precision lost in corr2d" in r
               for r in result.reasons), result.reasons  # fmt: skip
