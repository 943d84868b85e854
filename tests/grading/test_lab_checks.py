"""The per-function checks of the labs (cnncourse.grading.lab_checks): each typical mistake,
made on purpose here from the reference, is named on the first line with its catalogue id;
a correct answer passes; dependencies are the reference's during a check.

The slow twin of this test runs the same kind of mistakes through `nbgrader validate`
(test_typical_mistakes.py); this one keeps the catalogue honest in every CI run.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnncourse.nn as reference
from cnncourse import filters, metrics
from cnncourse.grading import checks, lab_checks

RNG = np.random.default_rng(3)
X4 = RNG.normal(size=(2, 6, 7, 3))
W4 = RNG.normal(size=(3, 2, 3, 4))
B4 = RNG.normal(size=4)
X1 = RNG.normal(size=11)
W1 = np.array([1.0, -2.0, 0.5])


def conv2d(x, w, b, stride=1, padding=0):
    """A right answer of lab 2's forward, with the cache the lab prescribes."""
    out = reference.conv2d_forward(x, w, b, stride=stride, padding=padding)[0]
    return out, (x, w, b, stride, padding)


def transpose(x, w, b, stride=1, padding=0):
    return reference.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding)


def conv1d(x, w, stride=1, padding=0, dilation=1):
    return lab_checks.reference_conv1d(x, w, stride, padding, dilation)


def first_line_and_id(check, *args, **kwargs) -> tuple[str, list[str]]:
    with pytest.raises(AssertionError) as failure:
        check(*args, **kwargs)
    text = str(failure.value)
    return text.splitlines()[0], checks.mistake_ids_in(text)


CASES = [
    # lab 1
    ("size true division", lambda: lab_checks.check_conv_output_size(
        lambda i, k, s, p, d: (i + 2 * p - k - (k - 1) * (d - 1)) / s + 1, 6, 3, 2, 1),
     "true_division"),
    ("size without dilation", lambda: lab_checks.check_conv_output_size(
        lambda i, k, s, p, d: (i + 2 * p - k) // s + 1, 7, 3, 1, 0, 2), "size_ignores_dilation"),
    ("size padding once", lambda: lab_checks.check_conv_output_size(
        lambda i, k, s, p, d: (i + p - k) // s + 1, 5, 3, 1, 1), "padding_one_side"),
    ("conv1d flipped", lambda: lab_checks.check_conv1d(
        lambda x, w, **k: conv1d(x, w[::-1], **k), X1, W1), "flipped_kernel"),
    ("conv1d padding left only", lambda: lab_checks.check_conv1d(
        lambda x, w, stride, padding, dilation: conv1d(np.pad(x, (padding, 0)), w),
        X1, W1, padding=1), "padding_one_side"),
    ("conv1d dilation in windows", lambda: lab_checks.check_conv1d(
        lambda x, w, stride, padding, dilation: conv1d(x, w)[:5], X1, W1, dilation=3),
     "dilation_ignored"),
    ("corr2d transposed", lambda: lab_checks.check_corr2d(
        lambda x, k: lab_checks.reference_corr2d(x, k).T, np.arange(12.0).reshape(3, 4),
        np.ones((2, 2))), "transposed_axes"),
    ("sobel sign", lambda: lab_checks.check_sobel_kernels(lambda: -filters.sobel_x(),
                                                          filters.sobel_y),
     "sign_flipped_kernel"),
    ("sobel_y not transposed", lambda: lab_checks.check_sobel_kernels(filters.sobel_x,
                                                                      filters.sobel_x),
     "sobel_y_not_transposed"),
    ("magnitude l1", lambda: lab_checks.check_gradient_magnitude(
        lambda im: np.abs(corr2d(im, sobel_x())) + np.abs(corr2d(im, sobel_y())),
        np.tril(np.ones((6, 7)))), "wrong_norm"),
    ("shift wraps", lambda: lab_checks.check_shift_image(
        lambda im, dy, dx: np.roll(im, (dy, dx), axis=(0, 1)), np.arange(20.0).reshape(4, 5),
        1, 2), "shift_wraps_around"),
    ("gap absolute", lambda: lab_checks.check_equivariance_gap(
        lambda f, im, dy, dx: float(np.abs(f(shift_image(im, dy, dx))
                                           - shift_image(f(im), dy, dx)).max()),
        lambda im: im.reshape(4, 2, 4, 2).max(axis=(1, 3)), np.arange(64.0).reshape(8, 8),
        1, 1, what="pool"), "gap_not_normalised"),
    # lab 2
    ("forward without bias", lambda: lab_checks.check_conv2d_forward(
        lambda x, w, b, s, p: conv2d(x, w, 0 * b, s, p), X4, W4, B4, 2, 1), "bias_missing"),
    ("forward channels first", lambda: lab_checks.check_conv2d_forward(
        lambda x, w, b, s, p: (np.moveaxis(conv2d(x, w, b, s, p)[0], -1, 1), None),
        X4, W4, B4), "channels_first"),
    ("forward stride in windows", lambda: lab_checks.check_conv2d_forward(
        lambda x, w, b, s, p: (conv2d(x, w, b, 1, p)[0][:, :3, :4], None), X4, W4, B4, 2, 1),
     "stride_ignored_in_windows"),
    ("backward db axes", lambda: lab_checks.check_conv2d_backward(
        lambda dout, cache: (*reference.conv2d_backward(
            dout, reference.conv2d_forward(*cache[:3], stride=cache[3], padding=cache[4])[1]
        )[:2], dout.sum(axis=(1, 2))),
        X4, W4, B4, 1, 0, RNG.normal(size=(2, 4, 6, 4))), "db_wrong_axes"),
    ("im2col channel order", lambda: lab_checks.check_im2col(
        lambda x, kh, kw, s, p: reference.im2col(x, kh, kw, stride=s, padding=p).reshape(
            -1, kh, kw, 3).transpose(0, 3, 1, 2).reshape(-1, kh * kw * 3), X4, 2, 3, 1, 0),
     "im2col_channels_outermost"),
    # lab 3
    ("max is average", lambda: lab_checks.check_pool_forward(
        "max", lambda x, p, s: reference.avgpool2d_forward(x, pool_size=p, stride=s), X4),
     "maxpool_is_average"),
    ("max from zero", lambda: lab_checks.check_pool_forward(
        "max", lambda x, p, s: (np.maximum(reference.maxpool2d_forward(
            x, pool_size=p, stride=s)[0], 0), None), -np.abs(X4)), "maxpool_starts_at_zero"),
    ("max gradient to every tie", lambda: lab_checks.check_maxpool_backward(
        lambda dout, cache: lab_checks.lab3._max_routed(cache[0], 2, 2, dout, ties="all"),
        np.ones((1, 4, 4, 1)), 2, 2, np.ones((1, 2, 2, 1))), "maxpool_gradient_to_every_tie"),
    ("avg backward overlaps", lambda: lab_checks.check_avgpool_backward(
        lambda dout, cache: lab_checks.lab3._avg_spread(cache[0], 3, 1, dout, scale=1 / 9,
                                                   add=False),
        X4, 3, 1, RNG.normal(size=(2, 4, 5, 3))), "dx_overlaps_not_added"),
    # lab 6
    ("transpose not cropped", lambda: lab_checks.check_conv_transpose2d_forward(
        lambda x, w, b, s, p: transpose(x, w, b, s, 0), X4[:, :3, :4], W4[..., :3],
        np.ones(3), 2, 1), "transpose_no_crop"),
    ("transpose overwritten", lambda: lab_checks.check_conv_transpose2d_forward(
        lambda x, w, b, s, p: (lab_checks.lab6._scatter(x, w, s, add=False) + b, None),
        X4[:, :3, :4], W4.transpose(0, 1, 3, 2), B4, 1, 0), "transpose_scatter_not_added"),
    ("overlap counts without stride", lambda: lab_checks.check_overlap_counts(
        lambda n, k, s: np.pad(lab_checks.reference_overlap_counts(n, k, 1), (0, 3)), 4, 3, 2),
     "overlap_counts_stride_ignored"),
    ("iou zero for absent", lambda: lab_checks.check_iou_per_class(
        lambda p, t, n: np.nan_to_num(metrics.iou_per_class(p, t, n)),
        np.array([0, 1, 1]), np.array([0, 0, 1]), 3), "iou_absent_class"),
    ("mean over absent", lambda: lab_checks.check_mean_iou(
        lambda p, t, n: float(np.nan_to_num(iou_per_class(p, t, n)).mean()),
        np.array([0, 1, 1]), np.array([0, 0, 1]), 3), "mean_includes_absent"),
]


def sobel_x(*args):  # what a student's notebook defines, replaced by the check's reference
    raise NotImplementedError


sobel_y = corr2d = shift_image = iou_per_class = sobel_x


@pytest.mark.parametrize(("what", "run", "mistake"), CASES, ids=[c[0] for c in CASES])
def test_a_typical_mistake_is_named_first(what, run, mistake):
    first, ids = first_line_and_id(run)
    assert len(first) <= checks.FIRST_LINE
    if mistake is None:
        assert ids, f"{what}: no mistake named in {first!r}"
    else:
        assert ids == [mistake], f"{what}: {first!r}"
        assert checks.MISTAKES[mistake] in first or "..." in first


def test_correct_answers_pass_every_check():
    lab_checks.check_conv_output_size(lambda i, k, s, p, d: (i + 2 * p - k - (k - 1) * (d - 1))
                                      // s + 1, 9, 3, 2, 1, 2)
    lab_checks.check_conv1d(conv1d, X1, W1, stride=2, padding=1, dilation=2)
    lab_checks.check_conv2d_forward(conv2d, X4, W4, B4, 2, 1)
    lab_checks.check_conv_transpose2d_forward(transpose, X4, W4.transpose(0, 1, 3, 2), B4, 2, 1)
    lab_checks.check_pool_forward("avg", lambda x, p, s: reference.avgpool2d_forward(
        x, pool_size=p, stride=s), X4, 3, 2)
    lab_checks.check_iou_per_class(metrics.iou_per_class, np.array([0, 2]), np.array([0, 1]), 4)


def test_a_function_depending_on_another_gets_the_reference_one():
    # gradient_magnitude calls the notebook's corr2d, which is broken here: no points lost
    lab_checks.check_gradient_magnitude(
        lambda im: np.sqrt(corr2d(im, sobel_x()) ** 2 + corr2d(im, sobel_y()) ** 2),
        RNG.uniform(size=(6, 5)))
    with pytest.raises(NotImplementedError):
        corr2d(np.ones((3, 3)), np.ones((2, 2)))  # restored afterwards


def test_a_crash_in_the_student_function_is_reported_with_the_line():
    def im2col(x, kh, kw, stride, padding):
        rows = x.reshape(-1, kh * kw * 5)  # the student's bug
        return rows

    first, ids = first_line_and_id(lab_checks.check_im2col, im2col, X4, 2, 2)
    assert first.startswith("im2col(x, 2, 2, s=1, p=0): your code raised ValueError")
    assert ids == ["crashed"]


def forward_without_stride_in_size(x, w, b, stride=1, padding=0):
    """A lab 2 forward whose output size leaves the stride out: it crashes (issue 21)."""
    N, H, W, C = x.shape
    KH, KW, _, F = w.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    Ho, Wo = H + 2 * padding - KH + 1, W + 2 * padding - KW + 1
    out = np.zeros((N, Ho, Wo, F))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, i * stride: i * stride + KH, j * stride: j * stride + KW, :]
            out[:, i, j, :] = np.tensordot(window, w, axes=([1, 2, 3], [0, 1, 2])) + b
    return out, (x, w, b, stride, padding)


def test_a_forward_crashing_on_its_size_gets_the_sizes_diagnosis():
    line, ids = first_line_and_id(lab_checks.check_conv2d_forward, forward_without_stride_in_size,
                                  X4, W4, B4, 2, 1)
    assert "stride left out of the size" in line and ids == ["size_ignores_stride"]


def test_the_forward_test_checks_the_cache():
    def padded_cache(x, w, b, stride=1, padding=0):
        out, _ = conv2d(x, w, b, stride, padding)
        return out, (np.pad(x, ((0, 0), (padding,) * 2, (padding,) * 2, (0, 0))), w, b,
                     stride, padding)

    line, _ = first_line_and_id(lab_checks.check_conv2d_forward, padded_cache, X4, W4, B4, 2, 1)
    assert "the cache keeps the padded input" in line
    line, _ = first_line_and_id(lab_checks.check_conv2d_forward,
                                lambda x, w, b, s, p: (conv2d(x, w, b, s, p)[0], (x, w, b)),
                                X4, W4, B4)
    assert "the cache is not (x, w, b, stride, padding)" in line


def test_a_backward_crashing_on_the_cache_names_it():
    def expects_padded(dout, cache):
        xp, w, b, stride, padding = cache  # believes x was kept padded
        dxp = np.zeros_like(xp)
        dxp[:, :3, :3, :] += np.ones((len(xp), 5, 5, xp.shape[3]))  # the padded size it expects
        return dxp, w, b

    line, _ = first_line_and_id(lab_checks.check_conv2d_backward, expects_padded, X4, W4, B4,
                                1, 2, RNG.normal(size=(2, 8, 10, 4)))
    assert "cache" in line


def test_iou_over_the_whole_image_is_named():
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0]])
    predicted = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [2, 0, 0, 3]])

    def whole_image(p, t, n):  # the union taken as every pixel of the image
        return np.array([np.sum((p == c) & (t == c)) / p.size for c in range(n)])

    line, ids = first_line_and_id(lab_checks.check_iou_per_class, whole_image, predicted,
                                  truth, 5)
    assert ids == ["iou_whole_image"] and "image size" in line

    def whole_image_nan_when_absent(p, t, n):  # the lab's loop, with the wrong denominator
        ious = np.full(n, np.nan)
        for c in range(n):
            if np.sum((p == c) | (t == c)):
                ious[c] = np.sum((p == c) & (t == c)) / p.size
        return ious

    _, ids = first_line_and_id(lab_checks.check_iou_per_class, whole_image_nan_when_absent,
                               predicted, truth, 5)
    assert ids == ["iou_whole_image"]


def test_a_transposed_kernel_read_as_khkwcf_is_named_when_it_crashes():
    def transpose_cf(x, w, b, stride=1, padding=0):
        N, H, W, C = x.shape
        KH, KW, _, F = w.shape  # the student's slip: F taken from the last axis
        full = np.zeros((N, (H - 1) * stride + KH, (W - 1) * stride + KW, F))
        for i in range(H):
            for j in range(W):
                full[:, i * stride: i * stride + KH, j * stride: j * stride + KW] += np.einsum(
                    "nc,uvfc->nuvf", x[:, i, j], w)
        return full + b, (x, w, b, stride, padding)

    x, w, b = RNG.normal(size=(2, 3, 4, 2)), RNG.normal(size=(2, 3, 3, 2)), RNG.normal(size=3)
    _, ids = first_line_and_id(lab_checks.check_conv_transpose2d_forward, transpose_cf, x, w, b)
    assert ids == ["transpose_kernel_channels_swapped"]


def test_a_low_iou_from_logits_is_diagnosed_before_the_architecture():
    logits = RNG.normal(size=(2, 4, 4, 4))
    diagnosis, advice, mistake = lab_checks.lab6._advice(logits, None, 0.3, 0.7)
    assert mistake == "output_not_softmax" and "softmax" in diagnosis
    assert "skip connections" not in advice
