"""nbgrader's own commands, run for the course from the instructor's process.

    release_labs(course)                    nbgrader generate_assignment LAB --force, per lab
    generate_feedback(course, lab)          nbgrader generate_feedback LAB, the hidden tests left
                                            out (feedback.feedback_config; reveal_hidden: shown)
    export_grades(course, to)               nbgrader export --to CSV
    build_template(course, lab, where)      a private course with only this lab (what jobs carry)
    ensure_assignment(course, lab)          the lab's graded cells in the course gradebook

nbgrader runs the `alembic` script by name when it creates a gradebook; `python_scripts_on_path`
puts this interpreter's scripts on PATH for the commands here and for a grading run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cnncourse.grading.run.course import Course, load_config


def python_scripts_on_path() -> None:
    """Put the folder of this interpreter's scripts first on the process's PATH, once.

    nbgrader calls the `alembic` script by name when it creates a gradebook; a virtual
    environment that was not activated does not have it on PATH. Called by `nbgrader_command`
    and at the start of a grading run (`driver.grade_lab`, before its workers start, so that
    they inherit it)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def plain_config(config) -> dict:
    """The JSON-serialisable part of a traitlets Config (what travels with the jobs)."""
    if isinstance(config, dict):
        plain = {str(k): plain_config(v) for k, v in config.items()}
        return {k: v for k, v in plain.items() if v is not _DROP}
    try:
        json.dumps(config)
    except (TypeError, ValueError):
        return _DROP
    return config


_DROP = object()


def _nbgrader_api(course: Course, extra=None, **directories: str):
    """An in-process nbgrader API on the course's config, with some folders replaced and the
    `extra` traitlets Config merged over it."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = load_config(course.config_file) if course.config_file else Config()
    overrides = Config()
    overrides.CourseDirectory.root = str(course.root)
    overrides.CourseDirectory.db_url = course.db_url
    for name, value in directories.items():
        setattr(overrides.CourseDirectory, name, value)
    config.merge(overrides)
    if extra is not None:
        config.merge(extra)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def build_template(course: Course, lab: str, where: Path) -> Path:
    """A private course with the lab's source and release, a gradebook holding only that lab,
    and the course's configuration as JSON (nbgrader_config.json): what every job carries."""
    shutil.copytree(
        course.source / lab,
        where / "source" / lab,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    template = Course(
        where, course.config_file, where / "source", where / "release", where / "submitted",
        where / "autograded", where / "feedback", f"sqlite:///{where / 'gradebook.db'}",
        course.course_id, (lab,),
    )  # fmt: skip
    api = _nbgrader_api(template, source_directory="source", release_directory="release")
    outcome = api.generate_assignment(lab, force=True, create=True)
    if not outcome["success"]:
        raise ValueError(f"nbgrader generate_assignment {lab} failed:\n{outcome.get('log', '')}")
    config = load_config(course.config_file) if course.config_file else {}
    (where / "nbgrader_config.json").write_text(json.dumps(plain_config(config), indent=1))
    return where


def ensure_assignment(course: Course, lab: str) -> None:
    """Put the lab's graded cells in the course gradebook if they are not there yet.

    Runs generate_assignment with the release written to a temporary folder, so the
    committed exercises/ is left alone (`release_labs` is what refreshes it).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            if gb.find_assignment(lab).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release:
        outcome = _nbgrader_api(course, release_directory=release).generate_assignment(lab)
    if not outcome["success"]:
        raise ValueError(f"nbgrader generate_assignment {lab} failed:\n{outcome.get('log', '')}")


def nbgrader_command(course: Course, *args: str) -> None:
    """Run a plain nbgrader command in the course directory; raise if it fails."""
    python_scripts_on_path()
    argv = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(argv, cwd=course.root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{done.stdout}{done.stderr}")


def release_labs(course: Course, labs: list[str] | None = None) -> list[str]:
    """`nbgrader generate_assignment LAB --force` for each lab with a source notebook.

    First the source notebook gets the setup cell of this package's version
    (`cnncourse.labs.stamp_setup_cell`): Colab installs that version, a different one warns.
    It installs from the course's repository (`cnncourse.labs.repository_url`: the book's
    _config.yml, or the git remote), which the course's links in README.md and book/*.md are
    then pointed at (`follow_repository`).
    """
    from cnncourse.labs import (
        follow_repository,
        repository_branch,
        repository_url,
        stamp_setup_cell,
    )

    labs = labs or [lab for lab in course.labs if (course.source / lab).is_dir()]
    repository = repository_url(course.root)
    for lab in labs:
        course.check_lab(lab)
        stamp_setup_cell(course.source / lab / f"{lab}.ipynb", repository=repository)
        nbgrader_command(course, "generate_assignment", lab, "--force")
    follow_repository(course.root, repository, repository_branch(course.root))
    return labs


def generate_feedback(course: Course, lab: str, reveal_hidden: bool = False) -> Path:
    """`nbgrader generate_feedback LAB`: HTML feedback for every autograded submission, made
    by the course's preprocessors and template (`feedback.feedback_config`): the hidden tests
    are left out unless `reveal_hidden` (after the deadline, when the instructor asks)."""
    from cnncourse.grading.run.feedback import feedback_config

    course.check_lab(lab)
    api = _nbgrader_api(course, feedback_config(reveal_hidden=reveal_hidden))
    outcome = api.generate_feedback(lab, force=True)
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader generate_feedback {lab} failed:\n"
                           f"{outcome.get('error') or ''}{outcome.get('log', '')}")
    return course.feedback


def export_grades(course: Course, to: Path) -> Path:
    """`nbgrader export`: one CSV row per student and lab."""
    to = Path(to).resolve()
    nbgrader_command(course, "export", "--to", str(to))
    return to
