"""Recording grades: the driver process is the only writer of the course's gradebook.

    with gradebook_lock(course):          # a second `cnncourse grade` on this gradebook is refused
        with interrupt_deferred():        # Ctrl-C waits until the result is recorded and counted
            record_or_note(course, lab, result)   # one transaction and one copy per submission
    write_summary(course, lab, results)   # autograded/LAB_summary.csv

Only the student's own outcome is recorded (`Result.graded`); a grader failure (grader error,
cancelled, could not record) leaves the gradebook and autograded/ as they were and is "not
graded" in the summary. Each result is recorded whole or not at all. The worker log of
every submission short of full marks (failed tests, timeouts, crashes, invalid files) is kept in
autograded/LAB_logs/STUDENT.log, which the summary names.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import shutil
import signal
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from cnncourse.grading.run.course import Course
from cnncourse.grading.run.deadlines import apply_late_policy
from cnncourse.grading.run.jobs import CellGrade, Result


class GradebookBusy(RuntimeError):
    """Another grading run holds the course's gradebook."""


def lock_path(course: Course) -> Path:
    """gradebook.db.lock beside an SQLite gradebook; else a lock file in the course folder."""
    prefix = "sqlite:///"
    if course.db_url.startswith(prefix):
        return Path(course.db_url[len(prefix) :] + ".lock")
    return course.root / ".cnncourse-grading.lock"


@contextlib.contextmanager
def gradebook_lock(course: Course) -> Iterator[None]:
    """Hold the course's grading lock, or refuse at once if another run holds it."""
    path = lock_path(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GradebookBusy(
                f"another `cnncourse grade` ({holder}) is grading with the gradebook "
                f"{course.db_url}; wait for it to finish (lock: {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


@contextlib.contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block is done, then raise it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def record(course: Course, lab: str, result: Result) -> None:
    """Write one result into the course gradebook and autograded/ (driver process only), whole
    or not at all: the autograded folder is first copied beside its place (a full disk fails
    there, before the gradebook changes), then the grades are committed, then the copy takes the
    place of the old folder."""
    destination = course.autograded / result.student / lab
    staged = stage_copy(result, destination)
    try:
        commit_grades(course, lab, result)
    except BaseException:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_folder(destination, staged)


def stage_copy(result: Result, destination: Path) -> Path | None:
    """A copy of the result's autograded folder in a hidden sibling of `destination`."""
    if not result.autograded:
        return None
    staged = destination.parent / f".{destination.name}.recording"
    shutil.rmtree(staged, ignore_errors=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(result.autograded, staged, symlinks=True)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged


def replace_folder(destination: Path, staged: Path | None) -> None:
    """Put `staged` (or nothing) where `destination` was, by renames."""
    old = destination.parent / f".{destination.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if destination.exists():
        os.rename(destination, old)
    if staged is not None:
        os.rename(staged, destination)
    shutil.rmtree(old, ignore_errors=True)


def commit_grades(course: Course, lab: str, result: Result) -> None:
    """Set the autograder's scores of the result's submission in one commit, as nbgrader's
    SaveAutoGrades does; a manually graded cell keeps its manual score."""
    from nbgrader.api import Gradebook, MissingEntry

    grades = {(g.notebook, g.grade_id): g for g in result.grades}
    with Gradebook(course.db_url, course.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns about nbgrader's own session use
        try:
            gb.find_submission(lab, result.student)
            existed = True
        except MissingEntry:
            existed = False
        try:
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(lab, result.student)
            for notebook in submission.notebooks:
                manual = manual_cells(notebook)
                for grade in notebook.grades:
                    cell = grades.get((notebook.name, grade.name))
                    set_auto_grade(grade, cell, grade.name in manual)
            # --- due dates (issue 20, term helper): submission time, extension, late penalty
            late = apply_late_policy(course, gb, lab, submission, result.timestamp)
            result.reasons += [late] if late and late not in result.reasons else []
            # ---
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            if not existed:  # nbgrader committed an empty submission: take it out again
                with contextlib.suppress(Exception):
                    gb.remove_submission(lab, result.student)
            raise
        # what the gradebook now holds is what the summary shows (failures get the lab's max)
        result.score, result.max_score = float(submission.score), float(submission.max_score)


def manual_cells(notebook) -> set[str]:
    """Names of a submitted notebook's cells graded by hand (manually graded answers, tasks)."""
    return {c.name for c in notebook.notebook.solution_cells} | {
        c.name for c in notebook.notebook.task_cells
    }


def set_auto_grade(grade, cell: CellGrade | None, manual: bool) -> None:
    """One grade as nbgrader's SaveAutoGrades sets it: the autograder's score, and "needs
    manual grade" when there is none or a grader gave one before. A manual cell the result does
    not grade (the notebook could not run) is left as it was."""
    if cell is None and manual:
        return
    if cell is not None and cell.needs_manual_grade:
        grade.auto_score = None
    else:
        grade.auto_score = cell.score if cell is not None else 0.0
    grade.needs_manual_grade = grade.auto_score is None or grade.manual_score is not None


def record_or_note(course: Course, lab: str, result: Result) -> None:
    """`record` the student's own outcome and `keep_log`; a grader failure, or a result that
    cannot be recorded, changes nothing and is left "not graded": the batch goes on."""
    if result.graded:
        try:
            record(course, lab, result)
        except Exception as error:  # e.g. a full disk, an autograded folder that cannot be copied
            detail = traceback.format_exception_only(error)[-1].strip()
            result.status = "grader error"
            result.reasons.insert(0, f"could not record the result: {detail}")
    keep_log(course, lab, result)


def log_file(course: Course, lab: str, student: str) -> Path:
    """Where the worker log of a submission short of full marks is kept."""
    return course.autograded / f"{lab}_logs" / f"{student}.log"


def keep_log(course: Course, lab: str, result: Result) -> None:
    """Write the worker log of a result short of full marks; remove a stale one otherwise."""
    path = log_file(course, lab, result.student)
    if result.full_marks or not result.log:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.log)


def shown_status(result: Result) -> str:
    """The status as the summary shows it: a grader failure is "not graded: STATUS"."""
    return result.status if result.graded else f"not graded: {result.status}"


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str]]:
    """(student, score/max, status, reason) for each result; no score for one not graded."""
    return [
        (r.student, f"{r.score:g}/{r.max_score:g}" if r.graded else "-", shown_status(r),
         "; ".join(r.reasons) or "-")
        for r in results
    ]  # fmt: skip


def format_summary(results: list[Result], width: int = 110) -> str:
    """The summary table printed after a batch."""
    header = ("student", "score", "status", "reason")
    rows = summary_rows(results)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        left = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        reason = row[3]
        room = max(width - len(left) - 2, 20)
        lines.append(f"{left}  {reason if len(reason) <= room else reason[: room - 3] + '...'}")
    return "\n".join(lines)


def write_summary(course: Course, lab: str, results: list[Result]) -> Path:
    """autograded/LAB_summary.csv: the summary with full reasons, grading seconds and the kept
    worker log of each submission short of full marks."""
    course.autograded.mkdir(parents=True, exist_ok=True)
    path = course.autograded / f"{lab}_summary.csv"
    rows = earlier_rows(path)  # a partial regrade (--student) keeps the other students' rows
    for r in results:
        log = log_file(course, lab, r.student)
        score = [r.score, r.max_score] if r.graded else ["", ""]
        rows[r.student] = [r.student, *score, shown_status(r), "; ".join(r.reasons),
                           f"{r.seconds:.1f}", str(log) if log.exists() else ""]  # fmt: skip
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(rows[student] for student in sorted(rows))
    return path


SUMMARY_COLUMNS = ["student", "score", "max_score", "status", "reason", "seconds", "log"]


def earlier_rows(path: Path) -> dict[str, list]:
    """The rows of an earlier summary, by student ({} if none or of other columns)."""
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != SUMMARY_COLUMNS:
                return {}
            return {row["student"]: [row[c] for c in SUMMARY_COLUMNS] for row in reader}
    except OSError:
        return {}


# ------------------------------------------------------------------ the lab since its release
class LabChanged(ValueError):
    """The lab's source has other graded cells or points than the lab in the course gradebook."""


KINDS = {"grade": "graded cell", "solution": "answer cell", "task": "task"}


def lab_cells(gb, lab: str) -> dict[tuple[str, str, str], float | None]:
    """(notebook, cell, kind) -> points of the lab's graded, answer and task cells."""
    from nbgrader.api import MissingEntry

    try:
        notebooks = gb.find_assignment(lab).notebooks
    except MissingEntry:
        return {}
    cells = {}
    for nb in notebooks:
        cells |= {(nb.name, c.name, "grade"): float(c.max_score) for c in nb.grade_cells}
        cells |= {(nb.name, c.name, "solution"): None for c in nb.solution_cells}
        cells |= {(nb.name, c.name, "task"): float(c.max_score) for c in nb.task_cells}
    return cells


def lab_differences(recorded: dict, source: dict) -> list[str]:
    """What differs between the gradebook's cells and the source's, one line per cell."""

    def what(key, points) -> str:
        return f"a {KINDS[key[2]]}" + (f" of {points:g} points" if points is not None else "")

    lines = [f"{key[1]}: {what(key, p)} in the source, not in the gradebook"
             for key, p in source.items() if key not in recorded]  # fmt: skip
    lines += [f"{key[1]}: {what(key, p)} in the gradebook, no longer in the source"
              for key, p in recorded.items() if key not in source]  # fmt: skip
    lines += [f"{key[1]}: {recorded[key]:g} points in the gradebook, {p:g} in the source"
              for key, p in source.items() if key in recorded and recorded[key] != p]  # fmt: skip
    return lines


def sync_gradebook(course: Course, lab: str, template: Path, update: bool = False) -> list[str]:
    """Compare the lab in the course gradebook with the template built from its source; raise
    LabChanged naming each difference unless `update`, which migrates the gradebook to the
    source (recorded students get added cells at 0 until graded again; removed cells go, with
    their grades). A lab not in the gradebook yet is no difference. Returns the differences."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{template / 'gradebook.db'}") as new, Gradebook(
        course.db_url, course.course_id
    ) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recorded = lab_cells(gb, lab)
        changes = lab_differences(recorded, lab_cells(new, lab)) if recorded else []
        if changes and not update:
            raise LabChanged(
                f"the lab {lab} changed since its release (the gradebook holds it as released):\n"
                + "\n".join(f"  {line}" for line in changes)
                + f"\nTo sync: release it again (`cnncourse release {lab}`; nbgrader refuses "
                "while cells were added or removed and students are recorded), or grade with "
                "--update-gradebook, which migrates the gradebook to the source: recorded "
                "students get added cells at 0 until graded again, removed cells go with their "
                "grades. Nothing was graded or recorded."
            )
        if changes:
            migrate_lab(gb, new, lab)
    return changes


def migrate_lab(gb, new, lab: str) -> None:
    """Make the lab's cells in `gb` those of the template gradebook `new`. nbgrader's own calls
    commit cell by cell: a migration cut short is completed by running it again."""
    from nbgrader.api import Comment, Grade

    try:
        for notebook in new.find_assignment(lab).notebooks:
            old = gb.find_notebook(notebook.name, lab)
            kept = {(c.name, kind) for kind in KINDS for c in cells_of(notebook, kind)}
            for kind in KINDS:
                for cell in cells_of(old, kind):
                    if (cell.name, kind) not in kept:
                        gb.db.query(Grade).filter(Grade.cell_id == cell.id).delete()
                        gb.db.query(Comment).filter(Comment.cell_id == cell.id).delete()
                        gb.db.delete(cell)
            gb.db.flush()
            for kind in KINDS:
                present = {c.name for c in cells_of(old, kind)}
                for cell in cells_of(notebook, kind):
                    info = cell.to_dict()
                    fields = {k: info[k] for k in ("max_score", "cell_type") if k in info}
                    create = getattr(gb, f"update_or_create_{kind}_cell")
                    made = create(cell.name, notebook.name, lab, **fields)
                    rows = {"grade": [Grade], "solution": [Comment], "task": [Grade, Comment]}
                    for submitted in old.submissions if cell.name not in present else []:
                        for row in rows[kind]:  # what nbgrader gives each submission of a cell
                            gb.db.add(row(cell_id=made.id, notebook_id=submitted.id))
            for source in notebook.source_cells:  # what plain nbgrader puts back in locked cells
                fields = ("cell_type", "locked", "source", "checksum")
                info = {k: getattr(source, k) for k in fields}
                gb.update_or_create_source_cell(source.name, notebook.name, lab, **info)
        gb.db.commit()
    except BaseException:
        gb.db.rollback()
        raise


def cells_of(notebook, kind: str) -> list:
    return list(getattr(notebook, f"{kind}_cells"))
