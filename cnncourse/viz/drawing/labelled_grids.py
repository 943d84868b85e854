"""Matrices drawn as numbered cells with a label above them, side by side on one figure.

The worked examples of the convolutional-layer, pooling and training chapters (multi-channel
convolution, im2col, ReLU, pooling gradients, overlap of a transposed convolution) are rows of
such matrices. Positions are in cells, as in `cnncourse.viz.drawing.grids`: y points down, a matrix
(H, W) at `origin` (x0, y0) covers [x0, x0 + W] x [y0, y0 + H].
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnncourse.viz.drawing.colours import WINDOW_ORANGE
from cnncourse.viz.drawing.grids import draw_cell, draw_matrix, titled_cell_figure

LABEL_POINTS = 10
LABEL_ROOM = 1.0  # cells above every matrix kept for its label


def draw_labelled_matrix(ax: Axes, a: np.ndarray, *, origin: tuple[float, float], label: str,
                         cmap: str = "Blues", fontsize: float = 10) -> list:
    """Matrix a (H, W) with its numbers at `origin`, `label` centred above it.

    Returns the number labels in row-major order (as `draw_matrix`).
    """
    a = np.asarray(a, dtype=float)
    x0, y0 = origin
    texts = draw_matrix(ax, a, origin=origin, cmap=cmap, fontsize=fontsize)
    ax.text(x0 + a.shape[1] / 2, y0 - 0.25, label, ha="center", va="bottom",
            fontsize=LABEL_POINTS)
    return texts


def outline(ax: Axes, row: float, col: float, height: float, width: float, *,
            origin: tuple[float, float], colour: str = WINDOW_ORANGE, lw: float = 3):
    """Outline a block of height x width cells whose top-left cell is (row, col)."""
    patch = draw_cell(ax, row, col, origin=origin, fill=False, edgecolor=colour, lw=lw)
    patch.set_width(width)
    patch.set_height(height)
    return patch


def matrices_figure(width: float, height: float, title: str, *, cell_inches: float = 0.4,
                    dpi: float = 100) -> tuple[Figure, Axes]:
    """Cell figure for a drawing `width` x `height` cells (labels included) under a title.

    Cells are at most `cell_inches` wide and shrink to keep the figure within the page.
    """
    return titled_cell_figure(width, height, title, max_cell_inches=cell_inches, dpi=dpi)


def operator_sign(ax: Axes, x: float, y: float, sign: str) -> None:
    """A large operator (x, =, +) centred at (x, y) between two matrices."""
    ax.text(x, y, sign, ha="center", va="center", fontsize=14)
