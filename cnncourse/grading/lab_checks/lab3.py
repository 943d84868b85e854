"""The checks of lab 3 (lab3_pooling): max and average pooling, forward and backward."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cnncourse import nn as reference
from cnncourse.grading import checks
from cnncourse.grading.checks import call_own, check_array, check_gradients
from cnncourse.grading.lab_checks.common import Mistakes, out_of, plain_maxpool_forward


# ============================================================ pooling
def reference_pool(kind: str, x: np.ndarray, pool_size: int, stride: int) -> np.ndarray:
    forward = reference.maxpool2d_forward if kind == "max" else reference.avgpool2d_forward
    return forward(x, pool_size=pool_size, stride=stride)[0]


def pool_why(x_shape: tuple, pool_size: int, stride: int) -> str:
    N, H, W, C = x_shape
    Ho = (H - pool_size) // stride + 1
    Wo = (W - pool_size) // stride + 1
    return (f"(N, Ho, Wo, C) with Ho = (H - P) // s + 1 = ({H} - {pool_size}) // {stride} + 1 "
            f"= {Ho}, Wo = {Wo}")


def pool_forward_mistakes(kind: str, x: np.ndarray, pool_size: int, stride: int) -> Mistakes:
    right = reference_pool(kind, x, pool_size, stride)
    _, Ho, Wo, _ = right.shape
    mistakes: Mistakes = {
        "stride_ignored_in_windows": lambda: reference_pool(kind, x, pool_size, 1)[:, :Ho, :Wo],
        "size_ignores_stride": lambda: reference_pool(kind, x, pool_size, 1),
        "size_off_by_one": lambda: right[:, :-1, :-1],
    }
    if kind == "max":
        mistakes["maxpool_is_average"] = lambda: reference_pool("avg", x, pool_size, stride)
        mistakes["maxpool_starts_at_zero"] = lambda: np.maximum(right, 0.0)
    else:
        mistakes["avgpool_not_divided"] = lambda: pool_size**2 * right
        mistakes["avgpool_divided_by_p"] = lambda: pool_size * right
    return mistakes


def check_pool_forward(kind: str, student: Callable, x: object, pool_size: int = 2,
                       stride: int | None = None, *, expected: object = None,
                       forbidden: Sequence[Callable] = ()) -> None:
    """maxpool2d_forward / avgpool2d_forward (kind 'max' / 'avg'): out of (out, cache)."""
    x = np.asarray(x, dtype=np.float64)
    stride = pool_size if stride is None else stride
    name = f"{kind}pool2d_forward(P={pool_size}, s={stride})"
    got = out_of(name, call_own(name, student, x, pool_size, stride, forbidden=forbidden))
    right = reference_pool(kind, x, pool_size, stride)
    check_array(name, got, right, why=pool_why(x.shape, pool_size, stride),
                mistakes={**pool_forward_mistakes(kind, x, pool_size, stride),
                          **checks.layout_mistakes(right)})
    if expected is not None:
        check_array(name, right, expected)


def _windows(x_shape: tuple, pool_size: int, stride: int, dout: np.ndarray):
    """(u, v, rows, cols) of every tap of every window, as in the lab's loops."""
    _, Ho, Wo, _ = dout.shape
    for u in range(pool_size):
        for v in range(pool_size):
            yield u, v, slice(u, u + stride * Ho, stride), slice(v, v + stride * Wo, stride)


def _max_routed(x: np.ndarray, pool_size: int, stride: int, dout: np.ndarray, *,
                ties: str = "first", add: bool = True) -> np.ndarray:
    """dx of max pooling: ties 'first' (the course's rule) or 'all'; add False overwrites."""
    out = reference_pool("max", x, pool_size, stride)
    dx = np.zeros_like(x)
    routed = np.zeros(out.shape, dtype=bool)
    for _, _, rows, cols in _windows(x.shape, pool_size, stride, dout):
        wins = x[:, rows, cols, :] == out
        if ties == "first":
            wins &= ~routed
        if add:
            dx[:, rows, cols, :] += np.where(wins, dout, 0.0)
        else:
            dx[:, rows, cols, :] = np.where(wins, dout, dx[:, rows, cols, :])
        routed |= wins
    return dx


def _avg_spread(x_shape: tuple, pool_size: int, stride: int, dout: np.ndarray, *,
                scale: float, add: bool = True) -> np.ndarray:
    dx = np.zeros(x_shape)
    for _, _, rows, cols in _windows(x_shape, pool_size, stride, dout):
        if add:
            dx[:, rows, cols, :] += dout * scale
        else:
            dx[:, rows, cols, :] = dout * scale
    return dx


def check_maxpool_backward(student: Callable, x: object, pool_size: int, stride: int,
                           dout: object, *, forbidden: Sequence[Callable] = ()) -> None:
    """maxpool2d_backward(dout, cache) with the lab's cache (x, pool_size, stride) and the
    reference forward pass given to it."""
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    name = f"maxpool2d_backward(P={pool_size}, s={stride})"
    with checks.dependencies_replaced(student, maxpool2d_forward=plain_maxpool_forward):
        got = call_own(name, student, dout, (x.copy(), pool_size, stride), forbidden=forbidden)
    expected = _max_routed(x, pool_size, stride, dout)
    check_gradients(name, (got,), (expected,), names=("dx",), mistakes={"dx": {
        "maxpool_gradient_to_every_tie": lambda: _max_routed(x, pool_size, stride, dout,
                                                             ties="all"),
        "maxpool_gradient_to_every_input": lambda: _avg_spread(x.shape, pool_size, stride,
                                                               dout, scale=1.0),
        "dx_overlaps_not_added": lambda: _max_routed(x, pool_size, stride, dout, add=False),
    }})


def check_avgpool_backward(student: Callable, x: object, pool_size: int, stride: int,
                           dout: object, *, forbidden: Sequence[Callable] = ()) -> None:
    """avgpool2d_backward(dout, cache) with the lab's cache (x.shape, pool_size, stride)."""
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    name = f"avgpool2d_backward(P={pool_size}, s={stride})"
    got = call_own(name, student, dout, (x.shape, pool_size, stride), forbidden=forbidden)
    scale = 1.0 / pool_size**2
    expected = _avg_spread(x.shape, pool_size, stride, dout, scale=scale)
    check_gradients(name, (got,), (expected,), names=("dx",), mistakes={"dx": {
        "avgpool_not_divided": lambda: _avg_spread(x.shape, pool_size, stride, dout, scale=1.0),
        "avgpool_divided_by_p": lambda: _avg_spread(x.shape, pool_size, stride, dout,
                                                    scale=1.0 / pool_size),
        "dx_overlaps_not_added": lambda: _avg_spread(x.shape, pool_size, stride, dout,
                                                     scale=scale, add=False),
    }})
