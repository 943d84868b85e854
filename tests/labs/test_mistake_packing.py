"""The packing of typical mistakes into shared notebooks (typical_mistakes.py), without a kernel:
which parts of a notebook a mistake can change (its reach), that two mistakes share a notebook
only when their reaches are disjoint, and that each error of validate's report goes to the
mistake whose reach holds the failed cell.
"""

from __future__ import annotations

import io

import nbformat
import pytest
from nbgrader.validator import Validator

from tests.labs import typical_mistakes as tm


def notebook(*cells: tuple[str, str | None]) -> nbformat.NotebookNode:
    """Code cells (source, kind): kind 'answer:ID', 'test:ID', or None for a plain cell."""
    nb = nbformat.v4.new_notebook()
    for source, kind in cells:
        cell = nbformat.v4.new_code_cell(source)
        if kind:
            role, grade_id = kind.split(":")
            cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": role == "answer",
                                         "grade": role == "test", "locked": role == "test"}
        nb.cells.append(cell)
    return nb


SETUP = ("import numpy as np\nrng = np.random.default_rng(0)", "test:setup")
AREA = ("def area(w, h):\n    return w * h", "answer:area")
TEST_AREA = ("x = 3\nassert area(x, 2) == 6, 'area: not w times h'", "test:test_area")
PERIMETER = ("def perimeter(w, h):\n    return 2 * (w + h)", "answer:perimeter")
TEST_PERIMETER = ("x = 4  # x bound again before it is read: not area's\n"
                  "assert perimeter(x, 1) == 10, 'perimeter: not twice w plus h'",
                  "test:test_perimeter")


def mistake(name: str, cell: str) -> tm.Mistake:
    return tm.Mistake(name, cell, "", "", name)


def report(*failed: tuple[str, str]) -> str:
    """validate's report on cells that failed (source, error), printed by nbgrader itself."""
    validator = Validator()
    validator.stream = io.StringIO()
    validator._print_num_failed(len(failed))
    for source, error in failed:
        validator._print_error(source.strip(), error)
    return validator.stream.getvalue()


def test_a_part_that_binds_a_name_again_before_reading_it_is_out_of_reach():
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    assert [p.answer for p in parts] == [None, "area", "perimeter"]
    assert tm.reach(parts, "area") == {"area"}
    assert tm.reach(parts, "perimeter") == {"perimeter"}


@pytest.mark.parametrize("reader", [
    "assert perimeter(x, 1) == 10",  # x read before this part binds it: area's test's x
    "def perimeter(w, h):\n    return 2 * (w + h) + 0 * area(w, h)",  # read when called
    "scale = [area(1, k) for k in range(3)]",
    "x += 1",
])
def test_a_part_that_reads_a_name_another_binds_is_in_its_reach(reader):
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, (reader, "answer:perimeter")))
    assert tm.reach(parts, "area") == {"area", "perimeter"}


def test_reach_follows_readers_of_readers_and_plain_cells():
    volume = ("def volume(w, h, d):\n    return perimeter(w, h) * d", "answer:volume")
    plot = ("print(volume(1, 2, 3))", None)  # a demo cell: part of the answer before it
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER,
                              ("assert perimeter(area(1, 1), 1) == 4", "test:test_perimeter"),
                              volume, plot))
    assert tm.reach(parts, "area") == {"area", "perimeter", "volume"}


def test_mistakes_whose_reaches_meet_are_never_in_one_notebook():
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER,
                              ("assert perimeter(area(1, 1), 1) == 4", "test:test_perimeter")))
    students = tm.pack(parts, [mistake("a1", "area"), mistake("p1", "perimeter"),
                               mistake("a2", "area")])
    assert [[m.name for m in s] for s in students] == [["a1"], ["p1"], ["a2"]]


def test_mistakes_of_independent_parts_share_a_notebook_one_per_part():
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    students = tm.pack(parts, [mistake("a1", "area"), mistake("a2", "area"),
                               mistake("p1", "perimeter")])
    assert [[m.name for m in s] for s in students] == [["a1", "p1"], ["a2"]]


def test_each_failed_cell_goes_to_the_mistake_whose_part_it_is_in():
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    shown = report((TEST_AREA[0], "AssertionError: area: not w times h"),
                   (TEST_PERIMETER[0], "AssertionError: perimeter: not twice w plus h"))
    own = tm.attribute(shown, parts, [mistake("a1", "area"), mistake("p1", "perimeter")])
    assert tm.first_lines(own["a1"]) == ["AssertionError: area: not w times h"]
    assert tm.first_lines(own["p1"]) == ["AssertionError: perimeter: not twice w plus h"]
    assert own["p1"].startswith("VALIDATION FAILED ON 2 CELL(S)")


def test_a_failed_answer_cell_is_its_own_mistakes_and_a_clean_part_gives_nothing():
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    shown = report((PERIMETER[0], "NameError: name 'w' is not defined"))
    own = tm.attribute(shown, parts, [mistake("a1", "area"), mistake("p1", "perimeter")])
    assert tm.first_lines(own["a1"]) == []
    assert tm.first_lines(own["p1"]) == ["NameError: name 'w' is not defined"]


def test_a_long_line_cut_by_validate_still_finds_its_cell():
    long_test = ("assert area(3, 2) == 6, '" + "a long message " * 8 + "'", "test:test_area")
    parts = tm.parts(notebook(SETUP, AREA, long_test, PERIMETER, TEST_PERIMETER))
    shown = report((long_test[0], "AssertionError: area"))
    assert "..." in shown
    own = tm.attribute(shown, parts, [mistake("p1", "perimeter"), mistake("a1", "area")])
    assert tm.first_lines(own["a1"]) == ["AssertionError: area"]


def test_a_failed_setup_cell_is_every_mistakes():
    """No answer runs before it: the same error in every notebook, alone or shared."""
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    shown = report((SETUP[0], "ModuleNotFoundError: No module named 'numpy'"),
                   (TEST_AREA[0], "AssertionError: area: not w times h"))
    own = tm.attribute(shown, parts, [mistake("a1", "area"), mistake("p1", "perimeter")])
    assert tm.first_lines(own["a1"]) == ["ModuleNotFoundError: No module named 'numpy'",
                                         "AssertionError: area: not w times h"]
    assert tm.first_lines(own["p1"]) == ["ModuleNotFoundError: No module named 'numpy'"]


def test_a_cell_that_only_wrote_to_stderr_is_every_mistakes():
    """TensorFlow's first use logs to stderr in whichever cell comes first: no mistake's."""
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER))
    shown = report((TEST_AREA[0], "E0000 cuda_platform.cc:52] failed call to cuInit"),
                   (TEST_PERIMETER[0], "AssertionError: perimeter: not twice w plus h"))
    own = tm.attribute(shown, parts, [mistake("a1", "area"), mistake("p1", "perimeter")])
    assert "cuInit" in own["p1"] and "cuInit" in own["a1"]
    assert tm.first_lines(own["a1"]) == []
    assert tm.first_lines(own["p1"]) == ["AssertionError: perimeter: not twice w plus h"]


def test_a_failure_no_mistake_of_a_shared_notebook_reaches_stops_the_run():
    volume = ("def volume(w, h, d):\n    return w * h * d", "answer:volume")
    test_volume = ("assert volume(1, 2, 3) == 6", "test:test_volume")
    parts = tm.parts(notebook(SETUP, AREA, TEST_AREA, PERIMETER, TEST_PERIMETER, volume,
                              test_volume))
    shown = report((test_volume[0], "AssertionError: volume"))
    with pytest.raises(RuntimeError, match="no mistake of"):
        tm.attribute(shown, parts, [mistake("a1", "area"), mistake("p1", "perimeter")])
    alone = tm.attribute(shown, parts, [mistake("a1", "area")])  # as with one per notebook
    assert tm.first_lines(alone["a1"]) == ["AssertionError: volume"]
