"""The boundary between the layers of cnncourse.grading: what a student's kernel imports
(`checks`, `lab_checks`) pulls in nothing of the instructor's side."""

from __future__ import annotations

import json
import subprocess
import sys

INSTRUCTOR_SIDE = ("cnncourse.grading.run", "cnncourse.grading.reports", "cnncourse.grading.cli",
                   "cnncourse.grading.demo", "nbgrader", "nbconvert", "traitlets")


def test_the_kernel_side_imports_nothing_of_the_instructors_side():
    code = ("import json, sys\n"
            "from cnncourse.grading import checks, lab_checks\n"
            "lab_checks.check_conv2d_forward, checks.MISTAKES\n"
            "print(json.dumps(sorted(sys.modules)))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    loaded = json.loads(done.stdout)
    assert "cnncourse.grading.lab_checks.lab6" in loaded  # the probe sees the submodules
    crossing = [m for m in loaded if m.startswith(INSTRUCTOR_SIDE)]
    assert crossing == []
