"""Feedback on every lab, for a class with the typical mistakes (typical_mistakes.py):
graded by the driver, feedback made by `cnncourse feedback`; no feedback page shows a line of a
hidden test, and the page of the student who made a mistake names it.

The mistakes are packed: each student makes at most one mistake per answer cell (a lab's class
is as large as its cell with the most mistakes), so a lab grades in a few submissions.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from cnncourse.grading.checks import MISTAKES as KNOWN
from cnncourse.grading.checks import mistake_ids_in
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import GradingOptions, grade_lab
from cnncourse.grading.run.feedback import first_line
from cnncourse.grading.run.nbgrader_commands import generate_feedback
from tests.axe import violations_of_file
from tests.grading.feedback_pages import leaked, page_text, secret_lines
from tests.labs.typical_mistakes import (
    MISTAKES,
    ROOT,
    names_cause,
    packed_class,
    with_mistakes,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=list(MISTAKES))
def graded_class(request, tmp_path_factory):
    """(course, lab, {student: mistakes}) with feedback generated."""
    lab = request.param
    root = tmp_path_factory.mktemp(lab)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / lab, root / folder / lab)
    course = Course.load(root)
    students = {f"student{i}": mistakes for i, mistakes in enumerate(packed_class(lab))}
    for student, mistakes in students.items():
        folder = course.submitted / student / lab
        folder.mkdir(parents=True)
        nbformat.write(with_mistakes(lab, mistakes), folder / f"{lab}.ipynb")
    # one grading worker: a second costs its start-up (~1.6 s of CPU) and grades nothing the
    # first does not (the pool's parallelism has tests of its own)
    grade_lab(course, lab, options=GradingOptions(jobs=1, progress=False, skip_preflight=True))
    generate_feedback(course, lab)
    return course, lab, students


def page(course: Course, lab: str, student: str) -> Path:
    return course.feedback / student / lab / f"{lab}.html"


def diagnoses(course: Course, lab: str, student: str) -> tuple[list[str], str]:
    """First lines of the errors of the graded cells, and all their text, as autograded."""
    nb = nbformat.read(course.autograded / student / lab / f"{lab}.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return [first_line(e) for e in errors], "\n".join(e.get("evalue", "") for e in errors)


def test_no_feedback_page_shows_a_hidden_test(graded_class):
    course, lab, students = graded_class
    secrets = secret_lines(course.source / lab / f"{lab}.ipynb",
                           course.release / lab / f"{lab}.ipynb")
    assert secrets, f"{lab} has hidden tests"
    for student in students:
        assert page(course, lab, student).exists(), f"no feedback for {student}"
        shown = leaked(page(course, lab, student), secrets)
        assert not shown, f"{lab} {student}'s feedback shows hidden test lines: {sorted(shown)}"


def test_each_named_mistake_is_in_the_feedback(graded_class):
    """Every failed check's diagnosis and every mistake the checks named reach the student's
    page; a typical mistake counts as named when a diagnosis names its cause (most are)."""
    course, lab, students = graded_class
    named = []
    for student, mistakes in students.items():
        text = re.sub(r"\s+", " ", page_text(page(course, lab, student)))
        lines, errors = diagnoses(course, lab, student)
        for line in lines:
            assert re.sub(r"\s+", " ", line) in text, (student, line)
        for mistake_id in mistake_ids_in(errors):
            assert f"{mistake_id}: {KNOWN[mistake_id]}" in text, (student, mistake_id)
        named += [m.name for m in mistakes if any(names_cause(m, line) for line in lines)]
    total = sum(len(m) for m in students.values())
    assert len(named) >= 0.5 * total, f"{lab}: only {named} of {total} mistakes named"


def test_feedback_pages_pass_axe(graded_class):
    """The page of a student with mistakes (code, tracebacks, the lab's text) has no WCAG 2.1 AA
    violation that axe-core finds."""
    course, lab, students = graded_class
    violations = violations_of_file(page(course, lab, next(iter(students))))
    assert not violations, "\n".join(f"{v['id']}: {v['nodes']}" for v in violations)
