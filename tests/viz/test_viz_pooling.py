"""Pooling figures show the numbers the layers compute, window by window."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

from cnncourse.viz import animate_pooling, plot_pooling, pooled_values

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")

# the 5x5 input pooled with 3x3 windows, stride 1, in Dumoulin & Visin (2016)
GUIDE = np.array([[3, 3, 2, 1, 0],
                  [0, 0, 1, 3, 1],
                  [3, 1, 2, 2, 3],
                  [2, 0, 0, 2, 2],
                  [2, 0, 0, 0, 1]], dtype=float)  # fmt: skip


def pool_by_hand(x, size, stride, reduce):
    Ho, Wo = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    return np.array([[reduce(x[i * stride:i * stride + size, j * stride:j * stride + size])
                      for j in range(Wo)] for i in range(Ho)])


@pytest.mark.parametrize(("mode", "reduce"), [("max", np.max), ("average", np.mean),
                                              ("sum", np.sum)])
@pytest.mark.parametrize(("size", "stride"), [(3, 1), (2, 2), (3, 2)])
def test_pooled_values_match_windows_by_hand(mode, reduce, size, stride):
    np.testing.assert_allclose(pooled_values(GUIDE, size, stride, mode),
                               pool_by_hand(GUIDE, size, stride, reduce))


def test_guide_example_max_pools_to_its_figure():
    assert pooled_values(GUIDE, 3, 1).tolist() == [[3, 3, 3], [3, 3, 3], [3, 2, 3]]


def test_static_figure_writes_every_pooled_number():
    fig = plot_pooling(GUIDE, 3, 1, mode="average")
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_visible()]
    # 25 input numbers, then the 9 averages
    assert texts[:25] == [f"{v:.0f}" for v in GUIDE.ravel()]
    assert texts[25:] == [f"{v:.2g}" if not v.is_integer() else f"{v:.0f}"
                          for v in pool_by_hand(GUIDE, 3, 1, np.mean).ravel()]


def test_winning_unit_is_the_first_maximum_of_the_window():
    x = np.array([[1, 4, 0, 0], [4, 2, 0, 5], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=float)
    fig = plot_pooling(x, 2, 2, position=(0, 0))  # window [[1, 4], [4, 2]]: a tie at 4
    red = mcolors.to_rgb("red")
    (winner,) = [p for p in fig.axes[0].patches
                 if p.get_fill() and np.allclose(p.get_facecolor()[:3], red)]
    assert tuple(winner.get_xy()) == (1.0, 0.0)  # column 1, row 0: the first 4 in row-major order


@pytest.mark.parametrize(("x", "size", "stride", "frames"), [
    (GUIDE, 3, 1, 9), (GUIDE, 2, None, 4), (np.ones((6, 8)), 2, 2, 12), (np.ones((7, 7)), 3, 2, 9),
])  # fmt: skip
def test_animation_has_one_frame_per_output(x, size, stride, frames):
    assert len(list(animate_pooling(x, size, stride).new_frame_seq())) == frames


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: plot_pooling(np.arange(5.0)), "shape \\(5,\\)"),
    (lambda: plot_pooling(GUIDE, 2, mode="median"), "got 'median'"),
    (lambda: animate_pooling(GUIDE, 6), "larger than"),
    (lambda: plot_pooling(GUIDE, 2, position=(0, 2)), "got \\(0, 2\\)"),
])  # fmt: skip
def test_bad_input_raises(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
