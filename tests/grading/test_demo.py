"""The demo class, graded through the real nbgrader pipeline (tiny lab and lab 1)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnncourse.grading.demo import STUDENTS, run_demo, synthetic_submission
from cnncourse.grading.run.driver import Course, GradingOptions, grade_lab
from tests.grading.tiny_course import EXPECTED_TINY, FAST, TINY, make_course

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

# What each synthetic student deserves on lab0_tiny, worked out from its two tests:
# test_conv1d (2 points) uses an asymmetric kernel (1, -1) in its hidden part, so a flipped
# kernel fails it; test_output_size (1 point) has no kernel array but a padding, so one zero
# too many fails it. partly_right solves the first of the two exercises (conv1d). The infinite
# loop and the crash sit at the top of the first solution cell (conv1d).



@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    course = make_course(root / "course")
    results = run_demo(TINY, course=course, root=root / "demo", options=FAST)
    return Course.load(root / "demo"), {r.student: r for r in results}


def test_every_kind_of_student_is_in_the_demo(tiny_demo):
    assert set(tiny_demo[1]) == set(STUDENTS) == set(EXPECTED_TINY)


@pytest.mark.parametrize("student", sorted(EXPECTED_TINY))
def test_demo_student_gets_the_grade_it_deserves(tiny_demo, student):
    result = tiny_demo[1][student]
    assert (result.score, result.status) == EXPECTED_TINY[student], result.reasons
    assert result.max_score == 3
    if result.score < 3:
        assert result.reasons, "a lost point needs a reason"


def test_gradebook_export_and_feedback_agree_with_the_summary(tiny_demo):
    demo, results = tiny_demo
    with open(demo.root / "grades.csv") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported == {s: float(EXPECTED_TINY[s][0]) for s in EXPECTED_TINY}
    graded = {s for s, r in results.items() if r.status in ("ok", "timeout")}
    with_feedback = {p.parent.name for p in demo.feedback.glob(f"*/{TINY}")}
    assert with_feedback == graded


def test_plain_nbgrader_gives_the_driver_grades(tiny_demo, tmp_path):
    """Plain `nbgrader autograde` on a copy of the demo class grades every submission that
    nbgrader can finish exactly like the driver (the crash is the one it gives up on)."""
    demo, results = tiny_demo
    copy = tmp_path / "plain"
    shutil.copytree(demo.root, copy, ignore=shutil.ignore_patterns("autograded", "feedback"))
    (copy / "gradebook.db").unlink()
    (copy / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n'
        "c.Execute.timeout = 30\n"  # FAST's cell timeout
    )
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "nbgrader", *a], cwd=copy, capture_output=True, text=True
    )
    assert run("generate_assignment", TINY, "--force").returncode == 0
    run("autograde", TINY)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:
        plain = {s.student.id: s.score for s in gb.assignment_submissions(TINY)}
    for student, result in results.items():
        if result.status != "crashed":
            assert plain[student] == result.score, student


def test_demo_refuses_to_delete_a_folder_it_did_not_make(tiny_course, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a demo course"):
        run_demo(TINY, course=tiny_course, root=tmp_path, options=FAST)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_unknown_kind_of_student_is_refused(tiny_course):
    with pytest.raises(ValueError, match="'lazy'"):
        synthetic_submission(None, None, "lazy")


def test_lab1_demo(tmp_path):
    """The demo on the real lab 1: the same ordering of grades, whatever its point values."""
    course = Course.load(REPO)
    options = GradingOptions(progress=False)  # lab 1's own cell timeout (nbgrader_config.py)
    results = {r.student: r for r in run_demo("lab1_convolution", course=course,
                                              root=tmp_path / "demo", options=options,
                                              feedback=False)}
    source = nbformat.read(course.source / "lab1_convolution" / "lab1_convolution.ipynb", 4)
    written = sum(c.metadata.nbgrader["points"] for c in source.cells  # graded by hand
                  if c.metadata.get("nbgrader", {}).get("grade")
                  and c.metadata.nbgrader.get("solution"))  # fmt: skip
    top = results["correct"].max_score - written
    assert results["correct"].score == top > 0
    assert results["blank"].score == 0
    assert 0 < results["partly_right"].score < top
    for student in ("flipped_kernel", "off_by_one_padding", "infinite_loop"):
        assert results[student].score < top and results[student].reasons, student
    assert results["crashes"].status == "crashed" and results["crashes"].score == 0
    assert results["infinite_loop"].status == "timeout"
    assert any("flip" in reason for reason in results["flipped_kernel"].reasons)


def test_a_submission_past_its_timeout_is_stopped_and_the_batch_goes_on(tmp_path):
    """The driver kills a worker at the submission's wall-clock limit and starts a new one.
    No cell timeout fires first (600 s); the honest submission needs a few seconds of its 60."""
    from tests.grading.run.hostile.corpus import STUBBORN_LOOP, save, with_extra_cell

    course = make_course(tmp_path / "course")
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    correct = synthetic_submission(source, release, "correct")
    save(course.submitted / "a_stubborn" / TINY, with_extra_cell(correct, STUBBORN_LOOP))
    save(course.submitted / "b_correct" / TINY, correct)
    options = GradingOptions(jobs=1, timeout=60, cell_timeout=600, progress=False)
    stubborn, honest = grade_lab(course, TINY, options=options)
    assert (stubborn.status, stubborn.score) == ("timeout", 0)
    (reason,) = stubborn.reasons  # the loop runs right after the imports, before any test
    assert reason.startswith("stopped after 60 s while running cell ") and "(ungraded)" in reason
    assert reason.endswith("the 0 test cells that finished keep their credit (0 points)")
    assert "stubborn" in (course.autograded / f"{TINY}_logs" / "a_stubborn.log").read_text()
    assert (honest.status, honest.score) == ("ok", 3)


def test_without_the_sandbox_grading_still_works_and_says_so(tiny_course, capsys):
    folder = tiny_course.submitted / "unsandboxed" / TINY
    source = nbformat.read(tiny_course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(tiny_course.release / TINY / f"{TINY}.ipynb", as_version=4)
    folder.mkdir(parents=True)
    nbformat.write(synthetic_submission(source, release, "correct"), folder / f"{TINY}.ipynb")
    options = GradingOptions(jobs=1, cell_timeout=30, progress=False, sandbox=False)
    (result,) = grade_lab(tiny_course, TINY, students=["unsandboxed"], options=options)
    assert (result.status, result.score) == ("ok", 3)
    assert "the sandbox is OFF" in capsys.readouterr().err


def test_demo_outside_a_course_folder_says_what_it_needs(tmp_path, capsys):
    from cnncourse.cli import main

    status = main(["demo", "--course", str(tmp_path)])
    said = capsys.readouterr().err
    assert status == 1
    assert f"{tmp_path} is not a course folder" in said and "nbgrader_config.py" in said
