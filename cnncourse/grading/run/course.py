"""The course: an nbgrader course directory, read from its nbgrader_config.py as nbgrader reads it.

    course = Course.load(".")
    course.labs                            ('lab1_convolution', ...)
    course.cell_timeout("lab1_convolution") seconds one cell of that lab may run

Per-lab cell timeouts live in the course's nbgrader_config.py, as `c.CnnCourse.cell_timeouts`
(a dict lab -> seconds), beside nbgrader's own `c.Execute.timeout`, which the same file sets to
the lab named on nbgrader's command line: plain `nbgrader autograde LAB` and `cnncourse grade LAB`
give a cell the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NBGRADER_CELL_TIMEOUT = 30  # nbgrader's Execute.timeout when a course sets none


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory and the folders its configuration names."""

    root: Path
    config_file: Path | None
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    course_id: str
    labs: tuple[str, ...]

    @classmethod
    def load(cls, root: str | Path = ".") -> Course:
        from nbgrader.coursedir import CourseDirectory

        root = Path(root).resolve()
        if not root.is_dir():
            raise ValueError(f"course directory {root} does not exist")
        config_file = root / "nbgrader_config.py"
        config = load_config(config_file) if config_file.exists() else None
        coursedir = CourseDirectory(config=config) if config else CourseDirectory()
        coursedir.root = str(root)
        folder = lambda name: root / getattr(coursedir, f"{name}_directory")  # noqa: E731
        labs = tuple(sorted(p.name for p in folder("source").iterdir() if p.is_dir()))
        return cls(
            root,
            config_file if config else None,
            folder("source"),
            folder("release"),
            folder("submitted"),
            folder("autograded"),
            folder("feedback"),
            absolute_db_url(coursedir.db_url, root),
            coursedir.course_id,
            labs,
        )

    def check_lab(self, lab: str) -> None:
        if not (self.source / lab / f"{lab}.ipynb").exists():
            raise ValueError(
                f"lab {lab!r} has no source notebook {self.source / lab / (lab + '.ipynb')}"
            )

    def cell_timeout(self, lab: str) -> int:
        """Seconds one cell of `lab` may run: the lab's entry in `c.CnnCourse.cell_timeouts`,
        else the course's Execute.timeout, else nbgrader's 30 s."""
        config = load_config(self.config_file) if self.config_file else {}
        per_lab = dict(config.get("CnnCourse", {}).get("cell_timeouts", {}) or {})
        if lab in per_lab:
            return int(per_lab[lab])
        return int(config.get("Execute", {}).get("timeout", 0) or NBGRADER_CELL_TIMEOUT)


def load_config(path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def absolute_db_url(db_url: str, root: Path) -> str:
    """sqlite:///gradebook.db is relative to the current directory; anchor it at the course."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and not db_url[len(prefix) :].startswith("/"):
        return prefix + str(root / db_url[len(prefix) :])
    return db_url


def find_students(folder: Path, lab: str) -> list[str]:
    """Students with a folder for this lab, in nbgrader's submitted/STUDENT/LAB/ layout."""
    if not folder.is_dir():
        raise ValueError(f"submissions folder {folder} does not exist")
    return sorted(
        p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / lab).is_dir()
    )
