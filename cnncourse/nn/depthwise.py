"""Depthwise convolution, channels last, as Keras `DepthwiseConv2D`.

Each input channel is convolved with its own M kernels and never mixed with the others:

    out[n, i, j, c*M + m] = b[c*M + m]
                            + sum_{u, v} xp[n, i*sh + u*dh, j*sw + v*dw, c] * w[u, v, c, m]

x (N, H, W, C), w (KH, KW, C, M) = a Keras DepthwiseConv2D kernel (M = depth_multiplier),
b (C*M,), out (N, Ho, Wo, C*M) with output channel c*M + m, the order Keras uses. Ho and Wo
follow the conv2d formula. A depthwise-separable convolution (MobileNet) is this layer followed
by a 1x1 `conv2d_forward`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.nn.im2col import _col2im, _im2col
from cnncourse.nn.validation import as_float_array, check_dout, check_weights, conv_geometry


def depthwise_conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                             stride: int | tuple[int, int] = 1, padding: int | str | tuple = 0,
                             dilation: int | tuple[int, int] = 1) -> tuple[np.ndarray, Any]:
    """Depthwise convolution: x (N, H, W, C), w (KH, KW, C, M), b (C*M,) -> (N, Ho, Wo, C*M).

    stride, padding and dilation mean what they mean in `conv2d_forward`.
    """
    x = as_float_array("x", x, "(N, H, W, C)")
    w = as_float_array("w", w, "(KH, KW, C, M)").astype(x.dtype, copy=False)
    N, H, W, C = x.shape
    KH, KW, _, M = w.shape
    b = check_weights(x, w, b, in_axis=2, n_out=C * M)
    g = conv_geometry((H, W), (KH, KW), stride=stride, padding=padding, dilation=dilation)
    Ho, Wo = g.out
    cols = _im2col(x, g).reshape(N * Ho * Wo, KH * KW, C)  # (P, taps, C), P = N*Ho*Wo
    out = np.einsum("ptc,tcm->pcm", cols, w.reshape(KH * KW, C, M))  # (P, C, M)
    out = out.reshape(N, Ho, Wo, C * M) + b  # channel c*M + m
    return out, (x.shape, cols, w, g)


def depthwise_conv2d_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dw, db) of `depthwise_conv2d_forward` given dout (N, Ho, Wo, C*M).

    out[p, c, m] = sum_t cols[p, t, c] * w[t, c, m], so dw[t, c, m] = sum_p cols * dout and
    dcols[p, t, c] = sum_m dout * w; dx = col2im(dcols) adds the window shares back.
    """
    x_shape, cols, w, g = cache
    KH, KW, C, M = w.shape
    dout = check_dout(dout, (x_shape[0], *g.out, C * M))
    d = dout.astype(w.dtype, copy=False).reshape(-1, C, M)  # (P, C, M)
    w_taps = w.reshape(KH * KW, C, M)
    dw = np.einsum("ptc,pcm->tcm", cols, d).reshape(KH, KW, C, M)
    dcols = np.einsum("pcm,tcm->ptc", d, w_taps).reshape(d.shape[0], KH * KW * C)
    db = d.sum(axis=0).reshape(C * M)
    return _col2im(dcols, x_shape, g), dw, db
