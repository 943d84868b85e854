"""Fully connected (Dense) layer and Flatten, as Keras `Dense` and `Flatten`.

dense: x (N, D), w (D, M) = a Keras Dense kernel, b (M,) -> out = x @ w + b, shape (N, M).
flatten: x (N, H, W, C) (or any (N, ...)) -> (N, H*W*C) in C order, the order Keras uses
for channels-last tensors, so a Keras Dense kernel after Flatten can be loaded as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnncourse.nn.validation import as_float_array, check_dout, check_weights


def dense_forward(x: np.ndarray, w: np.ndarray,
                  b: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
    """Affine layer: x (N, D), w (D, M), b (M,) -> out (N, M) = x @ w + b, cache."""
    x = as_float_array("x", x, "(N, D)")
    w = as_float_array("w", w, "(D, M)").astype(x.dtype, copy=False)
    b = check_weights(x, w, b, in_axis=0, n_out=w.shape[1])
    return x @ w + b, (x, w)


def dense_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx (N, D), dw (D, M), db (M,)) of `dense_forward` given dout (N, M).

    out = x @ w + b:  dx = dout @ w^T,  dw = x^T @ dout,  db = sum of dout over the batch.
    """
    x, w = cache
    dout = check_dout(dout, (x.shape[0], w.shape[1])).astype(x.dtype, copy=False)
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def flatten_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """Flatten every axis but the first: x (N, ...) -> out (N, prod(...)), cache."""
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"x must have a batch axis, got shape {x.shape}")
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient of flatten: reshape dout (N, D) back to the input's shape (N, ...)."""
    return dout.reshape(cache)
