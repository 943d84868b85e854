"""Sphinx extension of the book: every figure a chapter's code draws gets an alt text.

A chapter's figures are the PNG outputs of cells that end with a call to one of the package's
drawing functions (`plot_pooling_modes(feature_map, pool_size=2, stride=2)`); myst-nb writes
them as <img> with no alt, which the HTML writer fills with the file's own path. Here, before
the page is written, each such image gets the summary line of the docstring of the function that
drew it ("The input matrix x and its max, average and sum pooling side by side"), read from the
package's source with `ast` (nothing is imported). A cell's own alt text, given as myst-nb's
`mystnb: image: alt:` metadata, is kept. A figure whose drawing function cannot be found fails
the build (-W), so that a new figure cannot go without a description.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

VIZ = Path(__file__).resolve().parents[2] / "cnncourse" / "viz"
DRAWING_PREFIXES = ("plot_",)
# Array shapes in a docstring, "(H, W)", "(N, H, W[, 1])", "(KH, KW, C_in, F)": not for readers.
_SHAPE = r"\s+\((?:[A-Z]\w*|[a-z]|\d+)(?:\[?,\s*(?:[A-Z]\w*|[a-z]|\d+)\]?)*,?\)"
SHAPE = re.compile(rf"{_SHAPE}(?:\s+or{_SHAPE})*")  # also "(N, H, W) or (N, H, W, 1)"


@functools.cache
def drawing_summaries() -> dict[str, str]:
    """Name -> summary of every public `plot_*` function of cnncourse.viz (its docstring's first
    sentence, without array shapes and code quotes)."""
    summaries = {}
    for module in sorted(VIZ.glob("*.py")):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith(DRAWING_PREFIXES):
                docstring = ast.get_docstring(node) or ""
                summaries[node.name] = readable_summary(docstring)
    return summaries


def readable_summary(docstring: str) -> str:
    """The first sentence of `docstring` as plain text for an alt attribute."""
    paragraph = docstring.strip().split("\n\n")[0].replace("\n", " ")
    sentence = re.split(r"(?<=[a-z0-9)])\.\s", paragraph + " ")[0].strip().rstrip(".")
    sentence = SHAPE.sub("", sentence.replace("`", ""))
    return re.sub(r"\s+", " ", sentence).strip() + "."


def called_names(source: str) -> list[str]:
    """Names of the functions the cell's last statement calls, outermost first."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    if not tree.body:
        return []
    names = []
    for node in ast.walk(tree.body[-1]):
        if isinstance(node, ast.Call):
            func = node.func
            names.append(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def figure_description(source: str) -> str | None:
    """What the figure drawn by a cell's code shows, or None if no drawing function is called."""
    summaries = drawing_summaries()
    for name in called_names(source):
        if name in summaries:
            return summaries[name]
    return None


def cell_source(cell: nodes.container) -> str:
    inputs = [node for node in cell.findall(nodes.literal_block)
              if node.parent.get("nb_element") == "cell_code_source"]
    return inputs[0].astext() if inputs else ""


def describe_figures(app: Sphinx, doctree: nodes.document) -> None:
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        images = [image for image in cell.findall(nodes.image) if not image.get("alt")]
        if not images:
            continue
        description = figure_description(cell_source(cell))
        if description is None:
            logger.warning(
                "figure without an alt text: its cell calls no cnncourse.viz plot_* function; "
                "give it `mystnb: image: alt:` metadata",
                location=cell,
            )
            continue
        for image in images:
            image["alt"] = description


def setup(app: Sphinx) -> dict[str, Any]:
    # After myst-nb has turned the outputs into nodes; before the HTML writer fills in alt="uri".
    app.connect("doctree-read", describe_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
