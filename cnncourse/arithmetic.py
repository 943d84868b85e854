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
from collections.abc import Sequence
from dataclasses import dataclass

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
        raise ValueError(
            f"padding must be an int, a pair or one of {PADDING_WORDS}, got {padding!r}"
        )
    if isinstance(padding, tuple) and len(padding) == 2:
        before, after = padding
    elif isinstance(padding, int) and not isinstance(padding, bool):
        before = after = padding
    else:
        raise ValueError(
            f"padding must be an int, a pair or one of {PADDING_WORDS}, got {padding!r}"
        )
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


def pool_output_size(
    n: int, pool_size: int, *, stride: int | None = None, padding: Padding = "valid"
) -> int:
    """Output size of a pooling layer along one axis.

    A pooling window is a kernel without weights, so the convolution formula applies with
    k = pool_size and the stride defaulting to pool_size (Keras `MaxPooling2D`):

        o = floor((n + 2p - pool_size) / s) + 1       ('valid': p = 0; 'same': o = ceil(n / s))

    Dumoulin & Visin (2016), section 3, relationship 7.
    """
    stride = pool_size if stride is None else stride
    return conv_output_size(n, pool_size, stride=stride, padding=padding)


def conv_transpose_output_size(
    n: int,
    k: int,
    *,
    stride: int = 1,
    padding: int | str = 0,
    output_padding: int | None = None,
    dilation: int = 1,
) -> int:
    """Output size of a transposed convolution along one axis, as Keras `Conv2DTranspose`.

    With ke = k + (k - 1)(d - 1) the effective kernel size, and a = output_padding:

        padding int p:  o = s (n - 1) + ke - 2p + a                  (a defaults to 0)
        'valid':        o = n s + max(ke - s, 0)                     if a is None
                        o = s (n - 1) + ke + a                       otherwise
        'same':         o = n s                                      if a is None
                        o = s (n - 1) + ke - 2 floor(ke / 2) + a     otherwise

    The integer case is relationship 14 of Dumoulin & Visin (2016): the transpose of a
    convolution with input size o, kernel k, stride s and padding p, where a = (o + 2p - k) mod s
    recovers the inputs that the direct convolution's stride left uncovered.
    """
    _check_positive("input size", n)
    _check_positive("stride", stride)
    ke = effective_kernel_size(k, dilation)
    if output_padding is not None and (
        isinstance(output_padding, bool)
        or not isinstance(output_padding, int)
        or not 0 <= output_padding < max(stride, dilation)
    ):
        raise ValueError(
            f"output_padding must be an integer in [0, max(stride, dilation)) = "
            f"[0, {max(stride, dilation)}), got {output_padding!r}"
        )
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        if output_padding is None:
            if padding.lower() == "valid":
                return n * stride + max(ke - stride, 0)
            return n * stride
        pad = 0 if padding.lower() == "valid" else ke // 2
        return stride * (n - 1) + ke - 2 * pad + output_padding
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(
            f"padding of a transposed convolution must be an int >= 0, 'valid' or 'same', "
            f"got {padding!r}"
        )
    size = stride * (n - 1) + ke - 2 * padding + (output_padding or 0)
    if size < 1:
        raise ValueError(
            f"padding={padding} removes the whole output of a transposed convolution with "
            f"input {n}, kernel {k}, stride {stride} (output size {size})"
        )
    return size


def uncovered_inputs(
    n: int, k: int, *, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> int:
    """How many input positions at the end no kernel window reaches.

    When (n + p_before + p_after - ke) is not a multiple of the stride, the last windows stop
    short of the end of the padded input: Dumoulin & Visin (2016, section 2.4) call this
    remainder a = (n + 2p - k) mod s. This function counts only the *input* positions in that
    remainder (the padding zeros there are not inputs), max(a - p_after, 0).

    Example: n=6, k=3, s=2, p=0 covers inputs 0..4 and leaves 1 input out.
    """
    before, after = padding_amounts(n, k, stride=stride, padding=padding, dilation=dilation)
    o = conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation)
    reached = (o - 1) * stride + effective_kernel_size(k, dilation)
    remainder = n + before + after - reached
    return max(remainder - after, 0)


Layer = tuple[int, int] | tuple[int, int, int]


@dataclass(frozen=True)
class ReceptiveFieldRow:
    """One layer of a stack: its own (kernel, stride, dilation) and what one of its units sees.

    size: receptive field of one unit on the network input (in input positions).
    jump: distance on the input between two neighbouring units of this layer (the product of
    the strides so far), also called the effective stride.
    """

    kernel: int
    stride: int
    dilation: int
    size: int
    jump: int


def _unpack_layer(layer: Layer) -> tuple[int, int, int]:
    if not isinstance(layer, tuple | list) or len(layer) not in (2, 3):
        raise ValueError(
            f"a layer must be (kernel, stride) or (kernel, stride, dilation), got {layer!r}"
        )
    kernel, stride, *rest = layer
    dilation = rest[0] if rest else 1
    for name, value in (("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        _check_positive(f"{name} of layer {layer!r}", value)
    return kernel, stride, dilation


def receptive_field_table(layers: Sequence[Layer]) -> list[ReceptiveFieldRow]:
    """Receptive field size and jump after each layer of a stack (pooling counts as a layer).

    Starting from r = 1, j = 1 on the input, each layer with kernel k, stride s, dilation d:

        r <- r + (k + (k - 1)(d - 1) - 1) * j        j <- j * s

    (Dumoulin & Visin, 2016; Araujo, Norris & Sim, "Computing receptive fields of
    convolutional neural networks", Distill 2019.) Two 3x3 layers see 5x5, three see 7x7;
    3x3 layers with dilations 1, 2, 4 see 3, 7, 15 (Yu & Koltun, 2016).
    Padding moves a receptive field but does not change its size.
    """
    if len(layers) == 0:
        raise ValueError("layers must contain at least one (kernel, stride) tuple, got none")
    size, jump, rows = 1, 1, []
    for layer in layers:
        kernel, stride, dilation = _unpack_layer(layer)
        size += (effective_kernel_size(kernel, dilation) - 1) * jump
        jump *= stride
        rows.append(ReceptiveFieldRow(kernel, stride, dilation, size, jump))
    return rows


def receptive_field(layers: Sequence[Layer]) -> int:
    """Receptive field size, on the input, of one unit of the last layer of a stack.

    layers: a sequence of (kernel, stride) or (kernel, stride, dilation) tuples, pooling
    included; see `receptive_field_table` for the recurrence.
    """
    return receptive_field_table(layers)[-1].size


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        _check_positive(name, value)


def conv2d_params(kh: int, kw: int, c_in: int, c_out: int, *, bias: bool = True) -> int:
    """Weights (and biases) of a convolution layer with F = c_out kernels of shape (KH, KW, C_in).

    KH * KW * C_in * F + F, the slides' K * (F * F * D) + K with K kernels of size F x F x D.
    """
    _check_sizes(kh=kh, kw=kw, c_in=c_in, c_out=c_out)
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def dense_params(n_in: int, n_out: int, *, bias: bool = True) -> int:
    """Weights (and biases) of a fully connected layer: n_in * n_out + n_out."""
    _check_sizes(n_in=n_in, n_out=n_out)
    return n_in * n_out + (n_out if bias else 0)


def depthwise_conv2d_params(
    kh: int, kw: int, c_in: int, *, depth_multiplier: int = 1, bias: bool = True
) -> int:
    """Weights of a depthwise convolution (Keras `DepthwiseConv2D`): one KH x KW kernel per
    input channel and multiplier, KH * KW * C_in * m, plus C_in * m biases."""
    _check_sizes(kh=kh, kw=kw, c_in=c_in, depth_multiplier=depth_multiplier)
    channels = c_in * depth_multiplier
    return kh * kw * channels + (channels if bias else 0)


def separable_conv2d_params(
    kh: int, kw: int, c_in: int, c_out: int, *, depth_multiplier: int = 1, bias: bool = True
) -> int:
    """Weights of a depthwise separable convolution: depthwise KH x KW, then a 1x1 convolution.

    KH * KW * C_in * m + (C_in * m) * F, plus F biases on the pointwise output only, as Keras
    `SeparableConv2D` (MobileNet, Howard et al. 2017, puts batch normalisation there instead).
    """
    depthwise = depthwise_conv2d_params(kh, kw, c_in, depth_multiplier=depth_multiplier, bias=False)
    pointwise = conv2d_params(1, 1, c_in * depth_multiplier, c_out, bias=bias)
    return depthwise + pointwise


def conv2d_macs(ho: int, wo: int, kh: int, kw: int, c_in: int, c_out: int) -> int:
    """Multiply-adds of a convolution producing (Ho, Wo, F): Ho * Wo * KH * KW * C_in * F."""
    _check_sizes(ho=ho, wo=wo)
    return ho * wo * conv2d_params(kh, kw, c_in, c_out, bias=False)


def dense_macs(n_in: int, n_out: int) -> int:
    """Multiply-adds of a fully connected layer for one example: n_in * n_out."""
    return dense_params(n_in, n_out, bias=False)


def separable_conv2d_macs(
    ho: int, wo: int, kh: int, kw: int, c_in: int, c_out: int, *, depth_multiplier: int = 1
) -> int:
    """Multiply-adds of a depthwise separable convolution producing (Ho, Wo, F).

    Ho * Wo * (KH * KW * C_in * m + C_in * m * F): the depthwise cost D_K^2 M D_F^2 plus the
    pointwise cost M N D_F^2 of Howard et al. (2017), section 3.1.
    """
    _check_sizes(ho=ho, wo=wo)
    weights = separable_conv2d_params(
        kh, kw, c_in, c_out, depth_multiplier=depth_multiplier, bias=False
    )
    return ho * wo * weights


def separable_cost_ratio(k: int, c_out: int) -> float:
    """Cost of a depthwise separable convolution relative to a full one: 1/N + 1/D_K^2.

    N = c_out output channels, D_K = k the kernel size (Howard et al. 2017, MobileNets, eq. 5):
    with 3x3 kernels a separable layer costs 8 to 9 times fewer multiply-adds.
    """
    _check_sizes(k=k, c_out=c_out)
    return 1 / c_out + 1 / k**2
