"""Guard cells: test helpers that a submission monkey-patched are restored before each test.

A student's cell can make every test pass without solving anything, e.g.
`np.testing.assert_allclose = lambda *a, **k: None`, or by redefining `checks` or `np`. nbgrader
runs the tests in the student's kernel, so it cannot see this. Two nbgrader preprocessors close
the obvious doors:

* `InsertGuard` (before nbgrader's `Execute`) adds a first cell that records the attributes of
  the modules tests rely on (numpy, numpy.testing, math, builtins, the course's checks), and
  starts every graded test cell with one line that puts them back and re-runs the imports of the
  instructor's locked cells, so `np` and `checks` are the real modules again;
* `RemoveGuard` (right after `Execute`) takes both out again, so the autograded notebook and the
  students' feedback show the cells as they were.

This is a speed bump against patching, not a security boundary (see the threat model in
`cnncourse.grading.sandbox`).
"""

from __future__ import annotations

import ast
import secrets

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

PROTECTED_MODULES = (
    "builtins",
    "math",
    "numpy",
    "numpy.testing",
    "numpy.testing._private.utils",
    "cnncourse.grading.checks",
)
MARK = "cnncourse_guard"

SNAPSHOT_CELL = """\
def _make_guard(names):
    import importlib
    import sys

    saved = {}
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        saved[name] = (module, dict(vars(module)))

    def restore():
        for name, (module, attributes) in saved.items():
            sys.modules[name] = module
            vars(module).update(attributes)

    return restore


{guard} = _make_guard({names!r})
del _make_guard
"""


def instructor_imports(nb: NotebookNode) -> list[str]:
    """Import statements of the locked (instructor) code cells and the test cells, in order."""
    statements: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or not meta.get("locked"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statement = ast.unparse(node)
                if statement not in statements:
                    statements.append(statement)
    return statements


def is_test_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class InsertGuard(Preprocessor):
    """Add the snapshot cell at the top and a restoring first line to each graded test cell."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        guard = f"_grader_guard_{secrets.token_hex(8)}"
        imports = "; ".join(instructor_imports(nb))
        prefix = f"{guard}()" + (f"; {imports}" if imports else "") + "\n"
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.metadata[MARK] = {"original": cell.source}
                cell.source = prefix + cell.source
        snapshot = new_code_cell(SNAPSHOT_CELL.format(guard=guard, names=PROTECTED_MODULES))
        snapshot.metadata[MARK] = {"inserted": True}
        nb.cells.insert(0, snapshot)
        return nb, resources


class RemoveGuard(Preprocessor):
    """Undo `InsertGuard` after execution: drop the snapshot cell, restore the test sources."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb.cells = [c for c in nb.cells if not c.metadata.get(MARK, {}).get("inserted")]
        for cell in nb.cells:
            mark = cell.metadata.pop(MARK, None)
            if mark is not None:
                cell.source = mark["original"]
        return nb, resources
