"""The hostile corpus, graded in one batch with honest submissions through the real pipeline.

Checks: every case ends with a grade and a reason, none stops the batch, the honest submissions
get exactly the grades they get alone, the gradebook is intact, nothing outside the submissions'
working copies changed (file hashes before and after), and a second run gives the same grades.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

import cnncourse
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import grade_lab, sandbox_mode
from tests.grading.run.file_hashes import file_hashes
from tests.grading.run.hostile.corpus import Kit, cases
from tests.grading.tiny_course import FAST, TINY, make_course, write_honest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_mode(FAST) != "bubblewrap", reason="needs bubblewrap"),
]
HONEST = ("correct", "partly_right", "flipped_kernel")
PACKAGE = Path(cnncourse.__file__).parent


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the corpus and the honest students twice in one course, the honest ones alone."""
    course = make_course(tmp_path_factory.mktemp("hostile"))
    for student in HONEST:
        write_honest(course, student)
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    kit = Kit(
        correct=synthetic_submission(source, release, "correct"),
        blank=release,
        targets=[
            course.root / "gradebook.db",
            course.submitted / "correct" / TINY / f"{TINY}.ipynb",
            course.source / TINY / f"{TINY}.ipynb",
            PACKAGE / "arithmetic.py",
        ],
        solutions=course.source / TINY / f"{TINY}.ipynb",
    )
    corpus = cases(kit)
    for case in corpus:
        case.build(course.submitted / case.name / TINY, kit)
    # the course's folders, and the package file the attacks aim at (the rest of the package is
    # edited by other people while this runs)
    protected = (course.source, course.release, course.submitted, PACKAGE / "arithmetic.py")
    before = file_hashes(*protected, skip=("__pycache__",))
    first = {r.student: r for r in grade_lab(course, TINY, options=FAST)}
    after = file_hashes(*protected, skip=("__pycache__",))
    again = replace(FAST, skip_preflight=True)  # the first run's preflight covers the setup
    second = {r.student: r for r in grade_lab(course, TINY, options=again)}
    alone_course = make_course(tmp_path_factory.mktemp("alone"))
    for student in HONEST:
        write_honest(alone_course, student)
    alone = {r.student: r for r in grade_lab(alone_course, TINY, options=again)}
    return dict(course=course, corpus=corpus, first=first, second=second, alone=alone,
                before=before, after=after)  # fmt: skip


def test_every_submission_of_the_batch_gets_a_result(batch):
    expected = {c.name for c in batch["corpus"]} | set(HONEST)
    assert set(batch["first"]) == expected


@pytest.mark.parametrize("name", [c.name for c in cases(Kit(None, None, [], Path()))])
def test_hostile_case_gets_a_sensible_grade_and_reason(batch, name):
    case = next(c for c in batch["corpus"] if c.name == name)
    result = batch["first"][name]
    reason = "; ".join(result.reasons)
    assert (result.score, result.status) == (case.score, case.status), reason
    assert result.max_score == 3
    assert case.reason.lower() in reason.lower(), reason


def test_honest_submissions_get_the_grades_they_get_alone(batch):
    for student in HONEST:
        assert batch["first"][student].score == batch["alone"][student].score, student
        assert batch["first"][student].status == batch["alone"][student].status == "ok"
    assert batch["alone"]["correct"].score == 3


def test_nothing_outside_the_working_copies_changed(batch):
    assert batch["after"] == batch["before"]


def test_gradebook_is_intact_and_holds_every_grade(batch):
    course = batch["course"]
    db = course.root / "gradebook.db"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        recorded = {s.student.id: s.score for s in gb.assignment_submissions(TINY)}
    assert recorded == {name: r.score for name, r in batch["second"].items()}


def test_a_second_run_gives_the_same_grades(batch):
    first = {n: (r.score, r.status) for n, r in batch["first"].items()}
    second = {n: (r.score, r.status) for n, r in batch["second"].items()}
    changed = {n: (first[n], second[n], batch["second"][n].reasons) for n in first
               if first[n] != second[n]}  # fmt: skip
    assert not changed
