"""An image filtered by several hand-crafted kernels, side by side (see `cnncourse.filters`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.grids import new_figure

PANEL_INCHES = 2.2


def _named_kernels(kernels: Sequence[str] | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Names of `cnncourse.filters.KERNELS`, or a mapping name -> (KH, KW) kernel."""
    from cnncourse.filters import KERNELS

    if isinstance(kernels, Mapping):
        return {name: np.asarray(kernel, dtype=float) for name, kernel in kernels.items()}
    unknown = [name for name in kernels if name not in KERNELS]
    if unknown or isinstance(kernels, str):
        raise ValueError(f"kernel names must be a list of {sorted(KERNELS)}, got {kernels!r}")
    return {name: KERNELS[name]() for name in kernels}


def _for_display(filtered: np.ndarray, kernel: np.ndarray, low: float, high: float) -> np.ndarray:
    """Kernels summing to 0 (edges) show |response| scaled to its 99th percentile, in grey;
    the others show the image in the input's own range, clipped."""
    if abs(kernel.sum()) < 1e-9:
        strength = np.abs(filtered).mean(axis=-1) if filtered.ndim == 3 else np.abs(filtered)
        return np.clip(strength / (np.percentile(strength, 99) or 1.0), 0, 1)
    return np.clip((filtered - low) / ((high - low) or 1.0), 0, 1)


def plot_filter_bank(
    image: np.ndarray,
    kernels: Sequence[str] | Mapping[str, np.ndarray] = ("box blur", "sharpen", "edge", "sobel x"),
    *,
    columns: int = 5,
    dpi: float = 80,
) -> Figure:
    """The image (H, W) or (H, W, C), then the image filtered by each kernel ('same' padding).

    kernels: names from `cnncourse.filters.KERNELS`, or a mapping name -> (KH, KW) kernel.
    """
    from cnncourse.filters import apply_filter

    image = np.asarray(image, dtype=float)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    named = _named_kernels(kernels)
    low, high = float(image.min()), float(image.max())
    panels = {"original": np.clip((image - low) / ((high - low) or 1.0), 0, 1)}
    for name, kernel in named.items():
        panels[name] = _for_display(apply_filter(image, kernel), kernel, low, high)
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    H, W = image.shape[:2]
    fig = new_figure(columns * PANEL_INCHES, rows * (PANEL_INCHES * H / W + 0.3), dpi=dpi,
                     layout="compressed")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, (name, shown) in zip(axes, panels.items(), strict=False):
        ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
    return fig
