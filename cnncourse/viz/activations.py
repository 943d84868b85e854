"""What a network learned: its kernels as small images, and the feature maps they produce."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.grids import format_number, new_figure

PANEL_INCHES = 1.3


def _panel_grid(n: int, columns: int, *, dpi: float, title_room: float = 0.25):
    """Figure with n square panels in rows of `columns`; returns (figure, axes list)."""
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    fig = new_figure(columns * PANEL_INCHES, rows * (PANEL_INCHES + title_room), dpi=dpi,
                     layout="compressed")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    return fig, axes[:n]


def _kernel_tiles(w) -> list[np.ndarray]:
    """(KH, KW, C_in, F) array or a sequence of (KH, KW) arrays -> list of 2-D or RGB tiles."""
    if isinstance(w, np.ndarray) and w.ndim == 4:
        KH, KW, C_in, F = w.shape
        if C_in == 3:  # first layer of a colour network: each kernel as an RGB patch
            return [_to_unit_range(w[:, :, :, f]) for f in range(F)]
        return [w[:, :, 0, f] for f in range(F)]
    tiles = [np.asarray(kernel, dtype=float) for kernel in w]
    for tile in tiles:
        if tile.ndim != 2 or tile.size == 0:
            raise ValueError(f"kernels must be a (KH, KW, C_in, F) array or a sequence of "
                             f"(KH, KW) arrays, got an element of shape {tile.shape}")
    return tiles


def _to_unit_range(a: np.ndarray) -> np.ndarray:
    low, high = a.min(), a.max()
    return (a - low) / (high - low) if high > low else np.full_like(a, 0.5)


def plot_kernels(
    w: np.ndarray | Sequence[np.ndarray],
    *,
    titles: Sequence[str] | None = None,
    annotate: bool | None = None,
    max_kernels: int = 64,
    columns: int = 8,
    dpi: float = 100,
) -> Figure:
    """Grid of kernels: a Keras/numpy kernel (KH, KW, C_in, F) or a list of (KH, KW) kernels.

    With C_in = 3 each of the F kernels is shown as an RGB patch (scaled to [0, 1]); otherwise
    input channel 0 of each kernel, in a red (positive) / blue (negative) map centred on 0.
    annotate: write the weights in the cells (default: when every kernel has at most 5x5 cells).
    """
    if isinstance(w, np.ndarray) and w.ndim not in (2, 4):
        raise ValueError(f"kernels must be a (KH, KW, C_in, F) array or a sequence of (KH, KW) "
                         f"arrays, got shape {w.shape}")
    tiles = _kernel_tiles([w] if isinstance(w, np.ndarray) and w.ndim == 2 else w)[:max_kernels]
    if not tiles:
        raise ValueError("plot_kernels needs at least one kernel, got none")
    if annotate is None:
        annotate = all(t.ndim == 2 and t.size <= 25 for t in tiles)
    fig, axes = _panel_grid(len(tiles), columns, dpi=dpi)
    for index, (ax, tile) in enumerate(zip(axes, tiles, strict=False)):
        _draw_kernel(ax, tile, annotate)
        ax.set_title(titles[index] if titles else f"kernel {index}", fontsize=8)
    return fig


def _draw_kernel(ax, tile: np.ndarray, annotate: bool) -> None:
    if tile.ndim == 3:
        ax.imshow(tile, interpolation="nearest")
        return
    extent = float(np.abs(tile).max()) or 1.0
    ax.imshow(tile, cmap="RdBu_r", vmin=-extent, vmax=extent, interpolation="nearest")
    if annotate:
        fontsize = 7 if max(tile.shape) <= 3 else 5
        for (row, col), value in np.ndenumerate(tile):
            colour = "white" if abs(value) > 0.6 * extent else "black"
            ax.text(col, row, format_number(value, compact=True), ha="center", va="center",
                    fontsize=fontsize, color=colour)


def plot_feature_maps(
    maps: np.ndarray,
    *,
    max_maps: int = 32,
    columns: int = 8,
    cmap: str = "viridis",
    dpi: float = 100,
) -> Figure:
    """Grid of the C feature maps of one image, maps (H, W, C): what each channel responds to.

    Each map has its own colour scale (dark: weak, bright: strong activation).
    """
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.size == 0:
        raise ValueError(f"feature maps must be one image's activations (H, W, C), "
                         f"got shape {maps.shape}")
    C = min(maps.shape[2], max_maps)
    fig, axes = _panel_grid(C, columns, dpi=dpi)
    for c, ax in enumerate(axes):
        ax.imshow(maps[:, :, c], cmap=cmap, interpolation="nearest")
        ax.set_title(f"channel {c}", fontsize=8)
    return fig
