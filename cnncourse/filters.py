"""Hand-crafted kernels and linear filtering of images.

Each kernel is a function returning a float64 array (KH, KW). `apply_filter` slides it over a
grayscale (H, W) or colour (H, W, C) image with the course's own convolution layer,
`cnncourse.nn.conv2d_forward`, filtering every channel on its own.

Convention: like every deep-learning library, the layers compute a *cross-correlation*,

    out[i, j] = sum_{u, v} x[i + u, j + v] * kernel[u, v],

with the kernel laid on the image as it is written. A true convolution flips the kernel in both
axes first, out[i, j] = sum_{u, v} x[i - u, j - v] * kernel[u, v]: convolving with `kernel` is
cross-correlating with `flip_kernel(kernel)`. The two agree for symmetric kernels (blurs,
Laplacian) and differ for asymmetric ones (shifts, Sobel, which changes sign).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnncourse.arithmetic import Padding
from cnncourse.nn.conv2d import conv2d_forward


def identity(size: int = 3) -> np.ndarray:
    """(size, size) kernel with a single 1 in the centre: returns the image unchanged."""
    _check_odd_size(size)
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return kernel


def shift(dy: int = 0, dx: int = 1) -> np.ndarray:
    """Kernel that moves the image content dy rows down and dx columns right (cross-correlation).

    The kernel is (2r+1, 2r+1) with r = max(|dy|, |dx|, 1); its single 1 sits at (r - dy, r - dx),
    so out[i, j] = x[i - dy, j - dx].
    """
    if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) for d in (dy, dx)):
        raise ValueError(f"shift needs integer offsets, got dy={dy!r}, dx={dx!r}")
    r = max(abs(dy), abs(dx), 1)
    kernel = np.zeros((2 * r + 1, 2 * r + 1))
    kernel[r - dy, r - dx] = 1.0
    return kernel


def box_blur(size: int = 3) -> np.ndarray:
    """(size, size) kernel of equal weights 1/size^2: the mean of each neighbourhood."""
    _check_odd_size(size)
    return np.full((size, size), 1.0 / size**2)


def gaussian_blur(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """(size, size) samples of exp(-(u^2 + v^2) / (2 sigma^2)), normalised to sum to 1."""
    _check_odd_size(size)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    offsets = np.arange(size) - size // 2
    bump = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel = np.outer(bump, bump)
    return kernel / kernel.sum()


def gaussian_blur_3x3() -> np.ndarray:
    """The 3x3 Gaussian of the image-processing tables: 1/16 [[1, 2, 1], [2, 4, 2], [1, 2, 1]].

    The outer product of the binomial weights (1, 2, 1) / 4 with themselves, a small
    approximation of a Gaussian (sigma about 0.85); it sums to 1.
    """
    binomial = np.array([1.0, 2.0, 1.0]) / 4
    return np.outer(binomial, binomial)


def sharpen() -> np.ndarray:
    """3x3 sharpening kernel: the image plus its difference from the 4 neighbours (sums to 1)."""
    return np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])


def edge() -> np.ndarray:
    """3x3 edge detector: 8 times the centre minus its 8 neighbours (sums to 0)."""
    kernel = -np.ones((3, 3))
    kernel[1, 1] = 8.0
    return kernel


def diagonal_edge() -> np.ndarray:
    """3x3 kernel [[1, 0, -1], [0, 0, 0], [-1, 0, 1]] of the edge-detection tables (sums to 0).

    It adds the two corners on one diagonal and subtracts the two on the other: 4 times the
    mixed derivative d2/dx dy. Flat regions and straight horizontal or vertical edges give 0;
    corners and diagonal structures respond, with a sign that depends on their orientation.
    """
    return np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]])


def laplacian() -> np.ndarray:
    """3x3 discrete Laplacian d2/dx2 + d2/dy2: the 4 neighbours minus 4 times the centre."""
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sobel_x() -> np.ndarray:
    """3x3 Sobel Gx: horizontal derivative (right minus left), smoothed vertically.

    Responds to vertical edges; positive where the image gets brighter to the right.
    """
    return np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_y() -> np.ndarray:
    """3x3 Sobel Gy: vertical derivative (bottom minus top), the transpose of Gx.

    Responds to horizontal edges; positive where the image gets brighter downwards.
    """
    return sobel_x().T


KERNELS: dict[str, Callable[[], np.ndarray]] = {
    "identity": identity,
    "shift": shift,
    "box blur": box_blur,
    "gaussian blur": gaussian_blur,
    "gaussian 3x3": gaussian_blur_3x3,
    "sharpen": sharpen,
    "edge": edge,
    "diagonal edge": diagonal_edge,
    "laplacian": laplacian,
    "sobel x": sobel_x,
    "sobel y": sobel_y,
}
"""Every hand-crafted kernel by name, each called with its default arguments."""


def flip_kernel(kernel: np.ndarray) -> np.ndarray:
    """Kernel (KH, KW) rotated by 180 degrees: turns a cross-correlation into a convolution."""
    kernel = _as_kernel(kernel)
    return kernel[::-1, ::-1].copy()


def apply_filter(image: np.ndarray, kernel: np.ndarray, *, padding: Padding = "same") -> np.ndarray:
    """Cross-correlate a grayscale (H, W) or colour (H, W, C) image with a (KH, KW) kernel.

    Every channel is filtered on its own with the same kernel. padding as in Keras: 'same'
    keeps (H, W); 'valid' gives (H - KH + 1, W - KW + 1); an int p pads p zeros on each side.
    Returns float64 (Ho, Wo) or (Ho, Wo, C), the rank of the input.
    For a true convolution, pass `flip_kernel(kernel)`.
    """
    planes = _as_planes(image)  # (C, H, W, 1): channels become a batch of 1-channel images
    kernel = _as_kernel(kernel)[:, :, None, None]  # (KH, KW, 1, 1)
    out, _ = conv2d_forward(planes, kernel, stride=1, padding=padding)  # (C, Ho, Wo, 1)
    out = np.moveaxis(out[..., 0], 0, -1)  # (Ho, Wo, C)
    return out[..., 0] if np.ndim(image) == 2 else out


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """sqrt(Gx^2 + Gy^2) with the Sobel kernels, 'same' padding: (H, W) or (H, W, C) as given."""
    gx = apply_filter(image, sobel_x())
    gy = apply_filter(image, sobel_y())
    return np.hypot(gx, gy)


def _check_odd_size(size: int) -> None:
    is_int = isinstance(size, int | np.integer) and not isinstance(size, bool)
    if not is_int or size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be an odd integer >= 1 (it has a centre), got {size!r}")


def _as_kernel(kernel: np.ndarray) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.size == 0:
        raise ValueError(f"kernel must be a 2-D array (KH, KW), got shape {kernel.shape}")
    return kernel


def _as_planes(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) image -> (C, H, W, 1) float64, one 1-channel image per channel."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(
            f"image must be grayscale (H, W) or colour (H, W, C), got shape {image.shape}"
        )
    if image.dtype.kind not in "biuf":
        raise ValueError(f"image must hold numbers, got dtype {image.dtype}")
    planes = image.astype(np.float64)
    if planes.ndim == 2:
        planes = planes[:, :, None]
    return np.moveaxis(planes, -1, 0)[..., None]
