"""Pooling drawn with its numbers: the window moving over the input, the pooled output filling in.

Values come from the course's own layers (`cnncourse.nn.maxpool2d_forward` and
`avgpool2d_forward`), so a figure always shows what the layers compute. In max mode the winning
input of the window is shaded red: the one unit that receives the gradient (ties: the first
in row-major order, as in `cnncourse.nn`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from cnncourse.viz.grids import FRAME_DPI, draw_cell, draw_matrix, titled_cell_figure

POOL_MODES = ("max", "average", "sum")
WINDOW_ORANGE = "#f28e2b"  # stands out on every shade of blue
GAP = 2.0
CELL_INCHES = 0.5  # 50 px at FRAME_DPI: room for a two-digit number at NUMBER_POINTS
NUMBER_POINTS = 11


def pooled_values(
    x: np.ndarray, pool_size: int = 2, stride: int | None = None, mode: str = "max"
) -> np.ndarray:
    """Pool a matrix (H, W) with 'valid' windows: (Ho, Wo), Ho = floor((H - P) / s) + 1.

    mode 'sum' is the average times the window area P * P.
    """
    from cnncourse.nn import avgpool2d_forward, maxpool2d_forward

    x = _as_matrix(x)
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be one of {POOL_MODES}, got {mode!r}")
    batch = x[None, :, :, None]  # (1, H, W, 1)
    if mode == "max":
        out, _ = maxpool2d_forward(batch, pool_size=pool_size, stride=stride)
    else:
        out, _ = avgpool2d_forward(batch, pool_size=pool_size, stride=stride)
        out = out * (pool_size * pool_size if mode == "sum" else 1)
    return out[0, :, :, 0]


def _as_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"pooling figures take a matrix (H, W), got shape {x.shape}")
    return x


def _draw_pooling(x, pool_size, stride, mode, *, dpi) -> tuple[Figure, Callable, int]:
    x = _as_matrix(x)
    stride = pool_size if stride is None else stride
    out = pooled_values(x, pool_size, stride, mode)
    (H, W), (Ho, Wo) = x.shape, out.shape
    width, height = W + GAP + Wo, max(H, Ho)
    title = f"{mode} pooling {pool_size}x{pool_size}, stride {stride}: {H}x{W} \u2192 {Ho}x{Wo}"
    fig, ax = titled_cell_figure(width, height, title, max_cell_inches=CELL_INCHES, dpi=dpi)
    x_origin, out_origin = (0.0, (height - H) / 2), (W + GAP, (height - Ho) / 2)
    draw_matrix(ax, x, origin=x_origin, fontsize=NUMBER_POINTS)
    labels = draw_matrix(ax, out, origin=out_origin, cmap="GnBu", fontsize=NUMBER_POINTS)
    winner = draw_cell(ax, 0, 0, origin=x_origin, facecolor="red", alpha=0.45, edgecolor="none",
                       visible=mode == "max")
    window = draw_cell(ax, 0, 0, origin=x_origin, fill=False, edgecolor=WINDOW_ORANGE, lw=3)
    window.set_width(pool_size)
    window.set_height(pool_size)
    current = draw_cell(ax, 0, 0, origin=out_origin, fill=False, edgecolor=WINDOW_ORANGE, lw=3)

    def update(frame: int, *, show_all: bool = False) -> list:
        i, j = divmod(frame, Wo)
        window.set_xy((x_origin[0] + j * stride, x_origin[1] + i * stride))
        patch = x[i * stride:i * stride + pool_size, j * stride:j * stride + pool_size]
        u, v = divmod(int(np.argmax(patch)), pool_size)  # first maximum in row-major order
        winner.set_xy((x_origin[0] + j * stride + v, x_origin[1] + i * stride + u))
        current.set_xy((out_origin[0] + j, out_origin[1] + i))
        for index, label in enumerate(labels):
            label.set_visible(show_all or index <= frame)
        return [window, winner, current, *labels]

    return fig, update, Ho * Wo


def plot_pooling(
    x: np.ndarray,
    pool_size: int = 2,
    stride: int | None = None,
    mode: str = "max",
    *,
    position: tuple[int, int] = (0, 0),
    dpi: float = 100,
) -> Figure:
    """Static pooling figure: matrix x (H, W) with the window of output cell `position`, and the
    whole pooled output (Ho, Wo) with every number in its cell."""
    fig, update, n_frames = _draw_pooling(x, pool_size, stride, mode, dpi=dpi)
    Wo = pooled_values(x, pool_size, stride, mode).shape[1]
    frame = position[0] * Wo + position[1]
    if not 0 <= frame < n_frames or not 0 <= position[1] < Wo:
        raise ValueError(f"position must lie in the pooled output, got {position!r}")
    update(frame, show_all=True)
    return fig


def animate_pooling(
    x: np.ndarray,
    pool_size: int = 2,
    stride: int | None = None,
    mode: str = "max",
    *,
    dpi: float = FRAME_DPI,
    interval_ms: int = 700,
) -> FuncAnimation:
    """Animation of pooling over a matrix x (H, W): one frame per output cell, Ho * Wo frames,
    the output filling in as the window moves. Show it with `animation_html`."""
    fig, update, n_frames = _draw_pooling(x, pool_size, stride, mode, dpi=dpi)
    return FuncAnimation(fig, update, frames=n_frames, interval=interval_ms)
