"""What a network learned: its kernels as small images, and the feature maps they produce."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import format_number, new_figure

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


def plot_layer_activations(
    activations: Sequence[tuple[str, np.ndarray]],
    *,
    max_maps: int = 8,
    dpi: float = 100,
) -> Figure:
    """What every layer computes for one input: a row per (name, activation) pair.

    An activation (H, W, C) shows its first `max_maps` channels as images (each on its own
    colour scale, dark: weak); a vector (D,) of at most 16 values is a bar chart indexed from 0
    (class scores or probabilities); a longer vector is one strip of D cells, wrapped into rows
    of at most 42. The row's label gives the layer's name and its full shape.
    """
    if not activations:
        raise ValueError("plot_layer_activations needs at least one (name, activation), got none")
    rows = [(name, np.asarray(a)) for name, a in activations]
    for name, a in rows:
        if a.ndim not in (1, 3) or a.size == 0:
            raise ValueError(f"activation {name!r} must be (H, W, C) or (D,), got shape {a.shape}")
    fig = new_figure(7.0, 0.95 * len(rows), dpi=dpi)
    grid = fig.add_gridspec(len(rows), max_maps + 1, left=0.01, right=0.99, top=0.97,
                            bottom=0.03, wspace=0.12, hspace=0.45)  # fmt: skip
    for r, (name, a) in enumerate(rows):
        label = fig.add_subplot(grid[r, 0])
        label.set_axis_off()
        label.text(0, 0.5, f"{name}\n{'×'.join(map(str, a.shape))}", va="center", fontsize=9)
        if a.ndim == 3:
            for c in range(min(a.shape[2], max_maps)):
                ax = fig.add_subplot(grid[r, 1 + c])
                ax.imshow(a[:, :, c], cmap="viridis", interpolation="nearest")
                ax.set_axis_off()
        else:
            _draw_vector(fig.add_subplot(grid[r, 1:]), a)
    return fig


def _draw_vector(ax, a: np.ndarray) -> None:
    """A short vector as bars labelled 0..D-1, a long one as wrapped rows of cells."""
    if a.size <= 16:
        ax.bar(np.arange(a.size), a, color="#5b9bd5")
        ax.set_xticks(np.arange(a.size))
        ax.tick_params(labelsize=9, length=0)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        return
    width = min(42, a.size)
    cells = np.full(math.ceil(a.size / width) * width, np.nan)
    cells[: a.size] = a
    ax.imshow(cells.reshape(-1, width), cmap="viridis", interpolation="nearest", aspect="auto")
    ax.set_axis_off()
