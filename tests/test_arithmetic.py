"""Convolution arithmetic: known values, identities, brute-force counts and Keras agreement."""

import math

import numpy as np
import pytest

from cnncourse.arithmetic import (
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    conv_transpose_output_size,
    dense_macs,
    dense_params,
    depthwise_conv2d_params,
    effective_kernel_size,
    pool_output_size,
    receptive_field,
    receptive_field_table,
    separable_conv2d_macs,
    separable_conv2d_params,
    separable_cost_ratio,
    uncovered_inputs,
)

# ---------------------------------------------------------------- parameter counts


def test_five_filters_of_5x5x3_have_375_weights_and_5_biases():
    weights_per_filter = np.zeros((5, 5, 3)).size  # one filter spans the 3 input channels
    assert weights_per_filter == 75
    assert conv2d_params(5, 5, 3, 5, bias=False) == 5 * weights_per_filter == 375
    assert conv2d_params(5, 5, 3, 5) == 375 + 5


@pytest.mark.parametrize(
    ("layer", "count", "source"),
    [
        # LeNet-5 trainable parameters as printed in LeCun et al. (1998), section II.B
        (lambda: conv2d_params(5, 5, 1, 6), 156, "LeNet-5 C1"),
        (lambda: conv2d_params(5, 5, 16, 120), 48_120, "LeNet-5 C5"),
        (lambda: dense_params(120, 84), 10_164, "LeNet-5 F6"),
        # Keras VGG16 summary: block1_conv1 and block1_conv2
        (lambda: conv2d_params(3, 3, 3, 64), 1_792, "VGG16 block1_conv1"),
        (lambda: conv2d_params(3, 3, 64, 64), 36_928, "VGG16 block1_conv2"),
    ],
)
def test_parameter_counts_printed_in_papers(layer, count, source):
    assert layer() == count, source


def test_fully_connected_layer_on_a_224x224x3_image_has_about_22_billion_weights():
    inputs = 224 * 224 * 3
    assert inputs == 150_528
    assert 22e9 < dense_params(inputs, inputs, bias=False) < 23e9
    assert dense_params(32 * 32 * 3, 1, bias=False) == 3_072


def test_mobilenet_table_of_one_14x14x512_layer():
    # Howard et al. (2017), "resource usage for modifications to standard convolution":
    # D_K=3, M=N=512, D_F=14 -> 462 M mult-adds and 2.36 M parameters for a full convolution,
    # 52.3 M mult-adds and 0.27 M parameters for a depthwise separable one.
    assert round(conv2d_macs(14, 14, 3, 3, 512, 512) / 1e6) == 462
    assert round(conv2d_params(3, 3, 512, 512, bias=False) / 1e6, 2) == 2.36
    assert round(separable_conv2d_macs(14, 14, 3, 3, 512, 512) / 1e6, 1) == 52.3
    assert round(separable_conv2d_params(3, 3, 512, 512, bias=False) / 1e6, 2) == 0.27


@pytest.mark.parametrize(("k", "c_out"), [(3, 32), (3, 128), (3, 1024), (5, 64), (1, 8)])
def test_separable_ratio_is_the_ratio_of_mult_adds(k, c_out):
    ratio = separable_conv2d_macs(7, 7, k, k, 16, c_out) / conv2d_macs(7, 7, k, k, 16, c_out)
    assert separable_cost_ratio(k, c_out) == pytest.approx(ratio)


@pytest.mark.parametrize("c_out", [128, 256, 512, 1024])
def test_separable_3x3_costs_8_to_9_times_less_with_many_channels(c_out):
    # Howard et al. (2017): "8 to 9 times less computation" for the widths MobileNet uses
    assert 8 < 1 / separable_cost_ratio(3, c_out) < 9


def test_macs_count_one_multiply_add_per_weight_per_output_position():
    assert conv2d_macs(2, 3, 3, 3, 4, 5) == 2 * 3 * (3 * 3 * 4) * 5
    assert dense_macs(10, 7) == 70
    assert depthwise_conv2d_params(3, 3, 8, depth_multiplier=2) == 3 * 3 * 16 + 16


@pytest.mark.parametrize(
    "call",
    [
        lambda: conv2d_params(0, 3, 3, 8),
        lambda: dense_params(10, -1),
        lambda: conv2d_macs(0, 4, 3, 3, 1, 1),
        lambda: separable_cost_ratio(3, 0),
    ],
)
def test_bad_sizes_raise_value_error_naming_the_value(call):
    with pytest.raises(ValueError, match="got"):
        call()


# ---------------------------------------------------------------- output sizes


@pytest.mark.parametrize(
    ("n", "k", "stride", "padding", "dilation", "expected"),
    [
        # the figures of Dumoulin & Visin (2016)
        (4, 3, 1, 0, 1, 2),  # no padding, unit strides
        (5, 4, 1, 2, 1, 6),  # arbitrary padding
        (5, 3, 1, "same", 1, 5),  # half padding
        (5, 3, 1, "full", 1, 7),  # full padding
        (5, 3, 2, 0, 1, 2),  # no padding, strides
        (5, 3, 2, 1, 1, 3),  # padding and strides
        (6, 3, 2, 1, 1, 3),  # padding, strides, odd: one input row left uncovered
        (7, 3, 1, 0, 2, 3),  # dilation 2
    ],
)
def test_conv_output_sizes_of_the_guide(n, k, stride, padding, dilation, expected):
    assert conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation) == expected


@pytest.mark.parametrize("n", range(1, 20))
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize(("k", "dilation"), [(1, 1), (2, 1), (3, 1), (5, 1), (3, 2)])
def test_same_padding_gives_ceil_n_over_s(n, stride, k, dilation):
    assert conv_output_size(n, k, stride=stride, padding="same", dilation=dilation) == math.ceil(
        n / stride
    )


@pytest.mark.parametrize(
    ("n", "pool", "stride", "padding", "expected"),
    [(4, 2, None, "valid", 2), (5, 2, None, "valid", 2), (5, 2, None, "same", 3),
     (5, 3, 1, "valid", 3), (224, 2, 2, "valid", 112), (7, 3, 2, "same", 4)],
)  # fmt: skip
def test_pool_output_size(n, pool, stride, padding, expected):
    assert pool_output_size(n, pool, stride=stride, padding=padding) == expected


@pytest.mark.parametrize(
    ("n", "k", "stride", "padding"),
    [(n, k, stride, padding) for n in range(2, 12) for k in (1, 2, 3, 4) for stride in (1, 2, 3)
     for padding in (0, 1) if k <= n + 2 * padding],  # the kernel fits the padded input
)
def test_transposed_convolution_inverts_the_shape_of_a_convolution(n, k, stride, padding):
    o = conv_output_size(n, k, stride=stride, padding=padding)
    a = (n + 2 * padding - k) % stride  # Dumoulin & Visin, relationship 14
    back = conv_transpose_output_size(o, k, stride=stride, padding=padding, output_padding=a)
    assert back == n


@pytest.mark.parametrize("n", range(1, 9))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_convolution_maps_a_transposed_output_back_to_its_input(n, k, stride, padding):
    up = conv_transpose_output_size(n, k, stride=stride, padding=padding)
    assert conv_output_size(up, k, stride=stride, padding=padding) == n


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 3, "k": 3, "stride": 2, "output_padding": 2}, "output_padding"),
        ({"n": 3, "k": 3, "padding": "full"}, "'full'"),
        ({"n": 1, "k": 1, "padding": 1}, "padding=1"),
    ],
)
def test_bad_transposed_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv_transpose_output_size(**kwargs)


# ---------------------------------------------------------------- uncovered inputs


def _uncovered_by_sliding(n, k, stride, before, after, dilation):
    """Slide every window over the padded input and count the inputs after the last one hit."""
    ke = k + (k - 1) * (dilation - 1)
    covered = set()
    for start in range(0, n + before + after - ke + 1, stride):
        covered.update(start + t * dilation - before for t in range(k))
    last = max(covered)
    return sum(1 for i in range(n) if i > last)


@pytest.mark.parametrize("n", range(3, 13))
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize(("padding", "amounts"), [(0, (0, 0)), (1, (1, 1)), ((0, 2), (0, 2))])
def test_uncovered_inputs_match_a_sliding_count(n, k, stride, padding, amounts):
    expected = _uncovered_by_sliding(n, k, stride, *amounts, dilation=1)
    assert uncovered_inputs(n, k, stride=stride, padding=padding) == expected


def test_uncovered_inputs_examples():
    assert uncovered_inputs(6, 3, stride=2, padding=0) == 1  # windows at 0-2, 2-4; input 5 left
    assert uncovered_inputs(7, 3, stride=2, padding=0) == 0
    assert uncovered_inputs(9, 3, stride=1, padding=0, dilation=3) == 0
    assert uncovered_inputs(10, 3, stride=2, padding=0, dilation=2) == 1  # windows end at 8


# ---------------------------------------------------------------- receptive fields


@pytest.mark.parametrize(
    ("layers", "size"),
    [
        ([(3, 1)], 3),
        ([(3, 1), (3, 1)], 5),  # two 3x3 see as much as one 5x5
        ([(3, 1)] * 3, 7),  # three 3x3 see as much as one 7x7
        ([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 15),
        ([(2, 2), (2, 2), (2, 2)], 8),  # pooling pyramid: 2x2/2 three times
        ([(11, 4), (3, 2)], 11 + 2 * 4),  # AlexNet conv1 then its 3x3/2 pooling
    ],
)
def test_receptive_field_identities(layers, size):
    assert receptive_field(layers) == size


def test_dilated_stack_table_gives_3_7_15_with_unit_jump():
    rows = receptive_field_table([(3, 1, 1), (3, 1, 2), (3, 1, 4)])
    assert [row.size for row in rows] == [3, 7, 15]
    assert [row.jump for row in rows] == [1, 1, 1]
    rows = receptive_field_table([(3, 1), (2, 2), (3, 1), (2, 2)])
    assert [row.jump for row in rows] == [1, 2, 2, 4]


def _receptive_field_by_tracing(layers):
    """Follow one unit of the last layer down to the input through every kernel tap."""
    units = {0}
    for layer in reversed(layers):
        k, s, d = (*layer, 1)[:3]
        units = {u * s + t * d for u in units for t in range(k)}
    return max(units) - min(units) + 1


def test_receptive_field_matches_tracing_on_random_stacks():
    rng = np.random.default_rng(0)
    for _ in range(200):
        depth = int(rng.integers(1, 6))
        layers = [
            (int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            for _ in range(depth)
        ]
        assert receptive_field(layers) == _receptive_field_by_tracing(layers), layers


@pytest.mark.parametrize("layers", [[], [(3,)], [(3, 0)], [(3, 1, 1, 1)], [3]])
def test_bad_layers_raise(layers):
    with pytest.raises(ValueError, match="got"):
        receptive_field(layers)


def test_effective_kernel_size_of_dilated_kernel():
    assert effective_kernel_size(3, 2) == 5
    assert effective_kernel_size(3, 4) == 9


# ---------------------------------------------------------------- agreement with Keras

CONV_SETTINGS = [  # (n, k, stride, padding, dilation)
    (7, 3, 1, "valid", 1),
    (7, 3, 2, "valid", 1),
    (8, 3, 3, "same", 1),
    (9, 4, 2, "same", 1),
    (10, 3, 1, "valid", 2),
    (11, 3, 1, "same", 3),
    (6, 2, 2, "valid", 1),
]


@pytest.mark.keras
@pytest.mark.parametrize(("n", "k", "stride", "padding", "dilation"), CONV_SETTINGS)
def test_conv_output_size_agrees_with_keras(n, k, stride, padding, dilation):
    import keras

    layer = keras.layers.Conv2D(
        2, k, strides=stride, padding=padding, dilation_rate=dilation, use_bias=False
    )
    out = layer(np.zeros((1, n, n + 1, 1), dtype="float32"))
    o_h = conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation)
    o_w = conv_output_size(n + 1, k, stride=stride, padding=padding, dilation=dilation)
    assert tuple(out.shape) == (1, o_h, o_w, 2)


TRANSPOSE_SETTINGS = [  # (n, k, stride, padding, output_padding)
    (2, 3, 1, "valid", None),
    (3, 3, 2, "valid", None),
    (3, 2, 2, "valid", None),
    (3, 1, 3, "valid", None),
    (4, 3, 2, "same", None),
    (4, 4, 2, "same", None),
    (3, 3, 2, "valid", 1),
    (3, 3, 2, "same", 1),
    (5, 5, 3, "same", 2),
]


@pytest.mark.keras
@pytest.mark.parametrize(("n", "k", "stride", "padding", "output_padding"), TRANSPOSE_SETTINGS)
def test_conv_transpose_output_size_agrees_with_keras(n, k, stride, padding, output_padding):
    import keras

    layer = keras.layers.Conv2DTranspose(
        2, k, strides=stride, padding=padding, output_padding=output_padding
    )
    out = layer(np.zeros((1, n, n, 1), dtype="float32"))
    expected = conv_transpose_output_size(
        n, k, stride=stride, padding=padding, output_padding=output_padding
    )
    assert tuple(out.shape) == (1, expected, expected, 2)


@pytest.mark.keras
@pytest.mark.parametrize(
    ("n", "pool", "stride", "padding"),
    [(8, 2, None, "valid"), (7, 2, None, "valid"), (7, 2, None, "same"), (9, 3, 2, "same")],
)
def test_pool_output_size_agrees_with_keras(n, pool, stride, padding):
    import keras

    layer = keras.layers.MaxPooling2D(pool, strides=stride, padding=padding)
    shape = layer.compute_output_shape((1, n, n, 3))
    expected = pool_output_size(n, pool, stride=stride, padding=padding)
    assert tuple(shape) == (1, expected, expected, 3)


# Counts of built layers' variables: the same on every backend (backend_neutral), so run under
# TensorFlow alone; under JAX, creating the variables compiled an initializer per shape (15 s).
@pytest.mark.keras
@pytest.mark.backend_neutral
@pytest.mark.parametrize(("kh", "kw", "c_in", "c_out", "bias"), [
    (3, 3, 3, 8, True), (5, 5, 1, 6, True), (1, 1, 16, 4, False), (3, 5, 2, 7, True),
])  # fmt: skip
def test_parameter_counts_agree_with_keras(kh, kw, c_in, c_out, bias):
    import keras

    shape = (None, 9, 9, c_in)
    conv = keras.layers.Conv2D(c_out, (kh, kw), use_bias=bias)
    conv.build(shape)
    assert conv.count_params() == conv2d_params(kh, kw, c_in, c_out, bias=bias)
    depthwise = keras.layers.DepthwiseConv2D((kh, kw), depth_multiplier=2, use_bias=bias)
    depthwise.build(shape)
    assert depthwise.count_params() == depthwise_conv2d_params(
        kh, kw, c_in, depth_multiplier=2, bias=bias
    )
    separable = keras.layers.SeparableConv2D(c_out, (kh, kw), use_bias=bias)
    separable.build(shape)
    assert separable.count_params() == separable_conv2d_params(kh, kw, c_in, c_out, bias=bias)
    dense = keras.layers.Dense(c_out, use_bias=bias)
    dense.build((None, c_in))
    assert dense.count_params() == dense_params(c_in, c_out, bias=bias)
