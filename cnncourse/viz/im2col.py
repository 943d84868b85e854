"""im2col drawn as one matrix product: W_row (F, KH*KW*C) times X_col (KH*KW*C, Ho*Wo) gives
Y (F, Ho*Wo), in the letters of the book's notation page.

A window holds KH*KW*C numbers; there are Ho*Wo windows. Column p of X_col is window p of
the input, copied with its channels innermost (the layout of `cnncourse.nn.im2col`, transposed);
row f of W_row is kernel f, flattened in the same order. The numbers are the package's own:
X_col from `nn.im2col`, and Y checked against `nn.conv2d_forward` before it is drawn.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.labelled_grids import (
    LABEL_ROOM,
    draw_labelled_matrix,
    matrices_figure,
    operator_sign,
    outline,
)

GAP = 1.4  # cells between two matrices, room for an operator sign


def im2col_matrices(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W_row (F, KH*KW*C), X_col (KH*KW*C, Ho*Wo), Y (F, Ho*Wo)) for x (H, W, C) and
    w (KH, KW, C, F), stride 1, no padding; Y = W_row @ X_col holds output channel f of the
    convolution in row f."""
    from cnncourse.nn import conv2d_forward, im2col

    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    if x.ndim != 3 or w.ndim != 4 or w.shape[2] != x.shape[2]:
        raise ValueError(f"need x (H, W, C) and w (KH, KW, C, F) with the same C, "
                         f"got x {x.shape} and w {w.shape}")
    KH, KW, C, F = w.shape
    x_col = im2col(x[None], KH, KW).T  # (KH*KW*C, Ho*Wo): one window per column
    w_row = w.reshape(KH * KW * C, F).T  # (F, KH*KW*C): one kernel per row
    y = w_row @ x_col  # (F, Ho*Wo)
    out = conv2d_forward(x[None], w)[0][0]  # (Ho, Wo, F)
    if not np.allclose(y, out.reshape(-1, F).T):
        raise AssertionError("W_row @ X_col differs from conv2d_forward")  # pragma: no cover
    return w_row, x_col, y


def plot_im2col(x: np.ndarray, w: np.ndarray, *, window: int = 0, dpi: float = 100) -> Figure:
    """Input x (H, W, C) with one window outlined, then W_row x X_col = Y with the window's
    column of X_col and of Y outlined. w (KH, KW, C, F). Stride 1, no padding.

    window: index p of the window in row-major order, 0 <= p < Ho * Wo.
    """
    w_row, x_col, y = im2col_matrices(x, w)
    x = np.asarray(x, dtype=float)
    (H, W, C), (KH, KW) = x.shape, np.shape(w)[:2]
    (F, K), P = w_row.shape, x_col.shape[1]  # K = KH*KW*C numbers per window, P = Ho*Wo
    Wo = W - KW + 1
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window < P:
        raise ValueError(f"window must be an int in [0, {P}), got {window!r}")
    input_width = C * W + (C - 1) * 0.5
    xs = [0.0, input_width + GAP + 0.6]  # input, then W_row, X_col, Y
    xs += [xs[1] + K + GAP, xs[1] + K + GAP + P + GAP]
    height = max(H, K) + LABEL_ROOM
    middle = LABEL_ROOM + max(H, K) / 2
    title = (f"im2col: {KH}x{KW}x{C} windows become the columns of X_col; W_row X_col = Y\n"
             f"F = {F} kernels, Ho\u00b7Wo = {P} windows of KH\u00b7KW\u00b7C = {K} numbers")
    fig, ax = matrices_figure(xs[3] + P, height, title, dpi=dpi)
    i, j = divmod(window, Wo)
    for c in range(C):
        origin = (c * (W + 0.5), middle - H / 2)
        label = "input" if C == 1 else f"input ch {c}"
        draw_labelled_matrix(ax, x[:, :, c], origin=origin, label=label, fontsize=9)
        outline(ax, i, j, KH, KW, origin=origin)
    mats = [(w_row, f"W_row ({F}\u00d7{K})", "Purples"), (x_col, f"X_col ({K}\u00d7{P})", "Blues"),
            (y, f"Y ({F}\u00d7{P})", "GnBu")]
    for x0, (a, label, cmap) in zip(xs[1:], mats, strict=True):
        origin = (x0, middle - a.shape[0] / 2)
        draw_labelled_matrix(ax, a, origin=origin, label=label, cmap=cmap, fontsize=9)
        if a is not w_row:
            outline(ax, 0, window, a.shape[0], 1, origin=origin)
    ax.text(input_width + GAP / 2 + 0.3, middle, "\u2192", ha="center", va="center", fontsize=14)
    for x0, sign in ((xs[2] - GAP / 2, "\u00d7"), (xs[3] - GAP / 2, "=")):
        operator_sign(ax, x0, middle, sign)
    return fig
