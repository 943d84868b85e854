"""The non-linearity stage of a convolution layer: ReLU(x) = max(0, x), as a graph and on a map.

The map's numbers after the stage come from `cnncourse.nn.relu_forward`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import cell_axes, new_figure
from cnncourse.viz.drawing.labelled_grids import draw_labelled_matrix, operator_sign

CELL_INCHES = 0.35  # 5-column maps: the figure stays within 7 in
GRAPH_INCHES = 2.4


def plot_relu(pre_activation: np.ndarray, *, dpi: float = 100) -> Figure:
    """Left: the graph of ReLU(x) = max(0, x). Right: a feature map (H, W) before the stage
    and after it, numbers in the cells (every negative value becomes 0, the rest pass)."""
    from cnncourse.nn import relu_forward

    z = np.asarray(pre_activation, dtype=float)
    if z.ndim != 2 or z.size == 0 or z.shape[1] > 7:
        raise ValueError(f"pre_activation must be a matrix (H, W) with W <= 7, got shape "
                         f"{z.shape}")
    a, _ = relu_forward(z)
    H, W = z.shape
    cells_wide, cells_high = 2 * W + 1.6, H + 1.2
    grid_inches = cells_wide * CELL_INCHES
    width = GRAPH_INCHES + 0.5 + grid_inches
    height = max(cells_high * CELL_INCHES, GRAPH_INCHES) + 0.2
    fig = new_figure(width, height, dpi=dpi)
    graph = fig.add_axes((0.6 / width, 0.55 / height, (GRAPH_INCHES - 0.6) / width,
                          (height - 0.9) / height))
    t = np.linspace(-3, 3, 121)
    graph.plot(t, np.maximum(t, 0), color="#d62728", lw=2.5)
    graph.axhline(0, color="grey", lw=0.6)
    graph.axvline(0, color="grey", lw=0.6)
    graph.set(xlabel="input x", ylabel="ReLU(x)", xlim=(-3, 3), ylim=(-0.5, 3))
    graph.set_title("ReLU(x) = max(0, x)", fontsize=10)
    graph.tick_params(labelsize=9)
    ax = cell_axes(fig, cells_wide, cells_high,
                   rect=((GRAPH_INCHES + 0.5) / width, 0.1 / height, grid_inches / width,
                         cells_high * CELL_INCHES / height))
    draw_labelled_matrix(ax, z, origin=(0, 1.2), label="before (z)", cmap="RdBu_r")
    operator_sign(ax, W + 0.8, 1.2 + H / 2, "\u2192")
    draw_labelled_matrix(ax, a, origin=(W + 1.6, 1.2), label="after ReLU", cmap="Reds")
    return fig
