"""The ReLU figure writes max(0, z) for every value of the map."""

import numpy as np
import pytest

from cnncourse.viz.nonlinearity import plot_relu


def test_negative_values_become_zero_and_the_rest_pass():
    z = np.array([[-2.0, 3.0], [0.0, -0.5]])
    fig = plot_relu(z)
    grid = fig.axes[1]
    numbers = [t.get_text() for t in grid.texts if t.get_text() not in
               ("before (z)", "after ReLU", "\u2192")]
    assert numbers == ["-2", "3", "0", "-0.5", "0", "3", "0", "0"]


@pytest.mark.parametrize("shape", [(4,), (2, 9)])
def test_bad_shape_raises(shape):
    with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        plot_relu(np.zeros(shape))
