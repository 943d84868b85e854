"""The labs as the package ships them: listing, `cnncourse labs get`, the setup cell, imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import cnncourse
from cnncourse import labs
from cnncourse.cli import main

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "exercises"
SOURCES = ROOT / "solutions"
COMMITTED_LABS = sorted(p.name for p in RELEASES.iterdir() if p.is_dir())
NUMPY_LABS = ["lab1_convolution", "lab2_conv_layer", "lab3_pooling"]
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")


def test_every_committed_release_is_listed():
    assert labs.available_labs() == COMMITTED_LABS
    assert set(NUMPY_LABS) <= set(COMMITTED_LABS)


def test_get_writes_exactly_the_committed_release(tmp_path):
    notebook = labs.get_lab("lab2_conv_layer", tmp_path / "mine")
    assert notebook == tmp_path / "mine" / "lab2_conv_layer.ipynb"
    expected = RELEASES / "lab2_conv_layer" / "lab2_conv_layer.ipynb"
    assert notebook.read_bytes() == expected.read_bytes()


def test_get_defaults_to_a_folder_named_after_the_lab(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["labs", "get", "lab1_convolution"]) == 0
    assert (tmp_path / "lab1_convolution" / "lab1_convolution.ipynb").is_file()


def test_get_refuses_to_overwrite_a_students_work(tmp_path, capsys):
    target = tmp_path / "lab1_convolution.ipynb"
    target.write_text("my answers")
    assert main(["labs", "get", "lab1_convolution", str(tmp_path)]) == 1
    assert target.read_text() == "my answers"
    assert "already exists" in capsys.readouterr().out
    with pytest.raises(FileExistsError, match="lab1_convolution.ipynb"):
        labs.get_lab("lab1_convolution", tmp_path)


def test_unknown_lab_is_named_with_the_ones_that_exist(tmp_path):
    with pytest.raises(ValueError, match=r"'lab9_nothing'.*lab1_convolution"):
        labs.get_lab("lab9_nothing", tmp_path)
    assert not any(tmp_path.iterdir())


def test_listing_prints_every_lab_with_its_colab_link(capsys):
    assert main(["labs"]) == 0
    out = capsys.readouterr().out
    for lab in COMMITTED_LABS:
        assert f"colab.research.google.com/github/cnncourse/cnn-course/blob/main/exercises/{lab}/" \
               f"{lab}.ipynb" in out


def test_check_version_warns_only_on_a_different_version():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert labs.check_version("lab1_convolution", cnncourse.__version__) is True
    with pytest.warns(UserWarning, match=r"released with cnncourse 0\.0\.1, but cnncourse"):
        assert labs.check_version("lab1_convolution", "0.0.1") is False


def _notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _cell(kind: str, source: str, cell_id: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def test_stamp_puts_the_setup_cell_before_the_first_code_cell_once(tmp_path):
    path = tmp_path / "lab7_demo.ipynb"
    cells = [_cell("markdown", "# Lab 7", "a"), _cell("code", "import keras", "b")]
    path.write_text(json.dumps(_notebook(cells)))
    assert labs.stamp_setup_cell(path, "9.9.9") is True
    once = path.read_text()
    assert labs.stamp_setup_cell(path, "9.9.9") is False  # idempotent
    assert path.read_text() == once
    notebook = json.loads(once)
    assert [c["id"] for c in notebook["cells"]] == ["a", labs.SETUP_CELL_ID, "b"]
    assert notebook["metadata"]["cnncourse"] == {"lab": "lab7_demo", "version": "9.9.9"}
    source = "".join(notebook["cells"][1]["source"])
    assert "cnncourse[keras] @ git+" in source and "@v9.9.9" in source  # the lab imports Keras
    assert 'check_version("lab7_demo", "9.9.9")' in source
    labs.stamp_setup_cell(path, "9.9.10")  # a new release replaces the cell, never adds one
    notebook = json.loads(path.read_text())
    assert [c["id"] for c in notebook["cells"]].count(labs.SETUP_CELL_ID) == 1
    assert "@v9.9.10" in "".join(notebook["cells"][1]["source"])


def test_stamping_a_notebook_older_than_cell_ids_makes_it_a_valid_4_5(tmp_path):
    import nbformat  # the grading extra; a missing one must fail, not skip
    path = tmp_path / "lab0_old.ipynb"
    cells = [_cell("markdown", "# Old", "x"), _cell("code", "x = 1", "y")]
    for cell in cells:
        del cell["id"]
    path.write_text(json.dumps({**_notebook(cells), "nbformat_minor": 4}))
    labs.stamp_setup_cell(path, "1.0")
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)  # raises on an id in a 4.4 notebook
    assert notebook.nbformat_minor == 5
    assert len({cell.id for cell in notebook.cells}) == 3


def test_setup_cell_does_nothing_but_check_where_the_package_is_installed():
    source = labs.setup_cell_source("lab1_convolution", cnncourse.__version__)
    assert "[keras]" not in source
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", source], capture_output=True, text=True,
        timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "pip" not in completed.stdout + completed.stderr


@pytest.mark.parametrize("lab", COMMITTED_LABS)
def test_every_source_notebook_carries_the_setup_cell_of_this_version(lab):
    notebook = json.loads((SOURCES / lab / f"{lab}.ipynb").read_text())
    assert notebook["metadata"].get("cnncourse") == {"lab": lab,
                                                     "version": cnncourse.__version__}, (
        "run `cnncourse release` (it stamps the setup cell) after changing the version")
    first_code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    assert first_code["id"] == labs.SETUP_CELL_ID


@pytest.mark.parametrize("lab", sorted(set(COMMITTED_LABS) - set(NUMPY_LABS)))
def test_a_keras_lab_installs_the_keras_extra(lab):
    """Where the package is missing (Colab), the setup cell of a lab that uses Keras installs
    cnncourse[keras], also where the lab imports it only through cnncourse.quiet.import_keras."""
    notebook = json.loads((RELEASES / lab / f"{lab}.ipynb").read_text())
    setup = next(c for c in notebook["cells"] if c.get("id") == labs.SETUP_CELL_ID)
    assert "cnncourse[keras] @ git+" in "".join(setup["source"])


@pytest.mark.parametrize("lab", NUMPY_LABS)
def test_numpy_labs_import_no_deep_learning_framework(lab):
    """Run every import line of the lab's release: no framework may be loaded by them."""
    notebook = json.loads((RELEASES / lab / f"{lab}.ipynb").read_text())
    imports = [line for cell in notebook["cells"] if cell["cell_type"] == "code"
               for line in "".join(cell["source"]).splitlines()
               if line.startswith(("import ", "from "))]
    assert any("cnncourse" in line for line in imports)
    probe = "\n".join([*imports, "import sys",
                       f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))"])
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]", f"{lab} imports {completed.stdout.strip()}"


@pytest.mark.slow
def test_jupyterhub_exchange_round_trip(tmp_path):
    """nbgrader's documented exchange: release, a student fetches and submits, collect."""
    course, student, exchange = tmp_path / "course", tmp_path / "student", tmp_path / "exchange"
    for folder in ("exercises", "solutions"):
        shutil.copytree(ROOT / folder, course / folder)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    student.mkdir()
    exchange.mkdir(mode=0o777)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    common = [f"--Exchange.root={exchange}"]

    def nbgrader(cwd: Path, *args: str) -> None:
        completed = subprocess.run([sys.executable, "-m", "nbgrader", *args, *common], cwd=cwd,
                                   env=env, capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]

    lab = "lab1_convolution"
    nbgrader(course, "release_assignment", lab, "--CourseDirectory.course_id=cnn")
    nbgrader(student, "fetch_assignment", lab, "--course", "cnn")
    fetched = student / lab / f"{lab}.ipynb"
    assert fetched.read_bytes() == (RELEASES / lab / f"{lab}.ipynb").read_bytes()
    nbgrader(student, "submit", lab, "--course", "cnn")
    nbgrader(course, "collect", lab, "--CourseDirectory.course_id=cnn")
    assert list(course.glob(f"submitted/*/{lab}/{lab}.ipynb"))
