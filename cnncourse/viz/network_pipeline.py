"""One image through conv -> ReLU -> max pool -> dense, every stage drawn with its real maps.

The forward pass is the course's numpy layers (`cnncourse.nn`): what the figure shows is what
the layers compute. Rows are the kernels (channels); columns the stages, left to right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure

PANEL_INCHES = 1.0
BAR_INCHES = 1.5
TITLE_POINTS = 9


@dataclass(frozen=True)
class PipelineStages:
    """Every intermediate array of one image's forward pass.

    conv, relu: (Ho, Wo, F); pooled: (Hp, Wp, F); probabilities: (n_classes,).
    """

    conv: np.ndarray
    relu: np.ndarray
    pooled: np.ndarray
    probabilities: np.ndarray


def pipeline_stages(image: np.ndarray, kernels: np.ndarray, bias: np.ndarray,
                    dense_w: np.ndarray, dense_b: np.ndarray, *, pool_size: int = 2
                    ) -> PipelineStages:
    """Run image (H, W) through conv (kernels (KH, KW, 1, F), bias (F,), 'valid'), ReLU,
    max pooling (pool_size, stride = pool_size), flatten, dense (dense_w (Hp*Wp*F, M),
    dense_b (M,)) and softmax."""
    from cnncourse import nn

    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"image must be one grey image (H, W), got shape {image.shape}")
    conv, _ = nn.conv2d_forward(image[None, :, :, None], kernels, bias)  # (1, Ho, Wo, F)
    relu, _ = nn.relu_forward(conv)
    pooled, _ = nn.maxpool2d_forward(relu, pool_size=pool_size)  # (1, Hp, Wp, F)
    flat, _ = nn.flatten_forward(pooled)  # (1, Hp*Wp*F)
    logits, _ = nn.dense_forward(flat, dense_w, dense_b)  # (1, M)
    scores = np.exp(logits[0] - logits[0].max())
    return PipelineStages(conv[0], relu[0], pooled[0], scores / scores.sum())


def _show(ax, a, extent, cmap="RdBu_r"):
    ax.imshow(a, cmap=cmap, vmin=-extent, vmax=extent, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_network_pipeline(image: np.ndarray, kernels: np.ndarray, bias: np.ndarray,
                          dense_w: np.ndarray, dense_b: np.ndarray, *,
                          class_names: list[str] | None = None, dpi: float = 100) -> Figure:
    """Columns: the input image, each kernel, its convolution map, the map after ReLU, after
    2x2 max pooling, and (right) the dense layer's softmax probabilities as bars.

    Arguments as `pipeline_stages`. Maps of one row share a red (positive) / blue (negative)
    scale, so the ReLU column shows exactly which values were set to zero.
    """
    stages = pipeline_stages(image, kernels, bias, dense_w, dense_b)
    F = kernels.shape[3]
    rows = max(F, 2)
    width = 5 * PANEL_INCHES + BAR_INCHES + 0.4
    height = rows * PANEL_INCHES + 0.6
    fig = new_figure(width, height, dpi=dpi)
    grid = fig.add_gridspec(rows, 7, width_ratios=[1, 0.6, 1, 1, 1, 0.3, 1.5], left=0.01,
                            right=0.99, bottom=0.35 / height, top=1 - 0.3 / height,
                            wspace=0.12, hspace=0.1)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(image, cmap="gray_r", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"input {image.shape[0]}\u00d7{image.shape[1]}", fontsize=TITLE_POINTS)
    shapes = (stages.conv.shape, stages.relu.shape, stages.pooled.shape)
    headings = ("conv", "ReLU", "max pool")
    for f in range(F):
        kernel = kernels[:, :, 0, f]
        _show(fig.add_subplot(grid[f, 1]), kernel, np.abs(kernel).max() or 1)
        extent = np.abs(stages.conv[:, :, f]).max() or 1
        for column, a in enumerate((stages.conv, stages.relu, stages.pooled), start=2):
            ax = fig.add_subplot(grid[f, column])
            _show(ax, a[:, :, f], extent)
            if f == 0:
                ax.set_title(f"{headings[column - 2]} {shapes[column - 2][0]}\u00d7"
                             f"{shapes[column - 2][1]}", fontsize=TITLE_POINTS)
        if f == 0:
            fig.axes[-4].set_title(f"kernels {kernel.shape[0]}\u00d7{kernel.shape[1]}",
                                   fontsize=TITLE_POINTS)
    bars = fig.add_subplot(grid[:, 6])
    names = class_names or [str(m) for m in range(len(stages.probabilities))]
    colours = ["#d62728" if m == np.argmax(stages.probabilities) else "#9ecae1"
               for m in range(len(names))]
    bars.barh(names, stages.probabilities, color=colours)
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_xticks([0, 0.5, 1])
    bars.set_xlabel("probability", fontsize=TITLE_POINTS)
    bars.set_title("dense + softmax", fontsize=TITLE_POINTS)
    bars.tick_params(labelsize=TITLE_POINTS)
    return fig
