"""Checks used by the labs' test cells: one voice for every lab, with diagnostic messages.

Every check raises AssertionError with a message that says what is wrong (shape, flipped
kernel, padding off by one, channels in the wrong place, which gradient) without printing the
hidden inputs it was given. The layout of a message (`nbgrader validate` shows 83 characters
of a line, "AssertionError: " included on the first, and cuts the rest, so the diagnosis comes
first and short, and every line is wrapped to what validate shows):

    line 1: "<function name>: <short diagnosis>", or the diagnosis alone when both do not fit
            (then "(in <function name>)" follows)
    line 2..: details (expected vs got, and why)
    last line: "[mistake: <id>] (...)" when the mistake is a known one, id a key of MISTAKES,
               read by the instructor's class report

A failure is a `CheckFailure` (an AssertionError): in a notebook (IPython, which nbgrader's
validate and autograde run) its traceback shows the test cell's call and the message, and no
frame of the course's grading code (`_render_traceback_`).

MISTAKES is the one catalogue of known mistakes (id -> description); `mistake_ids_in(text)`
finds the ids in any text (an autograded notebook's error output). The checks of each lab
function, with the outputs its known mistakes produce, are in `cnncourse.grading.lab_checks`.

A student function is always called through `call_own`, so that a crash inside it is reported
as such, with the student's line, and not as an error inside the test.

Robustness against submissions that try to pass without doing the work:

* The numpy functions used here are captured when this module is imported, which the first
  read-only cell of every lab does before any student code runs; a student who later rebinds
  `np.allclose` or `np.testing.assert_allclose` changes nothing here. Array methods
  (`a.max()`, `a.all()`) are C attributes that cannot be rebound.
* `call_own` runs a student function while the reference functions it must not call are
  disabled (their `__code__` replaced by a stub raising `ReferenceUsed`), so
  `from cnncourse.nn import conv2d_forward as my_conv` is caught however it is imported.
  `ReferenceUsed` derives from BaseException so `except Exception` in student code cannot hide it.

This is in-process protection for honest mistakes and casual shortcuts; the grading driver's
sandbox is what contains hostile code.
"""

from __future__ import annotations

import contextlib
import re
import sys
import sysconfig
import textwrap
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

# Captured at import time (see the module docstring).
_asarray = np.asarray
_array = np.array
_flip = np.flip
_moveaxis = np.moveaxis
_isfinite = np.isfinite
_abs = np.abs
_maximum = np.maximum
_float64 = np.float64
_ndarray = np.ndarray
_integer = np.integer
_argmax = np.argmax
_unravel_index = np.unravel_index

RTOL = 1e-5  # float64 layers agree with the reference to ~1e-12; float32 ones to ~1e-6
ATOL = 1e-8
LINE = 83  # characters of a line that `nbgrader validate` shows (its width 90, indent 4, "...")
FIRST_LINE = LINE - len("AssertionError: ")  # the first line follows the exception's name

# ----------------------------------------------------------------------------- the catalogue
MISTAKES: dict[str, str] = {
    # any function
    "not_implemented": "not written yet: it still raises NotImplementedError",
    "returned_none": "returned None: did you forget the `return` statement?",
    "crashed": "your code raised an error (the line is shown below)",
    "reference_used": "calls the course's reference implementation instead of computing",
    # sizes
    "true_division": "true division `/`: the size formula floors, use `//`",
    "size_off_by_one": "size off by one: the formula ends with `+ 1`",
    "size_ignores_padding": "padding left out of the size: i + 2p",
    "size_ignores_stride": "stride left out of the size: divide by s, then floor",
    "size_ignores_dilation": "dilation left out of the size: span = k + (k-1)(d-1)",
    # convolutions
    "flipped_kernel": "the kernel is flipped: layers compute a cross-correlation (no flip)",
    "stride_ignored": "the stride is ignored: your output is what stride=1 gives",
    "stride_ignored_in_windows": "the stride is ignored in the window positions (i*s, j*s)",
    "dilation_ignored": "the dilation is ignored: taps must be d inputs apart",
    "padding_one_side": "padding on one side only: add p zeros on both sides",
    "padding_off_by_one": "padding is off by one zero on each side",
    "padding_ignored": "the padding is ignored: add p zeros on each side",
    "bias_missing": "the bias b is not added",
    "transposed_axes": "rows and columns are swapped (the output is transposed)",
    "channels_first": "channels first (N, C, H, W): use channels last (N, H, W, C)",
    "height_width_swapped": "height and width are swapped: the output is (N, Wo, Ho, F)",
    "im2col_channels_outermost": "columns in the order (c, u, v): channels go innermost (u, v, c)",
    "im2col_kernel_axes_swapped": "columns in the order (v, u, c): kernel rows/columns swapped",
    # filters
    "sign_flipped_kernel": "the kernel has the wrong sign: it must increase along its axis",
    "sobel_y_not_transposed": "sobel_y must be sobel_x transposed (the derivative along rows)",
    "wrong_norm": "wrong norm: the magnitude is sqrt(gx^2 + gy^2), not |gx| + |gy|",
    "missing_sqrt": "missing square root: the magnitude is sqrt(gx^2 + gy^2)",
    # gradients
    "dx_overlaps_not_added": "dx does not add overlapping windows: use += where they overlap",
    "dx_padding_not_cropped": "dx still has the padding: crop p rows/columns off each side",
    "db_wrong_axes": "db summed over the wrong axes: sum over (N, Ho, Wo), one per filter",
    "dw_one_example": "dw uses one example: sum the windows of the whole batch",
    "gradient_flipped": "the gradient is flipped along the kernel axes",
    "gradient_factor_2": "the gradient is off by a factor 2",
    # pooling
    "maxpool_is_average": "the output is the average of each window, not its maximum",
    "maxpool_starts_at_zero": "max starts at zero: a negative window gives 0; start at -inf",
    "maxpool_gradient_to_every_tie": "tie: the gradient goes to every tied maximum; first only",
    "maxpool_gradient_to_every_input": "dout goes to every input of the window, not the maximum",
    "avgpool_not_divided": "not divided by the window size P^2: a sum, not an average",
    "avgpool_divided_by_p": "divided by P, not by the window size P^2",
    # transposed convolution
    "transpose_no_crop": "not cropped: padding p crops p rows/columns off each side",
    "transpose_scatter_not_added": "overlapping kernel copies are not added up (use +=)",
    "transpose_kernel_channels_swapped": "the kernel is (KH, KW, F, C): F output channels third",
    "overlap_counts_stride_ignored": "the stride is ignored: copies are s pixels apart",
    # IoU and equivariance
    "iou_absent_class": "absent class: NaN for a class in neither mask, not 0 or 1",
    "iou_is_dice": "Dice score 2|A n B| / (|A| + |B|), not the IoU |A n B| / |A u B|",
    "iou_pixel_accuracy": "that is the pixel accuracy, not the intersection over union",
    "iou_whole_image": "divided by the image size: the union is |P u T| of class c",
    "output_not_softmax": "the output is not a softmax: each pixel's scores must sum to 1",
    "mean_includes_absent": "absent classes counted: skip their NaN with np.nanmean",
    "shift_wrong_direction": "moved the wrong way: positive dy, dx move it down and right",
    "shift_wraps_around": "the shift wraps around: pixels that leave must not come back",
    "gap_not_normalised": "not relative: divide by the largest |f(t(x))|",
    # Keras blocks (lab 5)
    "relu_missing": "a convolution has no ReLU after it: give it activation='relu'",
    "padding_valid": "padding 'valid' shrinks H and W: use padding='same'",
    "stride_changes_size": "a stride above 1 shrinks H and W: this block keeps their size",
    "vgg_no_pool": "no pooling: the block ends with a 2x2 max pooling of stride 2",
    "vgg_pool_every_conv": "a pooling after every convolution: pool once, at the block's end",
    "vgg_pool_stride": "the pooling must be 2x2 with stride 2 (it halves H and W)",
    "residual_no_add": "no Add: the block adds its shortcut to F(x)",
    "residual_second_relu": "the second conv has a ReLU: F(x) ends without activation",
    "residual_relu_before_add": "ReLU before the add: ReLU(x + F(x)), not x + ReLU(F(x))",
    "residual_no_final_relu": "no ReLU after the add: the block returns ReLU(x + F(x))",
    "residual_always_projected": "shortcut projected though the width is kept: use x itself",
    "residual_not_projected": "the width changes: project the shortcut with a 1x1 Conv2D",
    "inception_no_reduction": "a 3x3 or 5x5 conv reads x: its 1x1 reduction comes first",
    "inception_pool_not_projected": "the pool branch needs its 1x1 conv (pool_proj) after pooling",
    "concat_axis": "concatenate along the channels, the last axis (axis=-1)",
    "separable_no_depthwise": "no DepthwiseConv2D: the 3x3 step filters each channel on its own",
    "separable_layer_used": "SeparableConv2D: use DepthwiseConv2D + ReLU, then a Conv2D 1x1",
    "cost_ratio_k_not_squared": "1/D_K, not 1/D_K^2: a D_K x D_K kernel has D_K^2 taps",
    "cost_ratio_inverted": "the inverse: the ratio is separable over full, below 1",
    "cost_ratio_term_missing": "a term is missing: the ratio is 1/N + 1/D_K^2",
}
_MISTAKE_ID = re.compile(r"\[mistake: ([a-z0-9_]+)\]")



def mistake_ids_in(text: str) -> list[str]:
    """Ids of the known mistakes named in `text` (error output, traceback), in order, repeats
    dropped; only keys of MISTAKES count."""
    found = []
    for mistake in _MISTAKE_ID.findall(text):
        if mistake in MISTAKES and mistake not in found:
            found.append(mistake)
    return found


MISTAKE_TAG = "[mistake: {}] (a tag for the class report)"


class CheckFailure(AssertionError):
    """A check's diagnosis. In IPython its traceback leaves out the grading code's frames."""

    def _render_traceback_(self) -> list[str]:
        """IPython's traceback of this failure without the frames of cnncourse/grading and
        without the chained exception that led to it (the message says what matters)."""
        from IPython import get_ipython  # only called by IPython, so it is there

        self.__cause__, self.__suppress_context__ = None, True
        shell = get_ipython()
        frames = _without_grading_frames(self.__traceback__)
        if shell is None:
            return ["Traceback (most recent call last):\n",
                    *traceback.format_list(traceback.extract_tb(frames)),
                    f"AssertionError: {self}"]
        return shell.InteractiveTB.structured_traceback(AssertionError, self, frames)


# The name a notebook reports for the error (ipykernel's "ename", nbgrader's feedback, the
# grading run's reasons): the AssertionError a failing test is, to students and tools alike.
# __qualname__ stays CheckFailure, so that pickle still finds the class.
CheckFailure.__name__ = "AssertionError"

_GRADING = str(Path(__file__).resolve().parent)


def _without_grading_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """A copy of the traceback chain `tb` without the frames whose code is in the grading
    package."""
    kept = []
    while tb is not None:
        if not str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_GRADING):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for frame in reversed(kept):
        chain = types.TracebackType(chain, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return chain


def _wrapped(line: str) -> list[str]:
    """`line` cut at spaces into lines that `nbgrader validate` shows whole."""
    if len(line) <= LINE:
        return [line]
    return textwrap.wrap(line, width=LINE, subsequent_indent="  ", break_on_hyphens=False)


def _head(name: str, diagnosis: str) -> list[str]:
    """The first line(s): "<name>: <diagnosis>", or the diagnosis first when both do not fit."""
    first = f"{name}: {diagnosis}"
    if len(first) <= FIRST_LINE:
        return [first]
    if len(diagnosis) <= FIRST_LINE:
        return [diagnosis, f"(in {name})"]
    lines = textwrap.wrap(first, width=FIRST_LINE, break_on_hyphens=False)
    return [lines[0], *textwrap.wrap(" ".join(lines[1:]), width=LINE, initial_indent="  ",
                                     subsequent_indent="  ", break_on_hyphens=False)]


def failure(name: str, diagnosis: str, *, details: str = "",
            mistake: str | None = None) -> CheckFailure:
    """The failure of a check, in the layout of the module docstring.

    diagnosis: the first line after "<name>: ". mistake: a key of MISTAKES, or a free text
    diagnosis (then no id line).
    """
    lines = _head(name, diagnosis)
    for line in details.splitlines():
        lines.extend(_wrapped(line))
    if mistake is not None and mistake in MISTAKES:
        lines.append(MISTAKE_TAG.format(mistake))
    return CheckFailure("\n".join(lines))


def _diagnosis_of(key: str) -> tuple[str, str | None, str]:
    """(first-line text, id or None, detail) of a candidate mistake's key.

    A key is an id of MISTAKES or a free description, optionally followed by "#detail" (one
    mistake can have several candidate outputs: padding one more or one less).
    """
    mistake, _, detail = key.partition("#")
    if mistake in MISTAKES:
        return MISTAKES[mistake], mistake, detail
    return mistake, None, detail


class ReferenceUsed(BaseException):  # noqa: N818 (a marker, not an error of the student)
    """Raised by a disabled reference function; args[0] is its qualified name."""


# ----------------------------------------------------------------------------- arrays
def as_checked_array(name: str, got: object) -> np.ndarray:
    """Convert a student result to a float64 ndarray, or fail saying what was returned."""
    if got is None:
        raise failure(name, MISTAKES["returned_none"], mistake="returned_none")
    try:
        array = _array(got, dtype=_float64)  # a plain copy: subclasses and views are dropped
    except (TypeError, ValueError) as error:
        raise failure(name, f"must return a numeric numpy array, got {type(got).__name__}"
                      ) from error
    return array


def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    if got.shape != expected.shape:
        return False
    return bool((_abs(got - expected) <= atol + rtol * _abs(expected)).all())


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """CS231n's max(|x - y| / max(1e-8, |x| + |y|)), computed with numpy captured at import.

    Same formula as `cnncourse.gradcheck.rel_error`; restated here so that a student who rebinds
    numpy functions cannot change it.
    """
    got, expected = _asarray(got, dtype=_float64), _asarray(expected, dtype=_float64)
    if got.size == 0:
        return 0.0
    return float((_abs(got - expected) / _maximum(1e-8, _abs(got) + _abs(expected))).max())


def check_shape(name: str, got: object, expected_shape: Sequence[int], *, why: str = "",
                mistakes: dict[str, Callable[[], object]] | None = None) -> None:
    """Fail unless `got` (an array or a shape tuple) has exactly `expected_shape`.

    why: what the expected shape is made of, e.g. "(N, Ho, Wo, F) with Ho = (H + 2p - KH)//s
    + 1"; mistakes: {id: function making the output of that mistake}, named when its shape is
    the one received.
    """
    shape = tuple(_asarray(got).shape) if not isinstance(got, tuple) else got
    expected_shape = tuple(int(n) for n in expected_shape)
    if shape == expected_shape:
        return
    details = f"expected {expected_shape}" + (f" = {why}" if why else "")
    for mistake, make in (mistakes or {}).items():
        try:
            if tuple(_asarray(make()).shape) == shape:
                diagnosis, mistake_id, detail = _diagnosis_of(mistake)
                raise failure(name, diagnosis, mistake=mistake_id,
                              details=_join(detail, f"shape {shape}, {details}"))
        except (ValueError, IndexError, TypeError, ZeroDivisionError):
            continue
    raise failure(name, f"shape {shape}, expected {expected_shape}", details=why)


def check_array(name: str, got: object, expected: object, *, rtol: float = RTOL,
                atol: float = ATOL, mistakes: dict[str, Callable[[], object]] | None = None,
                why: str = "") -> None:
    """Fail unless `got` has the shape of `expected` and the same finite values within tolerance.

    mistakes: {id in MISTAKES (or a free description): function making the output of that
    mistake}; when `got` equals one of them (or, with a wrong shape, has its shape), that
    mistake is the diagnosis. why: how the expected shape follows from the inputs.
    """
    got = as_checked_array(name, got)
    expected = _asarray(expected, dtype=_float64)
    if _close(got, expected, rtol, atol):
        return
    matched = _first_match(got, mistakes or {}, rtol, atol)
    if matched is not None:
        diagnosis, mistake_id, detail = _diagnosis_of(matched)
        raise failure(name, diagnosis, mistake=mistake_id,
                      details=_join(detail, _difference_line(got, expected, rtol, atol)))
    check_shape(name, got, expected.shape, why=why, mistakes=mistakes)
    finite = _isfinite(got)
    if not finite.all():
        bad = int(got.size - finite.sum())
        raise failure(name, f"{bad} NaN or infinite value(s)")
    raise failure(name, f"right shape {got.shape}, wrong values",
                  details=_difference_line(got, expected, rtol, atol))


def _join(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


def _difference_line(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    if got.shape != expected.shape or got.size == 0:
        return f"shape {got.shape}, expected {expected.shape}"
    difference = _abs(got - expected)
    if not _isfinite(difference).all():
        return "some values are NaN or infinite"
    wrong = int((difference > atol + rtol * _abs(expected)).sum())
    where = tuple(int(i) for i in _unravel_index(_argmax(difference), difference.shape))
    return (f"{wrong} of {got.size} values are wrong (largest difference "
            f"{difference.max():.3g}, at index {where})")


def check_equal(name: str, got: object, expected: object, *,
                mistakes: dict[str, object] | None = None) -> None:
    """Fail unless `got == expected` for integers, strings and tuples of them (sizes, counts).

    mistakes: {id in MISTAKES (or a description): the value that mistake gives}.
    """
    if isinstance(got, _ndarray | _integer):
        # 0-d: a numpy integer; otherwise a list, so that `!=` below is one bool, not an array
        got = got.item() if got.ndim == 0 else got.tolist()
    if isinstance(expected, int) and isinstance(got, float):
        raise failure(name, MISTAKES["true_division"], mistake="true_division",
                      details=f"expected the int {expected!r}, got the float {got!r}")
    if type(got) is not bool and got == expected:  # True == 1 must not pass for a count
        return
    for mistake, value in (mistakes or {}).items():
        if type(got) is not bool and got == value and type(got) is type(value):
            diagnosis, mistake_id, detail = _diagnosis_of(mistake)
            raise failure(name, diagnosis, mistake=mistake_id,
                          details=_join(detail, f"expected {expected!r}, got {got!r}"))
    raise failure(name, f"expected {expected!r}, got {got!r}")


def check_scalar(name: str, got: object, expected: float, *, rtol: float = RTOL,
                 atol: float = ATOL, mistakes: dict[str, float] | None = None) -> None:
    """Fail unless `got` is a real number within tolerance of `expected` (a loss, a ratio).

    mistakes: {id in MISTAKES (or a description): the value that mistake gives}.
    """
    try:
        value = float(got)
    except (TypeError, ValueError) as error:
        raise failure(name, f"must be a number, got {type(got).__name__}") from error
    if abs(value - expected) <= atol + rtol * abs(expected):
        return
    for mistake, wrong in (mistakes or {}).items():
        if abs(value - wrong) <= atol + rtol * abs(wrong) or (value != value and wrong != wrong):
            diagnosis, mistake_id, detail = _diagnosis_of(mistake)
            raise failure(name, diagnosis, mistake=mistake_id,
                          details=_join(detail, f"expected {expected:.6g}, got {value:.6g}"))
    raise failure(name, f"expected {expected:.6g}, got {value:.6g}")


def check_at_least(name: str, got: float, threshold: float) -> None:
    """Fail unless `got >= threshold` (an accuracy reached after training)."""
    if not float(got) >= threshold:
        raise failure(name, f"{float(got):.4f}; it must reach at least {threshold}")


# ----------------------------------------------------------------------------- no reference calls
def _reference_stub(*args: object, **kwargs: object) -> None:
    # Runs with the *reference* module's globals, so it imports what it needs by name.
    checks = __import__("cnncourse.grading.checks", fromlist=["ReferenceUsed"])
    raise checks.ReferenceUsed(__import__("sys")._getframe().f_code.co_qualname)


def _full_name(function: Callable) -> str:
    module = getattr(function, "__module__", None) or "?"
    return f"{module}.{getattr(function, '__qualname__', getattr(function, '__name__', '?'))}"


def _python_function(function: Callable) -> Callable | None:
    """The Python function whose code runs when `function` is called, if there is one.

    numpy 2's public functions (np.convolve, sliding_window_view) are C dispatchers
    (`numpy._ArrayFunctionDispatcher`) without `__code__`; the Python function they dispatch
    to is their `_implementation`.
    """
    if hasattr(function, "__code__"):
        return function
    implementation = getattr(function, "_implementation", None)
    return implementation if hasattr(implementation, "__code__") else None


def _module_bindings(function: Callable) -> list[tuple[dict, str]]:
    """Every (module namespace, name) bound to `function`, the notebook's (__main__) included."""
    bindings = []
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        bindings.extend((namespace, name) for name, value in list(namespace.items())
                        if value is function)
    return bindings


def _raising_stub(full_name: str) -> Callable:
    def disabled(*args: object, **kwargs: object) -> None:
        raise ReferenceUsed(full_name)

    return disabled


@contextlib.contextmanager
def references_disabled(functions: Sequence[Callable]) -> Iterator[None]:
    """Make every function in `functions` raise ReferenceUsed while the block runs.

    A Python function (or numpy dispatcher with a Python implementation) is changed itself
    (its `__code__`), so every alias of it, however imported, is disabled too. A function
    without Python code (a builtin or C function) is replaced, by name, in every loaded module
    that binds it, the notebook's namespace included; an alias kept elsewhere (a default
    argument, a closure) is not reached. Everything is restored on exit.
    """
    saved_code, saved_names = [], []
    try:
        for function in functions:
            full_name = _full_name(function)
            python = _python_function(function)
            if python is None:
                stub = _raising_stub(full_name)
                for namespace, name in _module_bindings(function):
                    saved_names.append((namespace, name, function))
                    namespace[name] = stub
                continue
            code = python.__code__
            if code.co_freevars:
                raise RuntimeError(f"cannot disable {full_name}: it is a closure")
            saved_code.append((python, code))
            python.__code__ = _reference_stub.__code__.replace(
                co_name=code.co_name, co_qualname=full_name)
        yield
    finally:
        for python, code in saved_code:
            python.__code__ = code
        for namespace, name, function in saved_names:
            namespace[name] = function


_LIBRARY_PATHS = tuple({str(Path(p).resolve()) for p in (
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
    sysconfig.get_paths()["platlib"], Path(__file__).resolve().parents[1])})


def _student_tracebacks(error: BaseException) -> list[types.TracebackType]:
    """The traceback entries of `error` in the student's code (not numpy, not cnncourse),
    outermost first; the first entry (the caller, in the checks) is left out."""
    entries, tb = [], error.__traceback__
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    return [tb for tb in entries[1:] if not str(Path(tb.tb_frame.f_code.co_filename).resolve(
        )).startswith(_LIBRARY_PATHS)]


def _student_frame(error: BaseException) -> traceback.FrameSummary | None:
    """The deepest frame of the traceback in the student's code (not numpy, not cnncourse)."""
    own = _student_tracebacks(error)
    if not own:
        return None
    return traceback.extract_tb(own[-1], limit=1)[0]


# A crash hint: (locals of the student's frame that crashed, the error) -> the key of the
# likely cause (an id of MISTAKES, or a description, as in `mistakes`), or None.
CrashHint = Callable[[dict[str, object], BaseException], "str | None"]


def _hinted_cause(error: BaseException, hint: CrashHint | None) -> str | None:
    own = _student_tracebacks(error)
    if hint is None or not own:
        return None
    try:
        return hint(dict(own[-1].tb_frame.f_locals), error)
    except Exception:  # noqa: BLE001 (a hint that cannot decide names no cause)
        return None


def _crash(name: str, error: BaseException, hint: CrashHint | None = None) -> CheckFailure:
    message = str(error).split("\n")[0]
    frame = _student_frame(error)
    where = "(the error was raised before any line of yours ran)"
    if frame is not None:
        line = f": {frame.line.strip()}" if frame.line else ""
        where = f"in your {frame.name}, line {frame.lineno}{line}"
    cause = _hinted_cause(error, hint)
    if cause is not None:
        diagnosis, mistake, detail = _diagnosis_of(cause)
        return failure(name, diagnosis, mistake=mistake or "crashed", details=_join(
            detail, f"your code then raised {type(error).__name__}: {message}", where))
    return failure(name, f"your code raised {type(error).__name__}: {message}",
                   details=f"{where}\n{type(error).__name__}: {error}", mistake="crashed")


def call_own(name: str, student_function: Callable, *args: object,
             forbidden: Sequence[Callable] = (), crash_hint: CrashHint | None = None,
             **kwargs: object) -> object:
    """Call student_function(*args, **kwargs) with the `forbidden` reference functions disabled.

    A crash inside the student's function becomes a failure that names the student's line, and
    its likely cause when `crash_hint` recognises it from the student's variables at the crash;
    NotImplementedError says the function is not written yet.
    """
    try:
        with references_disabled(forbidden):
            return student_function(*args, **kwargs)
    except ReferenceUsed as used:
        raise failure(
            name, "calls the course's reference implementation",
            details=f"{used.args[0]}, instead of computing the result itself, so this test "
                    "gives it no credit. Write the computation with numpy.",
            mistake="reference_used") from None
    except NotImplementedError:
        raise failure(name, MISTAKES["not_implemented"], mistake="not_implemented") from None
    except CheckFailure:
        raise  # a check's diagnosis (a reference dependency checking its input), in words
    except Exception as error:  # noqa: BLE001 (any crash of the student's code is reported)
        raise _crash(name, error, crash_hint) from None


def sizes_hint(expected: dict[str, int], mistaken: dict[str, dict[str, int]]) -> CrashHint:
    """A crash hint from the sizes the student computed: `mistaken` maps a cause to the sizes
    it gives (e.g. {"size_ignores_stride": {"Ho": 7, "Wo": 9}}); a cause is named when the
    student's variables of those names hold its sizes and not the `expected` ones."""
    def hint(variables: dict[str, object], error: BaseException) -> str | None:
        for cause, sizes in mistaken.items():
            own = {k: variables[k] for k in sizes if isinstance(variables.get(k), int)}
            if own and all(own[k] == sizes[k] for k in own) and any(
                    own[k] != expected.get(k) for k in own):
                return cause
        return None

    return hint


@contextlib.contextmanager
def dependencies_replaced(student_function: Callable, **replacements: Callable
                          ) -> Iterator[None]:
    """Let `student_function` see reference versions of the functions it uses, by name.

    The names are replaced in the function's own globals (the notebook's namespace) while the
    block runs, so that a bug in a function it depends on (its `corr2d`, its `im2col`) does not
    cost this function's points. Restored on exit.
    """
    namespace = getattr(student_function, "__globals__", None)
    if namespace is None:
        yield
        return
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


# ----------------------------------------------------------------------------- diagnoses
def _first_match(got: np.ndarray, candidates: dict[str, Callable[[], object]], rtol: float,
                 atol: float) -> str | None:
    """Key of the first candidate mistake whose output `got` reproduces, if any."""
    for mistake, make in candidates.items():
        try:
            candidate = _asarray(make(), dtype=_float64)
        except (ValueError, IndexError, TypeError, ZeroDivisionError):
            continue  # that mistake is impossible for this input (e.g. negative padding)
        if _close(got, candidate, rtol, atol):
            return mistake
    return None


def layout_mistakes(expected: np.ndarray) -> dict[str, Callable[[], object]]:
    """Outputs with the axes in the wrong place, for a 2D (H, W) or 4D (N, H, W, C) result."""
    if expected.ndim == 4:  # (N, H, W, C)
        return {
            "channels_first": lambda: _moveaxis(expected, -1, 1),
            "height_width_swapped": lambda: _moveaxis(expected, 1, 2),
        }
    if expected.ndim == 2:
        return {"transposed_axes": lambda: expected.T}
    return {}


def conv_mistakes(reference_function: Callable, x: np.ndarray, w: np.ndarray, *,
                  kernel_axes: Sequence[int], **kwargs: object
                  ) -> dict[str, Callable[[], object]]:
    """Outputs of the usual convolution mistakes: kernel flipped, padding off by one or on one
    side, stride or dilation ignored (kwargs: stride / padding / dilation)."""
    def reference_with(**changes: object) -> Callable[[], object]:
        return lambda: reference_function(x, w, **{**kwargs, **changes})

    candidates: dict[str, Callable[[], object]] = {
        "flipped_kernel": lambda: reference_function(x, _flip(w, axis=tuple(kernel_axes)),
                                                     **kwargs),
    }
    padding = kwargs.get("padding")
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding > 0:
            candidates["padding_ignored"] = reference_with(padding=0)
        for delta, word in ((-1, "one less"), (1, "one more")):
            if padding + delta >= 0:
                candidates[f"padding_off_by_one#your output is what {word} zero of padding on "
                           f"each side gives"] = reference_with(padding=padding + delta)
    for argument in ("stride", "dilation"):
        if kwargs.get(argument, 1) != 1:
            candidates[f"{argument}_ignored"] = reference_with(**{argument: 1})
    return candidates


def check_conv_output(name: str, student_function: Callable, reference_function: Callable,
                      x: np.ndarray, w: np.ndarray, *, kernel_axes: Sequence[int],
                      forbidden: Sequence[Callable] = (), rtol: float = RTOL, atol: float = ATOL,
                      mistakes: dict[str, Callable[[], object]] | None = None, why: str = "",
                      crash_hint: CrashHint | None = None, **kwargs: object) -> None:
    """Compare student_function(x, w, **kwargs) with reference_function and diagnose a mismatch.

    kernel_axes: the spatial axes of w, flipped to detect a true convolution.
    kwargs: stride / padding / dilation, passed to both functions.
    The diagnoses tried, in order: `mistakes` (the function's own), kernel flipped, padding
    off by one, stride or dilation ignored, channels in the wrong place; otherwise the message
    says shape (with `why`) or values. crash_hint: names the likely cause of a crash.
    """
    got = as_checked_array(name, call_own(name, student_function, x, w, forbidden=forbidden,
                                          crash_hint=crash_hint, **kwargs))
    expected = _asarray(reference_function(x, w, **kwargs), dtype=_float64)
    candidates = {**(mistakes or {}),
                  **conv_mistakes(reference_function, x, w, kernel_axes=kernel_axes, **kwargs),
                  **layout_mistakes(expected)}
    check_array(name, got, expected, rtol=rtol, atol=atol, mistakes=candidates, why=why)


def check_gradients(name: str, got: Sequence[object], expected: Sequence[object],
                    names: Sequence[str] = ("dx", "dw", "db"), *, tol: float = 1e-6,
                    mistakes: dict[str, dict[str, Callable[[], object]]] | None = None,
                    kernel_gradient: str = "dw") -> None:
    """Compare each gradient of a backward pass and say which ones are wrong.

    got / expected: tuples of gradients in the order of `names`. Passes when every relative
    error is below `tol`. mistakes: {gradient name: {id: function making that wrong gradient}},
    tried before the generic hints: the kernel's gradient flipped, any gradient twice or half
    the right one. kernel_gradient: the name of the kernel's gradient, (KH, KW, ...) like the
    kernel, whose axes 0 and 1 a flipped kernel reverses (no other gradient has the kernel's
    axes: dx is (N, H, W, C)).
    """
    if not isinstance(got, tuple | list) or len(got) != len(expected):
        raise failure(
            name, f"must return {len(expected)} gradients ({', '.join(names)})",
            details=f"got {type(got).__name__} of length "
                    f"{len(got) if hasattr(got, '__len__') else '?'}")
    problems, right, diagnosed = [], [], []
    for grad_name, g, e in zip(names, got, expected, strict=True):
        g = as_checked_array(f"{name} {grad_name}", g)
        e = _asarray(e, dtype=_float64)
        if g.shape == e.shape and _isfinite(g).all() and relative_error(g, e) <= tol:
            right.append(grad_name)
            continue
        candidates = {**(mistakes or {}).get(grad_name, {})}
        if grad_name == kernel_gradient and e.ndim >= 2:  # (KH, KW, ...): flip KH and KW
            candidates["gradient_flipped"] = lambda e=e: _flip(e, axis=(0, 1))
        candidates["gradient_factor_2#twice the right gradient"] = lambda e=e: 2 * e
        candidates["gradient_factor_2#half the right gradient"] = lambda e=e: 0.5 * e
        matched = _first_gradient_match(g, candidates, tol)
        if matched is not None:
            diagnosis, mistake, _ = _diagnosis_of(matched)
            named = diagnosis if diagnosis.startswith(f"{grad_name} ") else (
                f"{grad_name}: {diagnosis}")
            diagnosed.append((grad_name, named, mistake))
            problems.append(named)
        elif g.shape != e.shape:
            problems.append(f"{grad_name} has shape {g.shape}, expected {e.shape} (the shape of "
                            f"{_gradient_of(grad_name)})")
        elif not _isfinite(g).all():
            problems.append(f"{grad_name} contains NaN or infinite values")
        else:
            problems.append(f"{grad_name} is wrong, largest relative error "
                            f"{relative_error(g, e):.2g}")
    if not problems:
        return
    ok = f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right" if right else ""
    if diagnosed:
        _, named, mistake = diagnosed[0]
        cause = named.split(": ", 1)[-1]
        same = [(g, n) for g, n, _ in diagnosed[1:] if n.split(": ", 1)[-1] == cause]
        others = [p for p in problems if p != named and p not in {n for _, n in same}]
        if same:  # one cause seen in several gradients: said once
            others.insert(0, f"the same in {', '.join(g for g, _ in same)}")
        raise failure(name, named, details="; ".join(
            [*others, ok] if others or ok else []), mistake=mistake)
    raise failure(name, "; ".join(problems) + (f"; {ok}" if ok else ""))


def _gradient_of(grad_name: str) -> str:
    """'dx' -> 'x': a gradient has the shape of what it differentiates."""
    return grad_name[1:] if grad_name.startswith("d") else grad_name


def _first_gradient_match(got: np.ndarray, candidates: dict[str, Callable[[], object]],
                          tol: float) -> str | None:
    for mistake, make in candidates.items():
        try:
            candidate = _asarray(make(), dtype=_float64)
        except (ValueError, IndexError, TypeError, ZeroDivisionError):
            continue
        if candidate.shape == got.shape and relative_error(got, candidate) <= tol:
            return mistake
    return None
