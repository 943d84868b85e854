"""Figures of the training chapter: transposed-convolution overlap, initialisation, batch
normalisation and augmentation."""

import numpy as np
import pytest

from cnncourse.viz.augmentation import plot_augmented_images
from cnncourse.viz.batchnorm import plot_batch_normalisation
from cnncourse.viz.checkerboard import overlap_counts, plot_transposed_overlap
from cnncourse.viz.initialisation import plot_activation_statistics, signal_through_depth


@pytest.mark.parametrize(("k", "profile"), [
    # a 1-D input of 4 cells, stride 2: kernel copies start at 0, 2, 4, 6
    (3, [1, 1, 2, 1, 2, 1, 2, 1, 1]),
    (4, [1, 1, 2, 2, 2, 2, 2, 2, 1, 1]),
])  # fmt: skip
def test_overlap_counts_are_the_outer_product_of_the_1d_profile(k, profile):
    np.testing.assert_array_equal(overlap_counts(4, k, 2), np.outer(profile, profile))


def test_overlap_figure_says_which_kernel_is_even():
    labels = [t.get_text() for t in plot_transposed_overlap().axes[0].texts
              if t.get_text().startswith("k =")]
    assert labels == ["k = 3: uneven inside (1, 2, 4)", "k = 4: even inside (4)"]


def test_he_keeps_the_signal_and_a_small_gaussian_loses_it():
    fan_in = 3 * 3 * 8
    he_forward, he_backward = signal_through_depth(np.sqrt(2 / fan_in), depth=8, channels=8)
    small_forward, small_backward = signal_through_depth(0.01, depth=8, channels=8)
    assert 0.2 < he_forward[-1] / he_forward[0] < 5
    assert 0.2 < he_backward[0] / he_backward[-1] < 5
    # 0.01 * sqrt(72 / 2) = 0.06 per layer: seven more layers shrink it below 1e-6
    assert small_forward[-1] / small_forward[0] < 1e-6
    assert small_backward[0] / small_backward[-1] < 1e-6
    fig = plot_activation_statistics({"He": he_forward}, {"He": he_backward})
    assert [ax.get_title() for ax in fig.axes] == ["activations (forward)",
                                                   "gradients (backward)"]


def test_statistics_need_the_same_initialisations():
    with pytest.raises(ValueError, match=r"\['a'\] and \['b'\]"):
        plot_activation_statistics({"a": [1.0]}, {"b": [1.0]})


def test_batch_normalisation_legend_shows_each_channel():
    rng = np.random.default_rng(0)
    before = rng.normal(loc=[3.0, -2.0], size=(4, 5, 5, 2))
    after = (before - before.mean(axis=(0, 1, 2))) / before.std(axis=(0, 1, 2))
    fig = plot_batch_normalisation(before, after)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["ch 0: 0.0 \u00b1 1.0", "ch 1: 0.0 \u00b1 1.0"]
    with pytest.raises(ValueError, match=r"\(4, 5, 5, 2\) and \(4, 5, 5\)"):
        plot_batch_normalisation(before, after[..., 0])


def test_augmented_grid_has_a_panel_per_image():
    fig = plot_augmented_images(np.zeros((2, 8, 8)), np.zeros((2, 3, 8, 8)),
                                titles=["a", "b", "c"])
    assert len(fig.axes) == 2 * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["original", "a", "b", "c"]
    with pytest.raises(ValueError, match="got 2"):
        plot_augmented_images(np.zeros((2, 8, 8)), np.zeros((2, 3, 8, 8)), titles=["a", "b"])
