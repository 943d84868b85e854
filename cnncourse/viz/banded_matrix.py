"""A 1D convolution as the matrix W of z = W x, next to a fully connected layer's matrix.

A convolution is linear in its input, so it is a matrix product; its matrix is banded (each
output reads a few neighbouring inputs: locality) and constant along its diagonals (the same
weights at every position: parameter sharing), as Prince (2023, chapter 10) draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import PAGE_INCHES, cell_axes, draw_cell, format_number, new_figure

TAP_COLOURS = ("#fdb863", "#80cdc1", "#b2abd2", "#f4a6a6", "#a6d96a")


def convolution_matrix(
    kernel: Sequence[float], length: int, *, stride: int = 1, padding=0, dilation: int = 1
) -> np.ndarray:
    """The matrix W (Lo, L) with W @ x == conv1d(x) for signals x (L,), one channel.

    Column j is the layer's answer to the unit vector e_j, computed by
    `cnncourse.nn.conv1d_forward` (same stride, padding and dilation).
    """
    from cnncourse.nn import conv1d_forward

    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 1 or kernel.size == 0:
        raise ValueError(f"kernel must be a non-empty 1-D array (K,), got shape {kernel.shape}")
    if not isinstance(length, int | np.integer) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    unit_vectors = np.eye(length)[:, :, None]  # (L, L, 1): L signals of one channel
    columns, _ = conv1d_forward(unit_vectors, kernel[:, None, None], stride=stride,
                                padding=padding, dilation=dilation)  # (L, Lo, 1)
    return columns[:, :, 0].T  # (Lo, L)


def _tap_index(kernel: np.ndarray, length: int, **options) -> np.ndarray:
    """(Lo, L) array: which tap t (0..K-1) of the kernel sits in each cell, -1 where none."""
    K = len(kernel)
    codes = [convolution_matrix(np.eye(K)[t], length, **options) for t in range(K)]
    index = np.full(codes[0].shape, -1)
    for t, code in enumerate(codes):
        index[code == 1] = t
    return index


def _draw_coded(ax, code: np.ndarray, labels: np.ndarray | None, colours) -> None:
    rgb = np.ones((*code.shape, 3))  # (Lo, L, 3): white where no weight connects
    palette = np.array([to_rgb(c) for c in colours])
    rgb[code >= 0] = palette[code[code >= 0]]
    ax.imshow(rgb, interpolation="nearest", extent=(0, code.shape[1], code.shape[0], 0))
    for (row, col), value in np.ndenumerate(code):
        draw_cell(ax, row, col, fill=False, edgecolor="#b0b0b0", lw=0.5)
        if labels is not None and value >= 0:
            ax.text(col + 0.5, row + 0.5, labels[row, col], ha="center", va="center",
                    fontsize=9)


def plot_convolution_matrix(
    kernel: Sequence[float], length: int, *, stride: int = 1, padding=0, dilation: int = 1,
    dpi: float = 100,
) -> Figure:
    """W (Lo, L) of a 1D convolution with its weights written in, one colour per kernel tap."""
    kernel = np.asarray(kernel, dtype=float)
    options = dict(stride=stride, padding=padding, dilation=dilation)
    W = convolution_matrix(kernel, length, **options)
    code = _tap_index(kernel, length, **options)
    labels = np.vectorize(format_number)(W)
    Lo, L = W.shape
    cell = min(0.4, (PAGE_INCHES - 0.4) / L)
    fig = new_figure(L * cell + 0.4, Lo * cell + 0.55, dpi=dpi)
    ax = cell_axes(fig, L, Lo, rect=(0.2 / (L * cell + 0.4), 0.1 / (Lo * cell + 0.55),
                                      L * cell / (L * cell + 0.4),
                                      Lo * cell / (Lo * cell + 0.55)))
    _draw_coded(ax, code, labels, TAP_COLOURS[: len(kernel)] if len(kernel) <= 5
                else ["#fdb863"] * len(kernel))
    taps = ", ".join(format_number(v) for v in kernel)
    ax.set_title(f"W: {Lo} outputs x {L} inputs, kernel ({taps})", fontsize=10)
    return fig


def plot_connectivity_matrices(length: int = 8, kernel_size: int = 3, *, dpi: float = 100
                               ) -> Figure:
    """Three weight matrices of layers from `length` inputs, side by side, colour = weight.

    Fully connected (every cell its own weight), locally connected (a band, each cell its own
    weight) and convolutional (the band, one colour per tap: K shared weights).
    """
    if kernel_size < 1 or kernel_size > length:
        raise ValueError(f"kernel_size must be between 1 and length={length}, got "
                         f"{kernel_size}")
    code = _tap_index(np.ones(kernel_size), length)  # (Lo, L)
    Lo, L = code.shape
    rng = np.random.default_rng(0)
    n_colours = Lo * L
    palette = [tuple(c) for c in rng.uniform(0.35, 0.95, size=(n_colours, 3))]
    distinct = np.arange(n_colours).reshape(Lo, L)
    panels = [
        ("fully connected", distinct, palette, f"{Lo * L} weights"),
        ("locally connected", np.where(code >= 0, distinct, -1), palette,
         f"{(code >= 0).sum()} weights"),
        ("convolution", code, TAP_COLOURS[:kernel_size], f"{kernel_size} shared weights"),
    ]
    cell = min(0.28, (PAGE_INCHES - 0.6) / (3 * L + 2))
    width, height = (3 * L + 2) * cell + 0.4, Lo * cell + 0.75
    fig = new_figure(width, height, dpi=dpi)
    for index, (name, coded, colours, count) in enumerate(panels):
        left = 0.2 + index * (L + 1) * cell
        ax = cell_axes(fig, L, Lo, rect=(left / width, 0.1 / height, L * cell / width,
                                         Lo * cell / height))
        _draw_coded(ax, coded, None, colours)
        ax.set_title(f"{name}\n{count}", fontsize=9)
    return fig
