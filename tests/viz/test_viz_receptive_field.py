"""The receptive-field diagram colours exactly the inputs one top unit sees."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

from cnncourse.arithmetic import receptive_field
from cnncourse.viz import plot_receptive_field
from cnncourse.viz.grids import CURRENT_TEAL, INPUT_BLUE, OUTPUT_CYAN
from cnncourse.viz.receptive_field import traced_units


def count_cells(fig, colour):
    target = mcolors.to_rgb(colour)
    return sum(1 for p in fig.axes[0].patches if np.allclose(p.get_facecolor()[:3], target))


@pytest.mark.parametrize(("layers", "input_size", "seen", "traced_hidden"), [
    ([(3, 1), (3, 1)], 7, 5, 3),  # two 3x3 layers see 5 inputs through 3 units
    ([(3, 1)] * 3, None, 7, 3 + 5),
    # dilated: the top reads 3 units 4 apart, they read 7 units 2 apart, those see 15 inputs
    ([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 17, 15, 3 + 7),
])  # fmt: skip
def test_coloured_inputs_are_the_receptive_field(layers, input_size, seen, traced_hidden):
    fig = plot_receptive_field(layers, input_size=input_size)
    assert count_cells(fig, INPUT_BLUE) == seen
    assert count_cells(fig, OUTPUT_CYAN) == traced_hidden
    assert count_cells(fig, CURRENT_TEAL) == 1
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert f"sees {seen}" in labels and "input" in labels


def test_tracing_a_strided_stack():
    # (3, 2) then (3, 1): the top unit reads 3 units 1 apart, each reading 3 inputs 2 apart
    levels = traced_units(
        [type("Row", (), {"kernel": 3, "stride": 2, "dilation": 1})(),
         type("Row", (), {"kernel": 3, "stride": 1, "dilation": 1})()], top_unit=0)
    assert levels == [set(range(7)), {0, 1, 2}, {0}]
    assert receptive_field([(3, 2), (3, 1)]) == 7


@pytest.mark.parametrize("input_size", [4, 200, 7.5])
def test_input_smaller_than_the_field_or_too_large_raises(input_size):
    with pytest.raises(ValueError, match=f"got {input_size}"):
        plot_receptive_field([(3, 1), (3, 1)], input_size=input_size)
