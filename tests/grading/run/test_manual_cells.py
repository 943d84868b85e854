"""Written answers graded by hand (nbgrader "manually graded answer" cells): the driver grades
the autograded cells, leaves the manual ones "needs manual grade" with their manual score, and
preflight does not expect their points from the solution.
"""

from __future__ import annotations

from dataclasses import replace

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import grade_lab
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow

WRITTEN = {"grade": True, "grade_id": "why_flip", "locked": False, "points": 2,
           "schema_version": 3, "solution": True, "task": False}  # fmt: skip


def course_with_written_answer(root) -> Course:
    answer = "### BEGIN SOLUTION\nCross-correlation does not flip the kernel.\n### END SOLUTION"
    course = make_course(root, [new_markdown_cell(answer, metadata={"nbgrader": dict(WRITTEN)})])
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    submission = synthetic_submission(source, release, "correct")
    submission.cells[-1].source = "The kernel is not flipped."
    folder = course.submitted / "ada" / TINY
    folder.mkdir(parents=True)
    nbformat.write(submission, folder / f"{TINY}.ipynb")
    return course


def written_grade(course):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade("why_flip", TINY, TINY, "ada")
        total = gb.find_submission(TINY, "ada")
        return grade.auto_score, grade.manual_score, grade.needs_manual_grade, total.score


def give_manual_score(course, score: float) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.find_grade("why_flip", TINY, TINY, "ada").manual_score = score
        gb.db.commit()


def test_written_answers_stay_for_the_grader_and_keep_their_manual_score(tmp_path):
    course = course_with_written_answer(tmp_path)
    (result,) = grade_lab(course, TINY, options=replace(FAST, jobs=1))  # preflight passes
    assert (result.status, result.score, result.max_score) == ("ok", 3, 5)
    assert written_grade(course) == (None, None, True, 3)  # formgrader lists it
    give_manual_score(course, 2)
    (again,) = grade_lab(course, TINY, options=replace(FAST, jobs=1, skip_preflight=True))
    assert again.score == 5
    auto, manual, needs_manual, total = written_grade(course)
    assert (auto, manual, total) == (None, 2, 5)
    assert needs_manual  # nbgrader's rule: an answer graded again is reviewed again
