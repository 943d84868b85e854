"""Metrics of segmentation: intersection over union (IoU) per class and its mean.

For a class c, with P the pixels predicted as c and T the pixels labelled c,

    IoU_c = |P n T| / |P u T|

1 for a perfect mask, 0 when the masks do not meet. A class absent from both masks has no IoU
(0 / 0): it is NaN and left out of the mean, as in the PASCAL VOC evaluation
(Everingham et al., 2010), so that a test image without triangles neither rewards nor punishes
the triangle class.
"""

from __future__ import annotations

import numpy as np


def _check_masks(predicted: np.ndarray, truth: np.ndarray, num_classes: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted and true masks must have the same shape, got "
                         f"{predicted.shape} and {truth.shape}")
    if not (isinstance(num_classes, int | np.integer) and num_classes >= 1):
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    for name, mask in (("predicted", predicted), ("truth", truth)):
        if not np.issubdtype(mask.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class labels, got dtype {mask.dtype}")
        if mask.size and (mask.min() < 0 or mask.max() >= num_classes):
            raise ValueError(f"{name} holds labels in [{mask.min()}, {mask.max()}], outside "
                             f"[0, {num_classes - 1}] for num_classes={num_classes}")
    return predicted, truth


def iou_per_class(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """IoU of every class: integer masks of one shape (any, e.g. (N, H, W)) -> (num_classes,).

    NaN for a class that neither mask contains.
    """
    predicted, truth = _check_masks(predicted, truth, num_classes)
    ious = np.full(num_classes, np.nan)
    for c in range(num_classes):
        union = np.count_nonzero((predicted == c) | (truth == c))
        if union:
            ious[c] = np.count_nonzero((predicted == c) & (truth == c)) / union
    return ious


def mean_iou(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> float:
    """Mean of `iou_per_class` over the classes present in either mask (NaN ones skipped)."""
    ious = iou_per_class(predicted, truth, num_classes)
    return float(np.nanmean(ious))
