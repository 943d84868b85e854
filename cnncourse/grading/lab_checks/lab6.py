"""The checks of lab 6 (lab6_transposed_segmentation): the transposed convolution and its
overlap counts, IoU, and the Keras checks of the encoder-decoder, the transfer classifier and
fine-tuning."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cnncourse import metrics
from cnncourse import nn as reference
from cnncourse.grading import checks
from cnncourse.grading.checks import call_own, check_array, check_gradients
from cnncourse.grading.lab_checks.common import Mistakes, out_of


# ============================================================ transposed
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
        return out_of(label, student(x_, w_, b, kwargs["stride"], kwargs["padding"]))

    checks.check_conv_output(
        label, out_of_student, lambda x_, w_, **k: reference_transpose(x_, w_, b, **k), x, w,
        kernel_axes=(0, 1), forbidden=forbidden, stride=stride, padding=padding,
        mistakes=transpose_mistakes(x, w, b, stride, padding),
        why=transpose_why(x.shape, w.shape, stride, padding),
        crash_hint=kernel_layout_hint(w.shape))


def kernel_layout_hint(w_shape: tuple) -> checks.CrashHint:
    """Names a kernel read as (KH, KW, C, F) when the student's code crashes with F (or C)
    taken from the wrong axis of w (their shapes then disagree)."""
    _, _, F, C = w_shape

    def hint(variables: dict[str, object], error: BaseException) -> str | None:
        if F == C:
            return None
        if variables.get("F") == C or variables.get("C") == F and "F" not in variables:
            return "transpose_kernel_channels_swapped"
        if "einsum" in str(error) or "broadcast" in str(error):
            return ("transpose_kernel_channels_swapped#(if you read w as (KH, KW, C, F): your "
                    "shapes then disagree)")
        return None

    return hint


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


# ============================================================ IoU
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
        "iou_whole_image#IoU_c = |P n T| / |P u T| with P, T the pixels of class c": per_class(
            lambda p, t: np.sum(p & t) / p.size),
        "iou_whole_image#IoU_c = |P n T| / |P u T|, with P, T the pixels of class c": lambda: (
            np.where(np.isnan(right), np.nan, per_class(lambda p, t: np.sum(p & t) / p.size)())),
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


# ============================================================ Keras
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
    scores = np.asarray(trained.predict(images, verbose=0))
    ious = metrics.iou_per_class(scores.argmax(axis=-1), masks, num_classes)
    score = float(np.nanmean(ious))
    if not score >= threshold:
        diagnosis, advice, mistake = _advice(scores, model, score, threshold)
        raise checks.failure("encoder-decoder", diagnosis, mistake=mistake, details=checks._join(
            advice, "IoU per class " + ", ".join(
                f"{n}: {v:.2f}" for n, v in zip(test_set.class_names, ious, strict=True))))


def _advice(scores: np.ndarray, model: object, score: float, threshold: float
            ) -> tuple[str, str, str | None]:
    """(diagnosis, advice, mistake id) of a low mean IoU: the output first (a softmax?), then
    the architecture (skip connections?), then the training."""
    low = f"mean IoU {score:.3f} on new images, below {threshold}"
    sums = scores.sum(axis=-1)
    if scores.min() < -1e-6 or not np.allclose(sums, 1.0, atol=1e-3):
        return (checks.MISTAKES["output_not_softmax"],
                f"they sum to {sums.min():.3g} to {sums.max():.3g} (logits?): end with "
                f"activation='softmax'; {low}", "output_not_softmax")
    import keras

    merges = (keras.layers.Concatenate, keras.layers.Add)
    if not any(isinstance(layer, merges) for layer in _layers_of(model)):
        return low, "Try the suggested layers, with skip connections.", None
    return low, "Train longer, or check the loss and the learning rate.", None


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
