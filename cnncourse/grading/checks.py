"""Checks used by the labs' test cells: one voice for every lab, with diagnostic messages.

Every check raises AssertionError with a message that says what is wrong (shape, flipped
kernel, padding off by one, channels in the wrong place, which gradient) without printing the
hidden inputs it was given.

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
from collections.abc import Callable, Iterator, Sequence

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
_floating = np.floating
_issubdtype = np.issubdtype
_argmax = np.argmax
_unravel_index = np.unravel_index

RTOL = 1e-5  # float64 layers agree with the reference to ~1e-12; float32 ones to ~1e-6
ATOL = 1e-8


FLIPPED_KERNEL = ("the kernel is flipped: you computed a true convolution, but deep-learning "
                  "layers compute a cross-correlation (no flip)")


class ReferenceUsed(BaseException):  # noqa: N818 (a marker, not an error of the student)
    """Raised by a disabled reference function; args[0] is its qualified name."""


# ----------------------------------------------------------------------------- arrays
def as_checked_array(name: str, got: object) -> np.ndarray:
    """Convert a student result to a float64 ndarray, or fail saying what was returned."""
    if got is None:
        raise AssertionError(f"{name} returned None: did you forget the `return` statement?")
    try:
        array = _array(got, dtype=_float64)  # a plain copy: subclasses and views are dropped
    except (TypeError, ValueError) as error:
        raise AssertionError(
            f"{name} must return a numeric numpy array, got {type(got).__name__}") from error
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


def check_shape(name: str, got: object, expected_shape: Sequence[int]) -> None:
    """Fail unless `got` has exactly `expected_shape`."""
    shape = tuple(_asarray(got).shape) if not isinstance(got, tuple) else got
    expected_shape = tuple(int(n) for n in expected_shape)
    if shape != expected_shape:
        raise AssertionError(
            f"{name} has the wrong shape: expected {expected_shape}, got {shape}")


def check_array(name: str, got: object, expected: object, *, rtol: float = RTOL,
                atol: float = ATOL, mistakes: dict[str, Callable[[], object]] | None = None
                ) -> None:
    """Fail unless `got` has the shape of `expected` and the same finite values within tolerance.

    mistakes: {diagnosis: function making the output of that mistake}; when `got` equals one of
    them, the diagnosis is the message.
    """
    got = as_checked_array(name, got)
    expected = _asarray(expected, dtype=_float64)
    if mistakes and not _close(got, expected, rtol, atol):
        diagnosis = _first_match(got, mistakes, rtol, atol)
        if diagnosis is not None:
            raise AssertionError(f"{name}: {diagnosis}")
    check_shape(name, got, expected.shape)
    finite = _isfinite(got)
    if not finite.all():
        bad = int(got.size - finite.sum())
        raise AssertionError(f"{name} contains {bad} NaN or infinite value(s)")
    if _close(got, expected, rtol, atol):
        return
    difference = _abs(got - expected)
    wrong = int((difference > atol + rtol * _abs(expected)).sum())
    where = tuple(int(i) for i in _unravel_index(_argmax(difference), difference.shape))
    raise AssertionError(
        f"{name} has the right shape {got.shape} but {wrong} of {got.size} values are wrong "
        f"(largest difference {difference.max():.3g}, at index {where})")


def check_equal(name: str, got: object, expected: object) -> None:
    """Fail unless `got == expected` for integers, strings and tuples of them (sizes, counts)."""
    if isinstance(got, _ndarray | _integer):
        # 0-d: a numpy integer; otherwise a list, so that `!=` below is one bool, not an array
        got = got.item() if got.ndim == 0 else got.tolist()
    if type(got) is bool or got != expected:  # True == 1 must not pass for a count
        raise AssertionError(f"{name}: expected {expected!r}, got {got!r}")


def check_scalar(name: str, got: object, expected: float, *, rtol: float = RTOL,
                 atol: float = ATOL) -> None:
    """Fail unless `got` is a real number within tolerance of `expected` (a loss, a ratio)."""
    try:
        value = float(got)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{name} must be a number, got {type(got).__name__}") from error
    if not abs(value - expected) <= atol + rtol * abs(expected):
        raise AssertionError(f"{name}: expected {expected:.6g}, got {value:.6g}")


def check_at_least(name: str, got: float, threshold: float) -> None:
    """Fail unless `got >= threshold` (an accuracy reached after training)."""
    if not float(got) >= threshold:
        raise AssertionError(f"{name} is {float(got):.4f}; it must reach at least {threshold}")


# ----------------------------------------------------------------------------- no reference calls
def _reference_stub(*args: object, **kwargs: object) -> None:
    # Runs with the *reference* module's globals, so it imports what it needs by name.
    checks = __import__("cnncourse.grading.checks", fromlist=["ReferenceUsed"])
    raise checks.ReferenceUsed(__import__("sys")._getframe().f_code.co_qualname)


@contextlib.contextmanager
def references_disabled(functions: Sequence[Callable]) -> Iterator[None]:
    """Make every function in `functions` raise ReferenceUsed while the block runs.

    The function objects themselves are changed (their `__code__`), so every alias of them,
    however imported, is disabled too. The original code is restored on exit.
    """
    saved = []
    try:
        for function in functions:
            code = function.__code__
            if code.co_freevars:
                raise RuntimeError(f"cannot disable {function.__qualname__}: it is a closure")
            full_name = f"{function.__module__}.{function.__qualname__}"
            saved.append((function, code))
            function.__code__ = _reference_stub.__code__.replace(
                co_name=code.co_name, co_qualname=full_name)
        yield
    finally:
        for function, code in saved:
            function.__code__ = code


def call_own(name: str, student_function: Callable, *args: object,
             forbidden: Sequence[Callable] = (), **kwargs: object) -> object:
    """Call student_function(*args, **kwargs) with the `forbidden` reference functions disabled."""
    try:
        with references_disabled(forbidden):
            return student_function(*args, **kwargs)
    except ReferenceUsed as used:
        raise AssertionError(
            f"{name} calls the course's reference implementation {used.args[0]} instead of "
            f"computing the result itself, so this test gives it no credit. Write the "
            f"computation with numpy.") from None


# ----------------------------------------------------------------------------- diagnoses
def _first_match(got: np.ndarray, candidates: dict[str, Callable[[], object]], rtol: float,
                 atol: float) -> str | None:
    """Message of the first candidate mistake whose output `got` reproduces, if any."""
    for message, make in candidates.items():
        try:
            candidate = _asarray(make(), dtype=_float64)
        except (ValueError, IndexError):
            continue  # that mistake is impossible for this input (e.g. negative padding)
        if _close(got, candidate, rtol, atol):
            return message
    return None


def _layout_candidates(expected: np.ndarray) -> dict[str, Callable[[], object]]:
    if expected.ndim == 4:  # (N, H, W, C)
        return {
            "the output is channels first (N, C, H, W); the course is channels last "
            "(N, H, W, C), as Keras": lambda: _moveaxis(expected, -1, 1),
            "height and width are swapped in the output": lambda: _moveaxis(expected, 1, 2),
        }
    if expected.ndim == 2:
        return {"rows and columns are swapped (the output is transposed)": lambda: expected.T}
    return {}


def check_conv_output(name: str, student_function: Callable, reference_function: Callable,
                      x: np.ndarray, w: np.ndarray, *, kernel_axes: Sequence[int],
                      forbidden: Sequence[Callable] = (), rtol: float = RTOL, atol: float = ATOL,
                      **kwargs: object) -> None:
    """Compare student_function(x, w, **kwargs) with reference_function and diagnose a mismatch.

    kernel_axes: the spatial axes of w, flipped to detect a true convolution.
    kwargs: stride / padding / dilation, passed to both functions.
    The diagnoses tried, in order: kernel flipped, padding off by one, stride or dilation ignored,
    channels in the wrong place; otherwise the message says shape or values.
    """
    got = as_checked_array(name, call_own(name, student_function, x, w, forbidden=forbidden,
                                          **kwargs))
    expected = _asarray(reference_function(x, w, **kwargs), dtype=_float64)
    if _close(got, expected, rtol, atol):
        return

    def reference_with(**changes: object) -> Callable[[], object]:
        return lambda: reference_function(x, w, **{**kwargs, **changes})

    candidates: dict[str, Callable[[], object]] = {
        FLIPPED_KERNEL: lambda: reference_function(x, _flip(w, axis=tuple(kernel_axes)),
                                                   **kwargs),
    }
    padding = kwargs.get("padding")
    if isinstance(padding, int) and not isinstance(padding, bool):
        for delta, word in ((-1, "one less"), (1, "one more")):
            candidates[f"padding is off by one: your output is what {word} zero of padding on "
                       f"each side gives"] = reference_with(padding=padding + delta)
    for argument in ("stride", "dilation"):
        if kwargs.get(argument, 1) != 1:
            candidates[f"the {argument} is ignored: your output is what {argument}=1 gives"] = (
                reference_with(**{argument: 1}))
    candidates.update(_layout_candidates(expected))
    diagnosis = _first_match(got, candidates, rtol, atol)
    if diagnosis is not None:
        raise AssertionError(f"{name}: {diagnosis}")
    check_array(name, got, expected, rtol=rtol, atol=atol)


def check_gradients(name: str, got: Sequence[object], expected: Sequence[object],
                    names: Sequence[str] = ("dx", "dw", "db"), *, tol: float = 1e-6) -> None:
    """Compare each gradient of a backward pass and say which ones are wrong.

    got / expected: tuples of gradients in the order of `names`. Passes when every relative
    error is below `tol`.
    """
    if not isinstance(got, tuple | list) or len(got) != len(expected):
        raise AssertionError(
            f"{name} must return {len(expected)} gradients ({', '.join(names)}), got "
            f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}")
    problems, right = [], []
    for grad_name, g, e in zip(names, got, expected, strict=True):
        g = as_checked_array(f"{name} {grad_name}", g)
        e = _asarray(e, dtype=_float64)
        if g.shape != e.shape:
            problems.append(f"{grad_name} has shape {g.shape}, expected {e.shape}")
        elif not _isfinite(g).all():
            problems.append(f"{grad_name} contains NaN or infinite values")
        elif (error := relative_error(g, e)) > tol:
            hint = ""
            if e.ndim >= 2 and relative_error(g, _flip(e, axis=(0, 1))) <= tol:
                hint = " (it is flipped along its first two axes)"
            elif relative_error(g, 2 * e) <= tol or relative_error(g, 0.5 * e) <= tol:
                hint = " (it is off by a factor 2)"
            problems.append(f"{grad_name} is wrong{hint}, largest relative error {error:.2g}")
        else:
            right.append(grad_name)
    if problems:
        ok = f"; {' and '.join(right)} {'is' if len(right) == 1 else 'are'} right" if right else ""
        raise AssertionError(f"{name}: " + "; ".join(problems) + ok)
