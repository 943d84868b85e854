"""`cnncourse export --format canvas|moodle`: files that the LMSs' grade imports accept.

The two importers below restate, in Python, the rules of the LMSs' own parsers as documented
(see cnncourse.grading.reports.lms_export): canvas-lms app/models/gradebook_importer.rb (header and
student-column checks, "Points Possible" row, student lookup by id columns) and Moodle's
grade/import/csv/classes/load_data.php (a mapped user column on every row, numeric grades).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from cnncourse.cli import main
from cnncourse.grading.reports.lms_export import (
    ClassGrades,
    Roster,
    parse_columns,
    read_gradebook,
    write_lms_grades,
)

# lab -> {test cell: points}; student -> {lab: {test cell: score}} (a lab missing: not submitted)
LABS = {"lab1_convolution": {"t1": 2, "t2": 3}, "lab2_conv_layer": {"t1": 4}}
SCORES = {
    "ada": {"lab1_convolution": {"t1": 2, "t2": 3}, "lab2_conv_layer": {"t1": 2.5}},
    "bob": {"lab1_convolution": {"t1": 0, "t2": 1}},
    "cy": {"lab1_convolution": {"t1": 2, "t2": 0}, "lab2_conv_layer": {"t1": 4}},
}
EXPECTED = {"ada": {"lab1_convolution": "5", "lab2_conv_layer": "2.5"},
            "bob": {"lab1_convolution": "1", "lab2_conv_layer": ""},
            "cy": {"lab1_convolution": "2", "lab2_conv_layer": "4"}}  # fmt: skip
# the LMS side: Canvas users (id, SIS user id, login id, name) and Moodle users (id, email)
CANVAS_USERS = {"ada": (101, "S-01", "ada@uni.edu", "Lovelace, Ada"),
                "bob": (102, "S-02", "bob@uni.edu", "Bob, Bob"),
                "cy": (103, "S-03", "cy@uni.edu", "Young, Cy")}  # fmt: skip
MOODLE_USERS = {"ada": (7, "ada@uni.edu"), "bob": (8, "bob@uni.edu"), "cy": (9, "cy@uni.edu")}


def make_gradebook(path: Path) -> str:
    """An nbgrader gradebook holding LABS and SCORES (what `cnncourse grade` records)."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{path}"
    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lab, cells in LABS.items():
            gb.add_assignment(lab)
            gb.add_notebook(lab, lab)
            for cell, points in cells.items():
                gb.add_grade_cell(cell, lab, lab, max_score=points, cell_type="code")
        for student, labs in SCORES.items():
            gb.add_student(student, first_name=student.title(), last_name="Student")
            for lab, cells in labs.items():
                gb.add_submission(lab, student)
                for cell, score in cells.items():
                    gb.find_grade(cell, lab, lab, student).auto_score = score
        gb.db.commit()
    return url


@pytest.fixture(scope="module")
def gradebook_file(tmp_path_factory) -> Path:
    """Made once (nbgrader creates a gradebook with alembic, seconds); tests only read it."""
    scripts = str(Path(sys.executable).parent)  # nbgrader runs the venv's `alembic` by name
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", scripts + os.pathsep + os.environ.get("PATH", ""))
        make_gradebook(path)
    return path


@pytest.fixture(scope="module")
def grades(gradebook_file) -> ClassGrades:
    return read_gradebook(f"sqlite:///{gradebook_file}")


def write_roster(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# ----------------------------------------------------------------------------- the LMS parsers
def canvas_import(path: Path) -> tuple[dict[str, str], dict[int, dict[str, str]]]:
    """({assignment: points possible}, {canvas user id: {assignment: grade}}) as Canvas reads
    the file; raises AssertionError where gradebook_importer.rb rejects it or makes a new user."""
    header, *rows = read_rows(path)
    # header? / row_has_student_headers?
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], header
    # update_column_count: SIS User ID then SIS Login ID right after ID, or SIS Login ID alone
    student_columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        student_columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        student_columns += 2
    assert "Section" in header[student_columns - 1], "the last student column must be Section"
    assignments = header[student_columns:]
    by_id = {u[0]: u for u in CANVAS_USERS.values()}
    by_sis = {u[1]: u for u in CANVAS_USERS.values()}
    by_login = {u[2]: u for u in CANVAS_USERS.values()}
    by_name = {u[3]: u for u in CANVAS_USERS.values()}
    points, grades = {}, {}
    for row in rows:
        if "Points Possible" in row[0]:
            points = dict(zip(assignments, row[student_columns:], strict=True))
            continue
        user = by_id.get(int(row[1])) if row[1].strip() else None
        if user is None and student_columns == 5:
            user = by_sis.get(row[2]) or by_login.get(row[3])
        user = user or by_name.get(row[0])
        assert user is not None, f"Canvas would create a new student for {row}"
        values = row[student_columns:]
        assert all(v == "" or re.fullmatch(r"-?[0-9.]+", v) for v in values), values
        grades[user[0]] = dict(zip(assignments, values, strict=True))
    return points, grades


def moodle_import(path: Path, map_from: str, map_to: str) -> dict[int, dict[str, str]]:
    """{moodle user id: {column: grade}} as load_data.php reads the file with that mapping;
    raises AssertionError where Moodle aborts the import."""
    header, *rows = read_rows(path)
    field = {"useremail": 1, "userid": 0}[map_to]
    users = {str(u[field]): u[0] for u in MOODLE_USERS.values()}
    key = header.index(map_from)
    grades = {}
    for row in rows:
        if len(row) <= 1:
            continue
        assert row[key].strip() in users, f"usermappingerrorusernotfound: {row}"
        values = {h: v.strip() for h, v in zip(header, row, strict=True) if h != map_from}
        for value in values.values():  # update_grade_item: '' or '-' is no grade, else a number
            assert value in ("", "-") or re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value), value
        grades[users[row[key].strip()]] = values
    return grades


# ----------------------------------------------------------------------------- Canvas
def test_canvas_file_imports_with_sis_login_ids(grades, tmp_path):
    roster = write_roster(tmp_path / "roster.csv", ["student", "SIS Login ID"],
                          [[s, u[2]] for s, u in CANVAS_USERS.items()])
    path = write_lms_grades(grades, tmp_path / "canvas.csv", "canvas",
                            roster=Roster.read(roster, "SIS Login ID"))
    points, imported = canvas_import(path)
    assert points == {"lab1_convolution": "5", "lab2_conv_layer": "4"}
    assert imported == {CANVAS_USERS[s][0]: EXPECTED[s] for s in EXPECTED}


def test_a_canvas_gradebook_export_serves_as_roster(grades, tmp_path):
    """Canvas's own export, with a column of nbgrader ids added: its IDs and names are kept."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1", "nbgrader"]
    rows = [["Points Possible", "", "", "", "", "10", ""]] + [
        [u[3], str(u[0]), u[1], u[2], "CS 101", "9", s] for s, u in CANVAS_USERS.items()]
    roster = Roster.read(write_roster(tmp_path / "export.csv", header, rows), "ID", "nbgrader")
    path = write_lms_grades(grades, tmp_path / "canvas.csv", "canvas", roster=roster,
                            columns={"lab1_convolution": "Lab 1 (4521)"})
    written = read_rows(path)
    assert written[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                              "Lab 1 (4521)"]
    assert written[2][:5] == ["Lovelace, Ada", "101", "S-01", "ada@uni.edu", "CS 101"]
    _, imported = canvas_import(path)
    assert imported[101] == {"Lab 1 (4521)": "5", "lab2_conv_layer": "2.5"}


def test_canvas_refuses_an_id_column_it_does_not_match_on(grades, tmp_path):
    roster = Roster.identity(sorted(SCORES), "Email address")
    with pytest.raises(ValueError, match="Canvas matches students by .* got 'Email address'"):
        write_lms_grades(grades, tmp_path / "c.csv", "canvas", roster=roster)


# ----------------------------------------------------------------------------- Moodle
def test_moodle_file_imports_by_email(grades, tmp_path):
    roster = write_roster(tmp_path / "roster.csv", ["student", "Email address"],
                          [[s, u[1]] for s, u in MOODLE_USERS.items()])
    path = write_lms_grades(grades, tmp_path / "moodle.csv", "moodle",
                            roster=Roster.read(roster, "Email address"))
    imported = moodle_import(path, "Email address", "useremail")
    assert imported == {MOODLE_USERS[s][0]: EXPECTED[s] for s in EXPECTED}


def test_without_a_roster_nbgrader_ids_are_the_lms_ids(grades, tmp_path):
    path = write_lms_grades(grades, tmp_path / "moodle.csv", "moodle")
    assert read_rows(path) == [["ID number", "lab1_convolution", "lab2_conv_layer"],
                               ["ada", "5", "2.5"], ["bob", "1", ""], ["cy", "2", "4"]]


def test_a_student_missing_from_the_roster_stops_the_export(grades, tmp_path):
    """Moodle aborts a whole import on one unknown user; Canvas would add a phantom student."""
    roster = write_roster(tmp_path / "roster.csv", ["student", "Email address"],
                          [["ada", "ada@uni.edu"], ["cy", "cy@uni.edu"]])
    roster = Roster.read(roster, "Email address")
    with pytest.raises(ValueError, match=r"not in the roster: \['bob'\]"):
        write_lms_grades(grades, tmp_path / "m.csv", "moodle", roster=roster)
    path = write_lms_grades(grades, tmp_path / "m.csv", "moodle", roster=roster,
                            skip_unmapped=True)
    assert set(moodle_import(path, "Email address", "useremail")) == {7, 9}


# ----------------------------------------------------------------------------- bad rosters
@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [(["student", "email"], [["ada", "a@x"]], r"no column \['Email address'\]; its header is"),
     (["student", "Email address"], [["ada", ""]], "student 'ada' has no 'Email address'"),
     (["student", "Email address"], [["ada", "a@x"], ["ada", "b@x"]], "student 'ada' twice"),
     (["student", "Email address"], [["ada", "a@x"], ["bob", "a@x"]],
      "'a@x' belongs to both 'ada' and 'bob'")],
)  # fmt: skip
def test_an_ambiguous_roster_is_refused_by_name(tmp_path, header, rows, message):
    path = write_roster(tmp_path / "roster.csv", header, rows)
    with pytest.raises(ValueError, match=message):
        Roster.read(path, "Email address")


def test_unknown_labs_and_bad_column_titles_are_refused(tmp_path, gradebook_file):
    url = f"sqlite:///{gradebook_file}"
    with pytest.raises(ValueError, match=r"labs \['lab9'\] are not in the gradebook"):
        read_gradebook(url, labs=["lab9"])
    with pytest.raises(ValueError, match="no gradebook at .*nothing.db"):
        read_gradebook(f"sqlite:///{tmp_path / 'nothing.db'}")
    with pytest.raises(ValueError, match="LAB=TITLE, got 'lab1'"):
        parse_columns(["lab1"])


# ----------------------------------------------------------------------------- the command
def test_the_export_command_writes_a_moodle_file(tmp_path, gradebook_file, capsys):
    root = tmp_path / "course"
    (root / "solutions" / "lab1_convolution").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        'c = get_config()  # noqa: F821\nc.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n')
    shutil.copy(gradebook_file, root / "gradebook.db")
    roster = write_roster(tmp_path / "roster.csv", ["student", "Email address"],
                          [[s, u[1]] for s, u in MOODLE_USERS.items()])
    to = tmp_path / "moodle.csv"
    assert main(["export", "--course", str(root), "--format", "moodle", "--roster", str(roster),
                 "--match", "Email address", "--lab", "lab2_conv_layer", "--to", str(to)]) == 0
    assert "Map from 'Email address' to 'useremail'" in capsys.readouterr().out
    assert moodle_import(to, "Email address", "useremail") == {
        7: {"lab2_conv_layer": "2.5"}, 8: {"lab2_conv_layer": ""}, 9: {"lab2_conv_layer": "4"}}


# ----------------------------------------------------------------------------- formula injection
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(tmp_path, lms):
    """OWASP CSV injection: a cell beginning with = + - @ tab or CR gets a leading quote;
    grades (numbers, negative ones included) stay numbers."""
    students = [f"s{index}" for index in range(len(HOSTILE))]
    grades = ClassGrades(("lab1",), {"lab1": 5.0},
                         {s: {"lab1": -1.5 if i == 0 else 2.0} for i, s in enumerate(students)},
                         {s: (name, "Doe") for s, name in zip(students, HOSTILE, strict=True)})
    match = "SIS Login ID" if lms == "canvas" else "ID number"
    roster = Roster(match, {s: {match: hostile, "Section": hostile}
                            for s, hostile in zip(students, HOSTILE, strict=True)})  # fmt: skip
    path = write_lms_grades(grades, tmp_path / "out.csv", lms, roster=roster,
                            columns={"lab1": "=lab1"})
    rows = read_rows(path)
    cells = [cell for row in rows for cell in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == ["-1.5"]  # a grade
    assert "'=lab1" in rows[0]
    for hostile in HOSTILE:
        assert "'" + hostile in cells
