"""A submission stopped at its whole-submission time limit keeps the credit of every test cell
that finished, as at a cell timeout, and the summary names the cell that was running.

The limits are small and the slow cell sleeps far longer than any of them, so the outcome never
depends on how busy the machine is: the test cell before it finishes within seconds, the slow
cell never does.
"""

from __future__ import annotations

from dataclasses import replace

import nbformat
import pytest

from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import grade_lab
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow

# The whole submission may take 60 s (an honest tiny submission takes at most 15 s under load);
# a cell may take 10 minutes, so only the whole-submission limit can stop the sleeping cell.
SLOW = replace(FAST, jobs=1, timeout=60, cell_timeout=600, skip_preflight=True)


def test_past_the_submission_limit_the_finished_cells_keep_their_credit(tmp_path):
    course = make_course(tmp_path)
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    notebook = synthetic_submission(source, release, "correct")
    path = course.submitted / "slow" / TINY / f"{TINY}.ipynb"
    path.parent.mkdir(parents=True)
    answer = next(c for c in notebook.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "output_size")  # fmt: skip
    answer.source = "import time\ntime.sleep(10_000)\n" + answer.source
    nbformat.write(notebook, path)
    (result,) = grade_lab(course, TINY, options=SLOW)
    assert result.status == "timeout"
    assert (result.score, result.max_score) == (2, 3)  # test_conv1d finished; output_size never
    assert "stopped after 60 s while running output_size" in result.reasons[0]
