"""1D convolution, channels last, as Keras `Conv1D` computes it (a cross-correlation).

    out[n, i, f] = b[f] + sum_{u, c} xp[n, i*s + u*d, c] * w[u, c, f]

x (N, L, C), w (K, C, F) = a Keras Conv1D kernel, b (F,), out (N, Lo, F) with
Lo = floor((L + before + after - Ke) / s) + 1 and Ke = K + (K - 1)(d - 1).

A 1D convolution is a 2D convolution over an image one pixel high, so this module checks the
1D arguments and hands the work to `conv2d_forward` / `conv2d_backward`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.arithmetic import padding_amounts
from cnncourse.nn.conv2d import conv2d_backward, conv2d_forward
from cnncourse.nn.validation import as_float_array, as_int, check_kernel_fits


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   stride: int = 1, padding: int | str | tuple[int, int] = 0,
                   dilation: int = 1) -> tuple[np.ndarray, Any]:
    """1D convolution: x (N, L, C), w (K, C, F), b (F,) -> out (N, Lo, F), cache.

    padding: int p (p zeros on each side), a pair (before, after), or 'valid' / 'same' /
    'full' as in Keras ('same' puts the odd zero after; 'causal' is not supported).
    """
    x = as_float_array("x", x, "(N, L, C)")
    w = as_float_array("w", w, "(K, C, F)")
    _, L, _ = x.shape
    K, _, _ = w.shape
    stride, dilation = as_int("stride", stride), as_int("dilation", dilation)
    pads = padding_amounts(L, K, stride=stride, padding=padding, dilation=dilation)
    check_kernel_fits((L,), (K,), (pads,), (dilation,), padding)
    out, cache = conv2d_forward(
        x[:, None], w[None], b, stride=(1, stride), padding=((0, 0), pads),
        dilation=(1, dilation))  # an image of height 1: (N, 1, Lo, F)
    return out[:, 0], cache


def conv1d_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx (N, L, C), dw (K, C, F), db (F,)) of `conv1d_forward` given dout (N, Lo, F)."""
    dx, dw, db = conv2d_backward(dout[:, None], cache)
    return dx[:, 0], dw[0], db
