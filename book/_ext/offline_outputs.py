"""Sphinx extension of the book: cell outputs load nothing from another host.

matplotlib's JavaScript animation player (`Animation.to_jshtml`, behind
`cnncourse.viz.animation_html`) starts with a `<link rel="stylesheet">` to Font Awesome 4.4 on a
CDN, for the icons of its buttons. On the site that request is useless (the theme's own Font
Awesome 6 already draws those icons: `fa fa-play`, `fa fa-step-forward`...) and it breaks the
rule that the site works offline. The link is dropped from the page's HTML outputs here, at
build time; the executed notebooks keep it, so the player still has its icons in Jupyter or
Colab. Any other remote asset in an output is caught by tests/book/test_book_site.py.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

# The player's stylesheet link, as matplotlib writes it (matplotlib/_animation_data.py).
JSHTML_FONT_AWESOME_LINK = re.compile(
    r'<link\s+rel="stylesheet"\s+href="https?://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"\s*/?>'
)


def without_remote_icon_font(html: str) -> str:
    """`html` less the animation player's link to Font Awesome on a CDN."""
    return JSHTML_FONT_AWESOME_LINK.sub("", html)


def drop_remote_icon_fonts(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in doctree.findall(nodes.raw):
        if "html" not in node.get("format", "").split():
            continue
        html = node.astext()
        cleaned = without_remote_icon_font(html)
        if cleaned != html:
            node.children = []
            node += nodes.Text(cleaned)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", drop_remote_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
