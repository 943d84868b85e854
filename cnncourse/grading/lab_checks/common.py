"""What the checks of every lab share: the type of a catalogue of mistakes, and the plain-numpy
reference dependencies handed to a student's function."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnncourse.grading import checks

Mistakes = dict[str, Callable[[], object]]


# Reference dependencies handed to a student's function run without the package's reference
# layers (a hidden test forbids those while the student's code runs), so they are plain numpy.
def plain_corr2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of one channel: x (H, W), k (KH, KW) -> (H-KH+1, W-KW+1)."""
    windows = sliding_window_view(np.asarray(x, dtype=np.float64), np.shape(k))
    return np.einsum("ijuv,uv->ij", windows, np.asarray(k, dtype=np.float64))


def plain_im2col(x: np.ndarray, KH: int, KW: int, stride: int = 1,  # noqa: N803
                 padding: int = 0) -> np.ndarray:
    """im2col with the lab's signature: cols (N*Ho*Wo, KH*KW*C), channels innermost."""
    xp = np.pad(np.asarray(x, dtype=np.float64),
                ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    windows = sliding_window_view(xp, (KH, KW), axis=(1, 2))[:, ::stride, ::stride]
    N, Ho, Wo, C = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * Ho * Wo, KH * KW * C)


def plain_maxpool_forward(x: np.ndarray, pool_size: int = 2,
                          stride: int | None = None) -> tuple[np.ndarray, tuple]:
    """Max pooling with the lab's signature and the lab's cache (x, pool_size, stride)."""
    stride = pool_size if stride is None else stride
    windows = sliding_window_view(np.asarray(x, dtype=np.float64), (pool_size, pool_size),
                                  axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(4, 5)), (x, pool_size, stride)


def out_of(name: str, result: object) -> object:
    """The `out` of a forward function's `(out, cache)`."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise checks.failure(name, "must return a pair (out, cache)",
                             details=f"got {type(result).__name__}")
    return result[0]
