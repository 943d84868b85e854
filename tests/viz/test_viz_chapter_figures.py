"""Figures of the first chapters (why convolutions, the operator, arithmetic) show what their
captions say: numbers worked out by hand here, never taken from the code under test."""

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from cnncourse.filters import sobel_x
from cnncourse.viz.banded_matrix import (
    convolution_matrix,
    plot_connectivity_matrices,
    plot_convolution_matrix,
)
from cnncourse.viz.conv1d import plot_conv1d_settings
from cnncourse.viz.coverage import coverage_counts, plot_input_coverage, plot_output_sizes
from cnncourse.viz.equivariance import plot_equivariance
from cnncourse.viz.filters import plot_filter_effects, plot_image_gradient
from cnncourse.viz.grid_equation import plot_grid_equation
from cnncourse.viz.vision_tasks import object_boxes, plot_rgb_channels, plot_vision_tasks

X = [1.0, 3.0, 0.0, -2.0, 4.0, 1.0, 2.0]
W = [1.0, 2.0, -1.0]
Z_VALID = ["7", "5", "-8", "5", "4"]  # z_i = x_{i-1} + 2 x_i - x_{i+1}, by hand


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_convolution_matrix_is_banded_and_reproduces_the_layer():
    matrix = convolution_matrix(W, 7)
    expected = np.zeros((5, 7))
    for row in range(5):
        expected[row, row:row + 3] = W
    np.testing.assert_array_equal(matrix, expected)
    assert [str(int(v)) for v in matrix @ np.array(X)] == Z_VALID
    strided = convolution_matrix(W, 7, stride=2)
    np.testing.assert_array_equal(strided, expected[::2])


def test_convolution_matrix_figure_writes_only_the_band():
    fig = plot_convolution_matrix(W, 6)
    assert texts(fig.axes[0]) == ["1", "2", "-1"] * 4  # 4 rows of 3 weights, zeros blank


def test_connectivity_matrices_count_weights():
    fig = plot_connectivity_matrices(8, 3)
    assert [ax.get_title() for ax in fig.axes] == [
        "fully connected\n48 weights", "locally connected\n18 weights",
        "convolution\n3 shared weights"]  # 6 outputs x 8 inputs; 6 x 3; 3


def test_conv1d_settings_draw_the_outputs_of_each_setting():
    fig = plot_conv1d_settings(X, W, [{}, {"stride": 2}, {"padding": "same"}])
    valid, strided, same = fig.axes
    assert texts(valid)[-5:] == Z_VALID
    assert texts(strided)[-3:] == ["7", "-8", "4"]
    # 'same': one zero each side; ends are 0 + 2*1 - 3 = -1 and 1 + 2*2 - 0 = 5
    assert texts(same)[-7:] == ["-1", *Z_VALID, "5"]
    assert "7 inputs \u2192 5 outputs" in valid.get_title(loc="left")


def test_conv1d_settings_reject_bad_input():
    with pytest.raises(ValueError, match="shapes"):
        plot_conv1d_settings(np.zeros((2, 2)), W, [{}])


def test_grid_equation_writes_the_decks_worked_example():
    patch = np.array([[10, 5, 3], [4, 5, 1], [1, 1, 7]])
    kernel = np.array([[0, 0, 0], [0, 0.5, 0], [0, 1, 0.5]])
    fig = plot_grid_equation([patch, kernel, patch * kernel], ["patch", "kernel", "products"],
                             ["\u2299", "="], result="sum = 7")
    shown = texts(fig.axes[0])
    numbers = [t for t in shown if t.replace(".", "").isdigit()]
    assert numbers[18:] == ["0", "0", "0", "0", "2.5", "0", "0", "1", "3.5"]
    assert "sum = 7" in shown and "\u2299" in shown
    with pytest.raises(ValueError, match="2 symbols"):
        plot_grid_equation([patch, kernel], ["a", "b"], ["x", "="])


def test_equivariance_figure_shows_a_true_translation():
    image = np.zeros((24, 24))
    image[4:10, 5] = 1.0
    fig = plot_equivariance(image, sobel_x(), (6, 8))
    x, f_x, t_x, f_tx = (ax.images[0].get_array() for ax in fig.axes)
    np.testing.assert_array_equal(t_x, np.roll(x, (6, 8), axis=(0, 1)))
    np.testing.assert_allclose(f_tx, np.roll(f_x, (6, 8), axis=(0, 1)))
    assert f_x.max() == 4.0 and "max 4" in fig.axes[3].get_title()  # 1 + 2 + 1 on the stroke
    solid = [p for p in fig.axes[2].patches if isinstance(p, Rectangle) and
             p.get_linestyle() == "-"]
    assert [p.get_xy() for p in solid] == [(5 + 8 - 1.5, 4 + 6 - 1.5)]
    with pytest.raises(ValueError, match="too close to the border"):
        plot_equivariance(image, sobel_x(), (0, 20))


def test_object_boxes_one_per_connected_object():
    mask = np.zeros((10, 12), dtype=int)
    mask[1:4, 2:5] = 1
    mask[6:9, 7:11] = 1  # a second object of class 1
    mask[5, 0:3] = 2
    assert object_boxes(mask) == [(1, (1, 2, 3, 4)), (1, (6, 7, 8, 10)), (2, (5, 0, 5, 2))]


def test_vision_tasks_name_the_largest_class_and_box_every_object():
    mask = np.zeros((16, 16), dtype=int)
    mask[1:4, 1:4] = 1  # 9 pixels
    mask[8:14, 6:12] = 2  # 36 pixels: the image's label
    fig = plot_vision_tasks(mask > 0, mask, ("background", "disk", "square"))
    assert "square" in fig.axes[0].get_title()
    assert texts(fig.axes[1]) == ["disk", "square"]
    np.testing.assert_array_equal(fig.axes[2].images[-1].get_array(), mask)  # over the image


def test_rgb_channels_show_each_channel():
    image = np.random.default_rng(0).random((6, 8, 3))
    fig = plot_rgb_channels(image)
    for channel in range(3):
        np.testing.assert_array_equal(fig.axes[1 + channel].images[0].get_array(),
                                      image[..., channel])
    with pytest.raises(ValueError, match=r"\(6, 8\)"):
        plot_rgb_channels(image[..., 0])


def test_filter_effects_show_what_each_kernel_changed():
    image = np.random.default_rng(1).random((12, 14))
    fig = plot_filter_effects(image, ["identity", "shift", "edge"])
    rows = np.array(fig.axes).reshape(3, 3)
    assert [row[0].get_title() for row in rows] == ["identity", "shift", "edge"]
    identity_change = rows[0, 2].images[0].get_array()
    np.testing.assert_array_equal(identity_change, 0.0)  # nothing changed
    shift_change = rows[1, 2].images[0].get_array()
    np.testing.assert_allclose(shift_change[:, 1:], image[:, :-1] - image[:, 1:])
    assert rows[2, 1].get_title() == "output (signed)" and rows[2, 2].get_title() == "|output|"


def test_filter_effects_crop_and_integer_weights():
    image = np.random.default_rng(2).random((20, 20))
    fig = plot_filter_effects(image, ["gaussian 3x3"], crop=(slice(2, 10), slice(4, 16)))
    kernel_ax, out_ax, _ = fig.axes
    assert out_ax.images[0].get_array().shape == (8, 12)
    assert texts(kernel_ax) == ["1", "2", "1", "2", "4", "2", "1", "2", "1"]
    assert kernel_ax.get_ylabel() == "1/16 \u00d7"


def test_image_gradient_of_a_vertical_edge():
    image = np.zeros((9, 9))
    image[:, 5:] = 1.0  # brighter to the right
    gx, gy, magnitude = (ax.images[0].get_array() for ax in plot_image_gradient(image).axes)
    assert gx[4, 4] == 4.0 and gx[4, 5] == 4.0 and gx[4, 1] == 0.0  # 1 + 2 + 1 across
    np.testing.assert_array_equal(gy[1:-1], 0.0)
    np.testing.assert_array_equal(magnitude[1:-1], np.abs(gx[1:-1]))


@pytest.mark.parametrize(("case", "counts"), [
    ((6, 3, 2, 1), [1, 1, 2, 1, 2, 1, 1, 0]),  # Dumoulin & Visin Fig 2.7: last padding unread
    ((6, 3, 2, 0), [1, 1, 2, 1, 1, 0]),  # input 5 unread
    ((7, 3, 3, 0), [1, 1, 1, 1, 1, 1, 0]),
    ((5, 3, 1, 0), [1, 2, 3, 2, 1]),
])
def test_coverage_counts_by_hand(case, counts):
    i, k, s, p = case
    assert coverage_counts(i, k, stride=s, padding=p).tolist() == counts


def test_coverage_figure_marks_unread_inputs_red_and_padding_dashed():
    fig = plot_input_coverage([(6, 3, 2, 1), (6, 3, 2, 0)])
    ax = fig.axes[0]
    red = [p for p in ax.patches if p.get_facecolor()[:3] == (244 / 255, 166 / 255, 166 / 255)]
    assert len(red) == 11  # the 6x6 input without padding: last row and column, 6 + 6 - 1
    dashed = [p for p in ax.patches if p.get_linestyle() not in ("-", "solid")]
    assert len(dashed) == 8 * 8 - 6 * 6  # the padding ring of the first case
    assert "i=6, k=3, s=2, p=1\n\u2192 o=3" in texts(ax)


def test_output_sizes_are_floor_steps():
    fig = plot_output_sizes(3, [2], max_input=9)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [3, 4, 5, 6, 7, 8, 9]
    assert list(line.get_ydata()) == [1, 1, 2, 2, 3, 3, 4]  # floor((i - 3) / 2) + 1


def test_filter_effects_draw_every_change_on_one_colour_scale():
    """ "The Gaussian's difference is paler" can only be seen when every "output - input"
    panel shares one scale: here the sharpen's change is several times the Gaussian's."""
    image = np.random.default_rng(3).random((16, 16))
    fig = plot_filter_effects(image, ["gaussian 3x3", "sharpen"])
    rows = np.array(fig.axes).reshape(2, 3)
    limits = {rows[r, 2].images[0].get_clim() for r in range(2)}
    assert len(limits) == 1
    (low, high), = limits
    sharpen_change = rows[1, 2].images[0].get_array()
    assert low == -high and high >= 0.5 * np.abs(sharpen_change).max()
    assert rows[0, 2].get_title() == rows[1, 2].get_title()
