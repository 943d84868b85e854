"""A correct Keras lab validates clean for a student: `nbgrader validate` run as on a student's
laptop (no TF_CPP_MIN_LOG_LEVEL, a HOME of its own) says "Success!" on the solution of labs 4,
5 and 6. TensorFlow's C++ core writes lines on stderr when it is imported ("All log messages
before absl::InitializeLog() ...", "oneDNN custom operations are on", "Could not find cuda
drivers") and at its first operation ("failed call to cuInit"); nbgrader validate counts a
cell's stderr as a failure, and autograde zeroes a test cell that writes there. The labs import
Keras with `cnncourse.quiet.import_keras()`, which discards those lines.

One nbgrader process validates the three notebooks. Labs 4 and 5 run whole (about 17 and 9 s of
kernel time); lab 6 runs through its Keras import cell, then one cell with a first operation:
TensorFlow writes its lines only there, and the training after them (35 s) would add nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.labs.typical_mistakes import split_reports

pytestmark = [pytest.mark.slow, pytest.mark.keras, pytest.mark.backend_neutral]

ROOT = Path(__file__).resolve().parents[2]
WHOLE = ["lab4_lenet", "lab5_model_zoo"]
THROUGH_KERAS_IMPORT = ["lab6_transposed_segmentation"]
# The lab folder whose nbgrader_config.py the run uses: its cell timeout (180 s) is the largest
# of the three, and it sets validate_all, as every lab's does.
CONFIG_OF = "lab4_lenet"
KERAS_IMPORT = re.compile(r"^(import keras\b|from keras\b|keras = import_keras\(\))", re.M)
FIRST_OPERATION = "keras.ops.convert_to_numpy(keras.ops.ones((1,)) + 1)  # TensorFlow's first op"


def student_env(home: Path) -> dict[str, str]:
    """A student's plain environment: this Python's commands on PATH, a HOME of its own, nothing
    of the test process (OPENBLAS_NUM_THREADS only for the shared machine's cores)."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}


def through_keras_import(nb: nbformat.NotebookNode, lab: str) -> nbformat.NotebookNode:
    """nb's cells through the first that imports Keras, then one cell with a first operation."""
    index = next((i for i, cell in enumerate(nb.cells)
                  if cell.cell_type == "code" and KERAS_IMPORT.search(cell.source)), None)
    if index is None:
        raise ValueError(f"{lab}: no code cell imports Keras (looked for {KERAS_IMPORT.pattern})")
    nb.cells = [*nb.cells[:index + 1], nbformat.v4.new_code_cell(FIRST_OPERATION)]
    return nb


def solution_copy(lab: str, folder: Path) -> Path:
    """The lab's solution notebook written into folder (cut as THROUGH_KERAS_IMPORT says)."""
    nb = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    if lab in THROUGH_KERAS_IMPORT:
        nb = through_keras_import(nb, lab)
    path = folder / f"{lab}.ipynb"
    nbformat.write(nb, path)
    return path


def test_through_keras_import_keeps_the_cells_before_the_import_and_adds_an_operation():
    cells = [nbformat.v4.new_code_cell(source) for source in
             ["import numpy as np", "x = 1\nkeras = import_keras()", "train()"]]
    nb = through_keras_import(nbformat.v4.new_notebook(cells=cells), "lab")
    assert [cell.source for cell in nb.cells] == ["import numpy as np",
                                                  "x = 1\nkeras = import_keras()",
                                                  FIRST_OPERATION]
    with pytest.raises(ValueError, match="lab7: no code cell imports Keras"):
        through_keras_import(nbformat.v4.new_notebook(cells=cells[:1]), "lab7")


def test_a_correct_keras_lab_validates_clean_for_a_student(tmp_path):
    course = tmp_path / "student"
    course.mkdir()
    shutil.copy(ROOT / "exercises" / CONFIG_OF / "nbgrader_config.py", course)
    paths = [solution_copy(lab, course) for lab in [*WHOLE, *THROUGH_KERAS_IMPORT]]
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", *map(str, paths)],
                            cwd=course, env=student_env(tmp_path / "home"), capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reports = split_reports(result.stdout, paths)
    failed = {path.stem: report for path, report in reports.items()
              if not report.startswith("Success! Your notebook passes all the tests.")}
    assert not failed, f"not clean: {sorted(failed)}\n" + "\n".join(failed.values())
