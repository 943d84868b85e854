"""The book's own Sphinx extensions (book/_ext), on the text they rewrite; no build needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))

import accessible_html  # noqa: E402
import figure_alt  # noqa: E402
import narrow_screens  # noqa: E402


@pytest.mark.parametrize(("tex", "pieces"), [
    (r"0.5 \cdot 5 + 1 \cdot 1 + 0.5 \cdot 7 = 2.5 + 1 + 3.5 = 7",
     [r"0.5 \cdot 5 + 1 \cdot 1 + 0.5 \cdot 7", "= 2.5 + 1 + 3.5", "= 7"]),
    (r"o = \lfloor (i + 2p - k) / s \rfloor + 1", ["o", r"= \lfloor (i + 2p - k) / s \rfloor + 1"]),
    (r"f\left(x = 1\right) = 2", [r"f\left(x = 1\right)", "= 2"]),
    (r"\{a = b\} = c_{i=1}", [r"\{a", r"= b\}", "= c_{i=1}"]),
    (r"a &= b \\ c &= d", [r"a &= b \\ c &= d"]),
])  # fmt: skip
def test_long_inline_formulas_split_before_top_level_equals(tex: str, pieces: list[str]) -> None:
    assert narrow_screens.split_at_equals(tex) == pieces


def test_figure_alt_is_the_drawing_functions_summary_without_shapes() -> None:
    source = "x = np.ones((4, 4))\nviz.plot_image_row(x[None], ['a'])\n"
    assert figure_alt.figure_description(source) == "One row of grey images, each under its title."
    assert figure_alt.figure_description("print(1)") is None
    summaries = figure_alt.drawing_summaries()
    assert len(summaries) >= 30
    assert not [s for s in summaries.values() if "(H, W" in s or "`" in s]


def test_accessible_html_fixes_each_theme_pattern_once() -> None:
    page = (
        '<button class="btn search-button-field search-button__button pst-js-only" '
        'title="Search" aria-label="Search" data-bs-placement="bottom">'
        '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i>'
        '<summary aria-label="Toggle hidden content">'
        '<div class="citation" id="id9" role="doc-biblioentry">'
    )
    fixed = accessible_html.accessible(page)
    assert 'aria-label="Search"' not in fixed
    assert 'title="Light"' not in fixed and 'aria-hidden="true"' in fixed
    assert "<summary>" in fixed
    assert 'role="listitem"' in fixed and "doc-biblioentry" not in fixed
    assert accessible_html.accessible(fixed) == fixed
