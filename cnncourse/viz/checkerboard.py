"""Why transposed convolutions draw checkerboards: how many kernel taps write each output pixel.

A transposed convolution with stride s scatters one copy of its k x k kernel per input pixel,
s pixels apart. When k is not a multiple of s the copies overlap unevenly: with k = 3, s = 2
some output pixels receive 1 contribution, others 2 or 4, and that pattern shows up as a
checkerboard in generated images (Odena, Dumoulin & Olah, 2016). With k = 4, s = 2 every
pixel away from the border receives the same number. The counts are the transposed convolution
(`cnncourse.nn.conv_transpose2d_forward`) of an all-ones input with an all-ones kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.labelled_grids import LABEL_ROOM, draw_labelled_matrix, matrices_figure

GAP = 1.5


def overlap_counts(input_size: int, kernel_size: int, stride: int) -> np.ndarray:
    """Kernel taps that write each output pixel: (o, o), o = (input_size - 1) * stride + k.

    The transposed convolution ('valid', no cropping) of ones (1, n, n, 1) with ones (k, k).
    """
    from cnncourse.nn import conv_transpose2d_forward

    ones = np.ones((1, input_size, input_size, 1))
    counts, _ = conv_transpose2d_forward(ones, np.ones((kernel_size, kernel_size, 1, 1)),
                                         stride=stride, padding=0)
    return counts[0, :, :, 0]


def plot_transposed_overlap(input_size: int = 4, kernel_sizes: Sequence[int] = (3, 4),
                            stride: int = 2, *, dpi: float = 100) -> Figure:
    """One annotated grid of `overlap_counts` per kernel size, side by side."""
    if len(kernel_sizes) == 0:
        raise ValueError("kernel_sizes must name at least one kernel size, got none")
    grids = [overlap_counts(input_size, k, stride) for k in kernel_sizes]
    height = max(g.shape[0] for g in grids) + LABEL_ROOM
    width = sum(g.shape[1] for g in grids) + GAP * (len(grids) - 1)
    title = (f"transposed convolution of a {input_size}x{input_size} input, stride {stride}:\n"
             "how many kernel taps add into each output pixel")
    fig, ax = matrices_figure(width, height, title, cell_inches=0.32, dpi=dpi)
    x0 = 0.0
    for k, counts in zip(kernel_sizes, grids, strict=True):
        inner = counts[k:-k, k:-k] if counts.shape[0] > 2 * k else counts
        kind = "even" if inner.min() == inner.max() else "uneven"
        label = f"k = {k}: {kind} inside ({', '.join(f'{v:.0f}' for v in np.unique(inner))})"
        draw_labelled_matrix(ax, counts, origin=(x0, LABEL_ROOM), label=label,
                             cmap="Oranges", fontsize=9)
        x0 += counts.shape[1] + GAP
    return fig
