"""Grades from the nbgrader gradebook as files that Canvas and Moodle import: one column per lab.

    cnncourse export --format canvas --roster roster.csv     # grades_canvas.csv
    cnncourse export --format moodle --roster roster.csv --match "Email address"

Students are matched by an id the LMS knows. The roster is a CSV file with a header, one row per
student: a column holding the nbgrader student id (`--roster-student`, default `student`) and the
column named by `--match` holding the LMS id. A Canvas gradebook export with one column of nbgrader
ids added is such a roster (its Student, ID, SIS User ID, SIS Login ID and Section are copied).
Without a roster the nbgrader ids are the LMS ids. A student of the gradebook missing from the
roster stops the export (both LMSs would reject or mis-file the row) unless `skip_unmapped`.

A cell that a spreadsheet would read as a formula (beginning with =, +, -, @, a tab or a carriage
return; OWASP "CSV Injection") gets a leading single quote, unless it is a number (a grade).

A lab the student never submitted is left empty: Canvas then leaves that grade unchanged and
Moodle records no grade, so the LMS's own policy for missing work applies.

Canvas (Gradebook > Import; "How do I import grades in the Gradebook?", Canvas Instructor Guide,
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807;
the parser is canvas-lms app/models/gradebook_importer.rb):
    header  Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment.
            The importer requires "Student" and "ID" as the first two headers, the SIS columns
            right after them, and "Section" as the last student column. An assignment column
            matches an existing assignment by its title or by "Title (assignment id)";
            an unknown title creates a new assignment.
    row 2   "Points Possible" in the first column, then each assignment's maximum.
    rows    a student is found by ID (the Canvas user id), else by SIS User ID, else by SIS
            Login ID, else by name.

Moodle (Grades > Import > CSV file; https://docs.moodle.org/en/Grade_import; the parser is
grade/import/csv/classes/load_data.php):
    header  any names; on the import page the teacher maps one column to a user field ("Map
            from" the column, "Map to" userid, username, useridnumber or useremail) and each
            other column to a grade item or to "new grade item".
    rows    every row must identify an existing user (one unknown user aborts the whole
            import); a grade is a number or empty / "-" for no grade.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("nbgrader", "canvas", "moodle")
CANVAS_ID_COLUMNS = ("ID", "SIS User ID", "SIS Login ID")
CANVAS_STUDENT_COLUMNS = ("Student", *CANVAS_ID_COLUMNS, "Section")
# Moodle's user fields, by the column name of its own grade export -> the "Map to" choice
MOODLE_ID_COLUMNS = {"ID number": "useridnumber", "Email address": "useremail",
                     "Username": "username", "id": "userid"}  # fmt: skip
DEFAULT_MATCH = {"canvas": "SIS Login ID", "moodle": "ID number"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class ClassGrades:
    """Scores from the gradebook: scores[student][lab] is None for a lab not submitted."""

    labs: tuple[str, ...]
    max_scores: dict[str, float]
    scores: dict[str, dict[str, float | None]]
    names: dict[str, tuple[str, str]]  # student -> (first name, last name), possibly empty


def read_gradebook(db_url: str, course_id: str = "default_course",
                   labs: list[str] | None = None) -> ClassGrades:  # fmt: skip
    """Every student's total score per lab (nbgrader's score: auto + manual - late penalty)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    from cnncourse.grading.run.deadlines import final_score  # less the late penalty

    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        raise ValueError(f"no gradebook at {db_url[len('sqlite:///'):]}: grade a lab first")
    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's sessions
        known = sorted(a.name for a in gb.assignments)
        unknown = sorted(set(labs or []) - set(known))
        if unknown:
            raise ValueError(f"labs {unknown} are not in the gradebook, which has {known}")
        chosen = tuple(labs or known)
        max_scores = {lab: float(gb.find_assignment(lab).max_score) for lab in chosen}
        scores: dict[str, dict[str, float | None]] = {}
        names = {}
        for student in gb.students:
            names[student.id] = (student.first_name or "", student.last_name or "")
            scores[student.id] = {}
            for lab in chosen:
                try:
                    scores[student.id][lab] = final_score(gb.find_submission(lab, student.id))
                except MissingEntry:
                    scores[student.id][lab] = None
    return ClassGrades(chosen, max_scores, scores, names)


@dataclass(frozen=True)
class Roster:
    """nbgrader student id -> that student's row of the roster (which holds the LMS id)."""

    match: str  # the column holding the LMS id
    rows: dict[str, dict[str, str]]

    @classmethod
    def read(cls, path: Path, match: str, student_column: str = "student") -> Roster:
        """Read a roster CSV (UTF-8, a byte-order mark allowed); refuse ambiguous ones."""
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in (student_column, match) if c not in header]
            if missing:
                raise ValueError(f"roster {path} has no column {missing}; its header is {header}")
            rows: dict[str, dict[str, str]] = {}
            for line, row in enumerate(reader, start=2):
                student, lms_id = (row[student_column] or "").strip(), (row[match] or "").strip()
                if not student:
                    continue  # Canvas's export has a "Points Possible" row without a student
                if not lms_id:
                    raise ValueError(f"roster {path} line {line}: student {student!r} has no "
                                     f"{match!r}")  # fmt: skip
                if student in rows:
                    raise ValueError(f"roster {path} line {line}: student {student!r} twice")
                rows[student] = {k: (v or "").strip() for k, v in row.items() if k}
        seen: dict[str, str] = {}
        for student, row in rows.items():
            if row[match] in seen:
                raise ValueError(f"roster {path}: {match} {row[match]!r} belongs to both "
                                 f"{seen[row[match]]!r} and {student!r}")  # fmt: skip
            seen[row[match]] = student
        return cls(match, rows)

    @classmethod
    def identity(cls, students: list[str], match: str) -> Roster:
        """No roster: each nbgrader id is the LMS id."""
        return cls(match, {s: {match: s} for s in students})


def mapped_students(grades: ClassGrades, roster: Roster, skip_unmapped: bool) -> list[str]:
    """The gradebook's students that the roster maps, refusing unmapped ones unless told."""
    unmapped = sorted(set(grades.scores) - set(roster.rows))
    if unmapped and not skip_unmapped:
        raise ValueError(f"{len(unmapped)} student(s) of the gradebook are not in the roster: "
                         f"{unmapped[:10]}; add them or pass --skip-unmapped")  # fmt: skip
    return sorted(s for s in grades.scores if s in roster.rows)


def _number(score: float | None) -> str:
    """A grade as both LMSs read it: '7.5', '12', or '' for no grade."""
    return "" if score is None else f"{round(score, 2):g}"


def canvas_rows(grades: ClassGrades, roster: Roster, columns: dict[str, str],
                skip_unmapped: bool = False) -> list[list[str]]:  # fmt: skip
    """Header, "Points Possible" row, then one row per student (see the module docstring)."""
    if roster.match not in CANVAS_ID_COLUMNS:
        raise ValueError(f"Canvas matches students by {CANVAS_ID_COLUMNS}, got {roster.match!r}")
    titles = [columns.get(lab, lab) for lab in grades.labs]
    rows = [[*CANVAS_STUDENT_COLUMNS, *titles],
            ["Points Possible", "", "", "", "", *(_number(grades.max_scores[lab])
                                                  for lab in grades.labs)]]  # fmt: skip
    for student in mapped_students(grades, roster, skip_unmapped):
        row = roster.rows[student]
        first, last = grades.names.get(student, ("", ""))
        name = row.get("Student") or (f"{last}, {first}" if first and last else student)
        identity = [row.get(column, "") for column in CANVAS_ID_COLUMNS]
        scores = [_number(grades.scores[student][lab]) for lab in grades.labs]
        rows.append([name, *identity, row.get("Section", ""), *scores])
    return rows


def moodle_rows(grades: ClassGrades, roster: Roster, columns: dict[str, str],
                skip_unmapped: bool = False) -> list[list[str]]:  # fmt: skip
    """Header (the id column, then one column per lab), then one row per student."""
    if roster.match not in MOODLE_ID_COLUMNS:
        raise ValueError(f"Moodle matches students by {list(MOODLE_ID_COLUMNS)}, "
                         f"got {roster.match!r}")  # fmt: skip
    rows = [[roster.match, *(columns.get(lab, lab) for lab in grades.labs)]]
    for student in mapped_students(grades, roster, skip_unmapped):
        scores = [_number(grades.scores[student][lab]) for lab in grades.labs]
        rows.append([roster.rows[student][roster.match], *scores])
    return rows


def write_lms_grades(
    grades: ClassGrades,
    to: Path,
    lms: str,
    *,
    roster: Roster | None = None,
    columns: dict[str, str] | None = None,
    skip_unmapped: bool = False,
) -> Path:
    """Write `grades` for `lms` ('canvas' or 'moodle') as a UTF-8 CSV file; return its path.

    columns: {lab: column title} (e.g. a Canvas assignment's "Lab 1 (4521)"); default the lab.
    """
    if lms not in ("canvas", "moodle"):
        raise ValueError(f"lms must be 'canvas' or 'moodle', got {lms!r}")
    roster = roster or Roster.identity(sorted(grades.scores), DEFAULT_MATCH[lms])
    make = canvas_rows if lms == "canvas" else moodle_rows
    rows = make(grades, roster, columns or {}, skip_unmapped)
    rows = [[not_a_formula(cell) for cell in row] for row in rows]
    to = Path(to)
    with open(to, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return to


def not_a_formula(cell: str) -> str:
    """cell, with a leading quote if a spreadsheet would run it as a formula (OWASP)."""
    if cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def import_instructions(lms: str, match: str) -> str:
    """What to click in the LMS after the export, printed by the command."""
    if lms == "canvas":
        return ("Canvas: Grades > Import > choose the file; columns named like an existing "
                "assignment (or 'Title (id)') update it, others create new assignments.")
    return (f"Moodle: Grades > Import > CSV file; Map from '{match}' to "
            f"'{MOODLE_ID_COLUMNS[match]}', and map each lab column to its grade item.")


def parse_columns(pairs: list[str] | None) -> dict[str, str]:
    """['lab1=Lab 1 (4521)', ...] -> {'lab1': 'Lab 1 (4521)'}."""
    columns = {}
    for pair in pairs or []:
        lab, sep, title = pair.partition("=")
        if not sep or not lab.strip() or not title.strip():
            raise ValueError(f"--column takes LAB=TITLE, got {pair!r}")
        columns[lab.strip()] = title.strip()
    return columns
