"""A lab changed since its release: grading stops and says how to sync, or migrates on request.

The tiny course is released (its gradebook holds the lab as it was), then its source notebook
gets a new test cell, or other points on a test cell, without a new release.
"""

from __future__ import annotations

from dataclasses import replace

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from cnncourse.grading.run.driver import grade_lab
from cnncourse.grading.run.gradebook import LabChanged, record_or_note
from cnncourse.grading.run.jobs import CellGrade, Result
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow

NEW_TEST = {"grade": True, "grade_id": "test_new", "locked": True, "points": 5,
            "schema_version": 3, "solution": False, "task": False}  # fmt: skip


def change_source(course, change) -> None:
    path = course.source / TINY / f"{TINY}.ipynb"
    source = nbformat.read(path, as_version=4)
    change(source)
    nbformat.write(source, path)


def add_test_cell(source) -> None:
    source.cells.append(new_code_cell("assert True", metadata={"nbgrader": dict(NEW_TEST)}))


def more_points(source) -> None:
    cell = next(c for c in source.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "test_conv1d")  # fmt: skip
    cell.metadata.nbgrader["points"] = 7


def scores(course) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(TINY)}


def submitted_by(course, student: str) -> None:
    (course.submitted / student / TINY).mkdir(parents=True)
    (course.submitted / student / TINY / f"{TINY}.ipynb").write_text("{}")


def recorded_full_marks(course, student: str, *extra: CellGrade) -> None:
    grades = [CellGrade(TINY, "test_conv1d", 2, 2), CellGrade(TINY, "test_output_size", 1, 1)]
    record_or_note(course, TINY, Result(student, "ok", grades=[*grades, *extra]))


@pytest.mark.parametrize(
    ("change", "named"),
    [(add_test_cell, "test_new: a graded cell of 5 points in the source, not in the gradebook"),
     (more_points, "test_conv1d: 2 points in the gradebook, 7 in the source")],
)  # fmt: skip
def test_a_lab_changed_since_its_release_stops_before_grading(tmp_path, change, named):
    course = make_course(tmp_path)
    recorded_full_marks(course, "ada")
    submitted_by(course, "ada")
    change_source(course, change)
    with pytest.raises(LabChanged) as stopped:
        grade_lab(course, TINY, options=FAST)
    message = str(stopped.value)
    assert named in message
    assert f"cnncourse release {TINY}" in message and "--update-gradebook" in message
    assert scores(course) == {"ada": (3, 3)}  # nothing recorded


def test_update_gradebook_migrates_an_added_test_cell_and_changed_points(tmp_path):
    from cnncourse.grading.run.gradebook import sync_gradebook
    from cnncourse.grading.run.nbgrader_commands import build_template, python_scripts_on_path

    course = make_course(tmp_path)
    recorded_full_marks(course, "ada")
    change_source(course, lambda source: (add_test_cell(source), more_points(source)))
    python_scripts_on_path()
    template = build_template(course, TINY, tmp_path / "template")
    changes = sync_gradebook(course, TINY, template, update=True)
    assert any("test_new" in c for c in changes) and any("test_conv1d" in c for c in changes)
    assert scores(course) == {"ada": (3, 13)}  # her earlier grades, on the new maximum
    recorded_full_marks(course, "bob", CellGrade(TINY, "test_new", 5, 5))
    assert scores(course)["bob"] == (8, 13)  # test_conv1d scored 2 of its new 7 by bob's result
    assert sync_gradebook(course, TINY, template, update=False) == []


def test_grading_with_update_gradebook_goes_on(tmp_path):
    course = make_course(tmp_path)
    change_source(course, more_points)
    submitted_by(course, "eve")
    options = replace(FAST, skip_preflight=True, update_gradebook=True)
    (result,) = grade_lab(course, TINY, options=options)
    assert result.max_score == 8 and result.status == "invalid notebook"
