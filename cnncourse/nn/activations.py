"""ReLU, the activation of every convolutional network in the course (AlexNet onwards)."""

from __future__ import annotations

from typing import Any

import numpy as np


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """ReLU: out = max(x, 0), any shape; returns out and a cache for the backward pass."""
    x = np.asarray(x)
    return np.maximum(x, 0), x


def relu_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """Gradient of ReLU: dout where the input was positive, 0 elsewhere (and at 0 itself)."""
    x = cache
    return np.where(x > 0, dout, 0).astype(x.dtype, copy=False)
