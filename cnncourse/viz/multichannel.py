"""A convolution layer with several input channels and several kernels, drawn with its numbers.

Every kernel has as many channels as the input; at each position the kernel's channels are
multiplied with the input's channels, and everything is summed (across channels too) with the
kernel's bias: one number per kernel and position, so F kernels give F output channels.
The numbers come from `cnncourse.nn.conv2d_forward`, so the figure shows what the layer computes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import format_number
from cnncourse.viz.drawing.labelled_grids import (
    LABEL_ROOM,
    draw_labelled_matrix,
    matrices_figure,
    outline,
)

GAP = 1.2  # cells between the columns of the drawing
CHANNEL_GAP = 0.5  # cells between the channels of one kernel


def multichannel_terms(x: np.ndarray, w: np.ndarray, b: np.ndarray, position: tuple[int, int],
                       kernel: int = 0) -> tuple[list[float], float]:
    """The per-channel sums of one output value and the value itself.

    x (H, W, C), w (KH, KW, C, F), b (F,): returns ([sum of window_c * w[:, :, c, kernel]
    for each channel c], out[position + (kernel,)]) with stride 1 and no padding.
    """
    KH, KW = w.shape[:2]
    i, j = position
    window = x[i:i + KH, j:j + KW, :]  # (KH, KW, C)
    terms = [float(np.sum(window[:, :, c] * w[:, :, c, kernel])) for c in range(x.shape[2])]
    return terms, sum(terms) + float(b[kernel])


def _check(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    if x.ndim != 3 or w.ndim != 4 or b.shape != (w.shape[3],) or w.shape[2] != x.shape[2]:
        raise ValueError(f"need x (H, W, C), w (KH, KW, C, F) and b (F,) with matching C and F, "
                         f"got x {x.shape}, w {w.shape}, b {b.shape}")


def plot_multichannel_convolution(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, *, position: tuple[int, int] = (0, 0),
    dpi: float = 100,
) -> Figure:
    """Input channels (left), kernels with their biases (middle), output channels (right).

    x (H, W, C): one image; w (KH, KW, C, F): F kernels; b (F,). Stride 1, no padding:
    out (Ho, Wo, F), Ho = H - KH + 1. The window at `position` is outlined on every input
    channel, and so is the value of output channel 0 that it gives; the title writes that
    value as the sum of its per-channel parts plus the bias.
    """
    from cnncourse.nn import conv2d_forward

    x, w, b = (np.asarray(a, dtype=float) for a in (x, w, b))
    _check(x, w, b)
    (H, W, C), (KH, KW, _, F) = x.shape, w.shape
    out = conv2d_forward(x[None], w, b)[0][0]  # (Ho, Wo, F)
    Ho, Wo = out.shape[:2]
    if not (0 <= position[0] < Ho and 0 <= position[1] < Wo):
        raise ValueError(f"position must lie in the {Ho}x{Wo} output, got {position!r}")
    kernel_width = C * KW + (C - 1) * CHANNEL_GAP
    x_kernels, x_out = W + GAP + 1.5, W + GAP + 1.5 + kernel_width + GAP + 0.5
    input_height = C * (H + LABEL_ROOM)
    kernel_height = F * (max(KH, Ho) + LABEL_ROOM)
    height = max(input_height, kernel_height)
    terms, value = multichannel_terms(x, w, b, position)
    parts = " + ".join(f"({format_number(t)})" for t in terms)
    title = (f"{C} input channels, {F} kernels of {KH}x{KW}x{C} \u2192 {F} output channels\n"
             f"output 0 at {position} = {parts} + bias {format_number(b[0])}"
             f" = {format_number(value)}")
    fig, ax = matrices_figure(x_out + Wo, height, title, dpi=dpi)
    top = (height - input_height) / 2
    for c in range(C):
        origin = (0.0, top + c * (H + LABEL_ROOM) + LABEL_ROOM)
        draw_labelled_matrix(ax, x[:, :, c], origin=origin, label=f"input channel {c}")
        outline(ax, *position, KH, KW, origin=origin)
    top = (height - kernel_height) / 2
    for f in range(F):
        y = top + f * (max(KH, Ho) + LABEL_ROOM) + LABEL_ROOM
        for c in range(C):
            draw_labelled_matrix(ax, w[:, :, c, f], origin=(x_kernels + c * (KW + CHANNEL_GAP), y),
                                 label=f"k{f}, ch {c}", cmap="Purples")
            if f == 0:  # the kernel that gives output channel 0
                outline(ax, 0, 0, KH, KW, origin=(x_kernels + c * (KW + CHANNEL_GAP), y))
        ax.text(x_kernels + kernel_width + 0.3, y + KH / 2, f"b={format_number(b[f])}",
                ha="left", va="center", fontsize=10)
        draw_labelled_matrix(ax, out[:, :, f], origin=(x_out, y), label=f"output {f}",
                             cmap="GnBu")
        if f == 0:
            outline(ax, *position, 1, 1, origin=(x_out, y))
    ax.text(x_kernels - 0.75, height / 2, "\u2217", ha="center", va="center", fontsize=16)
    return fig
