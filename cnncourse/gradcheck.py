"""Numerical gradient checks (CS231n style), used by the tests, the labs and the grading checks.

A backward pass is right when it agrees with central differences of a scalar built from the
forward pass: with L(x) = sum(f(x) * dout), dL/dx is exactly what backward(dout) must return.
Run checks in float64; a correct layer reaches a relative error near 1e-8 or below.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of sum(f(x) * dout) with respect to x (same shape as x).

    dL/dx[i] ~ (L(x + h e_i) - L(x - h e_i)) / (2h). x is perturbed in place and restored,
    so f must read x afresh on each call (pass a closure over the other arguments).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be a floating-point array, got dtype {x.dtype}")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        plus = np.sum(f(x) * dout)
        x[index] = original - h
        minus = np.sum(f(x) * dout)
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Largest relative error max(|x - y| / max(1e-8, |x| + |y|)) (CS231n's definition)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
