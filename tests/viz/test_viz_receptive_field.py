"""The receptive-field diagram colours exactly the inputs one top unit sees."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

from cnncourse.arithmetic import receptive_field
from cnncourse.viz import animate_receptive_field, animation_html, plot_receptive_field
from cnncourse.viz.drawing.colours import CURRENT_TEAL, INPUT_BLUE, OUTPUT_CYAN
from cnncourse.viz.drawing.embed import SIZE_BUDGET_BYTES
from cnncourse.viz.receptive_field import traced_units

# animations built only to inspect their frames are never rendered, and matplotlib says so
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


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


@pytest.mark.parametrize("layers", [
    [(3, 1)] * 3,  # 3, 5, 7
    [(3, 1, 1), (3, 1, 2), (3, 1, 4)],  # dilated: 3, 7, 15
    [(5, 1), (2, 2), (5, 1)],  # LeNet-like conv, pool, conv: 5, 6, 14
])  # fmt: skip
def test_animation_grows_the_field_one_layer_a_frame(layers):
    anim = animate_receptive_field(layers)
    steps = list(anim.new_frame_seq())
    assert steps == list(range(len(layers) + 1))  # the input alone, then one frame per layer
    for step in steps:
        anim._draw_frame(step)  # draw this frame as the player would
        assert count_cells(anim._fig, INPUT_BLUE) == (receptive_field(layers[:step]) if step
                                                      else 1)
        assert count_cells(anim._fig, CURRENT_TEAL) == (1 if step else 0)
        hidden = count_cells(anim._fig, OUTPUT_CYAN)
        assert (hidden > 0) == (step >= 2)  # the layers between the input and the traced unit
        assert f"sees {receptive_field(layers[:step]) if step else 1} input" in (
            anim._fig.get_suptitle())


def test_animation_traces_the_unit_of_the_frame_layer():
    # the teal unit of frame l sits on the row of layer l: rows are ROW_SPACING apart, top first
    from cnncourse.viz.receptive_field import ROW_SPACING

    layers = [(3, 1)] * 3
    anim = animate_receptive_field(layers)
    target = mcolors.to_rgb(CURRENT_TEAL)
    for step in (1, 2, 3):
        anim._draw_frame(step)
        (teal,) = [p for p in anim._fig.axes[0].patches
                   if np.allclose(p.get_facecolor()[:3], target)]
        assert teal.get_xy()[1] == pytest.approx((len(layers) - step) * ROW_SPACING)


def test_static_figure_is_the_last_frame():
    layers = [(3, 1), (2, 2), (3, 1)]
    fig = plot_receptive_field(layers)
    assert count_cells(fig, INPUT_BLUE) == receptive_field(layers) == 8
    assert fig.get_suptitle() == "after layer 3 of 3: one unit sees 8 inputs"


def test_animation_fits_the_book_size_budget():
    html = animation_html(animate_receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)],
                                                  input_size=17))
    assert len(html.data.encode()) < SIZE_BUDGET_BYTES
