"""A throw-away nbgrader course holding the tiny fixture lab, fast grading options, the grades
the demo's synthetic students of that lab deserve, and an honest submission of it."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import nbformat

from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import Course, GradingOptions
from cnncourse.grading.run.nbgrader_commands import release_labs

FIXTURES = Path(__file__).parent / "fixtures"
TINY = "lab0_tiny"
# A cell timeout of 30 s: an honest cell of the tiny lab takes well under a second even on a
# busy machine, so it never races the limit, while an infinite loop still costs only 30 s. A
# submission may take 90 s: an honest one took at most 15 s here under a load of 18 on 2 cores.
# 2 GiB of address space keeps memory bombs small.
FAST = GradingOptions(
    jobs=2, timeout=90, cell_timeout=30, progress=False,
    limits={"address_space_bytes": 2 * 2**30},
)  # fmt: skip
# (score, status) of each synthetic student of the demo (cnncourse.grading.demo) on the tiny lab
EXPECTED_TINY = {
    "correct": (3, "ok"),
    "blank": (0, "ok"),
    "partly_right": (2, "ok"),
    "flipped_kernel": (1, "ok"),
    "off_by_one_padding": (2, "ok"),
    "crashes": (0, "crashed"),
    "infinite_loop": (1, "timeout"),
}


def make_course(root: Path, extra_cells: list | tuple = ()) -> Course:
    """A course directory holding lab0_tiny (with `extra_cells` appended to its source),
    released, with an empty SQLite gradebook.

    Without extra cells it is a copy of the course this process released first: a release is
    an `nbgrader generate_assignment` subprocess (about 3 s of CPU, paid by some 30 tests), and
    two releases of the same source differ only in the gradebook's random row ids."""
    if extra_cells:
        return release_course(root, extra_cells)
    if _released is None:
        _keep_released(release_course(root))
    else:
        shutil.copytree(_released, root, dirs_exist_ok=True)
    return Course.load(root)


_released: Path | None = None  # this process's first released tiny course, as released


def _keep_released(course: Course) -> None:
    global _released
    folder = Path(tempfile.mkdtemp(prefix="tiny-course-released-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    shutil.copytree(course.root, folder, dirs_exist_ok=True)
    _released = folder


def release_course(root: Path, extra_cells: list | tuple = ()) -> Course:
    """A fresh course directory with lab0_tiny (and `extra_cells`), released by nbgrader."""
    shutil.copytree(FIXTURES / "solutions" / TINY, root / "solutions" / TINY)
    if extra_cells:
        path = root / "solutions" / TINY / f"{TINY}.ipynb"
        source = nbformat.read(path, as_version=4)
        source.cells.extend(extra_cells)
        nbformat.write(source, path)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n'
    )
    course = Course.load(root)
    release_labs(course, [TINY])
    return course


def write_honest(course: Course, student: str) -> None:
    """Submit the demo's correct synthetic notebook of the tiny lab as `student`."""
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    folder = course.submitted / student / TINY
    folder.mkdir(parents=True)
    nbformat.write(synthetic_submission(source, release, student), folder / f"{TINY}.ipynb")
