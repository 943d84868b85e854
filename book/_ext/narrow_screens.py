"""Sphinx extension of the book: long inline formulas break at their equals signs.

MathJax 3 never breaks an inline formula across lines, so on a 390 px phone a worked sum such as
$0.5 \\cdot 5 + 1 \\cdot 1 + 0.5 \\cdot 7 = 2.5 + 1 + 3.5 = 7$ ran past the column and lost its
result. Here an inline formula longer than MAX_UNBROKEN characters of TeX is cut before each
top-level "=" into several formulas, separated by a space, so the line may break there; on a
wide screen it reads as before. Display formulas scroll instead (course.css).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

MAX_UNBROKEN = 24  # characters of TeX: a formula this short fits any line


def split_at_equals(tex: str) -> list[str]:
    """`tex` cut before each "=" outside braces, brackets and \\left...\\right: ["a + b", "= c"].

    Formulas with an alignment or environment (&, \\begin) are left whole.
    """
    if "&" in tex or "\\begin" in tex:
        return [tex]
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith("\\left", i) or tex.startswith("\\right", i):
            depth += 1 if tex.startswith("\\left", i) else -1
            i += 5 if tex.startswith("\\left", i) else 6
            continue
        char = tex[i]
        if char == "\\":  # a command or an escaped character: never a split point
            i += 2
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif char == "=" and depth == 0 and tex[start:i].strip():
            pieces.append(tex[start:i].strip())
            start = i
        i += 1
    pieces.append(tex[start:].strip())
    return [piece for piece in pieces if piece]


def break_long_inline_math(app: Sphinx, doctree: nodes.document) -> None:
    for math in list(doctree.findall(nodes.math)):
        tex = math.astext()
        if len(tex) <= MAX_UNBROKEN:
            continue
        pieces = split_at_equals(tex)
        if len(pieces) < 2:
            continue
        replacement: list[nodes.Node] = []
        for piece in pieces:
            if replacement:
                replacement.append(nodes.Text(" "))
            replacement.append(nodes.math(f"${piece}$", piece))
        math.parent.replace(math, replacement)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", break_long_inline_math)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
