"""The course's address is set once (the book's _config.yml, or the git remote): a release points
the setup cell, the Colab links, the README and the book's links at it (cnncourse.labs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from cnncourse import labs
from cnncourse.grading.run.course import Course
from cnncourse.grading.run.nbgrader_commands import release_labs

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab1_convolution"
FORK = "https://github.com/someone/their-cnn-course"
ANY_GITHUB_REPOSITORY = re.compile(r"github\.com/[\w.-]+/[\w.-]+")


# The course's address as _config.yml gives it, read here independently of cnncourse.labs.
CONFIGURED = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def fork_of_the_course(root: Path, url: str | None, branch: str = "term2") -> Path:
    """A copy of the course (one lab) whose _config.yml names `url` (none: no repository)."""
    for name in ("README.md", "nbgrader_config.py"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("_*"))
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / LAB, root / folder / LAB)
    config = (ROOT / "_config.yml").read_text()
    block = "" if url is None else f"repository:\n  url: {url}\n  branch: {branch}\n"
    config = re.sub(r"^repository:\n(?:[ \t]+.*\n)*", block, config, flags=re.M)
    (root / "_config.yml").write_text(config)
    return root


def course_links(root: Path) -> str:
    return "\n".join(p.read_text() for p in [root / "README.md", *(root / "book").glob("*.md")])


def test_the_address_comes_from_the_books_config(tmp_path):
    root = fork_of_the_course(tmp_path, FORK + "/")
    assert labs.repository_url(root) == FORK
    assert labs.colab_link(LAB, root) == ("https://colab.research.google.com/github/someone/"
                                          f"their-cnn-course/blob/term2/exercises/{LAB}/{LAB}.ipynb")


def test_without_it_in_the_config_the_git_remote_is_taken(tmp_path):
    root = fork_of_the_course(tmp_path, None)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin",
                    "git@github.com:other/fork-of-cnn.git"], check=True)
    assert labs.repository_url(root) == "https://github.com/other/fork-of-cnn"


def test_an_address_that_is_not_a_repository_is_refused(tmp_path):
    root = fork_of_the_course(tmp_path, "github.com/no-scheme")
    with pytest.raises(ValueError, match="'github.com/no-scheme'"):
        labs.repository_url(root)


@pytest.mark.slow
def test_a_release_points_every_link_at_the_address(tmp_path):
    root = fork_of_the_course(tmp_path, FORK)
    before = course_links(root)
    assert "cnncourse/cnn-course" in before  # the links of the course as committed
    release_labs(Course.load(root), [LAB])

    setup = nbformat.read(root / "exercises" / LAB / f"{LAB}.ipynb", as_version=4).cells
    setup_cell = next(c for c in setup if c.get("id") == labs.SETUP_CELL_ID)
    assert f"git+{FORK}@v" in setup_cell.source
    links = course_links(root)
    assert "cnncourse/cnn-course" not in links
    assert set(ANY_GITHUB_REPOSITORY.findall(links)) - set(
        ANY_GITHUB_REPOSITORY.findall(before)) == {"github.com/someone/their-cnn-course"}
    intro = (root / "book" / "intro.md").read_text()
    chapter = (root / "book" / "convolution_operator.md").read_text()
    assert f"{FORK}/blob/term2/exercises/{LAB}/{LAB}.ipynb" in chapter
    for lab in ("lab1_convolution", "lab6_transposed_segmentation"):
        colab = ("https://colab.research.google.com/github/someone/their-cnn-course/blob/term2/"
                 f"exercises/{lab}/{lab}.ipynb")
        assert colab in intro and colab in (root / "README.md").read_text()
    assert f'"cnncourse[lab] @ git+{FORK}"' in intro
    assert f"git clone {FORK} && cd their-cnn-course" in intro


def test_without_config_or_remote_the_released_labs_say_where(monkeypatch):
    """As in the grading sandbox or an installed package: neither _config.yml nor git."""
    monkeypatch.setattr(labs, "_config_repository", lambda root: {})
    monkeypatch.setattr(labs, "_git_remote", lambda root: None)
    assert labs._released_repository() == CONFIGURED  # what the releases were made with
    assert labs.repository_url() == CONFIGURED


def test_the_package_imports_where_it_cannot_read_its_config(tmp_path):
    """A fresh interpreter whose cnncourse checkout has no _config.yml (the grading sandbox
    binds the package alone): importing cnncourse.labs still works."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "cnncourse", checkout / "cnncourse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "exercises" / LAB, checkout / "exercises" / LAB)
    done = subprocess.run([sys.executable, "-c", "import cnncourse.labs as l; print(l.REPOSITORY)"],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(checkout)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == CONFIGURED
