"""Written answers graded by hand, end to end: a class graded by the driver, manual scores given
through formgrader's API on a real Jupyter server started here, totals exported, and a later
autograde regrade that keeps the manual scores."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from cnncourse.cli import main
from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.driver import grade_lab
from cnncourse.grading.run.nbgrader_commands import (
    export_grades,
    generate_feedback,
    release_labs,
)
from tests.grading.feedback_pages import page_text
from tests.grading.tiny_course import FAST, FIXTURES, TINY

pytestmark = pytest.mark.slow

WRITTEN = "explain_flip"  # the manually graded answer cell
TOKEN = "formgrader-test-token"
# (code answers, written answer, manual score given) -> total = autograded + manual
CLASS = {"alice": ("correct", 1.5), "bob": ("flipped_kernel", 2.0)}
AUTOGRADED = {"correct": 3.0, "flipped_kernel": 1.0}


def course_with_a_written_answer(root: Path) -> Course:
    """The tiny lab with a manually graded answer cell (2 points), released."""
    shutil.copytree(FIXTURES / "solutions" / TINY, root / "solutions" / TINY)
    path = root / "solutions" / TINY / f"{TINY}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(
        "Why is a convolution layer's output the same when the kernel is flipped and the "
        "input too?\n\nYOUR ANSWER HERE")
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False,
                                 "grade_id": WRITTEN, "points": 2, "schema_version": 3,
                                 "task": False}
    if nb.nbformat_minor < 5:  # cell ids arrived with nbformat 4.5
        del cell["id"]
    nb.cells.append(cell)
    nbformat.write(nb, path)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n')
    course = Course.load(root)
    release_labs(course, [TINY])
    source = nbformat.read(path, as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    for student, (kind, _) in CLASS.items():
        handed_in = synthetic_submission(source, release, kind)
        answer = next(c for c in handed_in.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN)
        answer.source = f"{student}: flipping both flips the correlation twice."
        folder = course.submitted / student / TINY
        folder.mkdir(parents=True)
        nbformat.write(handed_in, folder / f"{TINY}.ipynb")
    return course


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def formgrader(tmp_path) -> Iterator[tuple[Course, str]]:
    """(course, base URL) of a Jupyter server with formgrader on a graded course."""
    course = course_with_a_written_answer(tmp_path / "course")
    # `cnncourse grade`, preflight included: the solution's written answer is not expected
    assert main(["grade", TINY, "--course", str(course.root), "--jobs", "2",
                 "--cell-timeout", str(FAST.cell_timeout), "--timeout", str(FAST.timeout)]) == 0
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": True}}}))
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--allow-root", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={course.root}"],
        cwd=course.root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server, tmp_path / "server.log")
        yield course, url
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    """Until formgrader answers (a busy machine may take a minute to start Jupyter)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert server.poll() is None, f"Jupyter server exited:\n{log.read_text()[-3000:]}"
        try:
            if api(url, "GET", "/formgrader/api/status") == {"status": True}:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(1)
    raise AssertionError(f"formgrader did not answer in 300 s:\n{log.read_text()[-3000:]}")


def api(url: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def exported_totals(course: Course, to: Path) -> dict[str, float]:
    export_grades(course, to)
    with open(to) as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


def test_manual_scores_from_formgrader_count_and_survive_a_regrade(formgrader, tmp_path):
    course, url = formgrader
    submissions = api(url, "GET", f"/formgrader/api/submitted_notebooks/{TINY}/{TINY}")
    assert {s["student"] for s in submissions} == set(CLASS)
    # the written answers wait for a grader: formgrader lists them as needing a manual grade
    assert all(s["needs_manual_grade"] for s in submissions), submissions
    for submission in submissions:
        grades = api(url, "GET", f"/formgrader/api/grades?submission_id={submission['id']}")
        written = next(g for g in grades if g["name"] == WRITTEN)
        assert written["needs_manual_grade"] and written["manual_score"] is None, written
        given = CLASS[submission["student"]][1]
        saved = api(url, "PUT", f"/formgrader/api/grade/{written['id']}", {"manual_score": given})
        assert saved["manual_score"] == given

    expected = {s: AUTOGRADED[kind] + given for s, (kind, given) in CLASS.items()}
    assert exported_totals(course, tmp_path / "grades.csv") == expected

    grade_lab(course, TINY, options=dataclasses.replace(FAST, skip_preflight=True))  # regrade
    assert exported_totals(course, tmp_path / "regraded.csv") == expected
    for submission in api(url, "GET", f"/formgrader/api/submitted_notebooks/{TINY}/{TINY}"):
        grades = api(url, "GET", f"/formgrader/api/grades?submission_id={submission['id']}")
        written = next(g for g in grades if g["name"] == WRITTEN)
        assert written["manual_score"] == CLASS[submission["student"]][1], written

    generate_feedback(course, TINY)  # the student's page gives the grader's points
    page = page_text(course.feedback / "alice" / TINY / f"{TINY}.html")
    assert "explain_flip (graded by hand)" in page and "1.5 / 2.0" in page
    assert "Score: 4.5 of 5.0 points" in page
