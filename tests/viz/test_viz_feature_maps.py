"""Kernels, feature maps, filter banks and matrices: one panel per item, bad shapes named."""

import numpy as np
import pytest

from cnncourse.filters import KERNELS
from cnncourse.viz import plot_feature_maps, plot_filter_bank, plot_kernels, plot_matrix


def images(fig):
    return [im for ax in fig.axes for im in ax.images]


def test_grey_kernels_one_panel_per_filter():
    w = np.random.default_rng(0).normal(size=(3, 3, 2, 6))  # (KH, KW, C_in, F)
    fig = plot_kernels(w)
    shown = images(fig)
    assert len(shown) == 6
    np.testing.assert_allclose(shown[4].get_array(), w[:, :, 0, 4])
    assert shown[4].get_clim() == pytest.approx((-np.abs(w[:, :, 0, 4]).max(),
                                                 np.abs(w[:, :, 0, 4]).max()))


def test_colour_kernels_are_rgb_patches_in_unit_range():
    w = np.random.default_rng(1).normal(size=(5, 5, 3, 4))
    shown = images(plot_kernels(w))
    assert [im.get_array().shape for im in shown] == [(5, 5, 3)] * 4
    assert all(im.get_array().min() == 0 and im.get_array().max() == 1 for im in shown)


def test_hand_crafted_kernels_with_titles_and_weights_written():
    kernels = {name: make() for name, make in KERNELS.items()}
    fig = plot_kernels(list(kernels.values()), titles=list(kernels))
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == list(kernels)
    sobel_axes = fig.axes[list(kernels).index("sobel x")]
    assert [t.get_text() for t in sobel_axes.texts] == ["-1", "0", "1", "-2", "0", "2",
                                                        "-1", "0", "1"]


def test_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(2).random((8, 9, 5))
    shown = images(plot_feature_maps(maps))
    assert len(shown) == 5
    np.testing.assert_allclose(shown[3].get_array(), maps[:, :, 3])
    assert len(images(plot_feature_maps(np.zeros((4, 4, 40)), max_maps=10))) == 10


def test_filter_bank_original_then_each_kernel():
    image = np.zeros((12, 12))
    image[:, 6:] = 1.0  # a vertical edge
    fig = plot_filter_bank(image, ["identity", "sobel x", "sobel y"])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["original", "identity",
                                                               "sobel x", "sobel y"]
    original, same, gx, gy = (im.get_array() for im in images(fig))
    np.testing.assert_allclose(same, original)
    assert gx[:, 5:7].min() > 0.5 and gx[2:-2, :4].max() == 0  # Gx lights up on the edge only
    assert np.abs(gy[2:-2]).max() == 0  # no horizontal edge inside (borders see zero padding)


def test_filter_bank_accepts_a_mapping_of_kernels():
    fig = plot_filter_bank(np.random.default_rng(3).random((10, 10, 3)),
                           {"my blur": np.full((3, 3), 1 / 9)})
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["original", "my blur"]


def test_plot_matrix_writes_the_numbers():
    a = np.array([[1, 0, -2], [0.5, 3, 4]])
    fig = plot_matrix(a, title="a")
    assert [t.get_text() for t in fig.axes[0].texts] == ["1", "0", "-2", "0.5", "3", "4"]
    assert fig.axes[0].get_title() == "a"
    assert len(plot_matrix(a, annotate=False).axes[0].texts) == 0


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: plot_kernels(np.zeros((3, 3, 3))), "shape \\(3, 3, 3\\)"),
    (lambda: plot_kernels([np.zeros(3)]), "shape \\(3,\\)"),
    (lambda: plot_feature_maps(np.zeros((4, 4))), "shape \\(4, 4\\)"),
    (lambda: plot_filter_bank(np.zeros((4, 4)), ["blurry"]), "got \\['blurry'\\]"),
    (lambda: plot_filter_bank(np.zeros(4), ["edge"]), "shape \\(4,\\)"),
    (lambda: plot_matrix(np.zeros(3)), "shape \\(3,\\)"),
    (lambda: plot_matrix(np.zeros((2, 2)), highlight=np.ones((3, 3))), "shape \\(3, 3\\)"),
])  # fmt: skip
def test_bad_shapes_raise_value_error_naming_them(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_layer_activations_one_row_per_layer_maps_bars_and_strips():
    from cnncourse.viz.feature_maps import plot_layer_activations

    rng = np.random.default_rng(4)
    c1, c5, probs = rng.random((28, 28, 6)), rng.random(120), rng.dirichlet(np.ones(10))
    fig = plot_layer_activations([("C1", c1), ("C5", c5), ("softmax", probs)], max_maps=4)
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == ["C1\n28×28×6", "C5\n120", "softmax\n10"]
    shown = images(fig)
    assert len(shown) == 4 + 1  # four C1 maps (max_maps), one strip for C5
    np.testing.assert_allclose(shown[2].get_array(), c1[:, :, 2])
    strip = shown[4].get_array()
    assert strip.shape == (3, 42) and np.allclose(strip.compressed(), c5)  # NaN cells masked
    bars = [ax for ax in fig.axes if ax.patches]
    assert [p.get_height() for p in bars[0].patches] == pytest.approx(probs)


def test_layer_activations_refuse_a_batch_naming_it():
    from cnncourse.viz.feature_maps import plot_layer_activations

    with pytest.raises(ValueError, match="'C1'.*\\(2, 8, 8, 3\\)"):
        plot_layer_activations([("C1", np.zeros((2, 8, 8, 3)))])
