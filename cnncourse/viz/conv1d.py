"""A 1D convolution drawn as connections: which inputs each output reads (Prince 2023, ch. 10).

Each panel shows the input signal in a row of cells (dashed cells: zeros of padding), the
output below it, and a line from every output to the inputs under its kernel taps. One output
and its taps are highlighted, so stride (outputs further apart), padding (zeros at the ends)
and dilation (taps spread apart) can be read off the lines. The numbers are computed by
`cnncourse.nn.conv1d_forward`, the course's own layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.arithmetic import padding_amounts
from cnncourse.viz.drawing.colours import KERNEL_NAVY, OUTPUT_CYAN, PAD_GREY
from cnncourse.viz.drawing.grids import PAGE_INCHES, draw_cell, format_number, new_figure

ROW_GAP = 1.6  # cells between the input row and the output row
HIGHLIGHT = "#d62728"


def _setting_title(k: int, stride: int, padding, dilation: int, n: int, o: int) -> str:
    parts = [f"k = {k}", f"stride {stride}", f"padding {padding!r}"]
    if dilation != 1:
        parts.append(f"dilation {dilation}")
    return ", ".join(parts) + f":  {n} inputs \u2192 {o} outputs"


def _draw_setting(ax, x: np.ndarray, w: np.ndarray, setting: dict, highlight: int) -> None:
    """One panel: the padded input, the output and the lines between them."""
    from cnncourse.nn import conv1d_forward

    stride, padding = setting.get("stride", 1), setting.get("padding", 0)
    dilation = setting.get("dilation", 1)
    n, k = len(x), len(w)
    before, after = padding_amounts(n, k, stride=stride, padding=padding, dilation=dilation)
    z, _ = conv1d_forward(x[None, :, None], w[:, None, None], stride=stride, padding=padding,
                          dilation=dilation)
    z = z[0, :, 0]  # (Lo,)
    canvas = np.concatenate([np.zeros(before), x, np.zeros(after)])
    for col, value in enumerate(canvas):
        is_input = before <= col < before + n
        draw_cell(ax, 0, col, facecolor="#dbe9f6" if is_input else "white",
                  edgecolor="black" if is_input else PAD_GREY, lw=0.8,
                  linestyle="-" if is_input else (0, (2, 2)))
        ax.text(col + 0.5, 0.5, format_number(value), ha="center", va="center", fontsize=9,
                color="black" if is_input else PAD_GREY)
    span = (k - 1) * dilation + 1
    chosen = min(highlight, len(z) - 1)
    for j, value in enumerate(z):
        centre = j * stride + span / 2  # the output sits under the middle of its window
        draw_cell(ax, 1 + ROW_GAP, centre - 0.5, facecolor=OUTPUT_CYAN, edgecolor="black",
                  lw=1.8 if j == chosen else 0.8)
        ax.text(centre, 1.5 + ROW_GAP, format_number(value), ha="center", va="center",
                fontsize=9)
        for tap in range(k):
            col = j * stride + tap * dilation
            ax.plot([centre, col + 0.5], [1 + ROW_GAP, 1], lw=1.6 if j == chosen else 0.6,
                    color=HIGHLIGHT if j == chosen else "#9a9a9a", zorder=0)
            if j == chosen:
                draw_cell(ax, 0, col, fill=False, edgecolor=KERNEL_NAVY, lw=2.2)
    ax.set_xlim(-0.2, len(canvas) + 0.2)
    ax.set_ylim(2.2 + ROW_GAP, -0.2)
    ax.set_title(_setting_title(k, stride, padding, dilation, n, len(z)), fontsize=10,
                 loc="left")


def plot_conv1d_settings(
    x: Sequence[float],
    w: Sequence[float],
    settings: Sequence[dict],
    *,
    highlight: int = 1,
    dpi: float = 100,
) -> Figure:
    """One panel per setting of a 1D convolution of signal x (L,) with kernel w (K,).

    settings: dicts of `conv1d_forward` keywords (stride, padding, dilation), e.g.
    [{}, {"padding": "same"}, {"stride": 2}, {"dilation": 2}]. Output j reads the inputs
    j*s + t*d, t = 0..K-1, of the padded input (Lo = floor((L + 2p - K - (K-1)(d-1)) / s) + 1).
    highlight: index of the output whose window is drawn in colour.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 1 or w.ndim != 1 or x.size == 0 or w.size == 0:
        raise ValueError(f"x and w must be non-empty 1-D arrays, got shapes {x.shape} and "
                         f"{w.shape}")
    if not settings:
        raise ValueError("plot_conv1d_settings needs at least one setting, got none")
    widths = []
    for setting in settings:
        before, after = padding_amounts(len(x), len(w), stride=setting.get("stride", 1),
                                        padding=setting.get("padding", 0),
                                        dilation=setting.get("dilation", 1))
        widths.append(len(x) + before + after)
    cell = min(0.45, (PAGE_INCHES - 0.3) / (max(widths) + 0.4))
    panel_height = (2.4 + ROW_GAP) * cell + 0.35
    fig = new_figure((max(widths) + 0.4) * cell + 0.2, panel_height * len(settings), dpi=dpi)
    for index, (setting, width) in enumerate(zip(settings, widths, strict=True)):
        top = 1 - (index + 1) * panel_height / (panel_height * len(settings))
        rect = (0.1 / fig.get_figwidth(), top + 0.02 / len(settings),
                (width + 0.4) * cell / fig.get_figwidth(),
                ((2.4 + ROW_GAP) * cell) / fig.get_figheight())
        ax = fig.add_axes(rect)
        ax.set_aspect("equal")
        ax.set_axis_off()
        _draw_setting(ax, x, w, setting, highlight)
    return fig
