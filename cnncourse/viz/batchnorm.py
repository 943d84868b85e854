"""Batch normalisation: each channel's values over a batch, before and after the layer.

Channels of a convolution's output have their own means and spreads; batch normalisation
standardises each one with the mean and variance of the batch (then scales by gamma and
shifts by beta, here 1 and 0), so every channel leaves it with mean 0 and std 1.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure


def plot_batch_normalisation(before: np.ndarray, after: np.ndarray, *,
                             dpi: float = 100) -> Figure:
    """Histograms of each channel of before (N, H, W, C) and after (N, H, W, C), one colour per
    channel, on one shared x axis, with each channel's mean and std in the legend."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.ndim != 4 or before.shape != after.shape or before.shape[3] > 8:
        raise ValueError(f"need before and after of one shape (N, H, W, C) with C <= 8, got "
                         f"{before.shape} and {after.shape}")
    fig = new_figure(7, 2.9, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    low, high = min(before.min(), after.min()), max(before.max(), after.max())
    bins = np.linspace(low, high, 60)
    for ax, title, a in ((axes[0], "before: convolution output", before),
                         (axes[1], "after batch normalisation", after)):
        for c in range(a.shape[3]):
            values = a[..., c].ravel()
            ax.hist(values, bins=bins, histtype="stepfilled", alpha=0.45,
                    label=f"ch {c}: {round(values.mean(), 1) + 0.0:.1f} \u00b1 {values.std():.1f}")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("value", fontsize=10)
        ax.set_yticks([])
        ax.tick_params(labelsize=9)
        ax.legend(fontsize=9, title="mean \u00b1 std", title_fontsize=9, loc="upper left")
    return fig
