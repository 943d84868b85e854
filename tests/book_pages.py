"""The book's pages as the browser tests see them: every file of _toc.yml as a built page, the
MyST source behind a page, and a quiet file server for the built site. Shared by
tests/book/test_book_site.py and test_explorers.py.
"""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(entries: list[dict]) -> Iterator[str]:
    """Every `file:` of _toc.yml, depth first, in reading order."""
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        for key in ("chapters", "sections", "parts"):
            yield from toc_files(entry.get(key, []))


def chapter_pages() -> list[str]:
    """Paths of the built pages, relative to _build/html, one per file of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{name}.html" for name in [toc["root"], *toc_files([toc])]]


def numbered_chapter_pages() -> list[str]:
    """The chapters proper: the pages of the numbered parts of _toc.yml (not the introduction,
    the notation page or the references)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = [part for part in toc.get("parts", []) if part.get("numbered")]
    return [f"{name}.html" for name in toc_files(parts)]


PAGES = chapter_pages()
CHAPTERS = numbered_chapter_pages()


def source_of(page: str) -> str:
    """The MyST source of a built page (book/x.html -> book/x.md)."""
    return (ROOT / page).with_suffix(".md").read_text(encoding="utf-8")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
