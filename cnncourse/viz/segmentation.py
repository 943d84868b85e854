"""Segmentation results: image, true mask, predicted mask and the pixels that differ."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from cnncourse.viz.drawing.grids import new_figure

CLASS_COLOURS = ("#f2f2f2", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def plot_segmentation(
    images: np.ndarray,
    truth: np.ndarray,
    predicted: np.ndarray,
    class_names: Sequence[str],
) -> Figure:
    """Four rows for N examples: images (N, H, W[, 1]), true and predicted masks (N, H, W),
    and the wrong pixels in red, with the count of wrong pixels over each error panel.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if not images.shape == truth.shape == predicted.shape or images.ndim != 3:
        raise ValueError(f"images, truth and predicted must be (N, H, W) alike, got "
                         f"{images.shape}, {truth.shape}, {predicted.shape}")
    if len(class_names) > len(CLASS_COLOURS):
        raise ValueError(f"at most {len(CLASS_COLOURS)} classes, got {len(class_names)}")
    n = len(images)
    colours = ListedColormap(CLASS_COLOURS[: len(class_names)])
    fig = new_figure(min(7.0, 1.2 * n + 0.9), 5.6, layout="constrained")
    axes = fig.subplots(4, n, squeeze=False)
    wrong = truth != predicted
    for i in range(n):
        axes[0, i].imshow(images[i], cmap="gray", interpolation="nearest")
        for row, mask in ((1, truth[i]), (2, predicted[i])):
            axes[row, i].imshow(mask, cmap=colours, vmin=-0.5, vmax=len(class_names) - 0.5,
                                interpolation="nearest")  # fmt: skip
        axes[3, i].imshow(wrong[i], cmap=ListedColormap(["white", "#d62728"]), vmin=0, vmax=1,
                          interpolation="nearest")  # fmt: skip
        axes[3, i].set_title(f"{wrong[i].sum()} wrong", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(("image", "truth", "predicted", "errors")):
        axes[row, 0].set_ylabel(name, fontsize=10)
    handles = [Patch(facecolor=c, edgecolor="grey", label=name)
               for c, name in zip(CLASS_COLOURS, class_names, strict=False)]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9,
               frameon=False)  # fmt: skip
    return fig
