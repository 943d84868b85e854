"""What a vision model reads and what it answers: an image as channels, and three tasks.

`plot_rgb_channels` splits a colour image (H, W, 3) into the three grey images a network reads.
`plot_vision_tasks` draws one synthetic image of `cnncourse.data.make_shapes_segmentation`
three times, with the answer of each task: one label (classification), a labelled box per
object (detection), a class for every pixel (semantic segmentation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from cnncourse.viz.drawing.grids import new_figure

CLASS_COLOURS = ("#000000", "#e66101", "#5e3c99", "#1b9e77", "#e7298a")


def plot_rgb_channels(image: np.ndarray, *, dpi: float = 100) -> Figure:
    """The colour image (H, W, 3) in [0, 1], then its red, green and blue channels in grey."""
    image = np.asarray(image, dtype=float)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be colour (H, W, 3), got shape {image.shape}")
    H, W, _ = image.shape
    fig = new_figure(7.0, 7.0 / 4 * H / W + 0.4, dpi=dpi, layout="compressed")
    axes = fig.subplots(1, 4)
    axes[0].imshow(np.clip(image, 0, 1))
    axes[0].set_title(f"RGB, {H}x{W}x3", fontsize=10)
    for channel, (ax, name) in enumerate(zip(axes[1:], ("red", "green", "blue"), strict=True)):
        ax.imshow(image[..., channel], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"channel {channel}: {name}", fontsize=10)
    for ax in axes:
        ax.set_axis_off()
    return fig


def object_boxes(mask: np.ndarray) -> list[tuple[int, tuple[int, int, int, int]]]:
    """(class, (top, left, bottom, right)) of each connected object of a label mask (H, W).

    Background is 0; pixels of one class that touch (8-neighbourhood) form one object.
    """
    from scipy import ndimage

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be a label image (H, W), got shape {mask.shape}")
    boxes = []
    for label in sorted(set(np.unique(mask)) - {0}):
        objects, _ = ndimage.label(mask == label, structure=np.ones((3, 3)))
        for rows, cols in ndimage.find_objects(objects):
            boxes.append((int(label), (rows.start, cols.start, rows.stop - 1, cols.stop - 1)))
    return boxes


def plot_vision_tasks(image: np.ndarray, mask: np.ndarray, class_names: Sequence[str], *,
                      dpi: float = 100) -> Figure:
    """One grey image (H, W) or (H, W, 1) with its label mask (H, W), answered three ways.

    The classification label is the class covering the most pixels.
    """
    image = np.asarray(image, dtype=float).squeeze()
    mask = np.asarray(mask)
    if image.shape != mask.shape or image.ndim != 2:
        raise ValueError(f"need a grey image and a mask of the same shape (H, W), got "
                         f"{image.shape} and {mask.shape}")
    if mask.max() >= len(CLASS_COLOURS) or mask.max() >= len(class_names):
        raise ValueError(f"mask labels must be below {min(len(CLASS_COLOURS), len(class_names))}"
                         f", got {mask.max()}")
    areas = np.bincount(mask.ravel(), minlength=len(class_names))[1:]
    fig = new_figure(7.0, 3.0, dpi=dpi, layout="compressed")
    axes = fig.subplots(1, 3)
    for ax in axes:
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
    axes[0].set_title(f"classification:\n\u201c{class_names[1 + areas.argmax()]}\u201d",
                      fontsize=10)
    for label, (top, left, bottom, right) in object_boxes(mask):
        colour = CLASS_COLOURS[label]
        axes[1].add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                    fill=False, edgecolor=colour, lw=2))
        axes[1].text(left - 0.5, top - 1, class_names[label], color="white", fontsize=9,
                     va="bottom", bbox=dict(facecolor=colour, edgecolor="none", pad=1))
    axes[1].set_title("detection:\na labelled box per object", fontsize=10)
    cmap = ListedColormap(CLASS_COLOURS[: len(class_names)])
    axes[2].imshow(mask, cmap=cmap, vmin=-0.5, vmax=len(class_names) - 0.5,
                   interpolation="nearest")
    axes[2].set_title("segmentation:\na class per pixel", fontsize=10)
    handles = [Patch(color=CLASS_COLOURS[c], label=name)
               for c, name in enumerate(class_names) if c == 0 or np.any(mask == c)]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    return fig
