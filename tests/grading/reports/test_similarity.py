"""`cnncourse similarity`: a disguised copy ranks first, honest solutions in other styles stay
below the default threshold, and release code never counts."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cnncourse.cli import main
from cnncourse.grading.reports.similarity import (
    DEFAULT_THRESHOLD,
    SimilarityOptions,
    answer_cells,
    compare_answers,
    format_pairs,
    normalise,
    solution_ids,
)
from tests.grading.reports.lab1_class import ANSWERS, COPIED_PAIRS, PACKAGE_COPY

ROOT = Path(__file__).parents[3]
LAB1 = "lab1_convolution"
STUB = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\(\)", re.M)


@pytest.fixture(scope="module")
def release() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / LAB1 / f"{LAB1}.ipynb", as_version=4)


def filled(release: nbformat.NotebookNode, answers: dict[str, list[str]]):
    """The release with each stub of each answered solution cell replaced by a body."""
    notebook = copy.deepcopy(release)
    missing = set(answers) - set(solution_ids(release))
    assert not missing, f"the lab-1 release no longer has the solution cells {missing}"
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            bodies = iter(answers[grade_id])

            def body(match: re.Match, bodies=bodies) -> str:
                indent = match.group(1)
                return "\n".join(indent + line if line else line
                                 for line in next(bodies).splitlines())

            cell.source = STUB.sub(body, cell.source)
            assert next(bodies, None) is None, f"{grade_id}: more bodies than stubs"
    return notebook


@pytest.fixture(scope="module")
def lab1_class(release):
    return {student: filled(release, answers) for student, answers in ANSWERS.items()}


@pytest.fixture(scope="module")
def lab1_result(release, lab1_class):
    return compare_answers(release, lab1_class)


def run_answers(notebook) -> dict:
    """Execute the answer cells the class filled (numpy only) and return the namespace."""
    namespace = {"np": np}
    for source in answer_cells(notebook, list(ANSWERS["ada"])).values():
        exec(source, namespace)  # noqa: S102 (our own fixture code)
    return namespace


@pytest.mark.parametrize("student", sorted(ANSWERS))
def test_every_student_of_the_class_is_correct(lab1_class, student):
    """The honest students are honest *correct* solutions (no fake dissimilarity by bugs)."""
    from cnncourse.arithmetic import conv_output_size
    from cnncourse.filters import sobel_x, sobel_y
    from cnncourse.nn import conv1d_forward, conv2d_forward

    ns = run_answers(lab1_class[student])
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=17), rng.normal(size=3)
    for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 2)]:
        expected = conv1d_forward(x[None, :, None], w[:, None, None], stride=stride,
                                  padding=padding, dilation=dilation)[0][0, :, 0]
        got = ns["conv1d"](x, w, stride=stride, padding=padding, dilation=dilation)
        np.testing.assert_allclose(got, expected, atol=1e-12)
    image, kernel = rng.normal(size=(9, 7)), rng.normal(size=(3, 2))
    expected = conv2d_forward(image[None, :, :, None], kernel[:, :, None, None])[0][0, :, :, 0]
    np.testing.assert_allclose(ns["corr2d"](image, kernel), expected, atol=1e-12)
    np.testing.assert_array_equal(ns["sobel_x"](), sobel_x())
    np.testing.assert_array_equal(ns["sobel_y"](), sobel_y())
    for i, k, s, p, d in [(7, 3, 2, 1, 2), (5, 3, 1, 1, 1), (10, 2, 3, 0, 3), (6, 3, 2, 1, 1)]:
        expected = conv_output_size(i, k, stride=s, padding=p, dilation=d)
        assert ns["conv_output_size"](i, k, s, p, d) == expected


def test_the_disguised_copy_is_the_top_pair_and_alone_flagged(lab1_result):
    top = lab1_result.pairs[0]
    assert set(top.students) == {"ada", "bert"}
    flagged = {frozenset(p.students) for p in lab1_result.flagged}
    assert flagged == COPIED_PAIRS  # precision 1 and recall 1 at the default threshold
    honest = [p.score for p in lab1_result.pairs if frozenset(p.students) not in COPIED_PAIRS]
    assert len(honest) == 14  # 6 students, 15 pairs, one copy
    # the margin the default threshold sits in
    assert top.score >= 0.8
    assert max(honest) < DEFAULT_THRESHOLD - 0.15


def test_precision_and_recall_over_thresholds(lab1_result):
    """Printed for the closing note; the copy is found from 0.3 to 0.9."""
    for threshold in (0.3, 0.5, 0.7, 0.9):
        flagged = {frozenset(p.students) for p in lab1_result.pairs if p.score >= threshold}
        true = flagged & COPIED_PAIRS
        precision = len(true) / len(flagged) if flagged else 1.0
        recall = len(true) / len(COPIED_PAIRS)
        print(f"threshold {threshold}: precision {precision:.2f} recall {recall:.2f}")
        assert (precision, recall) == (1.0, 1.0)


def test_code_that_most_of_the_class_shares_is_not_evidence(release):
    """Four students who all use the loop corr2d of the lecture (and differ elsewhere)."""
    lecture = {s: filled(release, {**ANSWERS[s], "corr2d": ANSWERS["ada"]["corr2d"]})
               for s in ("cleo", "dara", "emil", "fay")}
    with_filter = compare_answers(release, lecture, SimilarityOptions(common_min_class=4))
    assert with_filter.flagged == []
    assert with_filter.pairs[0].score < 0.35
    without = compare_answers(release, lecture, SimilarityOptions(common_share=1.0,
                                                                  common_min_class=4))
    assert min(p.score for p in without.pairs) > max(p.score for p in with_filter.pairs)


def test_three_copies_in_a_class_of_five_are_flagged(release, lab1_class):
    """In a small class the common-passage rule is off: three copies of one answer are not
    'common knowledge' (they vanished when the rule ran on five students)."""
    ada = lab1_class["ada"]
    five = {"ada": ada, "ada2": copy.deepcopy(ada), "ada3": copy.deepcopy(ada),
            "cleo": lab1_class["cleo"], "dara": lab1_class["dara"]}
    flagged = {frozenset(p.students) for p in compare_answers(release, five).flagged}
    assert flagged == {frozenset(pair) for pair in
                       [("ada", "ada2"), ("ada", "ada3"), ("ada2", "ada3")]}  # fmt: skip


def answered_outside_the_cells(release, answered, duplicate: bool):
    """The release, stubs left, with the answered solution cells pasted after the last cell:
    as cells of their own (no nbgrader metadata) or as duplicates of the answer cells."""
    notebook = copy.deepcopy(release)
    ids = set(ANSWERS["ada"])
    for cell in answered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ids:
            added = copy.deepcopy(cell) if duplicate else nbformat.v4.new_code_cell(cell.source)
            notebook.cells.append(added)
    return notebook


@pytest.mark.parametrize("duplicate", [False, True], ids=["added cells", "pasted duplicates"])
def test_code_outside_the_answer_cells_is_compared(release, lab1_class, duplicate):
    """Answers written in cells the student added, or in pasted copies of the answer cells,
    with the original stubs left as handed out: compared, not 'stubs left as handed out'."""
    elsewhere = answered_outside_the_cells(release, lab1_class["bert"], duplicate)
    result = compare_answers(release, {"ada": lab1_class["ada"], "bert": elsewhere,
                                       "cleo": lab1_class["cleo"]})
    assert "bert" not in result.not_compared
    assert [p.students for p in result.flagged] == [("ada", "bert")]
    assert result.pairs[0].score >= 0.8


def test_a_disguised_copy_of_the_package_is_flagged_and_named(release, lab1_class):
    """gus copies cnncourse's own source (renamed, reordered, commented); the honest styles of
    the class are not flagged against the package."""
    gus = filled(release, PACKAGE_COPY["gus"])
    result = compare_answers(release, {**lab1_class, "gus": gus})
    assert [m.student for m in result.flagged_reference] == ["gus"]
    resembles = [name for name, _ in result.flagged_reference[0].functions[:4]]
    assert "cnncourse.nn.conv2d.conv2d_forward_loops" in resembles
    assert "cnncourse.arithmetic.conv_output_size" in resembles
    honest = [m.score for m in result.reference if m.student != "gus"]
    assert max(honest) < result.options.reference_threshold - 0.1
    assert not any("gus" in p.students for p in result.flagged)  # no classmate copied
    text = format_pairs(result)
    assert re.search(r"FLAG +0\.\d\d +gus ~ \(cnncourse package\): "
                     r".*cnncourse\.nn\.conv2d\.conv2d_forward_loops", text)
    off = compare_answers(release, {**lab1_class, "gus": gus},
                          SimilarityOptions(with_reference=False))
    assert off.reference == []


def test_renaming_every_name_changes_nothing(release, lab1_class):
    ada = lab1_class["ada"]
    renamed = copy.deepcopy(ada)
    names = {"padded": "zz", "result": "acc_out", "total": "tt", "n_out": "m", "span": "ext",
             "acc": "s0", "out": "res", "KH": "q1", "KW": "q2", "gx": "a1", "gy": "a2"}
    for cell in renamed.cells:
        for old, new in names.items():
            cell.source = re.sub(rf"\b{old}\b", new, cell.source)
    result = compare_answers(release, {"ada": ada, "copy": renamed,
                                       "cleo": lab1_class["cleo"]})
    assert result.pairs[0].students == ("ada", "copy")
    assert result.pairs[0].score == pytest.approx(1.0)


def test_release_code_never_counts(release, lab1_class):
    """Two students who left the stubs share the whole release: neither is compared."""
    notebooks = {"blank1": copy.deepcopy(release), "blank2": copy.deepcopy(release),
                 "ada": lab1_class["ada"], "cleo": lab1_class["cleo"]}
    result = compare_answers(release, notebooks)
    assert set(result.not_compared) == {"blank1", "blank2"}
    assert [p.students for p in result.pairs] == [("ada", "cleo")]
    # the signatures and docstrings both keep from the release are not a match
    assert result.pairs[0].score < 0.3


def test_normalise_drops_comments_formatting_and_docstrings():
    a = 'def f(x):\n    """Doc."""\n    # a comment\n    return ( x+1 )  # why\n'
    b = "def f(x):\n    return x + 1\n"
    assert normalise(a) == normalise(b)


def test_normalise_sorts_independent_statements_only():
    independent = normalise("a = x.shape\nb = len(w) + 1\nc = a\n")
    swapped = normalise("b = len(w) + 1\na = x.shape\nc = a\n")
    assert independent == swapped
    dependent = normalise("a = 1\nb = a + 1\n")
    assert dependent.splitlines() == ["a = 1", "b = a + 1"]
    in_place = normalise("out[0] = 1\ny = out.sum()\n")  # a subscript store is a write
    assert in_place.splitlines() == ["out[0] = 1", "y = out.sum()"]


def test_a_cell_that_is_not_python_is_still_compared():
    assert normalise("def f(:\n    return 1  # broken\n") == "def f(:\n    return 1"
    assert normalise("x = 1\0\n") == "x = 1\0"  # a null byte
    deep = "y = " + "(" * 5000 + "1" + ")" * 5000
    assert normalise(deep) == deep  # nested beyond the parser: compared as written


@pytest.mark.parametrize(
    ("options", "message"),
    [(dict(threshold=0), "threshold must be in \\(0, 1\\], got 0"),
     (dict(threshold=1.5), "got 1.5"),
     (dict(noise=30, guarantee=20), "noise=30, guarantee=20"),
     (dict(common_share=0), "common_share must be in \\(0, 1\\], got 0")],
)  # fmt: skip
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        SimilarityOptions(**options)


def test_a_release_without_solution_cells_is_refused(release):
    bare = copy.deepcopy(release)
    for cell in bare.cells:
        cell.metadata.get("nbgrader", {}).pop("solution", None)
    with pytest.raises(ValueError, match="no solution cells"):
        compare_answers(bare, {})


# ----------------------------------------------------------------------------- the command
def lab1_course(root: Path) -> Path:
    """A course folder holding lab 1's source and release (copied; nothing is run)."""
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / LAB1, root / folder / LAB1)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.release_directory = "exercises"\n')
    return root


def test_the_command_writes_an_offline_page_and_ranks_the_copy(tmp_path, lab1_class, capsys):
    course = lab1_course(tmp_path)
    for student, notebook in lab1_class.items():
        (course / "submitted" / student / LAB1).mkdir(parents=True)
        nbformat.write(notebook, course / "submitted" / student / LAB1 / f"{LAB1}.ipynb")
    (course / "submitted" / "dan" / LAB1).mkdir(parents=True)
    (course / "submitted" / "dan" / LAB1 / f"{LAB1}.ipynb").write_text("{not json")
    (course / "submitted" / "eve" / LAB1 / f"{LAB1}.ipynb").mkdir(parents=True)  # unreadable

    assert main(["similarity", LAB1, "--course", str(course)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "6 answers compared, 15 pairs; 1 at or above the threshold 0.5"
    assert "FLAG" in lines[1] and "ada ~ bert" in lines[1]
    assert "FLAG" not in lines[2]
    assert any(line.startswith("  not compared: dan: ") for line in lines)
    assert f"  not compared: eve: cannot read {LAB1}.ipynb: Is a directory" in lines
    assert "never a verdict" in lines[-2]
    page = (course / "autograded" / f"{LAB1}_similarity.html").read_text()
    assert "ada ~ bert" in page and "<mark>" in page and "never a verdict" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(""", page)


def test_with_solution_a_leaked_solution_is_the_top_pair(tmp_path, lab1_class, capsys):
    course = lab1_course(tmp_path)
    submissions = {"cleo": lab1_class["cleo"], "emil": lab1_class["emil"],
                   "leak": nbformat.read(course / "solutions" / LAB1 / f"{LAB1}.ipynb", 4)}
    for student, notebook in submissions.items():
        (course / "submitted" / student / LAB1).mkdir(parents=True)
        nbformat.write(notebook, course / "submitted" / student / LAB1 / f"{LAB1}.ipynb")
    assert main(["similarity", LAB1, "--course", str(course), "--with-solution"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "FLAG" in lines[1] and "(solution) ~ leak" in lines[1]
    assert "FLAG" not in lines[2]
    assert any(line.startswith("compared with the package's own source") for line in lines)
    assert main(["similarity", LAB1, "--course", str(course), "--no-reference"]) == 0
    assert "package" not in capsys.readouterr().out
