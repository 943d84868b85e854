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


@pytest.mark.parametrize(("student", "kwargs", "message", "mistake"), [
    (lambda x, w, **k: loop_conv(x, w[::-1, ::-1], **k), {}, "kernel is flipped",
     "flipped_kernel"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, stride, padding + 1), {"padding": 1},
     "padding is off by one(.|\n)*what one more", "padding_off_by_one"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, stride, padding - 1), {"padding": 2},
     "padding is off by one(.|\n)*what one less", "padding_off_by_one"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, stride, 0), {"padding": 2},
     "padding is ignored", "padding_ignored"),
    (lambda x, w, stride=1, padding=0: loop_conv(x, w, 1, padding), {"stride": 2},
     "stride is ignored", "stride_ignored"),
    (lambda x, w, **k: np.moveaxis(loop_conv(x, w, **k), -1, 1), {}, "channels first",
     "channels_first"),
    (lambda x, w, **k: loop_conv(x, w, **k)[:, :-1], {},
     r"^conv: shape \(2, 4, 4, 4\), expected \(2, 5, 4, 4\)", None),
    (lambda x, w, **k: loop_conv(x, w, **k) + 1e-3, {}, "^conv: right shape .*, wrong values",
     None),
    (lambda x, w, **k: None, {}, "returned None", "returned_none"),
])
def test_each_mistake_is_named(student, kwargs, message, mistake):
    with pytest.raises(AssertionError, match=message) as failure:
        check_student(student, **kwargs)
    text = str(failure.value)
    assert len(text.splitlines()[0]) <= checks.FIRST_LINE
    assert checks.mistake_ids_in(text) == ([mistake] if mistake else [])
    if mistake:
        assert text.splitlines()[-1] == checks.MISTAKE_TAG.format(mistake)
        assert checks.MISTAKES[mistake] in text.splitlines()[0]


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
    with pytest.raises(AssertionError, match="calls the course's reference implementation"
                                             r"(.|\n)*cnncourse\.nn\.conv2d\.conv2d_forward"):
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
    with pytest.raises(AssertionError, match=r"^layer: dw: the gradient is flipped(.|\n)*"
                                             r"dx and db are right\n\[mistake: gradient_flipped"):
        checks.check_gradients("layer", (dx, dw[::-1, ::-1], db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"^layer: dx is wrong, largest relative error"):
        # dx is not the kernel's gradient: its reversed axes 0 and 1 are no flipped kernel
        checks.check_gradients("layer", (np.flip(dx, (0, 1)), dw, db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"db: the gradient is off by a factor 2"):
        checks.check_gradients("layer", (dx, dw, 2 * db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"dx has shape \(3, 2\), expected \(2, 3\)"):
        checks.check_gradients("layer", (dx.T, dw, db), (dx, dw, db))
    with pytest.raises(AssertionError, match=r"^db summed over the wrong axes"):
        checks.check_gradients("layer", (dx, dw, db[:1]), (dx, dw, db),
                               mistakes={"db": {"db_wrong_axes": lambda: db[:1]}})


def test_known_mistakes_of_check_array():
    expected = RNG.normal(size=(4, 4))
    with pytest.raises(AssertionError, match="forgot to divide"):
        checks.check_array("pool", 4 * expected, expected,
                           mistakes={"forgot to divide": lambda: 4 * expected})
    with pytest.raises(AssertionError, match=r"^pool: not divided by the window size(.|\n)*"
                                             r"\[mistake: avgpool_not_divided\] \(a tag"):
        checks.check_array("pool", 4 * expected, expected,
                           mistakes={"avgpool_not_divided": lambda: 4 * expected})
    # a wrong shape that a known mistake makes is named by that mistake, with the expected shape
    with pytest.raises(AssertionError, match=r"^pool: stride left out of the size(.|\n)*"
                                             r"expected \(4, 4\) = \(Ho, Wo\) with Ho = 4"):
        checks.check_array("pool", np.zeros((7, 7)), expected, why="(Ho, Wo) with Ho = 4",
                           mistakes={"size_ignores_stride": lambda: np.ones((7, 7))})
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


def test_true_division_in_a_size_is_named():
    with pytest.raises(AssertionError, match=r"^size: true division `/`(.|\n)*expected the int "
                                             r"3, got the float 3.5\n\[mistake: true_division\]"):
        checks.check_equal("size", 3.5, 3)
    with pytest.raises(AssertionError, match=r"^size: dilation left out of the size"):
        checks.check_equal("size", 4, 3, mistakes={"size_ignores_dilation": 4})


def test_mistake_ids_are_found_in_any_text():
    text = "AssertionError: conv: ...\n[mistake: flipped_kernel]\n... [mistake: not_an_id] " \
           "[mistake: stride_ignored] [mistake: flipped_kernel]"
    assert checks.mistake_ids_in(text) == ["flipped_kernel", "stride_ignored"]
    assert checks.mistake_ids_in("no mistake here") == []
    # each fits the first line that `nbgrader validate` shows whole, the function's name then
    # on the next line when both do not fit
    assert all(len(d) <= checks.FIRST_LINE for d in checks.MISTAKES.values())


def test_a_crash_inside_the_student_function_names_the_students_line():
    def student(x, w):
        y = x.sum(axis=0)
        return y @ np.ones(99)  # the student's bug

    with pytest.raises(AssertionError) as failure:
        checks.call_own("conv", student, X, W)
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("conv: your code raised ValueError: matmul")
    assert len(lines[0]) <= checks.FIRST_LINE
    assert any("in your student, line" in line and "return y @ np.ones(99)" in line
               for line in lines)
    assert lines[-1] == checks.MISTAKE_TAG.format("crashed")
    with pytest.raises(AssertionError, match="^conv: not written yet"):
        checks.call_own("conv", lambda: exec("raise NotImplementedError()"))


@pytest.mark.parametrize("function", [
    np.convolve,  # a numpy 2 dispatcher: no __code__, a Python implementation
    np.lib.stride_tricks.sliding_window_view,
    np.dot,  # a C function: replaced by name in the modules that bind it
])
def test_numpy_functions_without_code_can_be_forbidden(function):
    from numpy.lib.stride_tricks import sliding_window_view as imported_alias

    def student():
        np.convolve(np.ones(3), np.ones(2))
        imported_alias(np.ones(4), 2)
        return np.dot(np.ones(2), np.ones(2))

    with pytest.raises(AssertionError, match=f"^f: calls the course's reference (.|\n)*"
                                             f"{function.__name__}"):
        checks.call_own("f", student, forbidden=[function])
    # restored afterwards, everywhere it was bound
    assert student() == 2.0
    assert np.lib.stride_tricks.sliding_window_view is imported_alias
    np.testing.assert_allclose(np.convolve([1.0, 2.0], [1.0, 1.0]), [1, 3, 2])


def test_dependencies_are_replaced_and_restored():
    def helper():
        return "student"

    namespace = {"helper": helper}
    exec("def uses_helper():\n    return helper()", namespace)
    student = namespace["uses_helper"]
    with checks.dependencies_replaced(student, helper=lambda: "reference"):
        assert student() == "reference"
    assert student() == "student"


def test_every_line_of_a_failure_is_shown_whole_by_nbgrader_validate():
    # validate shows 83 characters of a line; the first follows "AssertionError: "
    text = str(checks.failure("conv2d_backward_loops(s=2, p=1)", checks.MISTAKES[
        "dx_padding_not_cropped"], details="word " * 40, mistake="dx_padding_not_cropped"))
    lines = text.splitlines()
    assert lines[0] == checks.MISTAKES["dx_padding_not_cropped"]  # the cause first, whole
    assert lines[1] == "(in conv2d_backward_loops(s=2, p=1))"
    assert len(lines[0]) <= checks.FIRST_LINE == 83 - len("AssertionError: ")
    assert all(len(line) <= checks.LINE == 83 for line in lines)
    assert " ".join(line.strip() for line in lines[2:-1]) == ("word " * 40).strip()
    assert lines[-1] == checks.MISTAKE_TAG.format("dx_padding_not_cropped")
    assert "class report" in lines[-1]  # the tag says what it is for
    assert all(len(checks.MISTAKE_TAG.format(m)) <= checks.LINE for m in checks.MISTAKES)


def raise_from_a_check():
    checks.check_array("f", np.ones(3), np.zeros(3))  # the test's own line


class FakeShell:
    """What `_render_traceback_` uses of IPython's shell: its traceback formatter."""

    def __init__(self):
        from IPython.core.ultratb import AutoFormattedTB

        self.InteractiveTB = AutoFormattedTB(mode="Context", theme_name="nocolor")


@pytest.mark.parametrize("shell", [None, "ipython"])
def test_the_traceback_shown_holds_no_frame_of_the_grading_code(monkeypatch, shell):
    import IPython

    fake = FakeShell() if shell else None
    monkeypatch.setattr(IPython, "get_ipython", lambda: fake)
    with pytest.raises(checks.CheckFailure) as failure:
        raise_from_a_check()
    shown = "\n".join(failure.value._render_traceback_())
    assert "raise_from_a_check" in shown and "the test's own line" in shown
    assert "right shape (3,), wrong values" in shown
    assert "cnncourse/grading" not in shown and "raise failure(" not in shown
    assert "AssertionError: f: right shape" in shown and "CheckFailure:" not in shown


def test_a_crash_hint_names_the_cause_from_the_students_variables():
    def student(x, w):
        Ho = 7  # the size without the stride
        return np.ones((Ho, 2)) @ np.ones(3)

    hint = checks.sizes_hint({"Ho": 3}, {"size_ignores_stride": {"Ho": 7}})
    with pytest.raises(checks.CheckFailure) as failure:
        checks.call_own("conv", student, X, W, crash_hint=hint)
    lines = str(failure.value).splitlines()
    assert lines[0] == f"conv: {checks.MISTAKES['size_ignores_stride']}"
    assert any("your code then raised ValueError: matmul" in line for line in lines)
    assert checks.mistake_ids_in(str(failure.value)) == ["size_ignores_stride"]
    right = checks.sizes_hint({"Ho": 7}, {"size_ignores_stride": {"Ho": 7}})
    with pytest.raises(checks.CheckFailure, match="^conv: your code raised ValueError"):
        checks.call_own("conv", student, X, W, crash_hint=right)  # sizes right: no hint


def test_an_assert_of_the_student_is_reported_as_their_crash():
    def student():
        assert False, "my own check"  # noqa: B011

    with pytest.raises(checks.CheckFailure, match="^f: your code raised AssertionError: my own"):
        checks.call_own("f", student)


def test_a_failure_is_reported_as_an_assertion_error_and_pickles():
    import pickle

    failure = checks.failure("f", "wrong")
    assert type(failure).__name__ == "AssertionError"  # the "ename" a notebook records
    again = pickle.loads(pickle.dumps(failure))
    assert isinstance(again, checks.CheckFailure) and str(again) == "f: wrong"
