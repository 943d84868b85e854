"""The book's notation page (book/notation.md) against the package, the chapters and the figures.

Checked where code can check it: the letters the package unpacks from its arrays' shapes are the
page's; no chapter's math uses a letter the page lists as another text's (CS231n's "K kernels
of F x F x D") or a code spelling (KH) where formulas write a subscript (K_H); the im2col
figure labels its counts with the page's letters.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTATION = ROOT / "book" / "notation.md"
# Array-shape unpacking in the numpy layers: `N, H, W, C = x.shape`, `KH, KW, _, F = w.shape`.
SHAPE_UNPACKING = re.compile(r"^\s*([A-Za-z_][\w, ]*?)\s*=\s*\w+\.shape\b", re.MULTILINE)
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.DOTALL)


def table_rows(text: str, heading: str) -> list[list[str]]:
    """Cells of the Markdown table under `## heading` (header and rule rows left out)."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines()
            if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


@pytest.fixture(scope="module")
def page() -> str:
    return NOTATION.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shapes(page: str) -> dict[str, str]:
    """Code name -> formula symbol, from the page's Shapes table (`KH` -> `K_H`)."""
    return {code.strip("`"): symbol.strip("$") for symbol, code, _ in table_rows(page, "Shapes")}


def chapter_sources() -> dict[str, str]:
    """Every page of _toc.yml but the notation page itself: name -> MyST source."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def files(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            for key in ("chapters", "sections", "parts"):
                yield from files(entry.get(key, []))

    names = [toc["root"], *files(toc.get("parts", []) + toc.get("chapters", []))]
    assert "book/notation" in names, "the notation page is not in _toc.yml"
    return {name: (ROOT / f"{name}.md").read_text(encoding="utf-8")
            for name in names if name != "book/notation"}


def math_of(source: str) -> str:
    """The text of every $...$ and $$...$$ of a chapter, whitespace collapsed."""
    return " ".join(" ".join(a or b for a, b in MATH.findall(source)).split())


def test_the_package_unpacks_shapes_with_the_page_letters(shapes: dict[str, str]):
    layers = ROOT / "cnncourse" / "nn"
    used = set()
    for module in ("conv1d.py", "conv2d.py", "pooling.py"):
        for names in SHAPE_UNPACKING.findall((layers / module).read_text()):
            used |= {name.strip() for name in names.split(",")} - {"_", ""}
    assert {"N", "H", "W", "C", "KH", "KW", "F"} <= used, used  # what the test reads is there
    assert used <= set(shapes), f"letters the package uses but the page lacks: {used - set(shapes)}"


def test_formulas_write_subscripts_not_code_names(shapes: dict[str, str]):
    spelled_in_code = {code for code, symbol in shapes.items() if code != symbol}
    assert spelled_in_code == {"KH", "KW", "Ho", "Wo"}
    for name, source in chapter_sources().items():
        math = math_of(source)
        found = sorted({code for code in spelled_in_code if re.search(rf"\b{code}\b", math)})
        assert not found, f"{name}: math writes {found}; the notation page writes " + ", ".join(
            shapes[code] for code in found)


def test_no_chapter_uses_the_letters_of_other_texts(page: str):
    others = [row[0] for row in table_rows(page, "Letters that other texts use")]
    assert "$F \\times F \\times D$" in others  # the table the test reads is there
    for name, source in chapter_sources().items():
        text = " ".join(source.split())
        used = [form for form in others if form in text]
        assert not used, f"{name} writes {used}, which the notation page lists as other texts'"


def test_im2col_figure_counts_with_the_page_letters(shapes: dict[str, str]):
    from cnncourse.viz.im2col import plot_im2col

    fig = plot_im2col(np.arange(1.0, 17.0).reshape(4, 4, 1), np.ones((3, 3, 1, 2)))
    title = fig.axes[0].get_title() or fig.get_suptitle() or fig.texts[0].get_text()
    counted = re.findall(r"([A-Za-z\u00b7]+) = \d+", title)
    letters = {letter for term in counted for letter in term.split("\u00b7")}
    assert letters == {"F", "Ho", "Wo", "KH", "KW", "C"}, title
    assert letters <= set(shapes)


def test_shape_comments_in_chapter_code_use_the_page_letters(shapes: dict[str, str]):
    """A comment that gives a shape, `# (N, Ho, Wo, F)` or `# (KH*KW*C, Ho*Wo)`, uses only the
    page's letters (numbers aside)."""
    comment = re.compile(r"#\s+\(([^)]*)\)")
    seen = set()
    for name, source in chapter_sources().items():
        for shape in comment.findall(source):
            letters = set(re.findall(r"[A-Za-z_]\w*", shape))
            seen |= letters
            assert letters <= set(shapes), f"{name}: shape comment ({shape}) uses " \
                                           f"{sorted(letters - set(shapes))}"
    assert {"N", "Ho", "Wo", "F", "KH"} <= seen  # the chapters' comments were found
