"""Shift equivariance of a convolution, drawn so that the shift is visible.

Four panels: the image x and its feature map f(x) on top, the shifted image t(x) and f(t(x))
below. A dashed box marks where the object was in x, a solid box where it is now; the feature
map's box moves by the same offset (equivariance), while its largest value, written in the
title, stays the same (global max pooling is invariant).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnncourse.viz.drawing.grids import new_figure

BOX_RED = "#d62728"


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def _draw_box(ax, box, *, dashed: bool) -> None:
    top, left, bottom, right = box
    ax.add_patch(Rectangle((left - 1.5, top - 1.5), right - left + 3, bottom - top + 3,
                           fill=False, edgecolor=BOX_RED, lw=1.8,
                           linestyle=(0, (3, 2)) if dashed else "-"))


def _show(ax, image: np.ndarray, *, signed: bool, title: str) -> None:
    if signed:
        extent = float(np.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-extent, vmax=extent, interpolation="nearest")
    else:
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    H, W = image.shape
    ax.set_xticks(np.arange(-0.5, W, 8), minor=False)
    ax.set_yticks(np.arange(-0.5, H, 8), minor=False)
    ax.grid(color="#c8c8c8", lw=0.5)
    ax.tick_params(labelbottom=False, labelleft=False, length=0)
    ax.set_title(title, fontsize=10)


def plot_equivariance(image: np.ndarray, kernel: np.ndarray, shift: tuple[int, int], *,
                      dpi: float = 100) -> Figure:
    """x, f(x), t(x) and f(t(x)) for a grey image (H, W) in [0, 1], f = cross-correlation
    with kernel (KH, KW) ('same' padding), t = a shift by (dy, dx) pixels.

    The object (the pixels > 0 of x) must stay inside the image after the shift: then
    f(t(x)) equals t(f(x)) exactly, and the figure shows a true translation.
    """
    from cnncourse.filters import apply_filter

    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or not np.any(image > 0):
        raise ValueError(f"image must be a grey (H, W) array with an object (values > 0), "
                         f"got shape {image.shape}")
    dy, dx = shift
    top, left, bottom, right = _bounding_box(image > 0)
    H, W = image.shape
    margin = kernel.shape[0] // 2 + 1
    if not (margin <= top + dy and bottom + dy < H - margin and margin <= left + dx
            and right + dx < W - margin):
        raise ValueError(f"shift {shift!r} moves the object (rows {top}..{bottom}, columns "
                         f"{left}..{right}) too close to the border of the {H}x{W} image")
    moved = np.roll(image, (dy, dx), axis=(0, 1))  # a true translation: only zeros wrap
    f_x, f_tx = apply_filter(image, kernel), apply_filter(moved, kernel)
    box = (top, left, bottom, right)
    box_moved = (top + dy, left + dx, bottom + dy, right + dx)
    fig = new_figure(6.4, 6.6, dpi=dpi, layout="compressed")
    axes = fig.subplots(2, 2)
    _show(axes[0, 0], image, signed=False, title="x")
    _show(axes[0, 1], f_x, signed=True, title=f"f(x)   (max {f_x.max():.3g})")
    _show(axes[1, 0], moved, signed=False, title=f"t(x): x shifted by ({dy}, {dx})")
    _show(axes[1, 1], f_tx, signed=True, title=f"f(t(x))   (max {f_tx.max():.3g})")
    for ax in axes[0]:
        _draw_box(ax, box, dashed=False)
    for ax in axes[1]:
        _draw_box(ax, box, dashed=True)
        _draw_box(ax, box_moved, dashed=False)
    return fig
