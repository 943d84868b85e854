"""Sphinx extension of the book: each <script> once per page.

sphinx-thebe 0.3.1 registers its inline configuration script on every `env-before-read-docs`
event, which Jupyter Book 1 emits twice per build; the second copy redeclares a `const` and the
browser reports "Identifier 'THEBE_JS_URL' has already been declared" on every page. This
extension drops repeated scripts (same file, same inline body, whatever their priority)
before a page is written.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def script_key(script: Any) -> tuple[str, str]:
    """What makes two script entries the same: the file they load and their inline body."""
    filename = getattr(script, "filename", script)  # a plain string in older themes
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename or ""), str(attributes.get("body", "")))


def drop_repeated_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
