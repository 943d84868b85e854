"""A synthetic class, graded end to end: the instructor workflow in a few minutes.

    cnncourse demo lab1_convolution      # builds demo/, grades it, writes feedback and grades.csv

`make_demo_course` copies one lab's source notebook into a fresh course directory with its own
SQLite gradebook and releases it with nbgrader; `synthetic_class` writes one submission per kind
of student below, built from the source's solutions and the release's stubs; `run_demo` grades
them with the parallel driver, writes the feedback and exports the grades.

    correct             every solution cell as in the source notebook
    blank               the release as handed out (stubs that raise NotImplementedError)
    partly_right        the first half of the solution cells solved, the rest left blank
    flipped_kernel      correct, but kernels are flipped (true convolution, not correlation)
    off_by_one_padding  correct, but one zero of padding too many
    crashes             the kernel dies in the first solution cell (it kills its own process)
    infinite_loop       the first solution cell never ends (stopped by the cell timeout)
"""

from __future__ import annotations

import ast
import copy
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import GradingOptions, grade_lab
from cnncourse.grading.run.gradebook import format_summary
from cnncourse.grading.run.jobs import Result
from cnncourse.grading.run.nbgrader_commands import export_grades, generate_feedback, release_labs
from cnncourse.grading.run.preflight import solved

MARKER = ".cnncourse-demo"  # a demo folder holds this file; anything else is never deleted
KERNEL_ARGS = ("w", "k", "kernel", "weights")  # parameter names of a kernel in the labs
PADDING_ARGS = ("padding", "p", "pad")

# Appended to a solution cell: wrap its functions so they flip their kernel argument(s).
FLIP_KERNELS = """

def _flipping_kernels(function, names):
    import functools
    import inspect

    @functools.wraps(function)
    def flipped(*args, **kwargs):
        bound = inspect.signature(function).bind(*args, **kwargs)
        for name in names:
            w = np.asarray(bound.arguments[name])
            if w.ndim > 0:  # k is also the name of a kernel *size*, which stays as it is
                bound.arguments[name] = np.flip(w, axis=(0, 1) if w.ndim in (2, 4) else 0)
        return function(*bound.args, **bound.kwargs)

    return flipped
"""

# Appended to a solution cell: wrap its functions so that an integer padding gets one more zero.
PAD_ONE_MORE = """

def _padding_one_more(function, names):
    import functools
    import inspect

    @functools.wraps(function)
    def padded(*args, **kwargs):
        bound = inspect.signature(function).bind(*args, **kwargs)
        bound.apply_defaults()
        for name in names:
            if isinstance(bound.arguments[name], int):
                bound.arguments[name] += 1
        return function(*bound.args, **bound.kwargs)

    return padded
"""

KILL_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)  # the kernel dies here\n"
# The loop sleeps: it never ends all the same, and waiting out the cell timeout (30 s to 3 min
# per lab) then costs the grading machine no CPU (a `pass` loop burnt a core all that time).
LOOP_FOREVER = "import time\n\nwhile True:  # never ends\n    time.sleep(1)\n"


def functions_with(code: str, parameters: tuple[str, ...]) -> dict[str, list[str]]:
    """Top-level functions of code that take any of `parameters`: name -> matching names."""
    found = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.args + node.args.kwonlyargs if a.arg in parameters]
            if names:
                found[node.name] = names
    return found


def wrapped(code: str, helper: str, parameters: tuple[str, ...]) -> str:
    """code, then `helper`, then each matching function rebound to its wrapped version."""
    targets = functions_with(code, parameters)
    if not targets:
        return code
    helper_name = re.search(r"def (\w+)\(", helper).group(1)
    rebind = "".join(f"\n{f} = {helper_name}({f}, {names!r})" for f, names in targets.items())
    return code + helper + rebind + "\n"


Mistake = Callable[[int, str], str]  # (index of the solution cell, solved code) -> submitted code

MISTAKES: dict[str, Mistake] = {
    "correct": lambda i, code: code,
    "flipped_kernel": lambda i, code: wrapped(code, FLIP_KERNELS, KERNEL_ARGS),
    "off_by_one_padding": lambda i, code: wrapped(code, PAD_ONE_MORE, PADDING_ARGS),
    "crashes": lambda i, code: KILL_KERNEL + code if i == 0 else code,
    "infinite_loop": lambda i, code: LOOP_FOREVER + code if i == 0 else code,
}
STUDENTS = ("correct", "blank", "partly_right", *list(MISTAKES)[1:])


def solution_ids(source: NotebookNode) -> list[str]:
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]


def synthetic_submission(source: NotebookNode, release: NotebookNode, kind: str) -> NotebookNode:
    """The notebook a student of this kind hands in (see the module docstring)."""
    if kind not in STUDENTS:
        raise ValueError(f"unknown kind of student {kind!r}; expected one of {STUDENTS}")
    answers = {
        c.metadata["nbgrader"]["grade_id"]: solved(c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }
    order = solution_ids(source)
    solved_ids = set(order[: (len(order) + 1) // 2]) if kind == "partly_right" else set(order)
    mistake = MISTAKES.get(kind, MISTAKES["correct"])
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if kind == "blank" or grade_id not in answers or grade_id not in solved_ids:
            continue
        cell.source = mistake(order.index(grade_id), answers[grade_id])
    return notebook


class NotACourse(ValueError):
    """The folder `cnncourse demo` was given holds no course."""


def course_for_demo(root: Path) -> Course:
    """The course in `root`, or NotACourse saying what a course folder holds."""
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise NotACourse(
            f"{root} is not a course folder: `cnncourse demo` needs one with nbgrader_config.py "
            "and the labs' source notebooks (the root of the course repository); run it there "
            "or pass --course PATH"
        )
    course = Course.load(root)
    if not course.source.is_dir():
        raise NotACourse(f"{root} is not a course folder: it has no source folder {course.source}")
    return course


def make_demo_course(course: Course, lab: str, root: Path) -> Course:
    """A fresh course directory at root with `lab` released and an empty SQLite gradebook."""
    course.check_lab(lab)
    root = Path(root).resolve()
    if root.exists():
        if not (root / MARKER).exists():
            raise ValueError(f"{root} exists and is not a demo course; choose another folder")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by `cnncourse demo`; deleted by the next demo run\n")
    source = root / course.source.relative_to(course.root) / lab
    shutil.copytree(course.source / lab, source)
    lines = ["c = get_config()  # noqa: F821"]
    if course.config_file:
        lines.append(f"load_subconfig({str(course.config_file)!r})  # noqa: F821")
    lines += [
        f"c.CourseDirectory.root = {str(root)!r}",
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}",
    ]
    (root / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    demo = Course.load(root)
    release_labs(demo, [lab])
    return demo


def synthetic_class(course: Course, lab: str) -> list[str]:
    """Write one submission per kind of student into submitted/KIND/LAB/LAB.ipynb."""
    source = nbformat.read(course.source / lab / f"{lab}.ipynb", as_version=4)
    release = nbformat.read(course.release / lab / f"{lab}.ipynb", as_version=4)
    for kind in STUDENTS:
        folder = course.submitted / kind / lab
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(synthetic_submission(source, release, kind), folder / f"{lab}.ipynb")
    return list(STUDENTS)


def run_demo(
    lab: str = "lab1_convolution",
    *,
    course: Course | None = None,
    root: Path = Path("demo"),
    options: GradingOptions | None = None,
    feedback: bool = True,
) -> list[Result]:
    """Build the demo course, grade the synthetic class, write feedback and grades.csv."""
    course = course or Course.load(".")
    demo = make_demo_course(course, lab, root)
    synthetic_class(demo, lab)
    options = options or GradingOptions(timeout=180, cell_timeout=10)
    results = grade_lab(demo, lab, options=options)
    print(format_summary(results))
    if feedback:
        print(f"feedback: {generate_feedback(demo, lab)}")
        print(f"grades:   {export_grades(demo, demo.root / 'grades.csv')}")
    return results
