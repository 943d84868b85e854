"""Which inputs a strided convolution reads, and how output size follows input size.

`plot_input_coverage` writes in every cell of the padded input how many kernel windows read it:
inputs no window reaches are marked in red, padding zeros are dashed. Dumoulin & Visin (2016,
Fig 2.7) draw the case i = 6, k = 3, s = 2, p = 1, where only padding is skipped.
`plot_output_sizes` draws o against i for a few strides: the floor in
o = floor((i + 2p - k) / s) + 1 shows as steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.arithmetic import conv_output_size, padding_amounts
from cnncourse.viz.drawing.colours import PAD_GREY
from cnncourse.viz.drawing.grids import PAGE_INCHES, cell_axes, draw_cell, new_figure

READ_BLUE = "#c6dbef"
MISSED_RED = "#f4a6a6"


def coverage_counts(i: int, k: int, *, stride: int = 1, padding=0, dilation: int = 1
                    ) -> np.ndarray:
    """Windows reading each cell of the padded axis: (p_before + i + p_after,) ints."""
    before, after = padding_amounts(i, k, stride=stride, padding=padding, dilation=dilation)
    o = conv_output_size(i, k, stride=stride, padding=padding, dilation=dilation)
    counts = np.zeros(before + i + after, dtype=int)
    for j in range(o):
        counts[j * stride + np.arange(k) * dilation] += 1
    return counts


def _draw_case(ax, i: int, k: int, stride: int, padding: int, origin) -> None:
    before, _ = padding_amounts(i, k, stride=stride, padding=padding)
    per_axis = coverage_counts(i, k, stride=stride, padding=padding)
    counts = np.outer(per_axis, per_axis)  # windows reading (row, col) in 2D
    n = len(per_axis)
    for row in range(n):
        for col in range(n):
            is_input = before <= row < before + i and before <= col < before + i
            count = counts[row, col]
            if is_input:
                face = READ_BLUE if count else MISSED_RED
                draw_cell(ax, row, col, origin=origin, facecolor=face, edgecolor="black",
                          lw=0.8)
            else:
                draw_cell(ax, row, col, origin=origin, facecolor="white", edgecolor=PAD_GREY,
                          lw=0.8, linestyle=(0, (2, 2)))
            ax.text(origin[0] + col + 0.5, origin[1] + row + 0.5, str(count), ha="center",
                    va="center", fontsize=9, color="black" if is_input else PAD_GREY,
                    fontweight="bold" if is_input and not count else "normal")


def plot_input_coverage(cases: Sequence[tuple[int, int, int, int]], *, dpi: float = 100
                        ) -> Figure:
    """One grid per case (i, k, s, p): how many windows read each cell of the padded input.

    Blue: an input read by at least one window; red: an input no window reaches; dashed:
    padding zeros. The title gives the output size o.
    """
    if not cases:
        raise ValueError("plot_input_coverage needs at least one case (i, k, s, p), got none")
    sizes = []
    for case in cases:
        if len(case) != 4:
            raise ValueError(f"a case is (i, k, s, p), got {case!r}")
        i, k, s, p = case
        sizes.append(i + 2 * p)
    gap = 1.5
    total = sum(sizes) + gap * (len(cases) - 1)
    cell = min(0.38, (PAGE_INCHES - 0.3) / total)
    height = max(sizes)
    fig_w, fig_h = total * cell + 0.3, height * cell + 0.75
    fig = new_figure(fig_w, fig_h, dpi=dpi)
    ax = cell_axes(fig, total, height, rect=(0.15 / fig_w, 0.1 / fig_h, total * cell / fig_w,
                                             height * cell / fig_h))
    x = 0.0
    for (i, k, s, p), size in zip(cases, sizes, strict=True):
        _draw_case(ax, i, k, s, p, origin=(x, (height - size) / 2))
        o = conv_output_size(i, k, stride=s, padding=p)
        ax.text(x + size / 2, (height - size) / 2 - 0.3,
                f"i={i}, k={k}, s={s}, p={p}\n\u2192 o={o}", ha="center", va="bottom",
                fontsize=10)
        x += size + gap
    return fig


def plot_output_sizes(
    k: int, strides: Sequence[int], *, padding=0, max_input: int = 16, dpi: float = 100
) -> Figure:
    """Output size o against input size i (k..max_input) for each stride: floor steps."""
    if max_input < k:
        raise ValueError(f"max_input must be at least the kernel size {k}, got {max_input}")
    fig = new_figure(6.0, 3.2, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    inputs = np.arange(k, max_input + 1)
    for s in strides:
        outputs = [conv_output_size(int(i), k, stride=s, padding=padding) for i in inputs]
        ax.step(inputs, outputs, where="post", lw=1.8, label=f"stride {s}")
        ax.plot(inputs, outputs, "o", ms=4, color=ax.lines[-1].get_color())
    ax.set_xlabel("input size i", fontsize=10)
    ax.set_ylabel("output size o", fontsize=10)
    ax.set_title(f"kernel k = {k}, padding {padding!r}", fontsize=10)
    ax.set_xticks(inputs)
    ax.tick_params(labelsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig
