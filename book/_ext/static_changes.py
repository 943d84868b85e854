"""Sphinx extension of the book: a change to the book's own CSS or JavaScript rewrites the pages.

Sphinx copies `html_static_path` (book/_static: course.css, course.js) only when some page is
rewritten, so after editing course.css alone an incremental build said "no targets are out of
date" and the site kept the old styles. The digest of those files is made a configuration value
(`book_static_digest`): when it changes, Sphinx sees a changed configuration and rewrites every
page (the chapters are not executed again: their outputs come from the execution cache).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config


def static_digest(folders: list[Path]) -> str:
    """SHA-256 of the names and contents of every file under `folders`."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def record_static_digest(app: Sphinx, config: Config) -> None:
    folders = [Path(app.confdir) / entry for entry in config.html_static_path]
    config.book_static_digest = static_digest([f for f in folders if f.is_dir()])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("book_static_digest", "", "html", types=[str])
    app.connect("config-inited", record_static_digest)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
