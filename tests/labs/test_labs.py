"""The labs through the real nbgrader pipeline, in a temporary copy of the course directory.

For every lab: the solution scores full marks, the released exercise scores zero, the release
holds no solution code or hidden test, and exercises/ is what generate_assignment makes from
solutions/ today. Doctored submissions check that credit is partial and isolated per function
(a bug in a forward pass costs that function's points only) and that the diagnostics, with
their mistake ids, reach the student.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LABS = ["lab1_convolution", "lab2_conv_layer", "lab3_pooling", "lab4_lenet", "lab5_model_zoo",
        "lab6_transposed_segmentation"]
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
# The written answer of each lab that has one, graded by hand in formgrader (issue 20).
WRITTEN_ANSWERS = {"lab1_convolution": "answer_pooling_equivariance",
                   "lab4_lenet": "answer_lenet_kernels",
                   "lab6_transposed_segmentation": "answer_checkerboard"}

pytestmark = pytest.mark.slow


def notebook(folder: Path, lab: str) -> nbformat.NotebookNode:
    return nbformat.read(folder / lab / f"{lab}.ipynb", as_version=4)


def nbgrader_env(home: Path) -> dict[str, str]:
    """nbgrader and its kernels write to ~/.jupyter and friends: keep them in the temp dir."""
    env = dict(os.environ)
    env.update(
        HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"), OPENBLAS_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg", PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
    )
    return env


class Course:
    """A throw-away course directory with its own gradebook."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copy(ROOT / "nbgrader_config.py", root)
        shutil.copytree(ROOT / "solutions", root / "solutions")
        self.env = nbgrader_env(root / "home")

    def nbgrader(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root,
                                env=self.env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def submit(self, student: str, lab: str, nb: nbformat.NotebookNode) -> None:
        folder = self.root / "submitted" / student / lab
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{lab}.ipynb")

    def grades(self, student: str, lab: str) -> dict[str, object]:
        """The gradebook's grade of each graded cell (detached: plain attributes)."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission_notebook(lab, lab, student)
            return {grade.name: SimpleNamespace(
                score=grade.score, needs_manual_grade=grade.needs_manual_grade,
                auto_score=grade.auto_score, cell_type=grade.cell.cell_type)
                for grade in submission.grades}

    def scores(self, student: str, lab: str) -> dict[str, float]:
        """Scores of the autograded (code) cells; written answers wait for a person."""
        return {name: grade.score for name, grade in self.grades(student, lab).items()
                if grade.cell_type == "code"}

    def max_scores(self, lab: str) -> dict[str, float]:
        return {cell.metadata.nbgrader["grade_id"]: cell.metadata.nbgrader["points"]
                for cell in notebook(self.root / "solutions", lab).cells
                if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"}

    def feedback(self, student: str, lab: str, grade_id: str) -> str:
        cell = graded_cell(notebook(self.root / "autograded" / student, lab), grade_id)
        return json.dumps(cell.get("outputs", []))


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    course = Course(tmp_path_factory.mktemp("course"))
    # every lab of solutions/ in one nbgrader process (an assignment id is a glob to nbgrader):
    # the same releases as one command per lab, without five more nbgrader start-ups (~2 s each)
    course.nbgrader("generate_assignment", "*", "--force")
    missing = [lab for lab in LABS if not (course.root / "exercises" / lab).is_dir()]
    assert not missing, f"generate_assignment made no release of {missing}"
    return course


def graded_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def cell_source(nb: nbformat.NotebookNode, grade_id: str) -> str:
    return graded_cell(nb, grade_id).source


def replace_cell(nb: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    graded_cell(nb, grade_id).source = source


def comparable(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, json.dumps(c.metadata.get("nbgrader"), sort_keys=True))
            for c in nb.cells]


@pytest.mark.parametrize("lab", LABS)
def test_release_is_generated_from_solutions(course, lab):
    assert comparable(notebook(ROOT / "exercises", lab)) == comparable(
        notebook(course.root / "exercises", lab)), (
        f"exercises/{lab} is stale: run `nbgrader generate_assignment {lab} --force`")


@pytest.mark.parametrize("lab", list(WRITTEN_ANSWERS))
def test_a_written_answer_is_released_blank_and_graded_by_hand(lab):
    source = graded_cell(notebook(ROOT / "solutions", lab), WRITTEN_ANSWERS[lab])
    meta = source.metadata.nbgrader
    assert source.cell_type == "markdown" and meta["grade"] and meta["solution"]
    assert 1 <= meta["points"] <= 3
    released = graded_cell(notebook(ROOT / "exercises", lab), WRITTEN_ANSWERS[lab])
    assert released.source.strip() == "YOUR ANSWER HERE"


@pytest.mark.parametrize("lab", LABS)
def test_release_holds_no_solution_or_hidden_test(course, lab):
    source = {c.metadata.nbgrader["grade_id"]: c.source for c in
              notebook(ROOT / "solutions", lab).cells if "nbgrader" in c.metadata}
    release = notebook(ROOT / "exercises", lab)
    text = "\n".join(c.source for c in release.cells)
    assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert "forbidden=" not in text  # every call_own lives in a hidden test
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for answer in SOLUTION.findall(source.get(grade_id, "")):
            lines = {line.strip() for line in answer.splitlines() if len(line.strip()) > 12}
            leaked = lines & {line.strip() for line in cell.source.splitlines()}
            assert not leaked, f"{lab} cell {grade_id} leaks solution lines {leaked}"


@pytest.mark.parametrize("lab", LABS)
def test_solution_scores_full_marks_and_release_zero(course, lab):
    course.submit("solver", lab, notebook(course.root / "solutions", lab))
    course.submit("blank", lab, notebook(course.root / "exercises", lab))
    if lab == "lab1_convolution":  # a flipped kernel in corr2d: that test alone fails
        flipped = notebook(course.root / "solutions", lab)
        solved = cell_source(flipped, "corr2d")
        assert "* k)" in solved, "the doctored corr2d no longer matches the solution"
        replace_cell(flipped, "corr2d", solved.replace("* k)", "* k[::-1, ::-1])"))
        course.submit("flipper", lab, flipped)
    if lab == "lab2_conv_layer":  # calls the reference instead of its own loops
        alias = notebook(course.root / "solutions", lab)
        replace_cell(alias, "conv2d_forward_loops",
                     "from cnncourse.nn import conv2d_forward as _mine\n\n\n"
                     "def conv2d_forward_loops(x, w, b, stride=1, padding=0):\n"
                     "    out, _ = _mine(x, w, b, stride=stride, padding=padding)\n"
                     "    return out, (x, w, b, stride, padding)  # the cache the lab asks\n")
        course.submit("aliaser", lab, alias)
        forward_bug = notebook(course.root / "solutions", lab)  # credit isolated per function
        solved = cell_source(forward_bug, "conv2d_forward_loops")
        assert "np.tensordot(window, w," in solved
        replace_cell(forward_bug, "conv2d_forward_loops", solved.replace(
            "np.tensordot(window, w,", "np.tensordot(window, w[::-1, ::-1],"))
        course.submit("forward_bug", lab, forward_bug)
    if lab == "lab3_pooling":  # a bug in the max-pool forward pass costs its points only
        forward_bug = notebook(course.root / "solutions", lab)
        solved = cell_source(forward_bug, "maxpool2d_forward")
        assert "out = np.full((N, Ho, Wo, C), -np.inf)" in solved
        replace_cell(forward_bug, "maxpool2d_forward",
                     solved.replace("out = np.full((N, Ho, Wo, C), -np.inf)",
                                    "out = np.zeros((N, Ho, Wo, C))"))
        course.submit("forward_bug", lab, forward_bug)
    course.nbgrader("autograde", lab, "--force")

    full = course.max_scores(lab)
    assert course.scores("solver", lab) == full
    assert course.scores("blank", lab) == dict.fromkeys(full, 0.0)
    written = WRITTEN_ANSWERS.get(lab)
    if written:  # autograding leaves the written answer to a person (formgrader lists it)
        grade = course.grades("solver", lab)[written]
        assert grade.cell_type == "markdown" and grade.needs_manual_grade
        assert grade.auto_score is None
    if lab == "lab1_convolution":
        scores = course.scores("flipper", lab)
        assert scores["test_corr2d"] == 0.0
        assert scores["test_conv1d_basic"] == full["test_conv1d_basic"]
        assert "the kernel is flipped" in course.feedback("flipper", lab, "test_corr2d")
        assert "[mistake: flipped_kernel]" in course.feedback("flipper", lab, "test_corr2d")
    if lab == "lab2_conv_layer":
        scores = course.scores("aliaser", lab)
        assert scores["test_conv2d_forward_loops"] == 0.0
        assert scores["test_im2col"] == full["test_im2col"]
        assert "reference implementation" in course.feedback("aliaser", lab,
                                                             "test_conv2d_forward_loops")
        scores = course.scores("forward_bug", lab)
        assert scores == {**full, "test_conv2d_forward_loops": 0.0}
        assert "[mistake: flipped_kernel]" in course.feedback("forward_bug", lab,
                                                              "test_conv2d_forward_loops")
    if lab == "lab3_pooling":
        scores = course.scores("forward_bug", lab)
        assert scores == {**full, "test_maxpool2d_forward": 0.0}
        assert "[mistake: maxpool_starts_at_zero]" in course.feedback(
            "forward_bug", lab, "test_maxpool2d_forward")
