"""2D convolution, channels last, as Keras `Conv2D` computes it.

Like every deep-learning library this is a *cross-correlation*: the kernel is not flipped.

    out[n, i, j, f] = b[f] + sum_{u, v, c} xp[n, i*sh + u*dh, j*sw + v*dw, c] * w[u, v, c, f]

x (N, H, W, C), w (KH, KW, C, F) = a Keras Conv2D kernel, b (F,), out (N, Ho, Wo, F) with
Ho = floor((H + top + bottom - KHe) / sh) + 1, KHe = KH + (KH - 1)(dh - 1) (same for Wo).

Two twins: `conv2d_forward_loops` / `conv2d_backward_loops` walk the output pixels one by one and
are obviously correct; `conv2d_forward` / `conv2d_backward` build im2col columns and do one
matrix product. A test checks that they agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.nn.im2col import _col2im, _im2col, pad_spatial
from cnncourse.nn.validation import as_float_array, check_weights, conv_geometry

Padding = int | str | tuple


def check_conv2d_args(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: object,
                      padding: object, dilation: object):
    """Validate a conv2d call; returns x, w, b (in x's dtype) and the resolved geometry."""
    x = as_float_array("x", x, "(N, H, W, C)")
    w = as_float_array("w", w, "(KH, KW, C, F)").astype(x.dtype, copy=False)
    b = check_weights(x, w, b, in_axis=2, n_out=w.shape[3])
    _, H, W, _ = x.shape
    KH, KW, _, _ = w.shape
    geometry = conv_geometry((H, W), (KH, KW), stride=stride, padding=padding, dilation=dilation)
    return x, w, b, geometry


# ---------------------------------------------------------------- plain twin: one pixel at a time


def conv2d_forward_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                         stride: int | tuple[int, int] = 1, padding: Padding = 0,
                         dilation: int | tuple[int, int] = 1) -> tuple[np.ndarray, Any]:
    """Convolution by looping over output pixels; x (N, H, W, C) -> out (N, Ho, Wo, F).

    Each output pixel is the window of xp under the kernel, multiplied by w and summed over
    (KH, KW, C). Slow and obviously correct: the reference for `conv2d_forward`.
    """
    x, w, b, g = check_conv2d_args(x, w, b, stride, padding, dilation)
    N = x.shape[0]
    KH, KW, _, F = w.shape
    (sh, sw), (dh, dw), (Ho, Wo) = g.stride, g.dilation, g.out
    xp = pad_spatial(x, g.pads)
    out = np.empty((N, Ho, Wo, F), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, i * sh:i * sh + (KH - 1) * dh + 1:dh,
                        j * sw:j * sw + (KW - 1) * dw + 1:dw, :]  # (N, KH, KW, C)
            out[:, i, j, :] = np.tensordot(window, w, axes=3) + b
    return out, (x, w, g)


def conv2d_backward_loops(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dw, db) of the loop convolution, one output pixel at a time.

    out[:, i, j] = window . w + b, so each pixel sends dout[:, i, j] back to its window
    (times w), to w (times the window) and to b (once).
    """
    x, w, g = cache
    KH, KW, _, _ = w.shape
    (sh, sw), (dh, dw), (Ho, Wo) = g.stride, g.dilation, g.out
    (top, _), (left, _) = g.pads
    xp = pad_spatial(x, g.pads)
    dxp = np.zeros_like(xp)
    dw_ = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            rows = slice(i * sh, i * sh + (KH - 1) * dh + 1, dh)
            cols = slice(j * sw, j * sw + (KW - 1) * dw + 1, dw)
            d = dout[:, i, j, :]  # (N, F)
            dxp[:, rows, cols, :] += np.tensordot(d, w, axes=([1], [3]))  # dL/dwindow = d . w
            dw_ += np.tensordot(xp[:, rows, cols, :], d, axes=([0], [0]))  # dL/dw = window . d
    _, H, W, _ = x.shape
    dx = dxp[:, top:top + H, left:left + W, :]
    db = dout.sum(axis=(0, 1, 2))  # dL/db = sum of dout over every output pixel
    return dx, dw_, db.astype(x.dtype)


# ------------------------------------------------------------------- fast: im2col and one GEMM


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   stride: int | tuple[int, int] = 1, padding: Padding = 0,
                   dilation: int | tuple[int, int] = 1) -> tuple[np.ndarray, Any]:
    """2D convolution (cross-correlation) as im2col plus one GEMM.

    x (N, H, W, C), w (KH, KW, C, F), b (F,) -> out (N, Ho, Wo, F), and a cache for the
    backward pass. stride and dilation: int or pair; padding: int, (ph, pw),
    ((top, bottom), (left, right)) or 'valid' / 'same' / 'full' as in Keras.
    """
    x, w, b, g = check_conv2d_args(x, w, b, stride, padding, dilation)
    N = x.shape[0]
    KH, KW, C, F = w.shape
    Ho, Wo = g.out
    cols = _im2col(x, g)  # (N*Ho*Wo, KH*KW*C)
    w_rows = w.reshape(KH * KW * C, F)
    out = cols @ w_rows  # (N*Ho*Wo, F)
    out += b
    return out.reshape(N, Ho, Wo, F), (x.shape, cols, w, g)


def conv2d_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dw, db) of `conv2d_forward` given dout (N, Ho, Wo, F).

    With out = cols @ w_rows + b:  dw_rows = cols^T @ dout,  dcols = dout @ w_rows^T,
    db = sum of dout over rows, and dx = col2im(dcols) adds each window's share back.
    """
    x_shape, cols, w, g = cache
    KH, KW, C, F = w.shape
    d = dout.reshape(-1, F).astype(w.dtype, copy=False)  # (N*Ho*Wo, F)
    dw = (cols.T @ d).reshape(KH, KW, C, F)
    db = d.sum(axis=0)
    dcols = d @ w.reshape(KH * KW * C, F).T  # (N*Ho*Wo, KH*KW*C)
    dx = _col2im(dcols, x_shape, g)
    return dx, dw, db


__all__ = [
    "check_conv2d_args",
    "conv2d_backward",
    "conv2d_backward_loops",
    "conv2d_forward",
    "conv2d_forward_loops",
]
