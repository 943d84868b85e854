"""The segmentation figure's error row."""

import numpy as np
import pytest

from cnncourse.viz.segmentation import plot_segmentation


def test_segmentation_figure_marks_exactly_the_wrong_pixels():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=(2, 6, 6))
    predicted = truth.copy()
    predicted[1, 2, 3] = (truth[1, 2, 3] + 1) % 3
    fig = plot_segmentation(rng.random((2, 6, 6, 1)), truth, predicted, ["bg", "a", "b"])
    errors = [ax for ax in fig.axes if ax.get_title().endswith("wrong")]
    assert [ax.get_title() for ax in errors] == ["0 wrong", "1 wrong"]
    np.testing.assert_array_equal(errors[1].images[0].get_array(), truth[1] != predicted[1])


def test_mismatched_shapes_raise_naming_them():
    with pytest.raises(ValueError, match="\\(1, 4, 4\\), \\(1, 4, 4\\), \\(1, 5, 5\\)"):
        plot_segmentation(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)), np.zeros((1, 5, 5)), ["a"])
