"""Max and average pooling, channels last, as Keras `MaxPooling2D` / `AveragePooling2D`.

x (N, H, W, C) -> out (N, Ho, Wo, C), each channel pooled on its own over PHxPW windows moved
by a stride (sh, sw) that defaults to the pool size; Ho = floor((H + top + bottom - PH) / sh) + 1.

padding 'valid' keeps windows inside the input; 'same' pads (odd cell after) so that
Ho = ceil(H / sh). Padded cells never count: max pooling pads with -inf, and average pooling
divides each window by the number of *real* inputs it covers, as Keras does.

Max-pool ties: when several inputs of a window share the maximum, the whole gradient goes to
the first of them in row-major order within the window (top row first, then left to right),
which is what `argmax` returns. Overlapping windows each send their own gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.nn.im2col import pad_spatial, window_view
from cnncourse.nn.validation import (
    ConvGeometry,
    as_float_array,
    as_pair,
    check_dout,
    check_finite,
    conv_geometry,
)


def check_pool_args(x: np.ndarray, pool_size: object, stride: object,
                    padding: object) -> tuple[np.ndarray, ConvGeometry]:
    """Validate a pooling call; returns x (floating) and the resolved window geometry.

    NaN and infinity are looked for in the pooled output instead (`reject_non_finite`).
    """
    x = as_float_array("x", x, "(N, H, W, C)", check_values=False)
    pool = as_pair("pool_size", pool_size)
    stride = pool if stride is None else as_pair("stride", stride)
    if not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
        raise ValueError(f"pooling padding must be 'valid' or 'same', got {padding!r}")
    _, H, W, _ = x.shape
    return x, conv_geometry((H, W), pool, stride=stride, padding=padding.lower())


def reject_non_finite(x: np.ndarray, out: np.ndarray) -> None:
    """Raise when x holds NaN or infinity that reaches a pooled value.

    A NaN or +inf in a window reaches that window's max and average, so checking the pooled
    output (a quarter of x for 2x2 pooling) finds every bad value that matters, for less time
    than checking x on entry (measured: the entry check cost half the time of the pooling).
    """
    if not np.all(np.isfinite(out)):
        check_finite("x", x)


def _tap_slices(g: ConvGeometry, u: int, v: int) -> tuple[slice, slice]:
    """Rows and columns of the padded input that window tap (u, v) reads, for every window."""
    (sh, sw), (Ho, Wo) = g.stride, g.out
    return slice(u, u + (Ho - 1) * sh + 1, sh), slice(v, v + (Wo - 1) * sw + 1, sw)


def _crop(xp: np.ndarray, g: ConvGeometry, x_shape: tuple[int, ...]) -> np.ndarray:
    (top, _), (left, _) = g.pads
    return xp[:, top:top + x_shape[1], left:left + x_shape[2], :]


# --------------------------------------------------------------------------------- max pooling


def maxpool2d_forward(x: np.ndarray, *, pool_size: int | tuple[int, int] = 2,
                      stride: int | tuple[int, int] | None = None,
                      padding: str = "valid") -> tuple[np.ndarray, Any]:
    """Max pooling: x (N, H, W, C) -> out (N, Ho, Wo, C), cache. stride None = pool_size.

    The common 2x2, stride-2, unpadded case runs as np.maximum of four strided slices.
    """
    x, g = check_pool_args(x, pool_size, stride, padding)
    if g.kernel == (2, 2) and g.stride == (2, 2) and g.pads == ((0, 0), (0, 0)):
        out = max_pool_2x2(x)
    else:
        out = max_pool_windows(x, g)
    reject_non_finite(x, out)
    return out, (x, g)


def max_pool_2x2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling with stride 2 (odd last row/column dropped): four strided slices."""
    _, H, W, _ = x.shape
    Ho, Wo = H // 2, W // 2
    top = np.maximum(x[:, 0:2 * Ho:2, 0:2 * Wo:2], x[:, 0:2 * Ho:2, 1:2 * Wo:2])
    bottom = np.maximum(x[:, 1:2 * Ho:2, 0:2 * Wo:2], x[:, 1:2 * Ho:2, 1:2 * Wo:2])
    return np.maximum(top, bottom, out=top)  # (N, Ho, Wo, C)


def max_pool_windows(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """Max pooling of any geometry: the max of each window view (N, Ho, Wo, PH, PW, C)."""
    return window_view(pad_spatial(x, g.pads, -np.inf), g).max(axis=(3, 4))


def maxpool2d_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient dx (N, H, W, C) of max pooling given dout (N, Ho, Wo, C).

    d out / d x is 1 at the window's winning input and 0 elsewhere, so each window routes its
    dout to one input: the first maximum in row-major order when there is a tie.
    """
    x, g = cache
    N, _, _, C = x.shape
    (PH, PW), (Ho, Wo) = g.kernel, g.out
    xp = pad_spatial(x, g.pads, -np.inf)
    windows = window_view(xp, g).reshape(N, Ho, Wo, PH * PW, C)  # taps flattened row-major
    winner = windows.argmax(axis=3)  # (N, Ho, Wo, C): first maximum of each window
    dout = check_dout(dout, (N, Ho, Wo, C)).astype(x.dtype, copy=False)
    dxp = np.zeros_like(xp)
    for u in range(PH):
        for v in range(PW):
            rows, cols = _tap_slices(g, u, v)
            dxp[:, rows, cols, :] += np.where(winner == u * PW + v, dout, 0)
    return _crop(dxp, g, x.shape)


# ----------------------------------------------------------------------------- average pooling


def avgpool2d_forward(x: np.ndarray, *, pool_size: int | tuple[int, int] = 2,
                      stride: int | tuple[int, int] | None = None,
                      padding: str = "valid") -> tuple[np.ndarray, Any]:
    """Average pooling: x (N, H, W, C) -> out (N, Ho, Wo, C), cache. stride None = pool_size.

    With 'same' padding each window is averaged over the real inputs it covers only.
    """
    x, g = check_pool_args(x, pool_size, stride, padding)
    counts = _real_inputs_per_window(x.shape, g, x.dtype)  # (1, Ho, Wo, 1)
    sums = window_view(pad_spatial(x, g.pads), g).sum(axis=(3, 4))  # (N, Ho, Wo, C)
    reject_non_finite(x, sums)
    return sums / counts, (x.shape, g, counts)


def _real_inputs_per_window(x_shape: tuple[int, ...], g: ConvGeometry,
                            dtype: np.dtype) -> np.ndarray:
    """How many unpadded inputs each window covers, shape (1, Ho, Wo, 1)."""
    ones = np.ones((1, x_shape[1], x_shape[2], 1), dtype=dtype)
    return window_view(pad_spatial(ones, g.pads), g).sum(axis=(3, 4))


def avgpool2d_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient dx (N, H, W, C) of average pooling given dout (N, Ho, Wo, C).

    out = sum(window) / count, so every input of a window receives dout / count.
    """
    x_shape, g, counts = cache
    PH, PW = g.kernel
    N, H, W, C = x_shape
    share = check_dout(dout, (N, *g.out, C)) / counts  # (N, Ho, Wo, C)
    (top, bottom), (left, right) = g.pads
    dxp = np.zeros((N, H + top + bottom, W + left + right, C), dtype=counts.dtype)
    for u in range(PH):
        for v in range(PW):
            rows, cols = _tap_slices(g, u, v)
            dxp[:, rows, cols, :] += share
    return _crop(dxp, g, x_shape)
