"""Each numpy layer equals the Keras layer loaded with the same weights (float32, 1e-5)."""

import keras
import numpy as np
import pytest

import cnncourse.nn as nn

pytestmark = pytest.mark.keras
TOLERANCE = 1e-5


def keras_output(layers, x, weights):
    """Run x through a Keras stack whose last layer gets `weights` (built on x's shape)."""
    model = keras.Sequential([keras.Input(shape=x.shape[1:]), *layers])
    if weights is not None:
        model.layers[-1].set_weights(weights)
    return np.asarray(model(x))


def random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# x shape,        kernel, F, stride,  padding,               dilation
CONV2D_TABLE = [
    ((2, 7, 7, 3), (3, 3), 4, 1, "valid", 1),
    ((2, 7, 7, 3), (3, 3), 4, 1, "same", 1),
    ((2, 8, 7, 3), (3, 3), 4, 2, "same", 1),
    ((2, 8, 8, 3), (4, 4), 2, 2, "same", 1),
    ((2, 9, 9, 2), (5, 5), 3, 2, "valid", 1),
    ((2, 9, 8, 2), (3, 2), 3, (2, 1), "same", 1),
    ((2, 9, 9, 2), (3, 3), 3, 1, "same", 2),
    ((2, 10, 10, 2), (3, 3), 3, 1, "valid", (2, 3)),
    ((2, 6, 6, 2), (3, 3), 3, 1, 1, 1),
    ((2, 6, 7, 2), (3, 3), 3, 2, ((1, 0), (2, 1)), 1),
    ((2, 5, 5, 1), (3, 3), 2, 1, "full", 1),
]


def keras_padding(padding, kernel, dilation):
    """Keras only knows 'valid' and 'same': explicit amounts become ZeroPadding2D + 'valid'."""
    if padding in ("valid", "same"):
        return [], padding
    if padding == "full":
        d = (dilation, dilation) if isinstance(dilation, int) else dilation
        padding = tuple((k - 1) * di for k, di in zip(kernel, d, strict=True))
    return [keras.layers.ZeroPadding2D(padding)], "valid"


@pytest.mark.parametrize("shape, kernel, filters, stride, padding, dilation", CONV2D_TABLE)
def test_conv2d_matches_keras(shape, kernel, filters, stride, padding, dilation):
    x, w, b = random(shape, 0), random((*kernel, shape[-1], filters), 1), random(filters, 2)
    pad_layers, word = keras_padding(padding, kernel, dilation)
    conv = keras.layers.Conv2D(filters, kernel, strides=stride, padding=word,
                               dilation_rate=dilation)
    expected = keras_output([*pad_layers, conv], x, [w, b])
    out, _ = nn.conv2d_forward(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < TOLERANCE


# x shape,     K, F, stride, padding, dilation
CONV1D_TABLE = [
    ((2, 9, 3), 3, 4, 1, "valid", 1),
    ((2, 9, 3), 3, 4, 2, "same", 1),
    ((2, 10, 3), 4, 2, 3, "same", 1),
    ((2, 12, 2), 3, 2, 1, "same", 3),
]


@pytest.mark.parametrize("shape, k, filters, stride, padding, dilation", CONV1D_TABLE)
def test_conv1d_matches_keras(shape, k, filters, stride, padding, dilation):
    x, w, b = random(shape, 0), random((k, shape[-1], filters), 1), random(filters, 2)
    conv = keras.layers.Conv1D(filters, k, strides=stride, padding=padding,
                               dilation_rate=dilation)
    expected = keras_output([conv], x, [w, b])
    out, _ = nn.conv1d_forward(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < TOLERANCE


# x shape,        kernel, multiplier, stride, padding, dilation
DEPTHWISE_TABLE = [
    ((2, 7, 7, 3), (3, 3), 1, 1, "valid", 1),
    ((2, 8, 7, 3), (3, 3), 2, 2, "same", 1),
    ((2, 9, 9, 2), (3, 2), 3, 1, "same", 2),
]


@pytest.mark.parametrize("shape, kernel, multiplier, stride, padding, dilation", DEPTHWISE_TABLE)
def test_depthwise_matches_keras(shape, kernel, multiplier, stride, padding, dilation):
    C = shape[-1]
    x, w, b = random(shape, 0), random((*kernel, C, multiplier), 1), random(C * multiplier, 2)
    conv = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding=padding,
                                        depth_multiplier=multiplier, dilation_rate=dilation)
    expected = keras_output([conv], x, [w, b])
    out, _ = nn.depthwise_conv2d_forward(x, w, b, stride=stride, padding=padding,
                                         dilation=dilation)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < TOLERANCE


# x shape,        pool,   stride, padding
POOL_TABLE = [
    ((2, 8, 8, 3), 2, None, "valid"),
    ((2, 7, 9, 3), 2, None, "valid"),
    ((2, 7, 9, 3), 2, None, "same"),
    ((2, 7, 7, 2), 3, 2, "valid"),
    ((2, 7, 7, 2), 3, 2, "same"),
    ((2, 6, 7, 2), 2, 1, "same"),
    ((2, 7, 8, 2), (2, 3), (1, 2), "same"),
]


@pytest.mark.parametrize("shape, pool, stride, padding", POOL_TABLE)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_matches_keras(kind, shape, pool, stride, padding):
    x = random(shape, 0)
    layer, forward = {
        "max": (keras.layers.MaxPooling2D, nn.maxpool2d_forward),
        "average": (keras.layers.AveragePooling2D, nn.avgpool2d_forward),
    }[kind]
    expected = keras_output([layer(pool, stride, padding=padding)], x, None)
    out, _ = forward(x, pool_size=pool, stride=stride, padding=padding)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < TOLERANCE


# x shape,        kernel, F, stride, padding, output_padding
TRANSPOSE_TABLE = [
    ((2, 4, 5, 3), 3, 4, 1, "valid", None),
    ((2, 4, 5, 3), 3, 4, 2, "valid", None),
    ((2, 4, 5, 3), 3, 4, 2, "same", None),
    ((2, 4, 5, 3), 4, 2, 2, "same", None),
    ((2, 4, 5, 3), 2, 2, 3, "valid", None),
    ((2, 4, 5, 3), 3, 4, 2, "valid", 1),
    ((2, 4, 5, 3), 3, 4, 2, "same", 1),
    ((2, 3, 4, 2), 3, 2, (2, 3), "valid", (1, 2)),
]


@pytest.mark.parametrize("shape, k, filters, stride, padding, output_padding", TRANSPOSE_TABLE)
def test_conv_transpose_matches_keras(shape, k, filters, stride, padding, output_padding):
    x, w, b = random(shape, 0), random((k, k, filters, shape[-1]), 1), random(filters, 2)
    layer = keras.layers.Conv2DTranspose(filters, k, strides=stride, padding=padding,
                                         output_padding=output_padding)
    expected = keras_output([layer], x, [w, b])
    out, _ = nn.conv_transpose2d_forward(x, w, b, stride=stride, padding=padding,
                                         output_padding=output_padding)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() < TOLERANCE


def test_dense_and_flatten_match_keras():
    x, w, b = random((3, 4, 5, 2), 0), random((40, 6), 1), random(6, 2)
    expected = keras_output([keras.layers.Flatten(), keras.layers.Dense(6)], x, [w, b])
    flat, _ = nn.flatten_forward(x)
    out, _ = nn.dense_forward(flat, w, b)
    assert np.abs(out - expected).max() < TOLERANCE


def test_softmax_cross_entropy_matches_keras():
    logits = random((5, 4), 0) * 3
    labels = np.array([0, 3, 1, 1, 2])
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    loss, _ = nn.softmax_cross_entropy(logits, labels)
    assert abs(loss - float(expected)) < TOLERANCE
