"""The checks of each lab function, each consulting that function's catalogue of known mistakes.

One `check_<function>` per graded function of the numpy labs, used by the visible and by the
hidden tests alike, so that every check of a function names the same mistakes. Each check

* calls the student's function through `checks.call_own` (a crash names the student's line);
* gives it the *reference* version of the functions it depends on (`corr2d`, `im2col`, the
  forward pass), and builds the cache the lab prescribes for a backward pass, so that one bug
  costs one function's points (credit isolated per function);
* compares the shape first, saying what the expected shape is made of, then the values, and
  names a known mistake when the output is the one that mistake produces (ids in
  `checks.MISTAKES`).

The outputs of the known mistakes are computed from the reference implementations in
`cnncourse.nn`, `cnncourse.filters` and `cnncourse.arithmetic`; nothing here prints an input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnncourse import arithmetic, filters, metrics
from cnncourse import nn as reference
from cnncourse.grading import checks
from cnncourse.grading.checks import call_own, check_array, check_equal, check_gradients

Mistakes = dict[str, Callable[[], object]]


# Reference dependencies handed to a student's function run without the package's reference
# layers (a hidden test forbids those while the student's code runs), so they are plain numpy.
def plain_corr2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of one channel: x (H, W), k (KH, KW) -> (H-KH+1, W-KW+1)."""
    windows = sliding_window_view(np.asarray(x, dtype=np.float64), np.shape(k))
    return np.einsum("ijuv,uv->ij", windows, np.asarray(k, dtype=np.float64))


def plain_im2col(x: np.ndarray, KH: int, KW: int, stride: int = 1,  # noqa: N803
                 padding: int = 0) -> np.ndarray:
    """im2col with the lab's signature: cols (N*Ho*Wo, KH*KW*C), channels innermost."""
    xp = np.pad(np.asarray(x, dtype=np.float64),
                ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    windows = sliding_window_view(xp, (KH, KW), axis=(1, 2))[:, ::stride, ::stride]
    N, Ho, Wo, C = windows.shape[:4]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * Ho * Wo, KH * KW * C)


def plain_maxpool_forward(x: np.ndarray, pool_size: int = 2,
                          stride: int | None = None) -> tuple[np.ndarray, tuple]:
    """Max pooling with the lab's signature and the lab's cache (x, pool_size, stride)."""
    stride = pool_size if stride is None else stride
    windows = sliding_window_view(np.asarray(x, dtype=np.float64), (pool_size, pool_size),
                                  axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(4, 5)), (x, pool_size, stride)


def _out_of(name: str, result: object) -> object:
    """The `out` of a forward function's `(out, cache)`."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise checks.failure(name, "must return a pair (out, cache)",
                             details=f"got {type(result).__name__}")
    return result[0]


# ============================================================================ lab 1: sizes
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


# ============================================================================ lab 1: conv1d
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


# ============================================================================ lab 1: corr2d
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


# ============================================================================ lab 1: Sobel
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


# ============================================================================ lab 1: equivariance
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


# ============================================================================ lab 2: conv layer
def conv2d_why(x_shape: tuple, w_shape: tuple, stride: int, padding: int) -> str:
    """How (N, Ho, Wo, F) follows from the inputs, for a message."""
    N, H, W, _ = x_shape
    KH, KW, _, F = w_shape
    Ho = (H + 2 * padding - KH) // stride + 1
    Wo = (W + 2 * padding - KW) // stride + 1
    return (f"(N, Ho, Wo, F) with Ho = (H + 2p - KH) // s + 1 = ({H} + 2*{padding} - {KH}) // "
            f"{stride} + 1 = {Ho}, Wo = {Wo}")


def reference_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1,
                     padding: int = 0) -> np.ndarray:
    return reference.conv2d_forward(x, w, b, stride=stride, padding=padding)[0]


def conv2d_mistakes(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
                    padding: int) -> Mistakes:
    """The conv layer's own slips: bias left out, stride left out of the window positions,
    padding left out of the size of one axis (named from the shape alone)."""
    N, H, W, _ = x.shape
    KH, KW, _, F = w.shape
    Ho = (H + 2 * padding - KH) // stride + 1
    Wo = (W + 2 * padding - KW) // stride + 1
    Ho_unpadded, Wo_unpadded = (H - KH) // stride + 1, (W - KW) // stride + 1
    return {
        "bias_missing": lambda: reference_conv2d(x, w, 0 * b, stride, padding),
        "stride_ignored_in_windows": lambda: reference_conv2d(x, w, b, 1, padding)[:, :Ho, :Wo],
        "size_ignores_padding#Ho = (H + 2p - KH) // s + 1": lambda: reference_conv2d(
            x, w, b, stride, 0),
        "size_ignores_padding#in Ho = (H + 2p - KH) // s + 1": lambda: np.zeros(
            (N, Ho_unpadded, Wo, F)),
        "size_ignores_padding#in Wo = (W + 2p - KW) // s + 1": lambda: np.zeros(
            (N, Ho, Wo_unpadded, F)),
    }


def check_conv2d_forward(student: Callable, x: object, w: object, b: object, stride: int = 1,
                         padding: int = 0, *, name: str = "conv2d_forward_loops",
                         dependencies: dict[str, Callable] | None = None,
                         forbidden: Sequence[Callable] = ()) -> None:
    """student(x, w, b, stride, padding) -> (out, cache): out against the reference layer.

    dependencies: reference versions of the functions the student's function uses (im2col).
    """
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    label = f"{name}(s={stride}, p={padding})"

    def out_of_student(x_: np.ndarray, w_: np.ndarray, **kwargs: object) -> object:
        with checks.dependencies_replaced(student, **(dependencies or {})):
            return _out_of(label, student(x_, w_, b, kwargs["stride"], kwargs["padding"]))

    checks.check_conv_output(
        label, out_of_student, lambda x_, w_, **k: reference_conv2d(x_, w_, b, **k), x, w,
        kernel_axes=(0, 1), forbidden=forbidden, stride=stride, padding=padding,
        mistakes=conv2d_mistakes(x, w, b, stride, padding),
        why=conv2d_why(x.shape, w.shape, stride, padding))


def _scatter_assigned(dout: np.ndarray, w: np.ndarray, x_shape: tuple, stride: int,
                      padding: int) -> np.ndarray:
    """dx of a convolution whose windows overwrite (=) instead of adding (+=) their share."""
    N, H, W, C = x_shape
    KH, KW, _, _ = w.shape
    _, Ho, Wo, _ = dout.shape
    dxp = np.zeros((N, H + 2 * padding, W + 2 * padding, C))
    for i in range(Ho):
        for j in range(Wo):
            dxp[:, i * stride: i * stride + KH, j * stride: j * stride + KW, :] = np.tensordot(
                dout[:, i, j, :], w, axes=([1], [3]))
    return dxp[:, padding: padding + H, padding: padding + W, :]


def _padded_dx(dout: np.ndarray, w: np.ndarray, x_shape: tuple, stride: int,
               padding: int) -> np.ndarray:
    """dx before the padding is cropped: (N, H + 2p, W + 2p, C)."""
    N, H, W, C = x_shape
    xp = np.zeros((N, H + 2 * padding, W + 2 * padding, C))
    _, cache = reference.conv2d_forward(xp, w, stride=stride, padding=0)
    return reference.conv2d_backward(dout, cache)[0]


def check_conv2d_backward(student: Callable, x: object, w: object, b: object, stride: int,
                          padding: int, dout: object, *,
                          forbidden: Sequence[Callable] = ()) -> None:
    """student(dout, cache) with the cache the lab prescribes, (x, w, b, stride, padding)."""
    x, w, b, dout = (np.asarray(a, dtype=np.float64) for a in (x, w, b, dout))
    name = f"conv2d_backward_loops(s={stride}, p={padding})"
    cache = (x.copy(), w.copy(), b.copy(), stride, padding)
    got = call_own(name, student, dout, cache, forbidden=forbidden)
    _, reference_cache = reference.conv2d_forward(x, w, b, stride=stride, padding=padding)
    expected = reference.conv2d_backward(dout, reference_cache)
    first = reference.conv2d_forward(x[:1], w, b, stride=stride, padding=padding)[1]
    check_gradients(name, got, expected, mistakes={
        "dx": {"dx_overlaps_not_added": lambda: _scatter_assigned(dout, w, x.shape, stride,
                                                                  padding),
               "dx_padding_not_cropped": lambda: _padded_dx(dout, w, x.shape, stride, padding)},
        "dw": {"dw_one_example": lambda: reference.conv2d_backward(dout[:1], first)[1]},
        "db": {"db_wrong_axes#summed over (Ho, Wo) only": lambda: dout.sum(axis=(1, 2)),
               "db_wrong_axes#summed over N only": lambda: dout.sum(axis=0),
               "db_wrong_axes#summed over everything": lambda: dout.sum(),
               "db_wrong_axes#summed over N and Ho only": lambda: dout.sum(axis=(0, 1))},
    })


def im2col_mistakes(x: np.ndarray, KH: int, KW: int, stride: int, padding: int) -> Mistakes:
    expected = reference.im2col(x, KH, KW, stride=stride, padding=padding)
    rows, C = expected.shape[0], x.shape[3]
    N = x.shape[0]
    Ho = (x.shape[1] + 2 * padding - KH) // stride + 1
    Wo = (x.shape[2] + 2 * padding - KW) // stride + 1

    def stride_one_windows() -> np.ndarray:
        ones = reference.im2col(x, KH, KW, stride=1, padding=padding)
        Ho1, Wo1 = x.shape[1] + 2 * padding - KH + 1, x.shape[2] + 2 * padding - KW + 1
        return ones.reshape(N, Ho1, Wo1, -1)[:, :Ho, :Wo].reshape(rows, -1)

    return {
        "im2col_channels_outermost": lambda: expected.reshape(rows, KH, KW, C).transpose(
            0, 3, 1, 2).reshape(rows, -1),
        "im2col_kernel_axes_swapped": lambda: expected.reshape(rows, KH, KW, C).transpose(
            0, 2, 1, 3).reshape(rows, -1),
        "stride_ignored_in_windows": stride_one_windows,
        "stride_ignored": lambda: reference.im2col(x, KH, KW, stride=1, padding=padding),
        "padding_ignored": lambda: reference.im2col(x, KH, KW, stride=stride, padding=0),
    }


def check_im2col(student: Callable, x: object, KH: int, KW: int, stride: int = 1,  # noqa: N803
                 padding: int = 0, *, forbidden: Sequence[Callable] = ()) -> None:
    """im2col(x, KH, KW, stride, padding) -> cols (N*Ho*Wo, KH*KW*C), channels innermost."""
    x = np.asarray(x, dtype=np.float64)
    name = f"im2col(x, {KH}, {KW}, s={stride}, p={padding})"
    got = call_own(name, student, x, KH, KW, stride, padding, forbidden=forbidden)
    expected = reference.im2col(x, KH, KW, stride=stride, padding=padding)
    N, H, W, C = x.shape
    Ho, Wo = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    why = (f"(N*Ho*Wo, KH*KW*C) = ({N}*{Ho}*{Wo}, {KH}*{KW}*{C}) with Ho = (H + 2p - KH) // s "
           f"+ 1")
    check_array(name, got, expected, why=why,
                mistakes=im2col_mistakes(x, KH, KW, stride, padding))


def check_conv2d_forward_fast(student: Callable, x: object, w: object, b: object,
                              stride: int = 1, padding: int = 0, *,
                              forbidden: Sequence[Callable] = ()) -> None:
    """conv2d_forward_fast, given the reference im2col so that a bug in the student's im2col
    costs only im2col's points."""
    check_conv2d_forward(student, x, w, b, stride, padding, name="conv2d_forward_fast",
                         dependencies={"im2col": plain_im2col}, forbidden=forbidden)


# ============================================================================ lab 3: pooling
def reference_pool(kind: str, x: np.ndarray, pool_size: int, stride: int) -> np.ndarray:
    forward = reference.maxpool2d_forward if kind == "max" else reference.avgpool2d_forward
    return forward(x, pool_size=pool_size, stride=stride)[0]


def pool_why(x_shape: tuple, pool_size: int, stride: int) -> str:
    N, H, W, C = x_shape
    Ho = (H - pool_size) // stride + 1
    Wo = (W - pool_size) // stride + 1
    return (f"(N, Ho, Wo, C) with Ho = (H - P) // s + 1 = ({H} - {pool_size}) // {stride} + 1 "
            f"= {Ho}, Wo = {Wo}")


def pool_forward_mistakes(kind: str, x: np.ndarray, pool_size: int, stride: int) -> Mistakes:
    right = reference_pool(kind, x, pool_size, stride)
    _, Ho, Wo, _ = right.shape
    mistakes: Mistakes = {
        "stride_ignored_in_windows": lambda: reference_pool(kind, x, pool_size, 1)[:, :Ho, :Wo],
        "size_ignores_stride": lambda: reference_pool(kind, x, pool_size, 1),
        "size_off_by_one": lambda: right[:, :-1, :-1],
    }
    if kind == "max":
        mistakes["maxpool_is_average"] = lambda: reference_pool("avg", x, pool_size, stride)
        mistakes["maxpool_starts_at_zero"] = lambda: np.maximum(right, 0.0)
    else:
        mistakes["avgpool_not_divided"] = lambda: pool_size**2 * right
        mistakes["avgpool_divided_by_p"] = lambda: pool_size * right
    return mistakes


def check_pool_forward(kind: str, student: Callable, x: object, pool_size: int = 2,
                       stride: int | None = None, *, expected: object = None,
                       forbidden: Sequence[Callable] = ()) -> None:
    """maxpool2d_forward / avgpool2d_forward (kind 'max' / 'avg'): out of (out, cache)."""
    x = np.asarray(x, dtype=np.float64)
    stride = pool_size if stride is None else stride
    name = f"{kind}pool2d_forward(P={pool_size}, s={stride})"
    got = _out_of(name, call_own(name, student, x, pool_size, stride, forbidden=forbidden))
    right = reference_pool(kind, x, pool_size, stride)
    check_array(name, got, right, why=pool_why(x.shape, pool_size, stride),
                mistakes={**pool_forward_mistakes(kind, x, pool_size, stride),
                          **checks.layout_mistakes(right)})
    if expected is not None:
        check_array(name, right, expected)


def _windows(x_shape: tuple, pool_size: int, stride: int, dout: np.ndarray):
    """(u, v, rows, cols) of every tap of every window, as in the lab's loops."""
    _, Ho, Wo, _ = dout.shape
    for u in range(pool_size):
        for v in range(pool_size):
            yield u, v, slice(u, u + stride * Ho, stride), slice(v, v + stride * Wo, stride)


def _max_routed(x: np.ndarray, pool_size: int, stride: int, dout: np.ndarray, *,
                ties: str = "first", add: bool = True) -> np.ndarray:
    """dx of max pooling: ties 'first' (the course's rule) or 'all'; add False overwrites."""
    out = reference_pool("max", x, pool_size, stride)
    dx = np.zeros_like(x)
    routed = np.zeros(out.shape, dtype=bool)
    for _, _, rows, cols in _windows(x.shape, pool_size, stride, dout):
        wins = x[:, rows, cols, :] == out
        if ties == "first":
            wins &= ~routed
        if add:
            dx[:, rows, cols, :] += np.where(wins, dout, 0.0)
        else:
            dx[:, rows, cols, :] = np.where(wins, dout, dx[:, rows, cols, :])
        routed |= wins
    return dx


def _avg_spread(x_shape: tuple, pool_size: int, stride: int, dout: np.ndarray, *,
                scale: float, add: bool = True) -> np.ndarray:
    dx = np.zeros(x_shape)
    for _, _, rows, cols in _windows(x_shape, pool_size, stride, dout):
        if add:
            dx[:, rows, cols, :] += dout * scale
        else:
            dx[:, rows, cols, :] = dout * scale
    return dx


def check_maxpool_backward(student: Callable, x: object, pool_size: int, stride: int,
                           dout: object, *, forbidden: Sequence[Callable] = ()) -> None:
    """maxpool2d_backward(dout, cache) with the lab's cache (x, pool_size, stride) and the
    reference forward pass given to it."""
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    name = f"maxpool2d_backward(P={pool_size}, s={stride})"
    with checks.dependencies_replaced(student, maxpool2d_forward=plain_maxpool_forward):
        got = call_own(name, student, dout, (x.copy(), pool_size, stride), forbidden=forbidden)
    expected = _max_routed(x, pool_size, stride, dout)
    check_gradients(name, (got,), (expected,), names=("dx",), mistakes={"dx": {
        "maxpool_gradient_to_every_tie": lambda: _max_routed(x, pool_size, stride, dout,
                                                             ties="all"),
        "maxpool_gradient_to_every_input": lambda: _avg_spread(x.shape, pool_size, stride,
                                                               dout, scale=1.0),
        "dx_overlaps_not_added": lambda: _max_routed(x, pool_size, stride, dout, add=False),
    }})


def check_avgpool_backward(student: Callable, x: object, pool_size: int, stride: int,
                           dout: object, *, forbidden: Sequence[Callable] = ()) -> None:
    """avgpool2d_backward(dout, cache) with the lab's cache (x.shape, pool_size, stride)."""
    x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    name = f"avgpool2d_backward(P={pool_size}, s={stride})"
    got = call_own(name, student, dout, (x.shape, pool_size, stride), forbidden=forbidden)
    scale = 1.0 / pool_size**2
    expected = _avg_spread(x.shape, pool_size, stride, dout, scale=scale)
    check_gradients(name, (got,), (expected,), names=("dx",), mistakes={"dx": {
        "avgpool_not_divided": lambda: _avg_spread(x.shape, pool_size, stride, dout, scale=1.0),
        "avgpool_divided_by_p": lambda: _avg_spread(x.shape, pool_size, stride, dout,
                                                    scale=1.0 / pool_size),
        "dx_overlaps_not_added": lambda: _avg_spread(x.shape, pool_size, stride, dout,
                                                     scale=scale, add=False),
    }})


# ============================================================================ lab 6: transposed
def transpose_why(x_shape: tuple, w_shape: tuple, stride: int, padding: int) -> str:
    N, H, W, _ = x_shape
    KH, KW, F, _ = w_shape
    Ho = (H - 1) * stride + KH - 2 * padding
    Wo = (W - 1) * stride + KW - 2 * padding
    return (f"(N, Ho, Wo, F) with Ho = (H - 1) * s + KH - 2p = ({H} - 1) * {stride} + {KH} - "
            f"2*{padding} = {Ho}, Wo = {Wo}")


def reference_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1,
                        padding: int = 0) -> np.ndarray:
    return reference.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding)[0]


def _scatter(x: np.ndarray, w: np.ndarray, stride: int, *, add: bool = True) -> np.ndarray:
    """Full (uncropped) transposed convolution by scattering kernels; add False overwrites."""
    N, H, W, _ = x.shape
    KH, KW, F, _ = w.shape
    out = np.zeros((N, (H - 1) * stride + KH, (W - 1) * stride + KW, F))
    for i in range(H):
        for j in range(W):
            copy = np.tensordot(x[:, i, j, :], w, axes=([1], [3]))  # (N, KH, KW, F)
            rows, cols = slice(i * stride, i * stride + KH), slice(j * stride, j * stride + KW)
            if add:
                out[:, rows, cols, :] += copy
            else:
                out[:, rows, cols, :] = copy
    return out


def transpose_mistakes(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int,
                       padding: int) -> Mistakes:
    def crop(full: np.ndarray) -> np.ndarray:
        return full[:, padding: full.shape[1] - padding, padding: full.shape[2] - padding]

    def stride_one_copies() -> np.ndarray:  # copies 1 pixel apart, in the stride-s canvas
        full = _scatter(x, w, stride)
        ones = _scatter(x, w, 1)
        full[:] = 0.0
        full[:, : ones.shape[1], : ones.shape[2]] = ones
        return crop(full) + b

    mistakes: Mistakes = {
        "transpose_no_crop": lambda: reference_transpose(x, w, b, stride, 0),
        "stride_ignored_in_windows#the copies must be s pixels apart": stride_one_copies,
        "transpose_scatter_not_added": lambda: crop(_scatter(x, w, stride, add=False)) + b,
        "bias_missing": lambda: reference_transpose(x, w, 0 * b, stride, padding),
        "padding_one_side": lambda: _scatter(x, w, stride)[:, padding:, padding:] + b,
        "padding_one_side#cropped at the end only": lambda: _scatter(x, w, stride)[
            :, : -padding or None, : -padding or None] + b,
    }
    if w.shape[2] == w.shape[3]:
        mistakes["transpose_kernel_channels_swapped"] = lambda: reference_transpose(
            x, w.transpose(0, 1, 3, 2), b, stride, padding)
    return mistakes


def check_conv_transpose2d_forward(student: Callable, x: object, w: object, b: object,
                                   stride: int = 1, padding: int = 0, *,
                                   forbidden: Sequence[Callable] = ()) -> None:
    """student(x, w, b, stride, padding) -> (out, cache), out against Keras's
    Conv2DTranspose arithmetic (the reference `conv_transpose2d_forward`)."""
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    label = f"conv_transpose2d_forward(s={stride}, p={padding})"

    def out_of_student(x_: np.ndarray, w_: np.ndarray, **kwargs: object) -> object:
        return _out_of(label, student(x_, w_, b, kwargs["stride"], kwargs["padding"]))

    checks.check_conv_output(
        label, out_of_student, lambda x_, w_, **k: reference_transpose(x_, w_, b, **k), x, w,
        kernel_axes=(0, 1), forbidden=forbidden, stride=stride, padding=padding,
        mistakes=transpose_mistakes(x, w, b, stride, padding),
        why=transpose_why(x.shape, w.shape, stride, padding))


def check_conv_transpose2d_backward(student: Callable, x: object, w: object, b: object,
                                    stride: int, padding: int, dout: object, *,
                                    forbidden: Sequence[Callable] = ()) -> None:
    """student(dout, cache) with the lab's cache (x, w, b, stride, padding)."""
    x, w, b, dout = (np.asarray(a, dtype=np.float64) for a in (x, w, b, dout))
    name = f"conv_transpose2d_backward(s={stride}, p={padding})"
    got = call_own(name, student, dout, (x.copy(), w.copy(), b.copy(), stride, padding),
                   forbidden=forbidden)
    _, cache = reference.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding)
    dx, dw, db = reference.conv_transpose2d_backward(dout, cache)
    _, first = reference.conv_transpose2d_forward(x[:1], w, b, stride=stride, padding=padding)
    check_gradients(name, got, (dx, dw, db), mistakes={
        "dx": {"flipped_kernel#dx is the cross-correlation of dout with w": lambda: (
            reference.conv_transpose2d_backward(dout, reference.conv_transpose2d_forward(
                x, w[::-1, ::-1], b, stride=stride, padding=padding)[1])[0])},
        "dw": {"transpose_kernel_channels_swapped": lambda: dw.transpose(0, 1, 3, 2),
               "dw_one_example": lambda: reference.conv_transpose2d_backward(dout[:1],
                                                                            first)[1]},
        "db": {"db_wrong_axes#summed over (Ho, Wo) only": lambda: dout.sum(axis=(1, 2)),
               "db_wrong_axes#summed over N only": lambda: dout.sum(axis=0),
               "db_wrong_axes#summed over everything": lambda: dout.sum()},
    })


def reference_overlap_counts(n: int, k: int, s: int) -> np.ndarray:
    """Kernel copies that write each output pixel of a k x k, stride s transposed convolution of
    an n x n input: (o, o), o = (n - 1) * s + k."""
    counts = np.zeros(((n - 1) * s + k, (n - 1) * s + k))
    for i in range(n):
        for j in range(n):
            counts[i * s: i * s + k, j * s: j * s + k] += 1
    return counts


def check_overlap_counts(student: Callable, n: int, k: int, s: int, *,
                         forbidden: Sequence[Callable] = ()) -> None:
    name = f"overlap_counts({n}, {k}, {s})"
    got = call_own(name, student, n, k, s, forbidden=forbidden)
    o = (n - 1) * s + k
    expected = reference_overlap_counts(n, k, s)
    check_array(name, got, expected,
                why=f"(o, o) with o = (n - 1) * s + k = ({n} - 1) * {s} + {k} = {o}",
                mistakes={
                    "overlap_counts_stride_ignored": lambda: np.pad(
                        reference_overlap_counts(n, k, 1), (0, o - (n - 1) - k)),
                    "overlap_counts_stride_ignored#in the size too": lambda: (
                        reference_overlap_counts(n, k, 1)),
                    "transpose_scatter_not_added": lambda: (expected > 0).astype(float),
                    "size_off_by_one": lambda: expected[:-1, :-1],
                })


# ============================================================================ lab 6: IoU
def iou_mistakes(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> Mistakes:
    right = metrics.iou_per_class(predicted, truth, num_classes)

    def per_class(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[], object]:
        return lambda: np.array([score(predicted == c, truth == c) for c in range(num_classes)])

    return {
        "iou_absent_class#0 for an absent class": lambda: np.nan_to_num(right, nan=0.0),
        "iou_absent_class#1 for an absent class": lambda: np.nan_to_num(right, nan=1.0),
        "iou_is_dice": per_class(lambda p, t: 2 * np.sum(p & t) / (np.sum(p) + np.sum(t))),
        "iou_pixel_accuracy": per_class(lambda p, t: np.mean(p == t)),
        "iou_pixel_accuracy#that is |P n T| / |T| (the recall)": per_class(
            lambda p, t: np.sum(p & t) / np.sum(t)),
    }


def check_iou_per_class(student: Callable, predicted: object, truth: object, num_classes: int,
                        *, forbidden: Sequence[Callable] = ()) -> None:
    """iou_per_class(predicted, truth, num_classes) -> (num_classes,), NaN where absent."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    name = "iou_per_class"
    got = checks.as_checked_array(name, call_own(name, student, predicted, truth, num_classes,
                                                 forbidden=forbidden))
    expected = metrics.iou_per_class(predicted, truth, num_classes)
    absent = np.isnan(expected)

    def marked(values: object) -> np.ndarray:  # NaN compared as a value: -1, never an IoU
        return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=-1.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        mistakes = {key: (lambda make=make: marked(make()))
                    for key, make in iou_mistakes(predicted, truth, num_classes).items()}
        if got.shape == expected.shape:  # right for every class present, wrong for the absent
            mistakes["iou_absent_class"] = lambda: np.where(absent, marked(got), marked(expected))
        check_array(name, marked(got), marked(expected), mistakes=mistakes,
                    why="(num_classes,): one IoU per class")


def plain_iou_per_class(predicted: np.ndarray, truth: np.ndarray,
                        num_classes: int) -> np.ndarray:
    """iou_per_class in plain numpy (given to a student's mean_iou while cnncourse.metrics is
    forbidden): (num_classes,), NaN for a class in neither mask."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    classes = np.arange(num_classes).reshape(-1, *([1] * predicted.ndim))
    inter = ((predicted == classes) & (truth == classes)).reshape(num_classes, -1).sum(axis=1)
    union = ((predicted == classes) | (truth == classes)).reshape(num_classes, -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def check_mean_iou(student: Callable, predicted: object, truth: object, num_classes: int, *,
                   forbidden: Sequence[Callable] = ()) -> None:
    """mean_iou, given the reference iou_per_class: the mean over the classes present."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    name = "mean_iou"
    with checks.dependencies_replaced(student, iou_per_class=plain_iou_per_class):
        got = call_own(name, student, predicted, truth, num_classes, forbidden=forbidden)
    ious = metrics.iou_per_class(predicted, truth, num_classes)
    checks.check_scalar(name, got, metrics.mean_iou(predicted, truth, num_classes), mistakes={
        "mean_includes_absent": float(np.nan_to_num(ious, nan=0.0).mean()),
        "mean_includes_absent#np.mean of NaN is NaN": float("nan"),
    })


# ============================================================================ lab 6: Keras
def _layers_of(model: object) -> list:
    """Every layer of a Keras model, nested models included."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_layers_of(layer))
    return found


def check_encoder_decoder(build: Callable, trained: object, test_set: object, *,
                          threshold: float, num_classes: int = 4) -> None:
    """The student's builder makes an encoder-decoder with a stride-2 Conv2DTranspose, and the
    trained model reaches `threshold` mean IoU (cnncourse.metrics) on `test_set`."""
    import keras

    name = "build_encoder_decoder"
    model = call_own(name, build, num_classes)
    if not isinstance(model, keras.Model):
        raise checks.failure(name, f"must return a keras.Model, got {type(model).__name__}")
    shape = tuple(model.output_shape)
    checks.check_shape(f"{name}(4) output", shape[1:], (32, 32, num_classes),
                       why="(32, 32, num_classes): a softmax over the classes for every pixel")
    ups = [layer for layer in _layers_of(model) if isinstance(layer, keras.layers.Conv2DTranspose)
           and tuple(layer.strides) == (2, 2)]
    if not ups:
        raise checks.failure(name, "no Conv2DTranspose with stride 2: the decoder must upsample",
                             details="with a transposed convolution, the subject of this lab")
    images, masks = test_set.images, test_set.masks
    predicted = np.asarray(trained.predict(images, verbose=0)).argmax(axis=-1)
    ious = metrics.iou_per_class(predicted, masks, num_classes)
    score = float(np.nanmean(ious))
    if not score >= threshold:
        raise checks.failure(
            "encoder-decoder", f"mean IoU {score:.3f} on new images, below {threshold}",
            details="IoU per class " + ", ".join(
                f"{n}: {v:.2f}" for n, v in zip(test_set.class_names, ious, strict=True))
            + ". Try the suggested layers, with skip connections.")


def check_transfer_classifier(transfer: Callable, features: object, num_classes: int) -> None:
    """transfer_classifier(features, num_classes): the features frozen and shared, a new
    softmax head the only trainable layer."""
    import keras

    name = f"transfer_classifier(features, {num_classes})"
    model = call_own(name, transfer, features, num_classes)
    if not isinstance(model, keras.Model):
        raise checks.failure(name, f"must return a keras.Model, got {type(model).__name__}")
    checks.check_shape(f"{name} output", tuple(model.output_shape)[1:], (num_classes,),
                       why="(num_classes,) class probabilities")
    if not any(layer is features for layer in _layers_of(model)):
        raise checks.failure(name, "the model does not contain `features` itself",
                             details="call features(inputs, training=False): a copy would not "
                                     "carry the trained weights")
    if features.trainable:
        raise checks.failure(name, "`features` is not frozen: set features.trainable = False")
    head = int(features.output_shape[-1]) * num_classes + num_classes
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if trainable != head:
        raise checks.failure(name, f"{trainable} trainable weights, expected {head}",
                             details=f"only the new head learns: {features.output_shape[-1]} "
                                     f"features x {num_classes} classes + {num_classes} biases")


def check_fine_tuning(*, moved_while_frozen: float, moved_after_unfreeze: float,
                      learning_rate: object, accuracy: float, threshold: float) -> None:
    """The features did not move while frozen, moved after `unfreeze`, with the small rate."""
    name = "fine-tuning"
    if moved_while_frozen > 0:
        raise checks.failure(name, "the features changed while they should be frozen",
                             details=f"largest change {moved_while_frozen:.3g}")
    if not moved_after_unfreeze > 0:
        raise checks.failure("unfreeze", "the features did not learn after unfreeze",
                             details="set features.trainable = True, then compile the model")
    checks.check_scalar("unfreeze: the learning rate", float(np.asarray(learning_rate)), 1e-4,
                        rtol=1e-3)
    checks.check_at_least("accuracy on the test digits 5-9 after fine-tuning", accuracy,
                          threshold)
