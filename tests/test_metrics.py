"""cnncourse.metrics: IoU per class and its mean, against counts made by hand."""

import numpy as np
import pytest

from cnncourse.metrics import iou_per_class, mean_iou

TRUTH = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0]])
PREDICTED = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [2, 0, 0, 3]])


def test_iou_per_class_counts_intersection_over_union():
    # class 0: 4 of 8, class 1: 3 of 5, class 2: 1 of 2, class 3: 0 of 1, class 4: in neither
    np.testing.assert_allclose(iou_per_class(PREDICTED, TRUTH, 5),
                               [4 / 8, 3 / 5, 1 / 2, 0.0, np.nan])
    assert mean_iou(PREDICTED, TRUTH, 5) == pytest.approx((4 / 8 + 3 / 5 + 1 / 2) / 4)


def test_a_perfect_mask_scores_one_and_any_shape_works():
    masks = np.random.default_rng(0).integers(0, 3, size=(2, 5, 6))
    np.testing.assert_allclose(iou_per_class(masks, masks, 3), [1, 1, 1])
    assert mean_iou(masks.ravel(), masks.ravel(), 3) == 1.0


@pytest.mark.parametrize(("predicted", "truth", "num_classes", "message"), [
    (np.zeros((2, 3), int), np.zeros((3, 2), int), 2, r"same shape, got \(2, 3\) and \(3, 2\)"),
    (np.zeros(3), np.zeros(3, int), 2, "predicted must hold integer class labels"),
    (np.array([0, 4]), np.array([0, 1]), 3, r"labels in \[0, 4\], outside \[0, 2\]"),
    (np.array([0, 1]), np.array([0, 1]), 0, "num_classes must be a positive int, got 0"),
])
def test_bad_masks_are_refused_with_what_was_received(predicted, truth, num_classes, message):
    with pytest.raises(ValueError, match=message):
        iou_per_class(predicted, truth, num_classes)
