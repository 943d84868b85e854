"""Transposed convolution, channels last, as Keras `Conv2DTranspose`.

A transposed convolution is the *adjoint* of a convolution: it computes the gradient that a
convolution sends back to its input. It is not the inverse ("deconvolution"): applied to a
convolution's output it does not return the original image, it only returns a tensor of the
input's shape. Each input pixel scatters a copy of the kernel, scaled by its value, into the
output, and overlapping copies add up.

x (N, H, W, C) and w (KH, KW, F, C) = a Keras Conv2DTranspose kernel with F output channels.
The same array is a Keras Conv2D kernel from F channels to C, so weights can be shared:
conv_transpose2d_forward(y, w, 0) equals the dx of conv2d_backward(y, ...) with kernel w.

Output size: Ho = (H - 1) * sh + KH - top - bottom + output_padding (padding given as
amounts), or for Keras's words: 'valid' -> H * sh + max(KH - sh, 0) and 'same' -> H * sh when
output_padding is None, else (H - 1) * sh + KH - 2 * (KH // 2 if 'same' else 0) + output_padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.arithmetic import conv_transpose_output_size, padding_amounts
from cnncourse.nn.im2col import _col2im, _im2col
from cnncourse.nn.validation import (
    ConvGeometry,
    as_float_array,
    as_pair,
    axis_paddings,
    check_dout,
    check_weights,
    conv_geometry,
)


def _output_padding(output_padding: object, stride: tuple[int, int]) -> tuple[int, int] | None:
    if output_padding is None:
        return None
    pair = (output_padding, output_padding) if isinstance(output_padding, int) else output_padding
    if not (isinstance(pair, tuple | list) and len(pair) == 2
            and all(isinstance(p, int) and 0 <= p < s for p, s in zip(pair, stride, strict=True))):
        raise ValueError(
            f"output_padding must be None or ints in [0, stride) per axis with stride {stride}, "
            f"got {output_padding!r}"
        )
    return int(pair[0]), int(pair[1])


def _axis_output(n: int, k: int, s: int, padding: object, extra: int | None) -> tuple[int, tuple]:
    """Output size of one axis and the padding (before, after) of the convolution it undoes."""
    if padding in ("valid", "same"):
        size = conv_transpose_output_size(n, k, stride=s, padding=padding, output_padding=extra)
        return size, padding_amounts(size, k, stride=s, padding=padding)
    before, after = padding if isinstance(padding, tuple) else (padding, padding)
    full = conv_transpose_output_size(n, k, stride=s, padding=0, output_padding=extra)
    return full - before - after, (before, after)  # amounts are cropped from the full output


def transposed_geometry(in_size: tuple[int, int], kernel: tuple[int, int], *, stride: object,
                        padding: object, output_padding: object,
                        ) -> tuple[ConvGeometry, tuple[int, int]]:
    """Output size (Ho, Wo), and the geometry of the convolution from it back to (H, W)."""
    stride = as_pair("stride", stride)
    per_axis = axis_paddings(padding)
    if "full" in per_axis:
        raise ValueError(f"transposed convolution padding cannot be 'full', got {padding!r}")
    extra = _output_padding(output_padding, stride) or (None, None)
    sizes, pads = zip(*(_axis_output(*args) for args in
                        zip(in_size, kernel, stride, per_axis, extra, strict=True)), strict=True)
    if min(sizes) < 1:
        raise ValueError(f"padding {padding!r} leaves an empty output {sizes} for input {in_size}")
    g = conv_geometry(sizes, kernel, stride=stride, padding=tuple(pads))
    if g.out != tuple(in_size):
        raise ValueError(
            f"no convolution maps the output {sizes} back to the input {in_size} with kernel "
            f"{kernel}, stride {stride}, padding={padding!r}, output_padding={output_padding!r}"
        )
    return g, sizes


def conv_transpose2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                             stride: int | tuple[int, int] = 1,
                             padding: int | str | tuple = 0,
                             output_padding: int | tuple[int, int] | None = None,
                             ) -> tuple[np.ndarray, Any]:
    """Transposed convolution: x (N, H, W, C), w (KH, KW, F, C), b (F,) -> out (N, Ho, Wo, F).

    padding: 'valid' / 'same' as in Keras, or amounts cropped from the full output: int,
    (ph, pw) or ((top, bottom), (left, right)). Output sizes are in the module docstring.
    """
    x = as_float_array("x", x, "(N, H, W, C)")
    w = as_float_array("w", w, "(KH, KW, F, C)").astype(x.dtype, copy=False)
    b = check_weights(x, w, b, in_axis=3, n_out=w.shape[2])
    N, H, W, C = x.shape
    KH, KW, F, _ = w.shape
    g, (Ho, Wo) = transposed_geometry((H, W), (KH, KW), stride=stride, padding=padding,
                                      output_padding=output_padding)
    cols = x.reshape(N * H * W, C) @ w.reshape(KH * KW * F, C).T  # (N*H*W, KH*KW*F)
    out = _col2im(cols, (N, Ho, Wo, F), g)  # each pixel scatters a scaled kernel; overlaps add
    out += b
    return out, (x, w, g, out.shape)


def conv_transpose2d_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
    """Gradients (dx, dw, db) of `conv_transpose2d_forward` given dout (N, Ho, Wo, F).

    out = col2im(x_rows @ w_rows^T) + b, and col2im's adjoint is im2col, so
    dcols = im2col(dout); dx = dcols @ w_rows (a plain convolution of dout with w);
    dw_rows = dcols^T @ x_rows; db = sum of dout over every output pixel.
    """
    x, w, g, out_shape = cache
    N, H, W, C = x.shape
    KH, KW, F, _ = w.shape
    dout = check_dout(dout, out_shape).astype(x.dtype, copy=False)
    dcols = _im2col(dout, g)  # (N*H*W, KH*KW*F)
    w_rows = w.reshape(KH * KW * F, C)
    dx = (dcols @ w_rows).reshape(N, H, W, C)
    dw = (dcols.T @ x.reshape(N * H * W, C)).reshape(KH, KW, F, C)
    db = dout.sum(axis=(0, 1, 2))
    return dx, dw, db
