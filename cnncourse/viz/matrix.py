"""A small matrix drawn as coloured cells with its numbers, for worked examples."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import cell_axes, draw_matrix, new_figure


def plot_matrix(
    a: np.ndarray,
    annotate: bool = True,
    *,
    title: str | None = None,
    highlight: np.ndarray | None = None,
    cmap: str = "Blues",
    cell_inches: float = 0.45,
) -> Figure:
    """Small matrix (H, W) drawn as coloured cells with its numbers in them, for worked examples.

    highlight: optional boolean mask (H, W) of cells outlined in red (a window, a max).
    """
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"plot_matrix needs a non-empty 2-D array (H, W), got shape {a.shape}")
    H, W = a.shape
    fig = new_figure(W * cell_inches + 0.2, H * cell_inches + (0.5 if title else 0.2))
    ax = cell_axes(fig, W, H)
    draw_matrix(ax, a, annotate=annotate, highlight=highlight, cmap=cmap)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
