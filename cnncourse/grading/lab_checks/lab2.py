"""The checks of lab 2 (lab2_conv_layer): the convolution layer forward and backward, im2col and
the im2col forward."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cnncourse import nn as reference
from cnncourse.grading import checks
from cnncourse.grading.checks import call_own, check_array, check_gradients
from cnncourse.grading.lab_checks.common import Mistakes, out_of, plain_im2col


# ============================================================ conv layer
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


def conv2d_size_hint(x_shape: tuple, w_shape: tuple, stride: int,
                     padding: int) -> checks.CrashHint:
    """Names the size formula's slip when the student's forward crashes with wrong Ho / Wo
    (windows past the input's end make the products' shapes disagree)."""
    _, H, W, _ = x_shape
    KH, KW, _, _ = w_shape

    def sizes(s: int, p: int, plus: int = 1) -> dict[str, int]:
        return {"Ho": (H + 2 * p - KH) // s + plus, "Wo": (W + 2 * p - KW) // s + plus}

    return checks.sizes_hint(sizes(stride, padding), {
        "size_ignores_stride#Ho = (H + 2p - KH) // s + 1": sizes(1, padding),
        "size_ignores_padding#Ho = (H + 2p - KH) // s + 1": sizes(stride, 0),
        "size_off_by_one#Ho = (H + 2p - KH) // s + 1": sizes(stride, padding, 2),
    })


def check_conv2d_cache(label: str, result: object, x: np.ndarray, w: np.ndarray,
                       b: np.ndarray, stride: int, padding: int) -> None:
    """The cache of the forward pass is (x, w, b, stride, padding), x as given (not padded)."""
    cache = result[1] if isinstance(result, tuple) and len(result) == 2 else None
    prescribed = "cache = (x, w, b, stride, padding), with the x you were given"
    if not isinstance(cache, tuple | list) or len(cache) != 5:
        raise checks.failure(label, "the cache is not (x, w, b, stride, padding)",
                             details=f"got {type(cache).__name__}; {prescribed}")
    kept = np.shape(cache[0])
    if kept != x.shape:
        padded = (x.shape[0], x.shape[1] + 2 * padding, x.shape[2] + 2 * padding, x.shape[3])
        diagnosis = ("the cache keeps the padded input: keep x itself" if kept == padded
                     else f"cache[0] has shape {kept}, expected x's {x.shape}")
        raise checks.failure(label, diagnosis, details=prescribed)
    for index, (what, given) in enumerate((("x", x), ("w", w), ("b", b))):
        if np.shape(cache[index]) != given.shape or not np.array_equal(cache[index], given):
            raise checks.failure(label, f"cache[{index}] is not {what}", details=prescribed)
    if tuple(cache[3:]) != (stride, padding):
        raise checks.failure(label, "the cache does not end with (stride, padding)",
                             details=f"got {tuple(cache[3:])!r}; {prescribed}")


def check_conv2d_forward(student: Callable, x: object, w: object, b: object, stride: int = 1,
                         padding: int = 0, *, name: str = "conv2d_forward_loops",
                         dependencies: dict[str, Callable] | None = None,
                         forbidden: Sequence[Callable] = ()) -> None:
    """student(x, w, b, stride, padding) -> (out, cache): out against the reference layer, then
    the cache the backward pass will be given, (x, w, b, stride, padding).

    dependencies: reference versions of the functions the student's function uses (im2col).
    """
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    label = f"{name}(s={stride}, p={padding})"
    results = []

    def out_of_student(x_: np.ndarray, w_: np.ndarray, **kwargs: object) -> object:
        with checks.dependencies_replaced(student, **(dependencies or {})):
            results.append(student(x_, w_, b, kwargs["stride"], kwargs["padding"]))
        return out_of(label, results[-1])

    checks.check_conv_output(
        label, out_of_student, lambda x_, w_, **k: reference_conv2d(x_, w_, b, **k), x, w,
        kernel_axes=(0, 1), forbidden=forbidden, stride=stride, padding=padding,
        mistakes=conv2d_mistakes(x, w, b, stride, padding),
        why=conv2d_why(x.shape, w.shape, stride, padding),
        crash_hint=conv2d_size_hint(x.shape, w.shape, stride, padding))
    check_conv2d_cache(label, results[0], x, w, b, stride, padding)


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


def _cache_hint(variables: dict[str, object], error: BaseException) -> str | None:
    """A backward pass that crashes on shapes often expects another cache than the lab's."""
    if not isinstance(error, ValueError | IndexError):
        return None
    return ("crashed on the lab's cache (x, w, b, stride, padding)#x in the cache is the input "
            "as given, not padded: pad it in the backward pass (your forward must keep it so)")


def check_conv2d_backward(student: Callable, x: object, w: object, b: object, stride: int,
                          padding: int, dout: object, *,
                          forbidden: Sequence[Callable] = ()) -> None:
    """student(dout, cache) with the cache the lab prescribes, (x, w, b, stride, padding)."""
    x, w, b, dout = (np.asarray(a, dtype=np.float64) for a in (x, w, b, dout))
    name = f"conv2d_backward_loops(s={stride}, p={padding})"
    cache = (x.copy(), w.copy(), b.copy(), stride, padding)
    got = call_own(name, student, dout, cache, forbidden=forbidden, crash_hint=_cache_hint)
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
