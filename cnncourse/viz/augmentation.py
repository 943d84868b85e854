"""Data augmentation: each training image next to random versions of itself."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure

PANEL_INCHES = 0.75


def plot_augmented_images(originals: np.ndarray, augmented: np.ndarray, *,
                          titles: Sequence[str] | None = None, dpi: float = 100) -> Figure:
    """Rows of images: originals (n, H, W) in the first column, augmented (n, m, H, W) after it.

    Grey images, dark ink on white, as digits are printed; a thin frame shows each image's edge.
    titles: m column titles for the augmented columns (default 'random 1' ...).
    """
    originals, augmented = np.asarray(originals), np.asarray(augmented)
    if originals.ndim != 3 or augmented.ndim != 4 or augmented.shape[0] != len(originals):
        raise ValueError(f"need originals (n, H, W) and augmented (n, m, H, W), got "
                         f"{originals.shape} and {augmented.shape}")
    n, m = augmented.shape[:2]
    titles = list(titles) if titles is not None else [f"random {j + 1}" for j in range(m)]
    if len(titles) != m:
        raise ValueError(f"need {m} titles, one per augmented column, got {len(titles)}")
    fig = new_figure((m + 1.2) * PANEL_INCHES, n * PANEL_INCHES + 0.3, dpi=dpi)
    grid = fig.add_gridspec(n, m + 2, width_ratios=[1, 0.2] + [1] * m, left=0.01, right=0.99,
                            bottom=0.01, top=1 - 0.3 / (n * PANEL_INCHES + 0.3),
                            wspace=0.08, hspace=0.08)
    for row in range(n):
        images = [originals[row], *augmented[row]]
        for index, image in enumerate(images):
            ax = fig.add_subplot(grid[row, 0 if index == 0 else index + 1])
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title("original" if index == 0 else titles[index - 1], fontsize=9)
    return fig
