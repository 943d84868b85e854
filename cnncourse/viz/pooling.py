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

from cnncourse.viz.drawing.colours import WINDOW_ORANGE
from cnncourse.viz.drawing.grids import FRAME_DPI, draw_cell, draw_matrix, titled_cell_figure

POOL_MODES = ("max", "average", "sum")
WINDOW_LINE_WIDTH = 3.0  # points: well above the 0.8 pt cell grid, so a window reads as one block
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


def plot_pooling_modes(x: np.ndarray, pool_size: int = 2, stride: int | None = None, *,
                       dpi: float = 100) -> Figure:
    """The input matrix x (H, W) and its max, average and sum pooling side by side, every
    number in its cell; the first window and the output cell it gives are outlined."""
    from cnncourse.viz.drawing.labelled_grids import (
        LABEL_ROOM,
        draw_labelled_matrix,
        matrices_figure,
        outline,
    )

    x = _as_matrix(x)
    stride = pool_size if stride is None else stride
    outs = [pooled_values(x, pool_size, stride, mode) for mode in POOL_MODES]
    (H, W), (Ho, Wo) = x.shape, outs[0].shape
    height = max(H, Ho) + LABEL_ROOM
    width = W + 3 * (GAP / 2 + 0.5 + Wo)
    title = f"{pool_size}x{pool_size} pooling, stride {stride}: {H}x{W} \u2192 {Ho}x{Wo}"
    fig, ax = matrices_figure(width, height, title, dpi=dpi)
    top = LABEL_ROOM + (max(H, Ho) - H) / 2
    draw_labelled_matrix(ax, x, origin=(0, top), label="input")
    outline(ax, 0, 0, pool_size, pool_size, origin=(0, top))
    x0 = W + GAP / 2 + 0.5
    for mode, out in zip(POOL_MODES, outs, strict=True):
        origin = (x0, LABEL_ROOM + (max(H, Ho) - Ho) / 2)
        draw_labelled_matrix(ax, out, origin=origin, label=mode, cmap="GnBu")
        outline(ax, 0, 0, 1, 1, origin=origin)
        x0 += Wo + GAP / 2 + 0.5
    return fig


def pooled_changes(x: np.ndarray, shift: int = 1, pool_size: int = 2) -> tuple[float, float]:
    """Fractions of values that change when x (H, W) moves `shift` columns to the right
    (zeros enter on the left): (of the map's non-zero values, of its max-pooled values)."""
    x = _as_matrix(x)
    moved = _shift_right(x, shift)
    nonzero = (x != 0) | (moved != 0)
    map_changed = float(np.mean(x[nonzero] != moved[nonzero])) if nonzero.any() else 0.0
    pooled_changed = np.mean(pooled_values(x, pool_size) != pooled_values(moved, pool_size))
    return map_changed, float(pooled_changed)


def _shift_right(x: np.ndarray, shift: int) -> np.ndarray:
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 < shift < x.shape[1]:
        raise ValueError(f"shift must be an int in [1, {x.shape[1]}), got {shift!r}")
    moved = np.zeros_like(x)
    moved[:, shift:] = x[:, :-shift]
    return moved


def plot_shift_invariance(x: np.ndarray, shift: int = 1, pool_size: int = 2, *,
                          dpi: float = 100) -> Figure:
    """A feature map x (H, W) and its max pooling; the same map moved `shift` columns right and
    its max pooling. Orange lines mark the pooling windows; pooled values that the shift changed
    are outlined in red, the others stayed exactly as they were."""
    from cnncourse.viz.drawing.labelled_grids import (
        LABEL_ROOM,
        draw_labelled_matrix,
        matrices_figure,
        outline,
    )

    x = _as_matrix(x)
    moved = _shift_right(x, shift)
    pooled, pooled_moved = pooled_values(x, pool_size), pooled_values(moved, pool_size)
    changed = pooled != pooled_moved
    (H, W), (Ho, Wo) = x.shape, pooled.shape
    block = W + 0.8 + Wo
    title = (f"moved {shift} pixel right: {int(changed.sum())} of {changed.size} "
             f"max-pooled values change (outlined red)")
    fig, ax = matrices_figure(2 * block + GAP, H + LABEL_ROOM, title, cell_inches=0.3, dpi=dpi)
    for x0, a, p, name in ((0.0, x, pooled, "feature map"),
                           (block + GAP, moved, pooled_moved, "moved right")):
        draw_labelled_matrix(ax, a, origin=(x0, LABEL_ROOM), label=name, fontsize=9)
        for i in range(Ho):
            for j in range(Wo):
                outline(ax, i * pool_size, j * pool_size, pool_size, pool_size,
                        origin=(x0, LABEL_ROOM), colour=WINDOW_ORANGE, lw=WINDOW_LINE_WIDTH)
        origin = (x0 + W + 0.8, LABEL_ROOM + (H - Ho) / 2)
        draw_labelled_matrix(ax, p, origin=origin, label="pooled", cmap="GnBu", fontsize=9)
        if x0 > 0:
            for i, j in np.argwhere(changed):
                outline(ax, i, j, 1, 1, origin=origin, colour="red", lw=2.5)
    return fig


def plot_pooling_gradient(x: np.ndarray, dout: np.ndarray, pool_size: int = 2,
                          stride: int | None = None, mode: str = "max", *,
                          dpi: float = 100) -> Figure:
    """Backward pass of pooling: the input x (H, W) (in max mode the winning unit of every
    window shaded red), the upstream gradient dout (Ho, Wo) and the gradient dx (H, W) that
    `cnncourse.nn.maxpool2d_backward` / `avgpool2d_backward` send to the input."""
    from cnncourse import nn
    from cnncourse.viz.drawing.labelled_grids import (
        LABEL_ROOM,
        draw_labelled_matrix,
        matrices_figure,
        operator_sign,
    )

    x = _as_matrix(x)
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    forward, backward = ((nn.maxpool2d_forward, nn.maxpool2d_backward) if mode == "max"
                         else (nn.avgpool2d_forward, nn.avgpool2d_backward))
    out, cache = forward(x[None, :, :, None], pool_size=pool_size, stride=stride)
    dout = np.asarray(dout, dtype=float)
    if dout.shape != out.shape[1:3]:
        raise ValueError(f"dout must have the pooled shape {out.shape[1:3]}, got {dout.shape}")
    dx = backward(dout[None, :, :, None], cache)[0, :, :, 0]
    (H, W), (Ho, Wo) = x.shape, dout.shape
    height = H + LABEL_ROOM
    width = 2 * W + Wo + 2 * (GAP + 0.4)
    title = f"{mode} pooling {pool_size}x{pool_size}, backward: the gradient goes " + (
        "to the winning units" if mode == "max" else "evenly to every input of its window")
    fig, ax = matrices_figure(width, height, title, dpi=dpi)
    draw_labelled_matrix(ax, x, origin=(0, LABEL_ROOM), label="input x")
    if mode == "max":
        for row, col in np.argwhere(dx != 0):
            draw_cell(ax, row, col, origin=(0, LABEL_ROOM), facecolor="red", alpha=0.45,
                      edgecolor="none")
    x_dout = W + GAP + 0.4
    draw_labelled_matrix(ax, dout, origin=(x_dout, LABEL_ROOM + (H - Ho) / 2),
                         label="upstream dout", cmap="Oranges")
    operator_sign(ax, x_dout + Wo + (GAP + 0.4) / 2, LABEL_ROOM + H / 2, "\u2192")
    draw_labelled_matrix(ax, dx, origin=(x_dout + Wo + GAP + 0.4, LABEL_ROOM),
                         label="dx", cmap="Oranges")
    return fig
