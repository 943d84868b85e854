"""conv -> ReLU -> pool -> dense figure: every stage holds what the layers compute."""

import numpy as np
import pytest

from cnncourse.viz.network_pipeline import pipeline_stages, plot_network_pipeline

IMAGE = np.zeros((6, 6))
IMAGE[2, 3] = 1.0  # one bright pixel
KERNELS = np.zeros((3, 3, 1, 2))
KERNELS[1, 1, 0, 0] = 1.0  # channel 0: the pixel itself
KERNELS[1, 1, 0, 1] = -1.0  # channel 1: its negative, all removed by ReLU
BIAS = np.zeros(2)


def test_stages_by_hand():
    dense_w = np.zeros((2 * 2 * 2, 3))
    dense_w[:, 2] = 1.0  # class 2 sums the pooled features
    stages = pipeline_stages(IMAGE, KERNELS, BIAS, dense_w, np.zeros(3))
    assert stages.conv.shape == (4, 4, 2) and stages.pooled.shape == (2, 2, 2)
    assert stages.conv[1, 2, 0] == 1 and stages.conv[1, 2, 1] == -1
    assert stages.relu[..., 1].max() == 0  # the negative channel is gone
    assert stages.pooled[0, 1, 0] == 1 and stages.pooled.sum() == 1
    expected = np.exp([0.0, 0.0, 1.0]) / np.exp([0.0, 0.0, 1.0]).sum()
    np.testing.assert_allclose(stages.probabilities, expected)


def test_figure_has_a_panel_per_stage_and_kernel():
    fig = plot_network_pipeline(IMAGE, KERNELS, BIAS, np.zeros((8, 3)), np.zeros(3),
                                class_names=["a", "b", "c"])
    # input, 2 rows of (kernel, conv, ReLU, pool), the bars
    assert len(fig.axes) == 1 + 2 * 4 + 1
    titles = [ax.get_title() for ax in fig.axes]
    assert {"input 6\u00d76", "conv 4\u00d74", "ReLU 4\u00d74", "max pool 2\u00d72"} <= set(titles)


def test_colour_image_raises():
    with pytest.raises(ValueError, match=r"\(6, 6, 3\)"):
        pipeline_stages(np.zeros((6, 6, 3)), KERNELS, BIAS, np.zeros((8, 3)), np.zeros(3))
