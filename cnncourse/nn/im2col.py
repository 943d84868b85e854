"""im2col and its adjoint col2im: a convolution becomes one matrix product.

Column layout (channels innermost, which matches a Keras kernel reshaped in C order):

    cols[(n * Ho + i) * Wo + j, (u * KW + v) * C + c] = xp[n, i*sh + u*dh, j*sw + v*dw, c]

so `cols` has shape (N*Ho*Wo, KH*KW*C): one row per output pixel, one column per kernel tap
and input channel, and a kernel w of shape (KH, KW, C, F) becomes `w.reshape(KH*KW*C, F)`.
`xp` is x padded with zeros; Ho, Wo follow `cnncourse.arithmetic.conv_output_size`.

col2im is the adjoint (transpose) of im2col, not its inverse: every column entry is added back
to the input pixel it was copied from, so a pixel that several windows overlap receives the sum.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnncourse.nn.validation import ConvGeometry, check_rank, conv_geometry


def pad_spatial(x: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]],
                value: float = 0.0) -> np.ndarray:
    """Pad axes H and W of x (N, H, W, C) with `value`; returns x itself when pads are zero."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def window_view(xp: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Read-only strided view (N, Ho, Wo, KH, KW, C) of the windows of a padded xp (N, Hp, Wp, C).

    view[n, i, j, u, v, c] = xp[n, i*sh + u*dh, j*sw + v*dw, c]; nothing is copied.
    """
    N, _, _, C = xp.shape
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = (
        geometry.kernel, geometry.stride, geometry.dilation, geometry.out)
    s_n, s_h, s_w, s_c = xp.strides
    return as_strided(
        xp, shape=(N, Ho, Wo, KH, KW, C),
        strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c), writeable=False)


def im2col(x: np.ndarray, kh: int, kw: int, *, stride: object = 1, padding: object = 0,
           dilation: object = 1) -> np.ndarray:
    """Copy every KHxKW window of x (N, H, W, C) into a row: returns cols (N*Ho*Wo, KH*KW*C).

    The layout is in the module docstring; padding and stride mean what they mean in conv2d.
    """
    x = np.asarray(x)
    check_rank("x", x, "(N, H, W, C)")
    _, H, W, _ = x.shape
    geometry = conv_geometry((H, W), (kh, kw), stride=stride, padding=padding, dilation=dilation)
    return _im2col(x, geometry)


def _im2col(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    N, _, _, C = x.shape
    (KH, KW), (Ho, Wo) = geometry.kernel, geometry.out
    windows = window_view(pad_spatial(x, geometry.pads), geometry)  # (N, Ho, Wo, KH, KW, C)
    return windows.reshape(N * Ho * Wo, KH * KW * C)  # one copy, channels innermost


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kh: int, kw: int, *,
           stride: object = 1, padding: object = 0, dilation: object = 1) -> np.ndarray:
    """Adjoint of im2col: add each row of cols (N*Ho*Wo, KH*KW*C) back into x_shape (N, H, W, C).

    Pixels covered by several windows receive the sum of their entries; for any arrays x and
    cols, sum(im2col(x) * cols) == sum(x * col2im(cols)).
    """
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be 4 sizes (N, H, W, C), got {tuple(x_shape)}")
    N, H, W, C = x_shape
    geometry = conv_geometry((H, W), (kh, kw), stride=stride, padding=padding, dilation=dilation)
    Ho, Wo = geometry.out
    cols = np.asarray(cols)
    if cols.shape != (N * Ho * Wo, kh * kw * C):
        raise ValueError(
            f"cols must have shape (N*Ho*Wo, KH*KW*C) = {(N * Ho * Wo, kh * kw * C)} for "
            f"x_shape {tuple(x_shape)}, got shape {cols.shape}"
        )
    return _col2im(cols, x_shape, geometry)


def _col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int],
            geometry: ConvGeometry) -> np.ndarray:
    N, H, W, C = x_shape
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = (
        geometry.kernel, geometry.stride, geometry.dilation, geometry.out)
    (top, bottom), (left, right) = geometry.pads
    xp = np.zeros((N, H + top + bottom, W + left + right, C), dtype=cols.dtype)
    taps = cols.reshape(N, Ho, Wo, KH, KW, C)
    for u in range(KH):  # one strided add per kernel tap: overlapping windows sum
        for v in range(KW):
            rows = slice(u * dh, u * dh + (Ho - 1) * sh + 1, sh)
            columns = slice(v * dw, v * dw + (Wo - 1) * sw + 1, sw)
            xp[:, rows, columns, :] += taps[:, :, :, u, v, :]
    return xp[:, top:top + H, left:left + W, :]
