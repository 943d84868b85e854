"""Argument checks and geometry shared by every numpy layer.

Each layer calls these on entry, so a wrong argument fails early with a ValueError that echoes
what was received (Keras layers do the same). Sizes and padding amounts come from
`cnncourse.arithmetic`, so the formulas of the book and the shapes of the layers agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnncourse.arithmetic import PADDING_WORDS, conv_output_size, padding_amounts


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def as_pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    """Turn an int or a pair into a pair of integers >= 1 (stride, dilation, pool size)."""
    pair = (value, value) if _is_int(value) else value
    if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(_is_int(v) for v in pair)):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(pair[0]), int(pair[1])


def as_int(name: str, value: int) -> int:
    """Check a one-axis stride or dilation: a single integer >= 1 (a pair is an error here)."""
    if not _is_int(value):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return as_pair(name, value)[0]


def check_rank(name: str, array: np.ndarray, layout: str) -> None:
    """Raise unless `array` has one axis per letter group of `layout`, e.g. '(N, H, W, C)'."""
    ndim = layout.count(",") + 1
    if np.ndim(array) != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D {layout}, got shape {np.shape(array)}"
        )


def check_dout(dout: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
    """Raise unless the upstream gradient has the forward output's shape; returns it as an array."""
    dout = np.asarray(dout)
    if dout.shape != tuple(expected):
        raise ValueError(
            f"dout must have the forward output's shape {tuple(expected)}, got shape {dout.shape}"
        )
    return dout


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise when `array` holds NaN or infinity: they would silently poison every output."""
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s) (shape {array.shape})")


def as_float_array(name: str, array: np.ndarray, layout: str, *,
                   check_values: bool = True) -> np.ndarray:
    """Check rank and (unless check_values is False) finiteness; keep a floating dtype,
    turn integers into float64."""
    array = np.asarray(array)
    check_rank(name, array, layout)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if check_values:
        check_finite(name, array)
    return array


def check_weights(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, *, in_axis: int,
                  n_out: int) -> np.ndarray:
    """Check that w's input channels match x's last axis and b has one entry per output.

    Returns b cast to x's dtype (zeros when b is None).
    """
    c_x, c_w = x.shape[-1], w.shape[in_axis]
    if c_x != c_w:
        raise ValueError(
            f"channel mismatch: x has {c_x} channels (shape {x.shape}) but w expects {c_w} "
            f"(shape {w.shape})"
        )
    if b is None:
        return np.zeros(n_out, dtype=x.dtype)
    b = np.asarray(b)
    if b.shape != (n_out,):
        raise ValueError(f"bias must have shape ({n_out},), got shape {b.shape}")
    check_finite("b", b)
    return b.astype(x.dtype, copy=False)


def axis_paddings(padding: object) -> tuple[object, object]:
    """Split a 2D padding argument into one padding per axis (H, W).

    int p -> (p, p); (ph, pw) -> (ph, pw); ((top, bottom), (left, right)) -> as given;
    'valid' / 'same' / 'full' -> the word on both axes.
    """
    if isinstance(padding, str):
        if padding.lower() not in PADDING_WORDS:
            raise ValueError(
                f"padding must be an int, a pair or one of {PADDING_WORDS}, got {padding!r}"
            )
        return padding.lower(), padding.lower()
    if _is_int(padding):
        return int(padding), int(padding)
    if isinstance(padding, tuple | list) and len(padding) == 2:
        if all(_is_int(p) for p in padding):
            return int(padding[0]), int(padding[1])
        if all(isinstance(p, tuple | list) and len(p) == 2 and all(_is_int(v) for v in p)
               for p in padding):
            return tuple(int(v) for v in padding[0]), tuple(int(v) for v in padding[1])
    raise ValueError(
        "padding must be an int, a pair (ph, pw), ((top, bottom), (left, right)) "
        f"or one of {PADDING_WORDS}, got {padding!r}"
    )


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a 2D sliding window needs, resolved once from the layer's arguments.

    pads are ((top, bottom), (left, right)); out is (Ho, Wo) with
    Ho = floor((H + top + bottom - KHe) / sh) + 1 and KHe = KH + (KH - 1)(dh - 1).
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    out: tuple[int, int]


def conv_geometry(in_size: tuple[int, int], kernel: tuple[int, int], *, stride: object,
                  padding: object, dilation: object = 1) -> ConvGeometry:
    """Resolve stride, padding and dilation of a 2D window over an input of size (H, W).

    Raises ValueError when the (dilated) kernel does not fit in the padded input.
    """
    stride, dilation = as_pair("stride", stride), as_pair("dilation", dilation)
    per_axis = axis_paddings(padding)
    pads = tuple(
        padding_amounts(n, k, stride=s, padding=p, dilation=d)
        for n, k, s, p, d in zip(in_size, kernel, stride, per_axis, dilation, strict=True)
    )
    check_kernel_fits(in_size, kernel, pads, dilation, padding)
    out = tuple(
        conv_output_size(n, k, stride=s, padding=p, dilation=d)
        for n, k, s, p, d in zip(in_size, kernel, stride, pads, dilation, strict=True)
    )
    return ConvGeometry(tuple(kernel), stride, dilation, pads, out)


def check_kernel_fits(in_size: tuple[int, ...], kernel: tuple[int, ...],
                      pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...],
                      padding: object) -> None:
    """Raise 'kernel 5x5 is larger than the padded input 4x4 (padding=0)' when it does not fit."""
    padded = tuple(n + a + b for n, (a, b) in zip(in_size, pads, strict=True))
    span = tuple(k + (k - 1) * (d - 1) for k, d in zip(kernel, dilation, strict=True))
    if any(s > p for s, p in zip(span, padded, strict=True)):
        dilated = "" if span == tuple(kernel) else f" (spanning {_dims(span)} with dilation " \
            f"{_dims(dilation)})"
        raise ValueError(
            f"kernel {_dims(kernel)}{dilated} is larger than the padded input {_dims(padded)} "
            f"(padding={padding!r})"
        )


def _dims(sizes: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in sizes)
