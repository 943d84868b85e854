"""Numbers written in the cells of `plot_matrix` and the kernel grids read as the values."""

import numpy as np
import pytest

from cnncourse.viz.drawing.grids import format_number
from cnncourse.viz.matrix import plot_matrix


@pytest.mark.parametrize(("value", "compact", "text"), [
    (3.0, False, "3"),
    (-2.0, True, "-2"),
    (0.5, False, "0.5"),
    (0.0625, False, "0.062"),
    (10.25, False, "10.25"),
    (-12.5, False, "-12.5"),
    (0.11, True, ".11"),
    (-0.05, True, "-.05"),
    (10.25, True, "10.25"),
    (-10.5, True, "-10.50"),
    (2.25, True, "2.25"),
])
def test_format_number_keeps_every_digit_before_the_point(value, compact, text):
    assert format_number(value, compact=compact) == text


def test_plot_matrix_labels_weights_of_ten_and_more_as_they_are():
    fig = plot_matrix(np.array([[10.25, 0.5], [-12.5, 100.0]]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["10.25", "0.5", "-12.5", "100"]
