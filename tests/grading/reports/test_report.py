"""`cnncourse report LAB`: scores, the cells the class failed, diagnosed mistakes, submissions
that did not grade normally and grading times, from what grading leaves behind."""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnncourse.grading.checks import MISTAKES
from cnncourse.grading.reports.class_report import (
    build_report,
    format_report,
    graded_cells,
    report_html,
    score_bins,
)

LAB = "lab_x"
POINTS = {"test_a": 2.0, "test_b": 3.0, "test_c": 1.0}
# student -> points per graded cell (as the gradebook holds them)
SCORES = {
    "ada": {"test_a": 2, "test_b": 3, "test_c": 1},
    "bob": {"test_a": 0, "test_b": 3, "test_c": 0},
    "cy": {"test_a": 0, "test_b": 0, "test_c": 1},
    "dan": {"test_a": 0, "test_b": 0, "test_c": 0},  # timed out: no autograded notebook
    "eve": {"test_a": 2, "test_b": 3, "test_c": 1},  # graded in an earlier batch
}
# student -> {cell: error text of the failed test}
ERRORS = {
    "bob": {"test_a": "corr2d: the kernel is flipped\n[mistake: flipped_kernel]",
            "test_c": "conv1d: padding is off by one zero\n[mistake: padding_off_by_one]"},
    "cy": {"test_a": "conv1d: the kernel is flipped\ndetails\n[mistake: flipped_kernel]",
           "test_b": "ValueError: shapes (3,) and (4,) not aligned"},
}
SUMMARY = [
    ["student", "score", "max_score", "status", "reason", "seconds", "log"],
    ["ada", "6.0", "6.0", "ok", "", "12.5", ""],
    ["bob", "3.0", "6.0", "ok", "test_a: AssertionError: corr2d: the kernel is flipped", "9.0", ""],
    ["cy", "1.0", "6.0", "ok", "test_a: ...", "8.0", ""],
    ["dan", "0.0", "6.0", "timeout", "stopped after 60 s <script>alert(1)</script>", "60.0",
     "autograded/lab_x_logs/dan.log"],
]


def executed_notebook(errors: dict[str, str], start: str, end: str) -> nbformat.NotebookNode:
    """An autograded notebook: one code cell per graded cell, failed ones with an error."""
    cells = []
    for index, grade_id in enumerate(POINTS):
        meta = {"nbgrader": {"grade": True, "grade_id": grade_id, "points": POINTS[grade_id],
                             "solution": False, "locked": True}}  # fmt: skip
        if start:  # the first cell starts the clock, the last one stops it
            meta["execution"] = {"iopub.execute_input": start if index == 0 else end,
                                 "shell.execute_reply": end}
        outputs = []
        if grade_id in errors:
            first, *rest = errors[grade_id].split("\n")
            outputs = [new_output("error", ename="AssertionError", evalue=errors[grade_id],
                                  traceback=["Traceback (most recent call last)",
                                             f"AssertionError: {first}", *rest])]  # fmt: skip
        cells.append(new_code_cell("pass", metadata=meta, outputs=outputs))
    return new_notebook(cells=cells)


@pytest.fixture
def autograded(tmp_path) -> Path:
    folder = tmp_path / "autograded"
    for student in ("ada", "bob", "cy", "eve"):
        (folder / student / LAB).mkdir(parents=True)
        notebook = executed_notebook(ERRORS.get(student, {}), "2026-12-01T10:00:00.000000Z",
                                     "2026-12-01T10:00:07.500000Z")
        nbformat.write(notebook, folder / student / LAB / f"{LAB}.ipynb")
    (folder / "cy" / LAB / "scratch.ipynb").write_text("{broken")  # a stray file must not stop us
    with open(folder / f"{LAB}_summary.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(SUMMARY)
    return folder


@pytest.fixture
def report(autograded):
    from cnncourse.grading.reports.class_report import read_summary

    summary = read_summary(autograded / f"{LAB}_summary.csv")
    return build_report(LAB, POINTS, SCORES, summary, autograded)


def test_scores_and_cells(report):
    assert [s.student for s in report.submissions] == ["ada", "bob", "cy", "dan", "eve"]
    assert [s.score for s in report.submissions] == [6, 3, 1, 0, 6]
    assert report.max_score == 6
    assert report.cell_means() == pytest.approx({"test_a": 4 / 10, "test_b": 9 / 15,
                                                 "test_c": 3 / 5})
    assert report.failed_by("test_a") == ["bob", "cy", "dan"]


def test_mistakes_are_counted_with_the_students_and_cells_they_concern(report):
    assert report.mistakes() == {
        "flipped_kernel": [("bob", "test_a"), ("cy", "test_a")],
        "padding_off_by_one": [("bob", "test_c")],
    }


def test_abnormal_submissions_and_times(report):
    assert [(s.student, s.status, s.log) for s in report.abnormal()] == [
        ("dan", "timeout", "autograded/lab_x_logs/dan.log")]
    seconds = {s.student: s.seconds for s in report.submissions}
    # the summary's grading seconds, and eve's notebook run time (no summary row)
    assert seconds == {"ada": 12.5, "bob": 9.0, "cy": 8.0, "dan": 60.0, "eve": 7.5}
    assert report.time_source == "mixed"
    eve = report.submissions[-1]
    assert eve.status == "ok"  # graded in an earlier batch, its notebook is there


def test_the_terminal_summary(report):
    text = format_report(report)
    assert text.startswith("lab_x: 5 submissions, mean 3.2/6, median 3, full marks 2")
    lines = text.splitlines()
    cells = lines.index("graded cells, weakest first (mean share of points; students with none):")
    assert lines[cells + 1].split() == ["test_a", "40%", "3", "failed"]
    assert "  flipped_kernel (2): bob, cy" in lines
    assert "  padding_off_by_one (1): bob" in lines
    assert any(line.startswith("  dan: timeout: stopped after 60 s") for line in lines)
    assert "slowest 60.0 s (dan)" in text


def test_the_page_is_self_contained_and_escapes_student_text(report):
    page = report_html(report)
    assert page.count('src="data:image/svg+xml;base64,') == 4  # scores, cells, mistakes, times
    assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(""", page)
    assert MISTAKES["flipped_kernel"] in page.replace("&#x27;", "'").replace("&quot;", '"')
    assert "bob (test_a); cy (test_a)" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize(
    ("scores", "top", "expected"),
    [([0, 1, 1, 3], 3, [(0, 1, 1), (1, 2, 2), (2, 3, 1)]),
     ([0, 50, 99.5, 100], 100, [(0, 10, 1)] + [(10 * i, 10 * i + 10, 0) for i in range(1, 5)]
      + [(50, 60, 1)] + [(10 * i, 10 * i + 10, 0) for i in range(6, 9)] + [(90, 100, 2)])],
)  # fmt: skip
def test_score_bins_cover_zero_to_full_marks(scores, top, expected):
    assert score_bins(scores, top) == expected


def test_graded_cells_in_notebook_order():
    source = executed_notebook({}, "", "")
    source.cells.insert(1, new_code_cell("x = 1", metadata={"nbgrader": {"solution": True,
                                                                         "grade_id": "sol"}}))
    assert graded_cells(source) == POINTS


# ----------------------------------------------------------------------------- real pipeline
TINY_ANSWERS = {
    "ada": None,  # the source notebook: full marks
    "bob": "release",  # the stubs as handed out
    "cy": ("return np.array([x[i:i + len(w)] @ w for i in range(len(x) - len(w) + 1)])",
           "import cnncourse.arithmetic as ref\n"
           "    return ref.conv_output_size(n, k, padding=padding, stride=stride)"),
}


@pytest.mark.slow
def test_report_of_a_class_graded_by_the_driver(tiny_course, capsys):
    """Graded for real: the reference-caller's diagnosis and the broken file reach the report."""
    from cnncourse.cli import main
    from cnncourse.grading.run.driver import grade_lab
    from tests.grading.tiny_course import FAST, TINY

    source = nbformat.read(tiny_course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(tiny_course.release / TINY / f"{TINY}.ipynb", as_version=4)
    stub = re.compile(r"# YOUR CODE HERE\n\s*raise NotImplementedError\(\)")
    for student, answer in TINY_ANSWERS.items():
        notebook = source if answer is None else release
        if isinstance(answer, tuple):
            notebook = copy.deepcopy(release)
            solutions = [c for c in notebook.cells if c.metadata["nbgrader"].get("solution")]
            for cell, body in zip(solutions, answer, strict=True):
                cell.source = stub.sub(body.replace("\\", "\\\\"), cell.source)
        folder = tiny_course.submitted / student / TINY
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{TINY}.ipynb")
    (tiny_course.submitted / "dan" / TINY).mkdir(parents=True)
    (tiny_course.submitted / "dan" / TINY / f"{TINY}.ipynb").write_text("not a notebook")
    grade_lab(tiny_course, TINY, options=FAST)
    capsys.readouterr()

    assert main(["report", TINY, "--course", str(tiny_course.root)]) == 0
    out = capsys.readouterr().out
    # ada 3, bob 0, cy 2 (conv1d right, output_size calls the reference), dan 0
    assert out.startswith(f"{TINY}: 4 submissions, mean 1.2/3, median 1, full marks 1")
    assert "  reference_used (1): cy" in out.splitlines()
    assert re.search(r"^  dan: invalid notebook: .*not valid JSON", out, re.M)
    assert "grading time: median" in out
    page = (tiny_course.autograded / f"{TINY}_report.html").read_text()
    assert MISTAKES["reference_used"] in page.replace("&#x27;", "'")


def test_a_course_never_graded_is_told_to_grade_first(tmp_path):
    from cnncourse.cli import main

    (tmp_path / "solutions" / LAB).mkdir(parents=True)
    nbformat.write(executed_notebook({}, "", ""), tmp_path / "solutions" / LAB / f"{LAB}.ipynb")
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()  # noqa: F821\nc.CourseDirectory.source_directory = "solutions"\n')
    with pytest.raises(ValueError, match=f"no gradebook at .*gradebook.db: grade {LAB} first"):
        main(["report", LAB, "--course", str(tmp_path)])
    with pytest.raises(ValueError, match="'lab9'"):
        main(["report", "lab9", "--course", str(tmp_path)])


@pytest.mark.parametrize("student", ["price$5", "$x^{$", "a$\\frac$b", "$$"])
def test_a_student_id_with_dollar_signs_does_not_break_the_charts(autograded, student):
    """matplotlib reads $...$ in a label as mathtext: an id like '$x^{$' made the report crash."""
    from cnncourse.grading.reports.class_report import read_summary

    summary = read_summary(autograded / f"{LAB}_summary.csv")
    summary[student] = {**summary["ada"], "student": student}
    scores = {**SCORES, student: SCORES["ada"], "$test_a$": SCORES["bob"]}
    page = report_html(build_report(LAB, {**POINTS, "$cell$": 1.0}, scores, summary, autograded))
    assert page.count('src="data:image/svg+xml;base64,') == 4
    assert student.replace("$", "") in page.replace("$", "")
