"""Check a submitted notebook before nbgrader sees it, and repair what can be repaired.

nbgrader stops (and our batch would lose a student) on notebooks it cannot read, and it grades
oddly when the graded cells were tampered with. `check_submission` turns each such case into
either a fatal verdict (grade 0 with a reason) or a repaired notebook plus notes:

fatal:    no notebook, empty file, invalid JSON, not a notebook, a notebook of another lab
repaired: a wrong file name (the only notebook of the folder, if it is this lab's), test cells
          deleted (put back, empty: nbgrader refills them from the gradebook), nbgrader metadata
          changed (restored from the source), unknown graded cells (their metadata removed),
          duplicated graded cells (later copies demoted to ordinary cells)
noted:    graded cells reordered (run as the student ordered them)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

# nbgrader metadata fields that define what a cell is worth; restored from the source notebook.
GRADING_FIELDS = ("grade", "solution", "locked", "points", "task", "schema_version")


@dataclass(frozen=True)
class LabCells:
    """The graded cells of a lab, in the order of its source notebook."""

    lab: str
    order: tuple[str, ...]
    metadata: dict[str, dict]
    cell_types: dict[str, str]
    released_tests: dict[str, str] = field(default_factory=dict)  # test id -> released source

    @classmethod
    def from_source(
        cls, lab: str, source: NotebookNode, release: NotebookNode | None = None
    ) -> LabCells:
        """The graded cells of the source notebook; the release gives the tests as handed out."""
        order, metadata, cell_types = [], {}, {}
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if grade_id and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
                order.append(grade_id)
                metadata[grade_id] = dict(meta)
                cell_types[grade_id] = cell.cell_type
        released = {}
        for cell in release.cells if release is not None else []:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in metadata:
                released[grade_id] = cell.source
        return cls(lab, tuple(order), metadata, cell_types, released)

    def is_test(self, grade_id: str) -> bool:
        meta = self.metadata[grade_id]
        return bool(meta.get("grade")) and not meta.get("solution")


@dataclass
class Verdict:
    """Outcome of the check: `notebook` is None when the submission cannot be graded."""

    notebook: NotebookNode | None
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)


def check_submission(folder: Path, cells: LabCells) -> Verdict:
    """Find, read and repair the notebook of `cells.lab` in a student's submission folder."""
    expected = folder / f"{cells.lab}.ipynb"
    reasons: list[str] = []
    if not expected.exists():
        found = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(found) != 1:
            what = f"found {', '.join(found)}" if found else "the folder has no notebook"
            return Verdict(None, "missing notebook", [f"no {expected.name}: {what}"])
        reasons.append(f"wrong file name {found[0]}, graded as {expected.name}")
        expected = folder / found[0]
    if expected.is_symlink():  # it could point at the instructor's source notebook
        return Verdict(None, "invalid notebook", [*reasons, f"{expected.name} is a symbolic link"])
    notebook, problem = read_notebook(expected)
    if notebook is None:
        return Verdict(None, "invalid notebook", [*reasons, problem])
    return repair(notebook, cells, reasons)


def read_notebook(path: Path) -> tuple[NotebookNode | None, str]:
    """The notebook at path, or None and what is wrong with the file.

    No stricter than nbgrader, whose own read only logs what nbformat's schema would refuse
    (a display output without metadata, a code cell without execution_count, an editor's extra
    fields): a notebook is refused only when nbgrader could not grade it either. The outputs are
    cleared, as nbgrader's autograde clears them before it runs the notebook."""
    raw = path.read_bytes()
    if not raw.strip():
        return None, f"{path.name} is an empty file"
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, f"{path.name} is not valid JSON ({error})"
    if not isinstance(data, dict) or "cells" not in data or data.get("nbformat") != 4:
        return None, f"{path.name} is JSON but not a Jupyter notebook (version 4)"
    problem = unreadable_cells(data)
    if problem:
        return None, f"{path.name} is not a valid notebook ({problem})"
    notebook = nbformat.reads(raw.decode(), as_version=4, capture_validation_error={})
    for cell in notebook.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    give_cells_ids(notebook)
    return notebook, ""


def unreadable_cells(data: dict) -> str:
    """What makes a notebook's cells unreadable to nbgrader too ('' if nothing)."""
    if not isinstance(data["cells"], list) or not isinstance(data.get("metadata", {}), dict):
        return "its cells are not a list, or its metadata is not a mapping"
    for index, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            return f"cell {index} is not a code, markdown or raw cell"
        source = cell.get("source")
        if not (isinstance(source, str) or (
            isinstance(source, list) and all(isinstance(line, str) for line in source)
        )):
            return f"cell {index} has no source text"
        if not isinstance(cell.get("metadata", {}), dict):
            return f"cell {index}'s metadata is not a mapping"
    return ""


def give_cells_ids(notebook: NotebookNode) -> None:
    """A notebook of format 4.4 in which some cells carry an id (a tool added one, e.g. the
    course's setup cell) is invalid as it is: make it 4.5, where every cell has an id."""
    if notebook.nbformat_minor >= 5 or not any("id" in cell for cell in notebook.cells):
        return
    notebook.nbformat_minor = 5
    taken = {cell["id"] for cell in notebook.cells if "id" in cell}
    for cell in notebook.cells:
        if "id" not in cell:
            cell["id"] = next(f"cell-{i}" for i in range(len(taken) + len(notebook.cells) + 1)
                              if f"cell-{i}" not in taken)  # fmt: skip
            taken.add(cell["id"])


def repair(notebook: NotebookNode, cells: LabCells, reasons: list[str]) -> Verdict:
    """Restore the graded cells' metadata and put back deleted test cells."""
    seen: dict[str, int] = {}
    unknown, changed, duplicated, edited = [], [], [], []
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if meta is None:
            continue
        if grade_id not in cells.metadata:
            unknown.append(str(grade_id))
            del cell.metadata["nbgrader"]
        elif grade_id in seen:
            duplicated.append(grade_id)
            del cell.metadata["nbgrader"]
        else:
            seen[grade_id] = index
            if _restore_metadata(cell, cells, grade_id):
                changed.append(grade_id)
            released = cells.released_tests.get(grade_id)
            if cells.is_test(grade_id) and released is not None and cell.source != released:
                edited.append(grade_id)
    if unknown and not seen:
        ids = ", ".join(unknown[:4])
        return Verdict(None, "wrong lab", [*reasons, f"a notebook of another lab (cells {ids})"])
    notebook.cells = [_as_type(c, cells) for c in notebook.cells]
    present = [g for g in cells.order if g in seen]
    if [g for g in sorted(seen, key=seen.get)] != present:
        reasons.append("graded cells reordered (run in the student's order)")
    missing = [g for g in cells.order if g not in seen]
    restored = _restore_tests(notebook, cells, missing)
    for label, ids in (
        ("test cells deleted, put back", restored),
        ("solution cells deleted", [g for g in missing if _is_answer(cells, g)]),
        ("test cells edited, nbgrader restores them", edited),
        ("graded cell metadata changed, restored", changed),
        ("duplicated graded cells, copies not graded", duplicated),
        ("unknown graded cells, not graded", unknown),
    ):
        if ids:
            reasons.append(f"{label}: {', '.join(ids)}")
    return Verdict(notebook, "ok", reasons)


def _is_answer(cells: LabCells, grade_id: str) -> bool:
    return bool(cells.metadata[grade_id].get("solution"))


def _restore_metadata(cell: NotebookNode, cells: LabCells, grade_id: str) -> bool:
    meta = cell.metadata["nbgrader"]
    source = cells.metadata[grade_id]
    changed = any(meta.get(k) != source.get(k) for k in GRADING_FIELDS)
    changed = changed or cell.cell_type != cells.cell_types[grade_id]
    cell.metadata["nbgrader"] = dict(source)
    return changed


def _as_type(cell: NotebookNode, cells: LabCells) -> NotebookNode:
    """A graded cell turned into another type (code <-> markdown) gets its source type back."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id is None or cell.cell_type == cells.cell_types[grade_id]:
        return cell
    make = new_code_cell if cells.cell_types[grade_id] == "code" else new_markdown_cell
    return make(cell.source, metadata=cell.metadata)


def _restore_tests(notebook: NotebookNode, cells: LabCells, missing: list[str]) -> list[str]:
    """Insert an empty cell for each deleted test cell after the graded cell before it.

    nbgrader's OverwriteCells then fills the cell with the test from the gradebook.
    """
    restored = []
    for grade_id in missing:
        if not cells.is_test(grade_id):
            continue
        position = _insert_position(notebook, cells, grade_id)
        cell = new_code_cell("", metadata={"nbgrader": dict(cells.metadata[grade_id])})
        if notebook.nbformat_minor < 5:
            cell.pop("id", None)  # cell ids exist from nbformat 4.5 on
        notebook.cells.insert(position, cell)
        restored.append(grade_id)
    return restored


def _insert_position(notebook: NotebookNode, cells: LabCells, grade_id: str) -> int:
    """After the last graded cell that comes before it in the source, else at the end."""
    earlier = set(cells.order[: cells.order.index(grade_id)])
    position = len(notebook.cells)
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") in earlier:
            position = index + 1
    return position
