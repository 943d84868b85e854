"""ReLU, the activation of every convolutional network in the course (AlexNet onwards)."""

from __future__ import annotations

from typing import Any

import numpy as np


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """ReLU: out = max(x, 0), any shape; returns out and a cache for the backward pass."""
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient of ReLU: dout where the input was positive, 0 elsewhere (and at 0 itself).

    dx has dout's shape and a floating dtype: the upstream gradient's, or x's if that is wider.
    An integer input (an image of uint8 pixels) must not turn a gradient of 0.5 into 0."""
    x, dout = cache, np.asarray(dout)
    if dout.shape != x.shape:
        raise ValueError(f"dout has shape {dout.shape}, expected the input's {x.shape}")
    dtype = np.result_type(dout.dtype, x.dtype, np.float32) if np.issubdtype(
        x.dtype, np.floating) else np.result_type(dout.dtype, np.float32)  # fmt: skip
    # chain rule: dL/dx = dL/dout * 1[x > 0]
    return np.where(x > 0, dout, 0).astype(dtype, copy=False)
