"""The checks of lab 1 (lab1_convolution): output sizes, conv1d, corr2d, the Sobel filters and
translation equivariance."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cnncourse import arithmetic, filters
from cnncourse import nn as reference
from cnncourse.grading import checks
from cnncourse.grading.checks import call_own, check_array, check_equal
from cnncourse.grading.lab_checks.common import Mistakes, plain_corr2d


# ============================================================ sizes
def size_mistakes(i: int, k: int, s: int, p: int, d: int) -> dict[str, object]:
    """The sizes the usual slips of o = floor((i + 2p - k - (k-1)(d-1)) / s) + 1 give."""
    span = k + (k - 1) * (d - 1)
    right = (i + 2 * p - span) // s + 1
    return {
        "true_division": (i + 2 * p - span) / s + 1,
        "size_ignores_dilation": (i + 2 * p - k) // s + 1,
        "padding_one_side": (i + p - span) // s + 1,
        "size_ignores_padding": (i - span) // s + 1,
        "size_ignores_stride": i + 2 * p - span + 1,
        "size_off_by_one#the formula ends with + 1": right - 1,
        "size_off_by_one#one too many": right + 1,
    }


def check_conv_output_size(student: Callable, i: int, k: int, s: int = 1, p: int = 0,
                           d: int = 1, *, forbidden: Sequence[Callable] = ()) -> None:
    """conv_output_size(i, k, s, p, d) against the formula of Dumoulin & Visin."""
    shown = "".join(f", {n}={v}" for n, v, default in (("s", s, 1), ("p", p, 0), ("d", d, 1))
                    if v != default)
    name = f"conv_output_size({i}, {k}{shown})"
    got = call_own(name, student, i, k, s, p, d, forbidden=forbidden)
    expected = arithmetic.conv_output_size(i, k, stride=s, padding=p, dilation=d)
    mistakes = {key: value for key, value in size_mistakes(i, k, s, p, d).items()
                if value != expected}
    check_equal(name, got, expected, mistakes=mistakes)


# ============================================================ conv1d
def reference_conv1d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> np.ndarray:
    """Cross-correlation of one channel x (L,) with w (K,) -> (Lo,)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    return reference.conv1d_forward(x[None, :, None], w[:, None, None], stride=stride,
                                    padding=padding, dilation=dilation)[0][0, :, 0]


def conv1d_mistakes(x: np.ndarray, w: np.ndarray, stride: int, padding: int,
                    dilation: int) -> Mistakes:
    """conv1d's own slips: one-sided padding, stride or dilation left out of the windows."""
    lo = len(reference_conv1d(x, w, stride, padding, dilation))

    def one_side(left: int, right: int) -> Callable[[], object]:
        return lambda: reference_conv1d(np.pad(x, (left, right)), w, stride, 0, dilation)

    return {
        "padding_one_side#zeros on the left only": one_side(padding, 0),
        "padding_one_side#zeros on the right only": one_side(0, padding),
        "padding_one_side#2p zeros on the left": one_side(2 * padding, 0),
        "stride_ignored_in_windows": lambda: reference_conv1d(x, w, 1, padding, dilation)[:lo],
        "dilation_ignored#the windows are not dilated": lambda: reference_conv1d(
            x, w, stride, padding, 1)[:lo],
    }


def check_conv1d(student: Callable, x: object, w: object, *, stride: int = 1, padding: int = 0,
                 dilation: int = 1, expected: object = None,
                 forbidden: Sequence[Callable] = ()) -> None:
    """conv1d(x, w, stride, padding, dilation) against the reference cross-correlation.

    expected: the values a visible test states (they equal the reference's).
    """
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    shown = {key: value for key, value in kwargs.items() if value != (0 if key == "padding" else 1)}
    name = "conv1d(x, w" + "".join(f", {k}={v}" for k, v in shown.items()) + ")"
    reference_out = reference_conv1d(x, w, **kwargs)
    span = len(w) + (len(w) - 1) * (dilation - 1)
    why = (f"(Lo,) with Lo = (L + 2p - span) // s + 1 = ({len(x)} + 2*{padding} - {span}) // "
           f"{stride} + 1 = {len(reference_out)}")
    checks.check_conv_output(
        name, lambda x_, w_, **k: student(x_, w_, **k),
        lambda x_, w_, **k: reference_conv1d(x_, w_, **k), x, w, kernel_axes=(0,),
        forbidden=forbidden, mistakes=conv1d_mistakes(x, w, stride, padding, dilation), why=why,
        **kwargs)
    if expected is not None:  # the visible statement agrees with the reference
        check_array(name, reference_out, expected)


# ============================================================ corr2d
def reference_corr2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of one channel: x (H, W), k (KH, KW) -> (H-KH+1, W-KW+1)."""
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    return reference.conv2d_forward(x[None, :, :, None], k[:, :, None, None])[0][0, :, :, 0]


def check_corr2d(student: Callable, x: object, k: object, *,
                 forbidden: Sequence[Callable] = ()) -> None:
    """corr2d(x, k): valid 2D cross-correlation of one channel."""
    x, k = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
    (H, W), (KH, KW) = x.shape, k.shape
    why = f"(H - KH + 1, W - KW + 1) = ({H} - {KH} + 1, {W} - {KW} + 1)"
    checks.check_conv_output("corr2d(x, k)", student, reference_corr2d, x, k,
                             kernel_axes=(0, 1), forbidden=forbidden, why=why)


# ============================================================ Sobel
def check_sobel_kernels(sobel_x: Callable, sobel_y: Callable, *,
                        forbidden: Sequence[Callable] = ()) -> None:
    """sobel_x() and sobel_y() are the Sobel kernels of the lab (cross-correlation)."""
    gx, gy = filters.sobel_x(), filters.sobel_y()
    got_x = call_own("sobel_x", sobel_x, forbidden=forbidden)
    check_array("sobel_x()", got_x, gx, why="a 3x3 kernel", mistakes={
        "sign_flipped_kernel": lambda: -gx,
        "transposed_axes#that is sobel_y (the derivative along the rows)": lambda: gy,
    })
    with checks.dependencies_replaced(sobel_y, sobel_x=lambda: gx.copy()):
        got_y = call_own("sobel_y", sobel_y, forbidden=forbidden)
    check_array("sobel_y()", got_y, gy, why="a 3x3 kernel", mistakes={
        "sobel_y_not_transposed": lambda: gx,
        "sign_flipped_kernel": lambda: -gy,
        "sobel_y_not_transposed#it is -sobel_x": lambda: -gx,
    })


def check_gradient_magnitude(student: Callable, image: object, *,
                             forbidden: Sequence[Callable] = ()) -> None:
    """gradient_magnitude(image), with the reference corr2d and Sobel kernels given to it."""
    image = np.asarray(image, dtype=np.float64)
    gx = reference_corr2d(image, filters.sobel_x())
    gy = reference_corr2d(image, filters.sobel_y())
    with checks.dependencies_replaced(student, corr2d=plain_corr2d,
                                      sobel_x=filters.sobel_x, sobel_y=filters.sobel_y):
        got = call_own("gradient_magnitude", student, image, forbidden=forbidden)
    H, W = image.shape
    check_array("gradient_magnitude(image)", got, np.sqrt(gx**2 + gy**2),
                why=f"(H - 2, W - 2) = ({H} - 2, {W} - 2), a valid 3x3 cross-correlation",
                mistakes={
                    "wrong_norm": lambda: np.abs(gx) + np.abs(gy),
                    "missing_sqrt": lambda: gx**2 + gy**2,
                    "wrong_norm#that is max(|gx|, |gy|)": lambda: np.maximum(np.abs(gx),
                                                                            np.abs(gy)),
                    **checks.layout_mistakes(np.sqrt(gx**2 + gy**2)),
                })


# ============================================================ equivariance
def reference_shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """image (H, W) moved dy rows down and dx columns right; zeros come in, nothing wraps."""
    image = np.asarray(image, dtype=np.float64)
    H, W = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0): H + min(dy, 0), max(dx, 0): W + min(dx, 0)] = (
        image[max(-dy, 0): H - max(dy, 0), max(-dx, 0): W - max(dx, 0)])
    return out


def check_shift_image(student: Callable, image: object, dy: int, dx: int, *,
                      forbidden: Sequence[Callable] = ()) -> None:
    """shift_image(image, dy, dx) moves the image down/right with zeros coming in."""
    image = np.asarray(image, dtype=np.float64)
    name = f"shift_image(image, {dy}, {dx})"
    got = call_own(name, student, image, dy, dx, forbidden=forbidden)
    check_array(name, got, reference_shift(image, dy, dx), why="the shape of the image",
                mistakes={
                    "shift_wrong_direction": lambda: reference_shift(image, -dy, -dx),
                    "shift_wraps_around": lambda: np.roll(image, (dy, dx), axis=(0, 1)),
                    "shift_wrong_direction#rows and columns swapped": lambda: reference_shift(
                        image, dx, dy),
                })


def reference_gap(f: Callable, image: np.ndarray, dy: int, dx: int) -> float:
    """max |f(t(x)) - t(f(x))| / max |f(t(x))|, t the shift by (dy, dx)."""
    moved_first = np.asarray(f(reference_shift(image, dy, dx)), dtype=np.float64)
    moved_after = reference_shift(np.asarray(f(image), dtype=np.float64), dy, dx)
    return float(np.abs(moved_first - moved_after).max() / np.abs(moved_first).max())


def check_equivariance_gap(student: Callable, f: Callable, image: object, dy: int, dx: int, *,
                           what: str, forbidden: Sequence[Callable] = ()) -> None:
    """equivariance_gap(f, image, dy, dx), with the reference shift_image given to it."""
    image = np.asarray(image, dtype=np.float64)
    name = f"equivariance_gap({what})"
    with checks.dependencies_replaced(student, shift_image=reference_shift):
        got = call_own(name, student, f, image, dy, dx, forbidden=forbidden)
    moved_first = np.asarray(f(reference_shift(image, dy, dx)), dtype=np.float64)
    moved_after = reference_shift(np.asarray(f(image), dtype=np.float64), dy, dx)
    absolute = float(np.abs(moved_first - moved_after).max())
    checks.check_scalar(name, got, reference_gap(f, image, dy, dx), rtol=1e-6, atol=1e-9,
                        mistakes={"gap_not_normalised": absolute})
