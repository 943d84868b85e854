"""What a student reads in a feedback page, and the hidden-test lines it must not hold."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat

HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.skipping = tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self.skipping = False

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def page_text(path: Path) -> str:
    """The text of an HTML page as a reader sees it (highlighting spans joined back)."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def secret_lines(source: Path, release: Path) -> set[str]:
    """The lines of the source notebook's hidden tests that the released notebook does not
    show anyway (an `import numpy as np`, or the start of a visible call, is no secret),
    stripped, of at least 12 characters."""
    shown = "\n".join(cell.source for cell in nbformat.read(release, as_version=4).cells)
    hidden = {line.strip() for cell in nbformat.read(source, as_version=4).cells
              for region in HIDDEN_REGION.findall(cell.source) for line in region.splitlines()}
    return {line for line in hidden if len(line) >= 12 and line not in shown}


def leaked(page: Path, secrets: set[str]) -> set[str]:
    """The secret lines a feedback page shows, and the hidden-test markers."""
    text = page_text(page)
    found = {line for line in secrets if line in text}
    return found | ({"HIDDEN TESTS"} if "HIDDEN TESTS" in text else set())
