"""Guard cells: test helpers that a submission monkey-patched are restored before each test.

A student's cell can make every test pass without solving anything, e.g.
`np.testing.assert_allclose = lambda *a, **k: None`, or by redefining `checks` or `np`. nbgrader
runs the tests in the student's kernel, so it cannot see this. Two nbgrader preprocessors close
the obvious doors:

* `InsertGuard` (before nbgrader's `Execute`) adds a first cell that records the attributes of
  the modules tests rely on (numpy, numpy.testing, math, builtins, the course's checks), and
  starts every graded test cell with one line that puts them back and re-runs the imports of the
  instructor's locked cells, so `np` and `checks` are the real modules again;
* in the sandbox, the same first cell makes the kernel kill and reap, before each cell, the
  processes earlier cells left behind: a fork bomb's sleeping children would otherwise hold the
  process limit and starve every later cell;
* `RemoveGuard` (right after `Execute`) takes both out again, so the autograded notebook and the
  students' feedback show the cells as they were.

This is a speed bump against patching, not a security boundary (see the threat model in
`cnncourse.grading.run.sandbox`).
"""

from __future__ import annotations

import ast
import secrets

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from traitlets import Bool

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

    saved = {{}}
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

# Only inside bubblewrap's PID namespace, where the kernel sees nothing but its own processes.
REAPER_CELL = """

def _reap_strays(*args):
    import os
    import signal

    if open("/proc/1/comm").read().strip() != "bwrap":
        return
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, os.getpid()):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    while True:
        try:
            if os.waitpid(-1, 0)[0] == 0:
                break
        except ChildProcessError:
            break


get_ipython().events.register("pre_run_cell", _reap_strays)
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

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled
    reap_strays = Bool(False, help="kill leftover processes before each cell").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        guard = f"_grader_guard_{secrets.token_hex(8)}"
        imports = "; ".join(instructor_imports(nb))
        prefix = f"{guard}()" + (f"; {imports}" if imports else "") + "\n"
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.metadata[MARK] = {"original": cell.source}
                cell.source = prefix + cell.source
        code = SNAPSHOT_CELL.format(guard=guard, names=PROTECTED_MODULES)
        snapshot = new_code_cell(code + (REAPER_CELL if self.reap_strays else ""))
        snapshot.metadata[MARK] = {"inserted": True}
        nb.cells.insert(0, snapshot)
        return nb, resources


class RemoveGuard(Preprocessor):
    """Undo `InsertGuard` after execution: drop the snapshot cell, restore the test sources."""

    enabled = Bool(True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb.cells = [c for c in nb.cells if not c.metadata.get(MARK, {}).get("inserted")]
        for cell in nb.cells:
            mark = cell.metadata.pop(MARK, None)
            if mark is not None:
                cell.source = mark["original"]
        return nb, resources
