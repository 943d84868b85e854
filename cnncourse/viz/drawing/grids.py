"""Grids of square cells, the drawing vocabulary of the arithmetic figures.

Cell (row, col) of a grid whose top-left corner is at `origin` = (x0, y0) is the unit square
with corner (x0 + col, y0 + row); axes made by `cell_axes` point y downwards, as an array does.
Figures are built with `matplotlib.figure.Figure`, not pyplot, so a notebook shows a figure
once (when it is returned) and never keeps a stray static copy of an animation.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path

from cnncourse.viz.drawing.colours import INPUT_BLUE, PAD_GREY

# Layout of the figures and animations shown in the book, measured on the built pages.
PAGE_INCHES = 7.0  # the book's text column is about 700 px wide: at 100 dpi a frame fits as drawn
FRAME_DPI = 100  # 1 pt = 1.4 px: an 11 pt title is 15 px high, as legible as the page's text
TITLE_POINTS = 11
MARGIN_INCHES = 0.1


def new_figure(width: float, height: float, *, dpi: float = 100, layout: str | None = None
               ) -> Figure:
    """A figure outside pyplot's list of open figures (nothing to close, shown once).

    layout: None (axes placed by hand) or a matplotlib layout engine such as 'compressed'
    (grids of images packed without gaps).
    """
    return Figure(figsize=(width, height), dpi=dpi, layout=layout)


def cell_axes(fig: Figure, width: float, height: float, rect=(0, 0, 1, 1)) -> Axes:
    """Axes with unit cells, y pointing down, no ticks, showing [0, width] x [0, height]."""
    ax = fig.add_axes(rect)
    ax.set_xlim(-0.1, width + 0.1)
    ax.set_ylim(height + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.set_autoscale_on(False)  # images drawn later keep these limits
    ax.set_axis_off()
    return ax


def text_inches(text: str, points: float) -> float:
    """Width in inches of the longest line of `text` set in matplotlib's default font."""
    prop = FontProperties(size=points)
    widths = [text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]
              for line in text.split("\n")]
    return max(widths) / 72


def titled_cell_figure(
    width: float,
    height: float,
    title: str,
    *,
    max_cell_inches: float,
    sides: tuple[float, float] = (0.0, 0.0),
    dpi: float = FRAME_DPI,
) -> tuple[Figure, Axes]:
    """Figure with cell axes for a drawing of `width` x `height` cells under a title.

    Cells are `max_cell_inches` wide, or smaller where the drawing would be wider than the page
    (PAGE_INCHES), so a frame is never scaled down by the browser. sides: room in inches left and
    right of the cells for labels (x < 0 and x > width on the axes). The figure is as wide as
    the longest title line when that is wider than the drawing, with the cells centred under it.
    Raises ValueError when a title line is wider than the page.
    """
    usable = PAGE_INCHES - 2 * MARGIN_INCHES
    title_width = text_inches(title, TITLE_POINTS)
    if title_width > usable:
        raise ValueError(f"title line wider than the page ({title_width:.1f} in > {usable:.1f} "
                         f"in), got {title!r}")
    cell = min(max_cell_inches, (usable - sum(sides)) / (width + 0.2))
    drawing = ((width + 0.2) * cell + sum(sides), (height + 0.2) * cell)
    title_height = (title.count("\n") + 1) * TITLE_POINTS * 1.3 / 72
    fig_width = max(drawing[0], title_width) + 2 * MARGIN_INCHES
    fig_height = drawing[1] + title_height + 3 * MARGIN_INCHES
    fig = new_figure(fig_width, fig_height, dpi=dpi)
    rect = ((fig_width - drawing[0]) / 2 / fig_width, MARGIN_INCHES / fig_height,
            drawing[0] / fig_width, drawing[1] / fig_height)
    ax = cell_axes(fig, width, height, rect=rect)
    ax.set_xlim(-0.1 - sides[0] / cell, width + 0.1 + sides[1] / cell)
    fig.suptitle(title, fontsize=TITLE_POINTS, y=1 - MARGIN_INCHES / fig_height, va="top")
    return fig, ax


def draw_cell(ax: Axes, row: float, col: float, *, origin=(0.0, 0.0), **style) -> Rectangle:
    """Add the unit square of cell (row, col) of the grid at `origin`; returns the patch.

    Cells are drawn without antialiasing: crisp at low dpi, and their PNG frames stay small.
    """
    x0, y0 = origin
    style.setdefault("antialiased", False)
    patch = Rectangle((x0 + col, y0 + row), 1, 1, **style)
    ax.add_patch(patch)
    return patch


def draw_grid(ax: Axes, mask: np.ndarray, *, origin=(0.0, 0.0), face: str = INPUT_BLUE) -> None:
    """Cells where `mask` (H, W) is True are filled with `face`; the others are dashed outlines
    (padding and inserted zeros)."""
    for (row, col), filled in np.ndenumerate(mask):
        if filled:
            draw_cell(ax, row, col, origin=origin, facecolor=face, edgecolor="black", lw=0.8)
        else:
            draw_cell(ax, row, col, origin=origin, facecolor="white", edgecolor=PAD_GREY,
                      lw=0.8, linestyle=(0, (2, 2)))


def format_number(value: float, *, compact: bool = False) -> str:
    """Integers without a decimal point; numbers below 10 in size with 2 significant digits
    ("0.5", "-0.062", "2.5"); larger ones with at most 2 decimals ("10.25", "-12.5").

    compact: two decimals, without the leading zero below 1 (".11", "-.05", "10.25"), to fit
    small cells.
    """
    value = float(value)
    if value.is_integer():
        return f"{value:.0f}"
    if compact:
        text = f"{value:.2f}"
        return text.replace("0.", ".", 1) if abs(value) < 1 else text
    if abs(value) < 10:
        return f"{value:.2g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def draw_matrix(
    ax: Axes,
    a: np.ndarray,
    *,
    origin=(0.0, 0.0),
    annotate: bool = True,
    highlight: np.ndarray | None = None,
    cmap: str = "Blues",
    fontsize: float = 9,
) -> list:
    """Draw matrix a (H, W) on cell axes at `origin`: colour by value, numbers in the cells.

    Returns the number labels in row-major order (empty when annotate is False).
    """
    x0, y0 = origin
    H, W = a.shape
    finite = a[np.isfinite(a)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    ax.imshow(a, cmap=cmap, vmin=low - 0.25 * (high - low or 1), vmax=high,
              extent=(x0, x0 + W, y0 + H, y0), interpolation="nearest")
    labels = []
    for (row, col), value in np.ndenumerate(a):
        draw_cell(ax, row, col, origin=origin, fill=False, edgecolor="black", lw=0.8)
        if annotate:
            dark = (value - low) / ((high - low) or 1) > 0.6
            labels += ax.text(x0 + col + 0.5, y0 + row + 0.5, format_number(value), ha="center",
                    va="center", fontsize=fontsize, color="white" if dark else "black"),
    if highlight is not None:
        highlight = np.asarray(highlight, dtype=bool)
        if highlight.shape != a.shape:
            raise ValueError(f"highlight must have the matrix's shape {a.shape}, "
                             f"got shape {highlight.shape}")
        for row, col in np.argwhere(highlight):
            draw_cell(ax, row, col, origin=origin, fill=False, edgecolor="red", lw=2.2)
    return labels
