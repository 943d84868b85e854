"""An image filtered by hand-crafted kernels (see `cnncourse.filters`), drawn so that the
differences show.

`plot_filter_bank`: the image and each filtered version side by side, an overview.
`plot_filter_effects`: one row per kernel on a crop, with the kernel's weights, the output and
what the kernel changed (output - input, signed), for kernels whose outputs look alike.
`plot_image_gradient`: Sobel Gx and Gy in a signed map, and the gradient magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from cnncourse.viz.drawing.grids import new_figure

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


def _crop(a: np.ndarray, crop: tuple[slice, slice] | None) -> np.ndarray:
    return a if crop is None else a[crop]


def _kernel_text(kernel: np.ndarray) -> tuple[np.ndarray, str]:
    """Kernel weights as small integers and a common factor ('1/16'), when they have one."""
    for denominator in (1, 2, 4, 8, 9, 16, 25, 256):
        scaled = kernel * denominator
        if np.allclose(scaled, np.round(scaled), atol=1e-9):
            return np.round(scaled), "" if denominator == 1 else f"1/{denominator} \u00d7"
    return kernel, ""


def _draw_weights(ax, kernel: np.ndarray) -> None:
    """The kernel's cells in a signed colour map, its weights written in."""
    from cnncourse.viz.drawing.grids import format_number

    shown, factor = _kernel_text(kernel)
    extent = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="RdBu_r", vmin=-extent, vmax=extent, interpolation="nearest")
    fontsize = 10 if max(kernel.shape) <= 3 else 7
    for (row, col), value in np.ndenumerate(shown):
        dark = abs(kernel[row, col]) > 0.6 * extent
        ax.text(col, row, format_number(value, compact=True), ha="center", va="center",
                fontsize=fontsize, color="white" if dark else "black")
    if factor:
        ax.set_ylabel(factor, fontsize=10, rotation=0, ha="right", va="center")
    ax.set_xticks([])
    ax.set_yticks([])


def _signed(ax, a: np.ndarray, *, scale: float | None = None) -> None:
    """a in a red (positive) / blue (negative) map centred on 0, white where 0."""
    extent = scale or float(np.percentile(np.abs(a), 99.5)) or 1.0
    ax.imshow(a, cmap="RdBu_r", vmin=-extent, vmax=extent, interpolation="nearest")


def change_scale(changes: Sequence[np.ndarray]) -> float:
    """One colour scale for several "output - input" maps: the 99.5th percentile of |change|
    over all of them together (the largest |change| when that is 0; 1.0 when all are 0)."""
    pooled = np.abs(np.concatenate([np.ravel(c) for c in changes])) if changes else np.zeros(1)
    return float(np.percentile(pooled, 99.5)) or float(pooled.max()) or 1.0


def plot_filter_effects(
    image: np.ndarray,
    kernels: Sequence[str] | Mapping[str, np.ndarray],
    *,
    crop: tuple[slice, slice] | None = None,
    dpi: float = 100,
) -> Figure:
    """One row per kernel: its weights, the filtered image and what the filter changed.

    image (H, W) grey in [0, 1]; kernels: names of `cnncourse.filters.KERNELS` or a mapping
    name -> (KH, KW). crop: (rows, cols) slices shown of the 'same'-padded results, so that
    fine detail is visible at page width. Middle column: the output in grey for kernels that
    keep brightness (weights summing to non-zero), in a signed map for kernels summing to 0
    (edge detectors); right column: output - input in a signed map (white: unchanged), every
    row on one colour scale (`change_scale`, written in the titles), so that a paler panel is
    a smaller change; |output| for edge detectors.
    """
    from cnncourse.filters import apply_filter

    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"image must be grey (H, W), got shape {image.shape}")
    named = _named_kernels(kernels)
    outputs = {name: apply_filter(image, kernel) for name, kernel in named.items()}
    shown_input = _crop(image, crop)
    scale = change_scale([_crop(outputs[name], crop) - shown_input
                          for name, kernel in named.items() if abs(kernel.sum()) >= 1e-9])
    Hc, Wc = shown_input.shape
    panel = 2.4  # inches: two image panels and a kernel panel fill the 7 in page width
    fig = new_figure(7.0, len(named) * (panel * Hc / Wc + 0.3), dpi=dpi, layout="compressed")
    axes = fig.subplots(len(named), 3, squeeze=False,
                        gridspec_kw={"width_ratios": [0.75, 1, 1]})
    for row, (name, kernel) in enumerate(named.items()):
        kernel_ax, out_ax, change_ax = axes[row]
        _draw_weights(kernel_ax, kernel)
        kernel_ax.set_title(name, fontsize=10)
        out = _crop(outputs[name], crop)
        if abs(kernel.sum()) < 1e-9:
            _signed(out_ax, out)
            out_ax.set_title("output (signed)", fontsize=10)
        else:
            out_ax.imshow(np.clip(out, 0, 1), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
            out_ax.set_title("output", fontsize=10)
        if abs(kernel.sum()) < 1e-9:  # an edge map: show its strength, whatever the sign
            strength = np.abs(out)
            change_ax.imshow(strength, cmap="magma", vmin=0,
                             vmax=float(np.percentile(strength, 99.5)) or 1.0)
            change_ax.set_title("|output|", fontsize=10)
        else:
            _signed(change_ax, out - shown_input, scale=scale)
            change_ax.set_title(f"output \u2212 input (\u00b1{scale:.2g})", fontsize=10)
        for ax in (out_ax, change_ax):
            ax.set_axis_off()
    return fig


def plot_image_gradient(
    image: np.ndarray, *, crop: tuple[slice, slice] | None = None, dpi: float = 100
) -> Figure:
    """Sobel Gx and Gy of a grey image (H, W) in a signed map, and the gradient magnitude.

    Gx > 0 (red) where the image gets brighter to the right, Gy > 0 where it gets brighter
    downwards; sqrt(Gx^2 + Gy^2) is dark where the image is flat and bright on every edge.
    """
    from cnncourse.filters import apply_filter, gradient_magnitude, sobel_x, sobel_y

    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"image must be grey (H, W), got shape {image.shape}")
    gx = _crop(apply_filter(image, sobel_x()), crop)
    gy = _crop(apply_filter(image, sobel_y()), crop)
    magnitude = _crop(gradient_magnitude(image), crop)
    scale = float(np.percentile(magnitude, 99.5)) or 1.0
    Hc, Wc = gx.shape
    fig = new_figure(7.0, 7.0 / 3 * Hc / Wc + 0.45, dpi=dpi, layout="compressed")
    axes = fig.subplots(1, 3)
    _signed(axes[0], gx, scale=scale)
    _signed(axes[1], gy, scale=scale)
    axes[2].imshow(magnitude, cmap="magma", vmin=0, vmax=scale, interpolation="nearest")
    for ax, title in zip(axes, ["$G_x$ (Sobel x)", "$G_y$ (Sobel y)",
                                "$\\sqrt{G_x^2 + G_y^2}$"], strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    return fig
