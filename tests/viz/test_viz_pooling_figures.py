"""Static pooling figures: the modes side by side, shift invariance, gradients to the winners."""

import numpy as np
import pytest

from cnncourse.viz.pooling import (
    plot_pooling_gradient,
    plot_pooling_modes,
    plot_shift_invariance,
    pooled_changes,
)

DECK = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)


def numbers(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_modes_figure_writes_the_three_outputs():
    texts = numbers(plot_pooling_modes(DECK, 2))
    # max [[6, 8], [3, 4]], average [[3.25, 5.25], [2, 2]], sum [[13, 21], [8, 8]]
    assert texts[17:21] == ["6", "8", "3", "4"]
    assert texts[22:26] == ["3.2", "5.2", "2", "2"]
    assert texts[27:31] == ["13", "21", "8", "8"]


def test_max_gradient_goes_to_the_winners():
    fig = plot_pooling_gradient(DECK, np.array([[1.0, 2.0], [3.0, 4.0]]))
    dx = numbers(fig)[-17:-1]  # the last grid, before its label
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 3] = 1, 2, 3, 4  # 6, 8, 3, 4
    assert dx == [f"{v:.0f}" for v in expected.ravel()]


def test_average_gradient_is_spread_evenly():
    fig = plot_pooling_gradient(DECK, np.ones((2, 2)), mode="average")
    assert numbers(fig)[-17:-1] == ["0.25"] * 16


def test_shift_within_a_window_keeps_the_pooled_value():
    x = np.zeros((4, 4))
    x[0, 0] = 5.0  # moves to column 1: same window
    x[2, 1] = 7.0  # moves to column 2: the next window
    assert pooled_changes(x) == (1.0, 0.5)  # both values move; pooled (1, 0) and (1, 1) change
    fig = plot_shift_invariance(x)
    assert fig.get_suptitle().startswith("moved 1 pixel right: 2 of 4 max-pooled values change")


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: plot_pooling_gradient(DECK, np.ones((3, 3))), r"got \(3, 3\)"),
    (lambda: plot_pooling_gradient(DECK, np.ones((2, 2)), mode="sum"), "got 'sum'"),
    (lambda: plot_shift_invariance(DECK, shift=4), "got 4"),
    (lambda: plot_pooling_modes(np.arange(4.0)), r"shape \(4,\)"),
])  # fmt: skip
def test_bad_input_raises(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_shift_figure_draws_the_pooling_windows_orange_and_heavier_than_the_grid():
    """The chapter says "orange lines mark the 2x2 pooling windows": one orange outline per
    window of both maps, each drawn heavier than the lines between the cells."""
    from matplotlib.colors import same_color

    x = np.zeros((4, 6))
    x[1, 2] = 3.0
    fig = plot_shift_invariance(x, pool_size=2)
    edges = [(p.get_edgecolor(), p.get_linewidth(), p.get_width(), p.get_height())
             for p in fig.axes[0].patches]
    windows = [e for e in edges if same_color(e[0], "#f28e2b")]
    assert len(windows) == 2 * (2 * 3)  # two maps of 2x3 windows
    assert all(w == 2 and h == 2 for _, _, w, h in windows)
    grid = [lw for colour, lw, w, h in edges if same_color(colour, "black") and w == h == 1]
    assert grid and min(lw for _, lw, _, _ in windows) >= 2 * max(grid)
