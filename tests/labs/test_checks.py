"""The diagnostics of cnncourse.grading.checks: each known mistake gets its own message."""

import numpy as np
import pytest

import cnncourse.nn as reference
from cnncourse.grading import checks

RNG = np.random.default_rng(7)
X = RNG.normal(size=(2, 7, 6, 3))
W = RNG.normal(size=(3, 3, 3, 4))


def reference_conv(x, w, **kwargs):
    return reference.conv2d_forward(x, w, **kwargs)[0]


def check_student(student, **kwargs):
    checks.check_conv_output("conv", student, reference_conv, X, W, kernel_axes=(0, 1),
                             forbidden=[reference.conv2d_forward], **kwargs)


def loop_conv(x, w, stride=1, padding=0):
    """An independent cross-correlation written for these tests."""
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    KH, KW, _, F = w.shape
    Ho = (xp.shape[1] - KH) // stride + 1
    Wo = (xp.shape[2] - KW) // stride + 1
    out = np.zeros((x.shape[0], Ho, Wo, F))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, i * stride : i * stride + KH, j * stride : j * stride + KW]
            out[:, i, j] = np.tensordot(window, w, axes=3)
    return out


def test_a_correct_convolution_passes():
    check_student(loop_conv, stride=2, padding=1)


@pytest.mark.parametrize(("student", "kwargs", "message"), [
    (lambda x, w, **k: loop_conv(x, w[::-1, ::-1], **k), {}, "kernel is flipped"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, stride, padding + 1), {"padding": 1},
     "padding is off by one: your output is what one more"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, stride, padding - 1), {"padding": 2},
     "padding is off by one: your output is what one less"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, 1, padding), {"stride": 2},
     "stride is ignored"),
    (lambda x, w, **k: np.moveaxis(loop_conv(x, w, **k), -1, 1), {}, "channels first"),
    (lambda x, w, **k: loop_conv(x, w, **k)[:, :-1], {},
     r"wrong shape: expected \(2, 5, 4, 4\), got \(2, 4, 4, 4\)"),
    (lambda x, w, **k: loop_conv(x, w, **k) + 1e-3, {}, "values are wrong"),
    (lambda x, w, **k: None, {}, "returned None"),
])
def test_each_mistake_is_named(student, kwargs, message):
    with pytest.raises(AssertionError, match=message):
        check_student(student, **kwargs)


def test_messages_do_not_print_hidden_inputs():
    with pytest.raises(AssertionError) as failure:
        check_student(lambda x, w, **k: loop_conv(x, w, **k) * 2)
    assert f"{X[0, 0, 0, 0]:.3g}" not in str(failure.value)
    assert "array(" not in str(failure.value)


@pytest.mark.parametrize("cheat", [
    lambda x, w, **k: reference.conv2d_forward(x, w, **k)[0],
    lambda x, w, **k: reference.conv2d_forward_loops(x, w, **k)[0],
])
def test_calling_the_reference_gets_no_credit(cheat):
    with pytest.raises(AssertionError, match="calls the course's reference implementation "
                                             r"cnncourse\.nn\.conv2d\.conv2d_forward"):
        checks.check_conv_output("conv", cheat, reference_conv, X, W, kernel_axes=(0, 1),
                                 forbidden=[reference.conv2d_forward,
                                            reference.conv2d_forward_loops])


def test_the_reference_works_again_after_a_check():
    with pytest.raises(AssertionError):
        checks.call_own("f", lambda: reference.conv2d_forward(X, W),
                        forbidden=[reference.conv2d_forward])
    np.testing.assert_allclose(reference.conv2d_forward(X, W)[0], loop_conv(X, W))


def test_except_exception_cannot_hide_a_reference_call():
    def sneaky(x, w):
        try:
            return reference.conv2d_forward(x, w)[0]
        except Exception:
            return np.zeros(1)

    with pytest.raises(AssertionError, match="reference implementation"):
        checks.call_own("sneaky", sneaky, X, W, forbidden=[reference.conv2d_forward])


def test_rebinding_numpy_after_import_changes_nothing(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "abs", lambda a: a * 0)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="values are wrong"):
        checks.check_array("x", np.ones(3), np.zeros(3))


def test_gradients_say_which_one_is_wrong():
    dx, dw, db = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 3, 2, 2)), RNG.normal(size=2)
    checks.check_gradients("layer", (dx, dw, db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"dw is wrong \(it is flipped.*dx and db are right"):
        checks.check_gradients("layer", (dx, dw[::-1, ::-1], db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"db is wrong \(it is off by a factor 2\)"):
        checks.check_gradients("layer", (dx, dw, 2 * db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"dx has shape \(3, 2\), expected \(2, 3\)"):
        checks.check_gradients("layer", (dx.T, dw, db), (dx, dw, db))


def test_known_mistakes_of_check_array():
    expected = RNG.normal(size=(4, 4))
    with pytest.raises(AssertionError, match="forgot to divide"):
        checks.check_array("pool", 4 * expected, expected,
                           mistakes={"forgot to divide": lambda: 4 * expected})
    with pytest.raises(AssertionError, match="transposed"):
        checks.check_conv_output("corr2d", lambda x, w: (x[1:, 1:] * w).T,
                                 lambda x, w: x[1:, 1:] * w, RNG.normal(size=(5, 5)),
                                 np.full((4, 4), 2.0), kernel_axes=(0, 1))


def test_counts_and_scalars():
    checks.check_equal("size", np.int64(3), 3)
    with pytest.raises(AssertionError, match="expected 1, got True"):
        checks.check_equal("size", True, 1)
    with pytest.raises(AssertionError, match="must reach at least 0.85"):
        checks.check_at_least("accuracy", 0.5, 0.85)
    with pytest.raises(AssertionError, match="expected 2.30259, got 2"):
        checks.check_scalar("loss", 2.0, float(np.log(10)))


def test_an_array_where_a_tuple_is_expected_is_named():
    with pytest.raises(AssertionError, match=r"expected \(28, 28\), got \[28, 28\]"):
        checks.check_equal("output shape", np.array([28, 28]), (28, 28))
