"""Examples of a data set and of a model's answers: digits with titles, 1D signals, curves.

Small helpers for the chapters that train networks (LeNet, transfer learning): every figure a
`matplotlib.figure.Figure`, drawn at the book's 7-inch column with 9-point text or larger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure


def plot_image_row(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    cmap: str = "gray_r",
    panel_inches: float = 0.7,
) -> Figure:
    """One row of grey images (N, H, W) or (N, H, W, 1), each under its title."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1), got shape {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    n = len(images)
    fig = new_figure(n * panel_inches, panel_inches + (0.35 if titles else 0.05),
                     layout="compressed")  # fmt: skip
    for i, ax in enumerate(fig.subplots(1, n, squeeze=False)[0]):
        ax.imshow(images[i], cmap=cmap, interpolation="nearest")
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[i], fontsize=9)
    return fig


def plot_signals(
    signals: np.ndarray, titles: Sequence[str], *, columns: int = 5
) -> Figure:
    """1D signals (N, L) or (N, L, 1), one small plot each, sharing the y axis."""
    signals = np.asarray(signals)
    if signals.ndim == 3 and signals.shape[-1] == 1:
        signals = signals[..., 0]
    if signals.ndim != 2 or len(signals) != len(titles):
        raise ValueError(f"signals must be (N, L) with one title each, got shape "
                         f"{signals.shape} and {len(titles)} titles")
    rows = -(-len(signals) // columns)
    fig = new_figure(7.0, 1.3 * rows + 0.2, layout="constrained")
    axes = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    for ax, signal, title in zip(axes, signals, titles, strict=False):
        ax.plot(signal, color="#1f3b73", lw=1.2)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[len(signals):]:
        ax.set_axis_off()
    return fig


def plot_learning_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]], *, metric: str = "accuracy"
) -> Figure:
    """Training and validation `metric` per epoch of one or more Keras `History.history`s.

    histories: name -> history dict with keys metric and (optionally) 'val_' + metric.
    Solid lines: training; dashed: validation, in the same colour.
    """
    if not histories:
        raise ValueError("plot_learning_curves needs at least one history, got none")
    fig = new_figure(6.0, 2.8, layout="constrained")
    ax = fig.add_subplot()
    for i, (name, history) in enumerate(histories.items()):
        if metric not in history:
            raise ValueError(f"history {name!r} has no {metric!r}; it has {sorted(history)}")
        epochs = np.arange(1, len(history[metric]) + 1)
        colour = f"C{i}"
        ax.plot(epochs, history[metric], color=colour, label=f"{name}, training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], color=colour, ls="--",
                    label=f"{name}, test")  # fmt: skip
    ax.set_xlabel("epoch", fontsize=10)
    ax.set_ylabel(metric, fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig
