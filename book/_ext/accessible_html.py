"""Sphinx extension of the book: the theme's HTML made to pass WCAG 2.1 AA (axe-core).

Jupyter Book 1's templates (pydata-sphinx-theme 0.17, sphinx-book-theme 1.3, myst-nb and
sphinxcontrib-bibtex) write a few elements whose accessible name or role is wrong on every page
(jupyter-book#2135). Each fix below rewrites one such pattern in the written pages, once the
build has finished; tests/book/test_book_site.py runs axe-core on every page, in the light and
the dark theme, and fails on any violation, so a theme update that changes a pattern shows up
there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

# (what is wrong, pattern, replacement). Each replacement leaves HTML that no longer matches.
FIXES = [
    (
        # WCAG 2.5.3 (label-content-name-mismatch): the search field reads "Search Ctrl+K" but is
        # named "Search"; without the aria-label its visible text is its name.
        "the search field's name is not its visible text",
        re.compile(r'(<button class="btn search-button-field [^"]*" title="Search") '
                   r'aria-label="Search"'),
        r"\1",
    ),
    (
        # WCAG 2.5.3: the colour-mode button is named "Color mode", but its three icons carry
        # titles ("Light", "Dark", "System Settings") that Font Awesome turns into SVG text.
        "the colour-mode icons have titles",
        re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+") +title="[^"]*"'),
        r'\1 aria-hidden="true"',
    ),
    (
        # WCAG 2.5.3: "Show code cell source" is named "Toggle hidden content".
        "a hidden cell's toggle is named otherwise than it reads",
        re.compile(r'<summary aria-label="Toggle hidden content">'),
        "<summary>",
    ),
    (
        # ARIA 1.2 deprecates doc-biblioentry; inside the bibliography's role="list" each entry
        # must be a listitem (aria-deprecated-role, aria-required-children).
        "bibliography entries have a deprecated role",
        re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"'),
        r'\1 role="listitem"',
    ),
]


def accessible(html: str) -> str:
    """`html` with every fix of FIXES applied."""
    for _, pattern, replacement in FIXES:
        html = pattern.sub(replacement, html)
    return html


def fix_written_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed = accessible(html)
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", fix_written_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
