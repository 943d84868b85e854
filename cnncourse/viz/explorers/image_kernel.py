"""Image-kernel explorer: a photo, a kernel you can edit, and how one output pixel is computed.

Like setosa.io's "image kernels": a kernel whose weights sum to 1 (identity, shift, blurs,
sharpen) keeps the photo's brightness, and its output is drawn as a grey image; any other kernel
(edges, derivatives) gives signed responses, drawn with a signed colour map (red positive, blue
negative), so that they are visible instead of clamped to black. The weight boxes show simple
fractions as fractions (1/9, 1/16) and accept them. Hovering over (or tapping, or moving with the
arrow keys to) an output pixel shows the input window, the kernel, their element-wise products
and the sum: the value of `cnncourse.filters.apply_filter(image, kernel)` at that pixel
('same' padding, zeros outside, cross-correlation as every deep-learning library computes it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cnncourse.viz.explorers.page import (
    Explorer,
    build_explorer,
    encode_bytes,
    png_bytes,
    signed_colour_table,
)

PHOTO_FACTOR = 8  # the 600x512 sample photo becomes 75x64: large cells, a hover finds a pixel
MAX_SIDE = 128  # pixels per side at most: payload and redraw time stay small
MAX_KERNEL = 7  # weights per side at most: the window, kernel and products tables fit a phone
DIGITS = 3  # decimals of the numbers shown


def explorer_image(image: np.ndarray, factor: int = PHOTO_FACTOR) -> np.ndarray:
    """The picture the explorer shows: (H, W) -> (H // factor, W // factor), float64.

    Each pixel is the mean of a factor x factor block (rows and columns beyond a whole block are
    dropped), rounded to the nearest 8-bit level k / 255, the values the page stores exactly.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"image must be grayscale (H, W), got shape {image.shape}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError(f"image values must lie in [0, 1], got [{image.min()}, {image.max()}]")
    H, W = image.shape[0] // factor, image.shape[1] // factor
    if not (1 <= min(H, W) and max(H, W) <= MAX_SIDE):
        raise ValueError(f"image {image.shape} reduced {factor} times is {H}x{W}: "
                         f"it must be between 1 and {MAX_SIDE} pixels per side")
    blocks = image[:H * factor, :W * factor].reshape(H, factor, W, factor)  # (H, f, W, f)
    return np.round(blocks.mean(axis=(1, 3)) * 255) / 255


def _named_kernels(kernels: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    from cnncourse.filters import KERNELS

    named = {name: make() for name, make in KERNELS.items()} if kernels is None else {
        name: np.asarray(kernel, dtype=np.float64) for name, kernel in kernels.items()}
    for name, kernel in named.items():
        KH, KW = kernel.shape if kernel.ndim == 2 else (0, 0)
        if not (KH == KW and KH % 2 == 1 and 1 <= KH <= MAX_KERNEL
                and np.isfinite(kernel).all()):
            raise ValueError(f"kernel {name!r} must be square, odd-sized, at most "
                             f"{MAX_KERNEL}x{MAX_KERNEL} and finite, got shape {kernel.shape}")
    if not named:
        raise ValueError("image_kernel_explorer needs at least one kernel, got none")
    return named


def image_kernel_explorer(
    image: np.ndarray | None = None,
    *,
    factor: int = PHOTO_FACTOR,
    kernels: Mapping[str, np.ndarray] | None = None,
    selected: str = "sobel x",
) -> Explorer:
    """Explorer of a grayscale image (H, W) in [0, 1] filtered by editable kernels.

    image: default the book's sample photo, `cnncourse.data.load_sample_photo()`.
    factor: the image is shown as `explorer_image(image, factor)`, (H // factor, W // factor).
    kernels: name -> (K, K) kernel with K odd; default every kernel of
    `cnncourse.filters.KERNELS`. selected: the kernel shown first.
    """
    from cnncourse.viz.filters import plot_filter_bank

    if image is None:
        from cnncourse.data import load_sample_photo

        image = load_sample_photo(gray=True)
    shown = explorer_image(image, factor)
    named = _named_kernels(kernels)
    if selected not in named:
        raise ValueError(f"selected must be one of {list(named)}, got {selected!r}")
    H, W = shown.shape
    data = {
        "height": H,
        "width": W,
        "pixels": encode_bytes(np.round(shown * 255).astype(np.uint8)),  # row by row
        "kernels": [{"name": name, "weights": kernel.tolist()} for name, kernel in named.items()],
        "selected": list(named).index(selected),
        "colourTable": signed_colour_table(),
        "digits": DIGITS,
    }
    figure = plot_filter_bank(shown, {selected: named[selected]}, dpi=60)
    alt = f"The photo ({H}x{W} pixels) and the photo filtered by the {selected} kernel."
    return build_explorer("image_kernel", data, png_bytes(figure, dpi=60), alt)
