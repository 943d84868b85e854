"""Small annotated grids in a row joined by symbols: a worked example read as an equation.

`plot_grid_equation` draws e.g. patch (x) kernel = products -> sum 7, one number per cell, the
way the lecture slides write one step of a cross-correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import PAGE_INCHES, cell_axes, draw_matrix, new_figure, text_inches

SYMBOL_CELLS = 1.2  # room for a symbol between two grids, in cells


def plot_grid_equation(
    grids: Sequence[np.ndarray],
    titles: Sequence[str],
    symbols: Sequence[str],
    *,
    result: str | None = None,
    cmap: str = "Blues",
    dpi: float = 100,
) -> Figure:
    """Grids (H_i, W_i) in a row, `symbols[i]` between grid i and i + 1, `result` at the end.

    Example: plot_grid_equation([patch, kernel, patch * kernel], ["patch", "kernel",
    "products"], ["\u2299", "="], result="sum = 7").
    """
    grids = [np.asarray(g, dtype=float) for g in grids]
    if not grids or any(g.ndim != 2 or g.size == 0 for g in grids):
        raise ValueError(f"grids must be non-empty 2-D arrays, got shapes "
                         f"{[g.shape for g in grids]}")
    if len(titles) != len(grids) or len(symbols) != len(grids) - 1:
        raise ValueError(f"need one title per grid and one symbol between two grids, got "
                         f"{len(grids)} grids, {len(titles)} titles, {len(symbols)} symbols")
    grid_cells = sum(g.shape[1] for g in grids) + SYMBOL_CELLS * (len(grids) - 1)
    result_inches = text_inches(result, 12) * 1.1 + 0.15 if result else 0.0
    height = max(g.shape[0] for g in grids)
    cell = min(0.5, (PAGE_INCHES - 0.3 - result_inches) / grid_cells)
    width = grid_cells + result_inches / cell
    fig_height = (height + 1) * cell + 0.2
    fig = new_figure(width * cell + 0.3, fig_height, dpi=dpi)
    ax = cell_axes(fig, width, height + 1, rect=(0.15 / (width * cell + 0.3), 0.1 / fig_height,
                                                 width * cell / (width * cell + 0.3),
                                                 (height + 1) * cell / fig_height))
    ax.set_ylim(height + 0.1, -0.9)  # a cell of room above the grids for their titles
    x = 0.0
    for index, (grid, title) in enumerate(zip(grids, titles, strict=True)):
        top = (height - grid.shape[0]) / 2
        draw_matrix(ax, grid, origin=(x, top), cmap=cmap, fontsize=10)
        ax.text(x + grid.shape[1] / 2, top - 0.3, title, ha="center", va="bottom", fontsize=10)
        x += grid.shape[1]
        if index < len(symbols):
            ax.text(x + SYMBOL_CELLS / 2, height / 2, symbols[index], ha="center", va="center",
                    fontsize=16)
            x += SYMBOL_CELLS
    if result:
        ax.text(x + 0.3, height / 2, result, ha="left", va="center", fontsize=12,
                fontweight="bold")
    return fig
