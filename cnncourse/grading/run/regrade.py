"""Regrades that show what they change before they record it.

    results, changes = grade_reviewed(course, lab, confirm)   # `cnncourse grade LAB` again
    changes = reapply_late_policy(course, lab, confirm)       # `cnncourse late LAB`

A regrade (a fixed hidden test, a new due date or late policy) lists every student whose score
changes, before and after (nbgrader's final score: raw score less the late penalty), and records
nothing unless `confirm(changes)` says yes (`--yes` in scripts; a terminal asks; anything else
refuses). `grade_reviewed` grades into a copy of the SQLite gradebook and a scratch autograded/
folder, then records the same results into the course once confirmed; a first grading (no
student of the batch in the gradebook) records as it goes, as before.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from cnncourse.grading.run.course import Course, find_students
from cnncourse.grading.run.deadlines import LatePolicy, final_score, read_timestamp_text

SQLITE = "sqlite:///"


@dataclass(frozen=True)
class ScoreChange:
    student: str
    before: float
    after: float | None  # None: no longer in the gradebook


class RegradeRefused(RuntimeError):
    """Scores would change and the change was not confirmed: nothing was recorded."""

    def __init__(self, changes: list[ScoreChange]) -> None:
        super().__init__(f"{len(changes)} score(s) would change; nothing recorded")
        self.changes = changes


Confirm = Callable[[list[ScoreChange]], bool]


@contextlib.contextmanager
def opened_gradebook(course: Course):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns about nbgrader's own session use
        yield gb


def recorded_scores(course: Course, lab: str, students: list[str] | None = None):
    """student -> final score of `lab` in the gradebook (students with a submission only)."""
    from nbgrader.api import MissingEntry

    with opened_gradebook(course) as gb:
        try:
            submissions = gb.find_assignment(lab).submissions
        except MissingEntry:
            return {}
        return {s.student.id: final_score(s) for s in submissions
                if students is None or s.student.id in students}  # fmt: skip


def score_changes(before: dict[str, float], after: dict[str, float]) -> list[ScoreChange]:
    """Students recorded before whose score differs now (to a thousandth of a point)."""
    return [
        ScoreChange(student, score, after.get(student))
        for student, score in sorted(before.items())
        if after.get(student) is None or abs(after[student] - score) > 1e-3
    ]


def format_changes(changes: list[ScoreChange]) -> str:
    if not changes:
        return "no recorded score changes"
    width = max(len("student"), *(len(c.student) for c in changes))
    lines = [f"{'student'.ljust(width)}  before  ->  after"]
    for change in changes:
        after = "-" if change.after is None else f"{change.after:g}"
        lines.append(f"{change.student.ljust(width)}  {change.before:>6g}  ->  {after}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- regrading
def grade_reviewed(course: Course, lab: str, confirm: Confirm, *, submissions: Path | None = None,
                   students: list[str] | None = None, options=None):  # fmt: skip
    """`grade_lab`, but a regrade records only once `confirm` accepts the score changes.
    Returns (results, changes); raises RegradeRefused (nothing recorded) when refused."""
    from cnncourse.grading.run.driver import GradingInterrupted, grade_lab
    from cnncourse.grading.run.gradebook import gradebook_lock, record_or_note, write_summary

    course.check_lab(lab)  # an unknown lab is named before anything else is looked at
    with gradebook_lock(course):  # then a run already going (GradebookBusy names its pid)
        pass
    folder = Path(submissions) if submissions else course.submitted
    chosen = students or find_students(folder, lab)
    before = recorded_scores(course, lab, chosen)
    grade = dict(submissions=folder, students=chosen, options=options)
    if not before:
        return grade_lab(course, lab, **grade), []
    if not course.db_url.startswith(SQLITE):
        raise ValueError(f"a regrade is tried on a copy of the gradebook, which needs SQLite; "
                         f"got {course.db_url} (pass --yes to record without a preview)")
    with gradebook_lock(course), tempfile.TemporaryDirectory(prefix="cnncourse-regrade-") as tmp:
        trial = trial_course(course, Path(tmp))
        try:
            results = grade_lab(trial, lab, **grade)
        except GradingInterrupted as stopped:  # graded into the copy only: nothing recorded
            raise GradingInterrupted([], stopped.total) from None
        changes = score_changes(before, recorded_scores(trial, lab, chosen))
        if changes and not confirm(changes):
            raise RegradeRefused(changes)
        for result in results:
            graded = trial.autograded / result.student / lab
            result.autograded = str(graded) if graded.is_dir() else None
            record_or_note(course, lab, result)
        write_summary(course, lab, results)
    return results, changes


def trial_course(course: Course, scratch: Path) -> Course:
    """The course with a consistent copy of its gradebook and an empty autograded/ in scratch."""
    copy = scratch / "gradebook.db"
    source = sqlite3.connect(course.db_url[len(SQLITE):])
    target = sqlite3.connect(copy)
    with contextlib.closing(source), contextlib.closing(target):
        source.backup(target)
    (scratch / "autograded").mkdir()
    return replace(course, db_url=SQLITE + str(copy), autograded=scratch / "autograded")


def reapply_late_policy(course: Course, lab: str, confirm: Confirm) -> list[ScoreChange]:
    """Apply the current due dates, extensions, timestamps and late policy to every recorded
    submission of `lab`, without grading again; commit only if `confirm` accepts the changes."""
    from nbgrader.api import MissingEntry

    policy = LatePolicy.load(course)
    with opened_gradebook(course) as gb:
        try:
            submissions = gb.find_assignment(lab).submissions
        except MissingEntry:
            raise ValueError(f"lab {lab!r} has no assignment in {course.db_url}") from None
        before = {s.student.id: final_score(s) for s in submissions}
        for submission in submissions:
            folder = course.submitted / submission.student.id / lab
            policy.apply(gb, lab, submission, read_timestamp_text(folder))
        gb.db.flush()
        gb.db.expire_all()
        after = {s.student.id: final_score(s) for s in gb.find_assignment(lab).submissions}
        changes = score_changes(before, after)
        if changes and not confirm(changes):
            gb.db.rollback()
            raise RegradeRefused(changes)
        gb.db.commit()
    return changes


def extend(course: Course, student: str, lab: str, hours: float) -> ScoreChange | None:
    """Give `student` `hours` more for `lab` (extensions.csv), and when the lab is already
    recorded, write the extension and the penalty it changes. Returns the score change."""
    from nbgrader.api import MissingEntry

    course.check_lab(lab)
    from cnncourse.grading.run.deadlines import write_extension

    write_extension(course, student, lab, hours)
    with opened_gradebook(course) as gb:
        try:
            submission = gb.find_submission(lab, student)
        except MissingEntry:
            return None
        before = final_score(submission)
        folder = course.submitted / student / lab
        LatePolicy.load(course).apply(gb, lab, submission, read_timestamp_text(folder))
        gb.db.commit()
        gb.db.expire_all()
        return ScoreChange(student, before, final_score(gb.find_submission(lab, student)))

