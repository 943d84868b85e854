"""How the scale of the initial weights decides whether signals survive a deep stack.

A random image goes forward through `depth` layers of 3x3 convolution ('same' padding) +
ReLU whose weights are drawn from N(0, std^2), and a random gradient comes back through them
(`cnncourse.nn.conv2d_backward`, `relu_backward`). Too small a std and both shrink at every
layer; He et al.'s std = sqrt(2 / fan_in) keeps them steady.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure


def signal_through_depth(weight_std: float, *, depth: int = 10, channels: int = 32,
                         size: int = 16, seed: int = 0) -> tuple[list[float], list[float]]:
    """(forward, backward): the std of the activations after each layer 1..depth, and of the
    gradient that reaches the input of each layer 1..depth, for x (1, size, size, channels)
    and kernels (3, 3, channels, channels) with N(0, weight_std^2) weights, no bias."""
    from cnncourse import nn

    if not weight_std > 0 or depth < 1:
        raise ValueError(f"need weight_std > 0 and depth >= 1, got {weight_std!r}, {depth!r}")
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(1, size, size, channels))
    caches, forward = [], []
    for _ in range(depth):
        w = rng.normal(scale=weight_std, size=(3, 3, channels, channels))
        z, conv_cache = nn.conv2d_forward(h, w, padding="same")
        h, relu_cache = nn.relu_forward(z)
        caches.append((conv_cache, relu_cache))
        forward.append(float(h.std()))
    grad, backward = rng.normal(size=h.shape), []
    for conv_cache, relu_cache in reversed(caches):
        grad = nn.conv2d_backward(nn.relu_backward(grad, relu_cache), conv_cache)[0]
        backward.append(float(grad.std()))
    return forward, backward[::-1]


def plot_activation_statistics(forward: Mapping[str, Sequence[float]],
                               backward: Mapping[str, Sequence[float]], *,
                               dpi: float = 100) -> Figure:
    """Two panels on a log scale: the std of the activations after each layer (forward) and
    of the gradient reaching each layer (backward), one line per initialisation."""
    if not forward or forward.keys() != backward.keys():
        raise ValueError(f"forward and backward need the same non-empty initialisations, got "
                         f"{list(forward)} and {list(backward)}")
    fig = new_figure(7, 2.9, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = (("activations (forward)", forward), ("gradients (backward)", backward))
    for ax, (title, stds) in zip(axes, panels, strict=True):
        for name, values in stds.items():
            ax.semilogy(range(1, len(values) + 1), values, marker="o", ms=4, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("standard deviation", fontsize=10)
    axes[1].legend(fontsize=9)
    return fig
