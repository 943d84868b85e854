"""No stricter than nbgrader: notebooks saved by real editors, with their quirks, get from
`cnncourse grade` the score plain `nbgrader autograde` gives them.

Each notebook is the tiny lab answered correctly, written as JSON by the test the way an editor
saves it: JupyterLab 4, Notebook 7, VS Code, Colab (missing or extra fields, attachments, widget
state, nbformat 4.0-4.5, CRLF line ends, a display output without metadata, a code cell without
execution_count). Both graders grade the same files, each in its own copy of the course.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace

import nbformat
import pytest

from cnncourse.grading.demo import synthetic_submission
from cnncourse.grading.run.driver import grade_lab
from tests.grading.tiny_course import FAST, TINY, make_course

pytestmark = pytest.mark.slow

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")


def correct(course) -> dict:
    source = nbformat.read(course.source / TINY / f"{TINY}.ipynb", as_version=4)
    release = nbformat.read(course.release / TINY / f"{TINY}.ipynb", as_version=4)
    return json.loads(nbformat.writes(synthetic_submission(source, release, "correct")))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def jupyterlab4(nb: dict) -> dict:
    nb["nbformat_minor"] = 5
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"a1b2c3d4-{i:04d}"
        cell["metadata"]["jp-MarkdownHeadingCollapsed"] = True
        if cell["cell_type"] == "code":
            cell["metadata"]["execution"] = {"iopub.execute_input": "2024-03-01T10:00:00.1Z",
                                             "shell.execute_reply": "2024-03-01T10:00:00.2Z"}
            cell["execution_count"] = i
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.4",
                                       "codemirror_mode": {"name": "ipython", "version": 3}}
    return nb


def notebook7(nb: dict) -> dict:
    nb["nbformat_minor"] = 5
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell{i}"
    first = code_cells(nb)[0]
    first["outputs"] = [{"output_type": "display_data", "data": {"text/plain": ["<Figure>"]}}]
    first["metadata"]["scrolled"] = True
    del code_cells(nb)[1]["execution_count"]
    return nb


def vscode(nb: dict) -> dict:
    nb["nbformat_minor"] = 2
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["metadata"]["vscode"] = {"languageId": "python"}
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "3f5a" * 16}}
    nb["metadata"]["orig_nbformat"] = 4
    code_cells(nb)[0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    return nb


def colab(nb: dict) -> dict:
    nb["nbformat_minor"] = 0
    nb["metadata"]["colab"] = {"provenance": [], "name": f"{TINY}.ipynb"}
    nb["metadata"]["accelerator"] = "GPU"
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "4f2a": {"model_module": "@jupyter-widgets/controls", "model_name": "FloatSliderModel",
                 "model_module_version": "1.5.0", "state": {"value": 0.5}}}}
    for i, cell in enumerate(nb["cells"]):
        cell.pop("id", None)
        cell["metadata"]["id"] = f"Xy{i}Zq"
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["metadata"]["outputId"] = f"out{i}"
    markdown = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    markdown["attachments"] = {"image.png": {"image/png": PNG}}
    markdown["source"] = "".join(markdown["source"]) + "\n![image.png](attachment:image.png)"
    return nb


def crlf_and_bare_outputs(nb: dict) -> dict:
    for cell in code_cells(nb):
        cell.pop("execution_count", None)
        cell["outputs"] = [{"output_type": "execute_result", "data": {"text/plain": "1"},
                            "metadata": {}},  # execute_result without execution_count
                           {"output_type": "display_data", "data": {"text/plain": "x"}}]
    return nb


EDITORS = {"jupyterlab4": jupyterlab4, "notebook7": notebook7, "vscode": vscode,
           "colab": colab, "crlf": crlf_and_bare_outputs}  # fmt: skip


def hand_in(course, notebooks: dict[str, dict]) -> None:
    for student, nb in notebooks.items():
        folder = course.submitted / student / TINY
        folder.mkdir(parents=True)
        text = json.dumps(nb, indent=1)
        if student == "crlf":
            text = text.replace("\n", "\r\n")
        (folder / f"{TINY}.ipynb").write_bytes(text.encode())


def nbgrader_scores(course) -> dict[str, float]:
    from nbgrader.api import Gradebook

    home = course.root / "home"
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", TINY],
                          cwd=course.root, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with Gradebook(course.db_url) as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(TINY)}


def test_editor_quirks_get_the_score_plain_nbgrader_gives(tmp_path):
    plain = make_course(tmp_path / "plain")
    ours = make_course(tmp_path / "ours")
    base = correct(plain)
    notebooks = {name: make(copy.deepcopy(base)) for name, make in EDITORS.items()}
    hand_in(plain, notebooks)
    hand_in(ours, notebooks)
    expected = nbgrader_scores(plain)
    results = grade_lab(ours, TINY, options=replace(FAST, skip_preflight=True))
    got = {r.student: r.score for r in results}
    assert expected == dict.fromkeys(EDITORS, 3.0)  # plain nbgrader grades every one of them
    assert got == expected, {r.student: (r.status, r.reasons) for r in results}
