"""Feedback that keeps the hidden tests hidden (cnncourse.grading.run.feedback), on the tiny lab:
graded by the driver, feedback made by `cnncourse feedback`, read as the student reads it."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnncourse.cli import main
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import grade_lab
from cnncourse.grading.run.feedback import HIDDEN_LINE, hide_in_text
from cnncourse.grading.run.nbgrader_commands import generate_feedback
from tests.axe import page_overflow_of_file, violations_of_file
from tests.grading.feedback_pages import leaked, page_text, secret_lines
from tests.grading.tiny_course import FAST, TINY, make_course

ROOT = Path(__file__).resolve().parents[3]

STUDENTS = ("correct", "flipped_kernel", "crashes", "off_by_one_padding")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The tiny lab's course with four students graded by the driver (no feedback yet)."""
    course = make_course(tmp_path_factory.mktemp("feedback"))
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    for student in STUDENTS:
        folder = course.submitted / student / TINY
        folder.mkdir(parents=True)
        nbformat.write(synthetic_submission(source, release, student), folder / f"{TINY}.ipynb")
    grade_lab(course, TINY, options=dataclasses.replace(FAST, skip_preflight=True))
    return course


def pages(course) -> dict[str, object]:
    return {p.parts[-3]: p for p in course.feedback.glob(f"*/{TINY}/{TINY}.html")}


def secrets(course) -> set[str]:
    return secret_lines(course.source / TINY / f"{TINY}.ipynb",
                        course.release / TINY / f"{TINY}.ipynb")


@pytest.mark.slow
def test_feedback_shows_no_line_of_a_hidden_test(graded):
    generate_feedback(graded, TINY)
    found = pages(graded)
    assert set(found) >= {"correct", "flipped_kernel", "off_by_one_padding"}
    assert secrets(graded), "the tiny lab has hidden tests to keep hidden"
    for student, page in found.items():
        assert not leaked(page, secrets(graded)), f"{student}'s feedback shows hidden tests"


@pytest.mark.slow
def test_feedback_summary_gives_points_and_the_error_of_each_cell(graded):
    generate_feedback(graded, TINY)
    text = page_text(pages(graded)["flipped_kernel"])
    summary = text[text.index("Summary"):text.index("Your notebook, cell by cell")]
    assert "Score: 1.0 of 3.0 points" in text
    assert "test_conv1d (autograded test)" in summary and "0.0 / 2.0" in summary
    assert "test_output_size (autograded test)" in summary and "1.0 / 1.0" in summary
    assert "AssertionError: Not equal to tolerance" in summary  # the failing check's first line
    # the visible test and its result are shown, the hidden test's line as a placeholder
    assert "assert_allclose(conv1d(np.arange(5.0), np.array([1.0, 1.0]))" in text
    assert HIDDEN_LINE in text


@pytest.mark.slow
def test_reveal_hidden_shows_the_hidden_tests(graded):
    """`cnncourse feedback LAB --reveal-hidden`, after the deadline: the hidden tests shown."""
    assert main(["feedback", TINY, "--course", str(graded.root), "--reveal-hidden"]) == 0
    try:
        for page in pages(graded).values():
            assert leaked(page, secrets(graded)) >= secrets(graded)
    finally:
        assert main(["feedback", TINY, "--course", str(graded.root)]) == 0
    for page in pages(graded).values():
        assert not leaked(page, secrets(graded))


@pytest.mark.slow
def test_feedback_page_passes_axe(graded, tmp_path):
    generate_feedback(graded, TINY)
    page_file = tmp_path / "feedback.html"
    shutil.copy(pages(graded)["flipped_kernel"], page_file)
    violations = violations_of_file(page_file)
    assert not violations, "\n".join(f"{v['id']}: {v['nodes']}" for v in violations)


@pytest.mark.slow
def test_feedback_page_fits_a_phone(graded, tmp_path):
    """At 390 px the summary table scrolls inside its box: the page is no wider than the screen."""
    generate_feedback(graded, TINY)
    page_file = tmp_path / "feedback.html"
    shutil.copy(pages(graded)["flipped_kernel"], page_file)
    assert page_overflow_of_file(page_file, 390) <= 0


TRACEBACK = (
    "\x1b[0;31mAssertionError\x1b[0m Traceback (most recent call last)\n"
    "Cell \x1b[0;32mIn[5], line 4\x1b[0m\n"
    "\x1b[1;32m      2\x1b[0m assert f(1) == 2\n"
    "\x1b[0;32m----> 4\x1b[0m assert f(secret_input_7) == 99\n"
    "      5 x = 1\n"
)


def test_traceback_lines_quoting_a_hidden_line_are_replaced():
    hidden = {"assert f(secret_input_7) == 99", "x = 1"}
    shown = hide_in_text(TRACEBACK, hidden)
    assert "secret_input_7" not in shown and "x = 1" not in shown
    assert f"----> 4 {HIDDEN_LINE}" in shown and f"      5 {HIDDEN_LINE}" in shown
    assert "      2 assert f(1) == 2" in shown  # a visible line stays, without colour codes
    assert "\x1b[" not in shown


def test_a_long_hidden_line_is_hidden_wherever_it_appears():
    shown = hide_in_text("guard(); import cnncourse.arithmetic as reference; more", {
        "import cnncourse.arithmetic as reference"})
    assert "arithmetic" not in shown and shown == HIDDEN_LINE


def test_the_course_configures_plain_nbgrader_feedback_too():
    from cnncourse.grading.run.course import load_config
    from cnncourse.grading.run.feedback import HideHiddenTests

    config = load_config(ROOT / "nbgrader_config.py")
    assert HideHiddenTests in config.GenerateFeedback.preprocessors
    assert config.HTMLExporter.template_name == "feedback"


@pytest.mark.slow
def test_feedback_returns_through_the_exchange(tmp_path):
    """nbgrader's exchange (the JupyterHub layout of test_labs_package's round trip): release,
    a student fetches, answers with a flipped kernel and submits; collect, `cnncourse grade`,
    `cnncourse feedback`, release_feedback; the student's fetch_feedback gets the course's page,
    hidden tests left out."""
    course = make_course(tmp_path / "course")
    student, exchange = tmp_path / "student", tmp_path / "exchange"
    student.mkdir()
    exchange.mkdir(mode=0o777)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    def nbgrader(cwd: Path, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args,
                               f"--Exchange.root={exchange}"], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    instructor = ("--CourseDirectory.course_id=cnn",)
    nbgrader(course.root, "release_assignment", TINY, *instructor)
    nbgrader(student, "fetch_assignment", TINY, "--course", "cnn")
    fetched = student / TINY / f"{TINY}.ipynb"
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    nbformat.write(synthetic_submission(source, nbformat.read(fetched, as_version=4),
                                        "flipped_kernel"), fetched)
    nbgrader(student, "submit", TINY, "--course", "cnn")
    nbgrader(course.root, "collect", TINY, *instructor)
    grade_lab(course, TINY, options=dataclasses.replace(FAST, skip_preflight=True))
    generate_feedback(course, TINY)
    nbgrader(course.root, "release_feedback", TINY, *instructor)
    nbgrader(student, "fetch_feedback", TINY, "--course", "cnn")

    returned = list(student.glob(f"{TINY}/feedback/*/{TINY}.html"))
    assert len(returned) == 1, list(student.rglob("*"))
    text = page_text(returned[0])
    assert "Score: 1.0 of 3.0 points" in text and "test_conv1d (autograded test)" in text
    assert not leaked(returned[0], secrets(course))


def test_a_figure_without_alt_text_gets_its_text_form():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from cnncourse.grading.run.feedback import FeedbackSummary

    figure = new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                              "text/plain": "<Figure size 640x480 with 1 Axes>"})
    nb = new_notebook(cells=[new_code_cell("plt.plot([1, 2])", outputs=[figure])])
    FeedbackSummary().preprocess(nb, {})
    assert nb.cells[0].outputs[0].metadata["image/png"]["alt"] == \
        "<Figure size 640x480 with 1 Axes>"
