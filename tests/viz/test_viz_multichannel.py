"""The multi-channel figure shows the layer's numbers: per-channel sums plus the bias."""

import numpy as np
import pytest

from cnncourse.viz.multichannel import multichannel_terms, plot_multichannel_convolution

X = np.zeros((4, 4, 2))
X[:, :, 0] = np.arange(16).reshape(4, 4)  # channel 0: 0..15
X[:, :, 1] = 1.0  # channel 1: all ones
W = np.zeros((3, 3, 2, 3))
W[1, 1, 0, 0] = 1.0  # kernel 0, channel 0: picks the window's centre
W[:, :, 1, 0] = 1.0  # kernel 0, channel 1: sums nine ones
W[0, 0, 0, 1] = 2.0  # kernel 1: twice the top-left value
B = np.array([0.5, -1.0, 0.0])


def test_terms_are_one_sum_per_input_channel():
    # window at (1, 0): centre is x[2, 1] = 9; channel 1 gives 9 ones; bias 0.5
    terms, value = multichannel_terms(X, W, B, (1, 0))
    assert terms == [9.0, 9.0]
    assert value == 18.5


def test_figure_writes_every_output_value_and_the_sum_in_the_title():
    fig = plot_multichannel_convolution(X, W, B, position=(1, 0))
    texts = [t.get_text() for t in fig.axes[0].texts]
    # output 1 = 2 * x[i, j] - 1: the values 2*0-1, 2*1-1, 2*4-1, 2*5-1
    for value in ("-1", "1", "7", "9"):
        assert value in texts
    assert "= (9) + (9) + bias 0.5 = 18.5" in fig.get_suptitle()
    assert "2 input channels, 3 kernels of 3x3x2" in fig.get_suptitle()


@pytest.mark.parametrize(("x", "w", "b", "fragment"), [
    (X[:, :, 0], W, B, r"x \(4, 4\)"),
    (X, W[:, :, :1], B, r"w \(3, 3, 1, 3\)"),
    (X, W, B[:2], r"b \(2,\)"),
])  # fmt: skip
def test_mismatched_shapes_raise(x, w, b, fragment):
    with pytest.raises(ValueError, match=fragment):
        plot_multichannel_convolution(x, w, b)


def test_position_outside_the_output_raises():
    with pytest.raises(ValueError, match=r"got \(2, 0\)"):
        plot_multichannel_convolution(X, W, B, position=(2, 0))
