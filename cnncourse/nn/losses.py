"""Softmax cross-entropy, the loss of every classifier in the course."""

from __future__ import annotations

import numpy as np

from cnncourse.nn.validation import as_float_array


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits (N, K), labels (N,) with values in [0, K) -> (loss, dlogits (N, K)).
    loss = -mean_n log p[n, labels[n]] with p = softmax(logits); dlogits = (p - onehot) / N.
    The max of each row is subtracted first so exp never overflows.
    """
    logits = as_float_array("logits", logits, "(N, K)")
    labels = np.asarray(labels)
    N, K = logits.shape
    if labels.shape != (N,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {N} integers, got shape {labels.shape} "
                         f"and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"labels must lie in [0, {K}), got values from {labels.min()} "
                         f"to {labels.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, K)
    rows = np.arange(N)
    loss = -log_p[rows, labels].mean()
    dlogits = np.exp(log_p)
    dlogits[rows, labels] -= 1  # d loss / d logits = p - onehot, per example
    return float(loss), dlogits / N
