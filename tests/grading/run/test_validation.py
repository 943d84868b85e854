"""Submission checks and repairs, on notebooks built from the tiny lab (no nbgrader run)."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from cnncourse.grading.run.validation import LabCells, check_submission
from tests.grading.tiny_course import FIXTURES, TINY

SOURCE = nbformat.read(FIXTURES / "solutions" / TINY / f"{TINY}.ipynb", as_version=4)
CELLS = LabCells.from_source(TINY, SOURCE)


def ids(notebook) -> list[str | None]:
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


def submit(tmp_path, notebook, name=f"{TINY}.ipynb"):
    nbformat.write(notebook, tmp_path / name)
    return check_submission(tmp_path, CELLS)


def test_lab_cells_follow_the_source_order():
    assert CELLS.order == ("intro", "imports", "conv1d", "test_conv1d", "output_size",
                           "test_output_size")  # fmt: skip
    assert [g for g in CELLS.order if CELLS.is_test(g)] == ["test_conv1d", "test_output_size"]


def test_an_untouched_notebook_passes_without_reasons(tmp_path):
    verdict = submit(tmp_path, copy.deepcopy(SOURCE))
    assert (verdict.status, verdict.reasons) == ("ok", [])
    assert ids(verdict.notebook) == list(CELLS.order)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file"), (b"\x00\xff{", "not valid JSON"), (b"[1, 2]", "not a Jupyter notebook"),
     (json.dumps({"cells": "no", "nbformat": 4}).encode(), "not a valid notebook")],
)  # fmt: skip
def test_unreadable_files_are_invalid_with_a_reason(tmp_path, content, reason):
    (tmp_path / f"{TINY}.ipynb").write_bytes(content)
    verdict = check_submission(tmp_path, CELLS)
    assert verdict.notebook is None and verdict.status == "invalid notebook"
    assert reason in verdict.reasons[0]


def test_a_single_notebook_with_another_name_is_graded_with_a_note(tmp_path):
    verdict = submit(tmp_path, copy.deepcopy(SOURCE), name="copy of lab.ipynb")
    assert verdict.notebook is not None
    assert "wrong file name copy of lab.ipynb" in verdict.reasons[0]


def test_two_notebooks_with_other_names_are_refused(tmp_path):
    for name in ("a.ipynb", "b.ipynb"):
        nbformat.write(SOURCE, tmp_path / name)
    verdict = check_submission(tmp_path, CELLS)
    assert verdict.status == "missing notebook" and "a.ipynb, b.ipynb" in verdict.reasons[0]


def test_deleted_test_cell_is_put_back_after_its_solution(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    del notebook.cells[ids(notebook).index("test_conv1d")]
    verdict = submit(tmp_path, notebook)
    assert ids(verdict.notebook) == list(CELLS.order)
    assert verdict.notebook.cells[3].source == ""  # nbgrader refills it from the gradebook
    assert "test cells deleted, put back: test_conv1d" in verdict.reasons


def test_changed_points_and_cell_type_are_restored(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    test = notebook.cells[ids(notebook).index("test_output_size")]
    test.metadata.nbgrader["points"] = 100
    notebook.cells[ids(notebook).index("conv1d")].cell_type = "markdown"
    notebook.cells[ids(notebook).index("conv1d")].pop("outputs")
    notebook.cells[ids(notebook).index("conv1d")].pop("execution_count")
    verdict = submit(tmp_path, notebook)
    repaired = dict(zip(ids(verdict.notebook), verdict.notebook.cells, strict=True))
    assert repaired["test_output_size"].metadata.nbgrader["points"] == 1
    assert repaired["conv1d"].cell_type == "code"
    assert any("metadata changed" in r and "conv1d" in r for r in verdict.reasons)


def test_duplicates_and_unknown_ids_lose_their_grading_metadata(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    twin = copy.deepcopy(notebook.cells[ids(notebook).index("test_conv1d")])
    stranger = copy.deepcopy(twin)
    stranger.metadata.nbgrader["grade_id"] = "bonus"
    notebook.cells += [twin, stranger]
    verdict = submit(tmp_path, notebook)
    assert ids(verdict.notebook) == [*CELLS.order, None, None]
    assert any("duplicated" in r and "test_conv1d" in r for r in verdict.reasons)
    assert any("unknown" in r and "bonus" in r for r in verdict.reasons)


def test_reordering_is_noted(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    notebook.cells.append(notebook.cells.pop(ids(notebook).index("conv1d")))
    assert any("reordered" in r for r in submit(tmp_path, notebook).reasons)


def test_a_notebook_of_another_lab_is_refused(tmp_path):
    notebook = copy.deepcopy(SOURCE)
    for cell in notebook.cells:
        cell.metadata.nbgrader["grade_id"] = "lab9_" + cell.metadata.nbgrader["grade_id"]
    verdict = submit(tmp_path, notebook)
    assert verdict.status == "wrong lab" and "another lab" in verdict.reasons[0]


def test_a_symbolic_link_is_not_followed(tmp_path):
    (tmp_path / f"{TINY}.ipynb").symlink_to(FIXTURES / "solutions" / TINY / f"{TINY}.ipynb")
    verdict = check_submission(tmp_path, CELLS)
    assert verdict.notebook is None and "symbolic link" in verdict.reasons[0]


def test_an_edited_test_cell_is_noted(tmp_path):
    cells = LabCells.from_source(TINY, SOURCE, release=SOURCE)
    notebook = copy.deepcopy(SOURCE)
    notebook.cells[ids(notebook).index("test_conv1d")].source = "pass  # trust me"
    nbformat.write(notebook, tmp_path / f"{TINY}.ipynb")
    verdict = check_submission(tmp_path, cells)
    assert "test cells edited, nbgrader restores them: test_conv1d" in verdict.reasons
    assert not any("edited" in r for r in submit(tmp_path, copy.deepcopy(SOURCE)).reasons)


def test_a_4_4_notebook_with_one_cell_id_is_repaired_not_refused(tmp_path):
    """A tool (the course's setup-cell stamp) may give one cell an id in a 4.4 notebook."""
    notebook = copy.deepcopy(SOURCE)
    assert notebook.nbformat_minor == 4
    notebook.cells[1]["id"] = "setup"
    (tmp_path / f"{TINY}.ipynb").write_text(json.dumps(notebook))
    verdict = check_submission(tmp_path, CELLS)
    assert verdict.status == "ok" and verdict.notebook.nbformat_minor == 5
    ids = [cell["id"] for cell in verdict.notebook.cells]
    assert ids[1] == "setup" and len(set(ids)) == len(ids)
