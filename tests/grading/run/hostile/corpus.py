"""Hostile and broken submissions of the fixture lab `lab0_tiny`, written by small generators.

lab0_tiny (tests/grading/fixtures) has two exercises: `conv1d` checked by test_conv1d (2 points,
uses numpy.testing.assert_allclose) and `output_size` checked by test_output_size (1 point, its
hidden part calls the student's function through `checks.call_own`, which refuses the course's
reference implementation). Each case says what grade a fair grader gives and a word the reason
must contain; the expectations follow from those two tests:

* an attack in an extra, ungraded cell that the sandbox contains leaves the correct solutions
  their 3 points, and the summary reports the error the attack met;
* a submission whose kernel dies gets 0 (no test could run);
* tampering with graded cells never earns more than the student's code deserves.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

LAB = "lab0_tiny"
MAX = 3.0
HIDDEN_MARK = "padding=1, stride=2"  # text found only in the hidden tests of lab0_tiny


@dataclass
class Kit:
    """What the generators start from: honest notebooks and the files attacks aim at."""

    correct: NotebookNode
    blank: NotebookNode
    targets: list[Path]  # files outside the submission that must stay untouched
    solutions: Path  # the lab's source notebook


@dataclass(frozen=True)
class Case:
    name: str
    score: float
    status: str
    reason: str  # a fragment the summary reason must contain (case-insensitive)
    build: Callable[[Path, Kit], None]  # writes the submission folder


# ------------------------------------------------------------------------------- helpers
def save(folder: Path, notebook: NotebookNode, name: str = f"{LAB}.ipynb") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)


def cell_index(notebook: NotebookNode, grade_id: str) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise ValueError(f"no cell {grade_id!r} in the notebook")


def with_extra_cell(base: NotebookNode, code: str) -> NotebookNode:
    """A copy of base with an ungraded code cell right after the imports cell."""
    notebook = copy.deepcopy(base)
    cell = new_code_cell(code)
    cell.pop("id", None)
    notebook.cells.insert(cell_index(notebook, "imports") + 1, cell)
    return notebook


def with_solution(base: NotebookNode, grade_id: str, code: str) -> NotebookNode:
    notebook = copy.deepcopy(base)
    notebook.cells[cell_index(notebook, grade_id)].source = code
    return notebook


def extra_cell_case(name: str, code: str, score: float, status: str, reason: str) -> Case:
    def build(folder: Path, kit: Kit) -> None:
        save(folder, with_extra_cell(kit.correct, code))

    return Case(name, score, status, reason, build)


def raw_file_case(name: str, content: bytes, reason: str) -> Case:
    def build(folder: Path, kit: Kit) -> None:
        folder.mkdir(parents=True)
        (folder / f"{LAB}.ipynb").write_bytes(content)

    return Case(name, 0.0, "invalid notebook", reason, build)


# ------------------------------------------------------------------- process-level attacks
# Asleep, not spinning: it waits out the submission limit (a minute or more) without burning
# a core; `infinite_loop` below is the case that spins, against the cell limit.
STUBBORN_LOOP = """\
import time

while True:
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass  # swallows the interrupt nbgrader sends at the cell time limit
"""
MEMORY_BOMB = """\
hog = []
while True:
    hog.append(bytearray(2**28))  # 256 MiB a step until something stops it
"""
OUTPUT_FLOOD = """\
for _ in range(3000):
    print("flood " * 2000)  # 36 MB of output
"""
FILE_FLOOD = """\
with open("flood.bin", "wb") as f:
    for _ in range(1024):
        f.write(b"0" * 2**20)  # a 1 GiB file, 1 MiB at a time
"""
FORK_BOMB = """\
import os, time
while True:
    if os.fork() == 0:
        time.sleep(600)  # children pile up until the process limit says no
"""
NETWORK = """\
import socket
socket.create_connection(("1.1.1.1", 53), timeout=5)
"""
KILL_GRADER = """\
import os, signal
for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
raise RuntimeError("still alive after trying to kill the grader")
"""


def tamper_code(targets: list[Path]) -> str:
    return f"""\
import os, shutil
done = []
for path in {[str(t) for t in targets]!r}:
    for attack in (os.remove, lambda p: open(p, "a").write("pwned"),
                   lambda p: shutil.rmtree(os.path.dirname(p))):
        try:
            attack(path)
            done.append(path)
        except Exception:
            pass
raise RuntimeError(f"tamper attempts that worked: {{len(done)}}")
"""


def snoop_code(solutions: Path) -> str:
    return f"""\
import glob, os
places = [{str(solutions)!r}, *glob.glob("*"), *glob.glob("../*"), *glob.glob("../../**/*",
          recursive=True)]
for top in ("/tmp", "/work", "/root", "/home", "/srv"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in (".venv", "site-packages")]
        places += [os.path.join(root, f) for f in files]
found = []
secret = {HIDDEN_MARK[:9].encode()!r} + {HIDDEN_MARK[9:].encode()!r}  # not in this cell's text
for path in places:
    try:
        with open(path, "rb") as f:
            if secret in f.read(10**7):
                found.append(path)
    except OSError:
        pass
raise RuntimeError(f"hidden tests found in {{len(found)}} files: {{found}}")
"""


# --------------------------------------------------------------------- graded-cell attacks
def edited_tests(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.blank)
    for grade_id in ("test_conv1d", "test_output_size"):
        notebook.cells[cell_index(notebook, grade_id)].source = "pass  # all good"
    save(folder, notebook)


def deleted_tests(base: str) -> Callable[[Path, Kit], None]:
    def build(folder: Path, kit: Kit) -> None:
        notebook = copy.deepcopy(getattr(kit, base))
        tests = ("test_conv1d", "test_output_size")
        notebook.cells = [
            c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in tests
        ]
        save(folder, notebook)

    return build


def duplicated_test(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.blank)
    fake = copy.deepcopy(notebook.cells[cell_index(notebook, "test_output_size")])
    fake.source = "pass  # this copy comes first"
    notebook.cells.insert(cell_index(notebook, "imports") + 1, fake)
    save(folder, notebook)


def reordered(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.correct)
    test = notebook.cells.pop(cell_index(notebook, "test_output_size"))
    notebook.cells.insert(cell_index(notebook, "output_size"), test)  # test before solution
    save(folder, notebook)


def changed_points(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.correct)
    notebook.cells[cell_index(notebook, "test_output_size")].metadata.nbgrader["points"] = 100
    save(folder, notebook)


def ungraded_tests(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.blank)
    for grade_id in ("test_conv1d", "test_output_size"):
        meta = notebook.cells[cell_index(notebook, grade_id)].metadata.nbgrader
        meta.update(grade=False, locked=False, solution=True)
    save(folder, notebook)


PATCH_ASSERTS = """\
import builtins
import numpy.testing
import numpy.testing._private.utils
from cnncourse.grading import checks

always_pass = lambda *args, **kwargs: None
numpy.testing.assert_allclose = always_pass
numpy.testing._private.utils.assert_allclose = always_pass
np.testing.assert_array_equal = always_pass
assert_allclose = always_pass
checks.call_own = lambda name, function, *args, forbidden=(), **kwargs: 4
builtins.all = lambda *args: True


def conv1d(x, w):
    return np.zeros(len(x) - len(w) + 1)  # wrong on purpose
"""
WRONG_OUTPUT_SIZE = "def output_size(n, k, padding=0, stride=1):\n    return 3  # wrong\n"
REFERENCE_CALL = """\
def output_size(n, k, padding=0, stride=1):
    from cnncourse.arithmetic import conv_output_size

    return conv_output_size(n, k, stride=stride, padding=padding)
"""
LOOP_IN_FUNCTION = "def output_size(n, k, padding=0, stride=1):\n    while True:\n        pass\n"


def patched_asserts(folder: Path, kit: Kit) -> None:
    notebook = with_solution(kit.correct, "conv1d", PATCH_ASSERTS)
    save(folder, with_solution(notebook, "output_size", WRONG_OUTPUT_SIZE))


# ----------------------------------------------------------------------- file-level cases
def wrong_name(folder: Path, kit: Kit) -> None:
    save(folder, kit.correct, name="Lab 0 (1).ipynb")


def other_lab(folder: Path, kit: Kit) -> None:
    notebook = copy.deepcopy(kit.correct)
    for cell in notebook.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader["grade_id"] = "lab9_" + cell.metadata.nbgrader["grade_id"]
    save(folder, notebook)


def symlink_to_solutions(folder: Path, kit: Kit) -> None:
    folder.mkdir(parents=True)
    os.symlink(kit.solutions, folder / f"{LAB}.ipynb")


def no_notebook(folder: Path, kit: Kit) -> None:
    folder.mkdir(parents=True)
    (folder / "answers.py").write_text("print('my answers')\n")


def cases(kit: Kit) -> list[Case]:
    """The corpus; each case: grade a fair grader gives, status, a word of the reason."""
    sub = lambda gid, code: lambda f, k: save(f, with_solution(k.correct, gid, code))  # noqa: E731
    return [
        Case("infinite_loop", 2.0, "timeout", "time limit", sub("output_size", LOOP_IN_FUNCTION)),
        # every later cell waits out its own time limit, so nbgrader gives up ("stopped
        # responding") or the driver stops it at the submission timeout ("stopped after")
        extra_cell_case("stubborn_loop", STUBBORN_LOOP, 0.0, "timeout", "stopped"),
        extra_cell_case("sys_exit", "import sys\nsys.exit('bye')", MAX, "ok", "SystemExit"),
        extra_cell_case("os_exit", "import os\nos._exit(3)", 0.0, "crashed", "kernel died"),
        extra_cell_case("segfault", "import ctypes\nctypes.string_at(0)", 0.0, "crashed", "died"),
        extra_cell_case("memory_bomb", MEMORY_BOMB, MAX, "ok", "MemoryError"),
        extra_cell_case("output_flood", OUTPUT_FLOOD, MAX, "ok", "output truncated"),
        extra_cell_case("file_flood", FILE_FLOOD, MAX, "ok", "File too large"),
        extra_cell_case("fork_bomb", FORK_BOMB, MAX, "ok", "BlockingIOError"),
        extra_cell_case("network", NETWORK, MAX, "ok", "unreachable"),
        extra_cell_case("kill_grader", KILL_GRADER, MAX, "ok", "still alive"),
        Case("tamper_files", MAX, "ok", "worked: 0",
             lambda f, k: save(f, with_extra_cell(k.correct, tamper_code(k.targets)))),
        Case("read_hidden_tests", MAX, "ok", "found in 0 files",
             lambda f, k: save(f, with_extra_cell(k.correct, snoop_code(k.solutions)))),
        Case("edited_tests", 0.0, "ok", "edited", edited_tests),
        Case("deleted_tests_blank", 0.0, "ok", "put back", deleted_tests("blank")),
        Case("deleted_tests_correct", MAX, "ok", "put back", deleted_tests("correct")),
        Case("duplicated_test", 0.0, "ok", "duplicated", duplicated_test),
        Case("reordered", 2.0, "ok", "reordered", reordered),
        Case("changed_points", MAX, "ok", "metadata changed", changed_points),
        Case("ungraded_tests", 0.0, "ok", "metadata changed", ungraded_tests),
        Case("patched_asserts", 0.0, "ok", "AssertionError", patched_asserts),
        Case("reference_call", 2.0, "ok", "reference implementation",
             sub("output_size", REFERENCE_CALL)),
        raw_file_case("empty_file", b"", "empty file"),
        raw_file_case("invalid_json", b'{"cells": [', "not valid JSON"),
        raw_file_case("not_a_notebook", json.dumps({"hello": 1}).encode(), "not a Jupyter"),
        Case("wrong_file_name", MAX, "ok", "wrong file name", wrong_name),
        Case("other_lab", 0.0, "wrong lab", "another lab", other_lab),
        Case("symlink_to_solutions", 0.0, "invalid notebook", "symbolic link",
             symlink_to_solutions),
        Case("no_notebook", 0.0, "missing notebook", "no notebook", no_notebook),
    ]  # fmt: skip
