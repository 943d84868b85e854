"""Convolution arithmetic: output sizes, padding amounts, receptive fields and costs.

All sizes here are along one spatial axis. The numpy layers in `cnncourse.nn` call these
functions to size their outputs, so the formulas of the book and the shapes of the layers can
never disagree.

The output size of a convolution (Dumoulin & Visin, 2016) with input size i, kernel size k,
padding p on each side, stride s and dilation d:

    o = floor((i + 2p - k - (k - 1)(d - 1)) / s) + 1

where k + (k - 1)(d - 1) is the *effective* kernel size of a dilated kernel.
"""

from __future__ import annotations

import math

PADDING_WORDS = ("valid", "same", "full")

Padding = int | str | tuple[int, int]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def effective_kernel_size(k: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: k + (k - 1)(d - 1). A 3-tap kernel with d=2 spans 5 inputs."""
    _check_positive("kernel size", k)
    _check_positive("dilation", dilation)
    return k + (k - 1) * (dilation - 1)


def padding_amounts(
    n: int, k: int, *, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> tuple[int, int]:
    """Zeros added (before, after) one axis of size n, as Keras does.

    padding:
        int p      -> (p, p)
        (a, b)     -> (a, b), an explicit asymmetric amount
        'valid'    -> (0, 0): the kernel stays inside the input
        'same'     -> output size ceil(n / stride); the odd zero goes *after* (Keras, TensorFlow)
        'full'     -> (ke - 1, ke - 1) with ke the effective kernel: every overlap is computed
    """
    _check_positive("input size", n)
    _check_positive("stride", stride)
    ke = effective_kernel_size(k, dilation)
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return (0, 0)
        if word == "full":
            return (ke - 1, ke - 1)
        if word == "same":
            total = max((math.ceil(n / stride) - 1) * stride + ke - n, 0)
            return (total // 2, total - total // 2)
        raise ValueError(f"padding must be an int, a pair or one of {PADDING_WORDS}, got {padding!r}")
    if isinstance(padding, tuple) and len(padding) == 2:
        before, after = padding
    elif isinstance(padding, int) and not isinstance(padding, bool):
        before = after = padding
    else:
        raise ValueError(f"padding must be an int, a pair or one of {PADDING_WORDS}, got {padding!r}")
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in (before, after)):
        raise ValueError(f"padding amounts must be integers >= 0, got {padding!r}")
    return (before, after)


def conv_output_size(
    n: int, k: int, *, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> int:
    """Output size of a convolution along one axis: floor((n + p_before + p_after - ke) / s) + 1.

    Raises ValueError when the (effective) kernel is larger than the padded input.
    """
    before, after = padding_amounts(n, k, stride=stride, padding=padding, dilation=dilation)
    ke = effective_kernel_size(k, dilation)
    padded = n + before + after
    if ke > padded:
        raise ValueError(
            f"kernel {k} (effective size {ke} with dilation {dilation}) is larger than the "
            f"padded input {padded} (input {n}, padding={padding!r})"
        )
    return (padded - ke) // stride + 1
