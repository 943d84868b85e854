"""A student's install, made for real: a fresh virtual environment, `pip install .`, a lab.

These tests download the base dependencies (numpy, matplotlib) from the package index into a
new environment, so they take a minute; they are what proves that labs 1 to 3 need no
deep-learning framework, Jupyter Book or nbgrader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NUMPY_LABS = ["lab1_convolution", "lab2_conv_layer", "lab3_pooling"]
# Distributions a student of labs 1 to 3 must not get.
HEAVY = {"tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "torch", "jupyter-book",
         "nbgrader", "sphinx"}


def pip(python: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    completed = subprocess.run([str(python), "-m", "pip", *args], capture_output=True,
                               text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def base_install(tmp_path_factory) -> Path:
    """A fresh venv with `pip install .` and nothing else; returns its bin/ folder."""
    env_dir = tmp_path_factory.mktemp("student") / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip(python, "install", "--quiet", str(ROOT))
    return env_dir / "bin"


def test_base_install_has_no_framework_book_or_grader(base_install):
    listed = json.loads(pip(base_install / "python", "list", "--format", "json").stdout)
    names = {entry["name"].lower() for entry in listed}
    assert {"cnncourse", "numpy", "matplotlib"} <= names
    assert not names & HEAVY, f"the base install brought {sorted(names & HEAVY)}"


def lab_script(release: dict, source: dict, *, with_solutions: bool) -> str:
    """The lab's code cells as one script, the reference answers pasted into the answer cells."""
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
               for cell in source["cells"]
               if cell["metadata"].get("nbgrader", {}).get("solution")}
    chunks = []
    for cell in release["cells"]:
        if cell["cell_type"] != "code":
            continue
        grading = cell["metadata"].get("nbgrader", {})
        code = "".join(cell["source"])
        if with_solutions and grading.get("solution"):
            code = answers[grading["grade_id"]]
        lines = [line for line in code.splitlines()
                 if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
                 and not line.lstrip().startswith(("%", "!"))]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks)


def run_lab(bin_dir: Path, notebook: Path, lab: str, *, with_solutions: bool):
    release = json.loads(notebook.read_text())
    source = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text())
    script = notebook.parent / f"{lab}_{'solved' if with_solutions else 'blank'}.py"
    script.write_text(lab_script(release, source, with_solutions=with_solutions))
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([str(bin_dir / "python"), str(script)], capture_output=True, text=True,
                          cwd=notebook.parent, env=env, timeout=600)


@pytest.mark.parametrize("lab", NUMPY_LABS)
def test_lab_from_the_package_runs_its_visible_tests_on_the_base_install(base_install, lab,
                                                                          tmp_path):
    get = subprocess.run([str(base_install / "cnncourse"), "labs", "get", lab, str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert get.returncode == 0, get.stdout + get.stderr
    notebook = tmp_path / f"{lab}.ipynb"
    assert notebook.read_bytes() == (ROOT / "exercises" / lab / f"{lab}.ipynb").read_bytes()

    solved = run_lab(base_install, notebook, lab, with_solutions=True)
    assert solved.returncode == 0, solved.stderr[-3000:]
    blank = run_lab(base_install, notebook, lab, with_solutions=False)
    assert blank.returncode != 0 and "NotImplementedError" in blank.stderr


def test_gpu_extra_resolves_to_one_tensorflow(tmp_path):
    """`pip install '.[gpu]'` must not put tensorflow and tensorflow-cpu side by side."""
    report = tmp_path / "report.json"
    pip(Path(sys.executable), "install", "--dry-run", "--ignore-installed", "--quiet",
        "--report", str(report), f"{ROOT}[gpu]")
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert "tensorflow" in names and "nvidia-cudnn-cu12" in names
    assert "tensorflow-cpu" not in names


def test_explorers_work_from_a_plain_install(base_install):
    """Their scripts are package data: a wheel without them would give pages that do nothing."""
    probe = ("from cnncourse.viz.explorers import arithmetic_explorer\n"
             "html = arithmetic_explorer().html\n"
             "assert '<script' in html and 'function' in html, html[:500]\n")
    completed = subprocess.run([str(base_install / "python"), "-c", probe], capture_output=True,
                               text=True, timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
    assert completed.returncode == 0, completed.stderr[-3000:]
