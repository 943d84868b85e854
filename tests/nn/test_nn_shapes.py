"""Output shapes follow the book's formula, dtypes are kept, and each fast path equals its twin."""

import numpy as np
import pytest

import cnncourse.nn as nn
from cnncourse.arithmetic import conv_output_size
from cnncourse.nn import conv2d
from cnncourse.nn.pooling import max_pool_2x2, max_pool_windows


def random(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# (H, W),  kernel,  stride,  padding,            dilation -> (Ho, Wo), worked out by hand
SHAPE_TABLE = [
    ((7, 7), (3, 3), 1, 0, 1, (5, 5)),
    ((7, 7), (3, 3), 2, 0, 1, (3, 3)),
    ((7, 7), (3, 3), 1, "same", 1, (7, 7)),
    ((7, 8), (3, 3), 2, "same", 1, (4, 4)),
    ((7, 7), (3, 3), 1, "full", 1, (9, 9)),
    ((4, 4), (5, 5), 1, "full", 1, (8, 8)),
    ((7, 7), (3, 3), 1, 0, 2, (3, 3)),
    ((8, 8), (3, 3), 2, 1, 1, (4, 4)),
    ((5, 9), (2, 4), (1, 3), (1, 0), 1, (6, 2)),
    ((6, 6), (3, 3), 1, ((0, 1), (2, 0)), 1, (5, 6)),
    ((9, 9), (3, 3), 2, "same", 2, (5, 5)),
    ((32, 32), (5, 5), 1, "valid", 1, (28, 28)),
]


def per_axis(value, axis):
    return value[axis] if isinstance(value, tuple) else value


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, expected", SHAPE_TABLE)
def test_conv2d_output_shape(size, kernel, stride, padding, dilation, expected):
    x, w = random((2, *size, 3), 0), random((*kernel, 3, 4), 1)
    out, _ = nn.conv2d_forward(x, w, None, stride=stride, padding=padding, dilation=dilation)
    assert out.shape == (2, *expected, 4)
    predicted = tuple(
        conv_output_size(size[a], kernel[a], stride=per_axis(stride, a),
                         padding=per_axis(padding, a), dilation=dilation)
        for a in (0, 1))
    assert predicted == expected


# (forward, input shapes, keyword arguments, backward)
LAYERS = [
    (nn.conv2d_forward, [(2, 5, 5, 3), (3, 3, 3, 2), (2,)], {"padding": "same"},
     nn.conv2d_backward),
    (nn.conv2d_forward_loops, [(2, 5, 5, 3), (3, 3, 3, 2), (2,)], {"stride": 2},
     nn.conv2d_backward_loops),
    (nn.conv1d_forward, [(2, 7, 3), (3, 3, 2), (2,)], {"padding": "same"}, nn.conv1d_backward),
    (nn.depthwise_conv2d_forward, [(2, 5, 5, 3), (3, 3, 3, 2), (6,)], {},
     nn.depthwise_conv2d_backward),
    (nn.conv_transpose2d_forward, [(2, 3, 3, 3), (3, 3, 2, 3), (2,)], {"stride": 2},
     nn.conv_transpose2d_backward),
    (nn.maxpool2d_forward, [(2, 6, 6, 3)], {}, nn.maxpool2d_backward),
    (nn.maxpool2d_forward, [(2, 6, 6, 3)], {"pool_size": 3, "padding": "same"},
     nn.maxpool2d_backward),
    (nn.avgpool2d_forward, [(2, 6, 6, 3)], {"padding": "same"}, nn.avgpool2d_backward),
    (nn.dense_forward, [(4, 5), (5, 3), (3,)], {}, nn.dense_backward),
    (nn.relu_forward, [(4, 5)], {}, nn.relu_backward),
    (nn.flatten_forward, [(2, 3, 4)], {}, nn.flatten_backward),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("forward, shapes, kwargs, backward", LAYERS)
def test_layers_keep_the_input_dtype(forward, shapes, kwargs, backward, dtype):
    inputs = [random(shape, i, dtype) for i, shape in enumerate(shapes)]
    out, cache = forward(*inputs, **kwargs)
    assert out.dtype == dtype
    grads = backward(random(out.shape, 9, dtype), cache)
    for grad, value in zip(grads if isinstance(grads, tuple) else (grads,), inputs, strict=True):
        assert grad.dtype == dtype and grad.shape == value.shape


# x shape,       kernel, stride,  padding,            dilation
TWIN_TABLE = [
    ((3, 6, 6, 3), (3, 3), 1, "same", 1),
    ((2, 7, 6, 2), (3, 2), (2, 1), ((1, 0), (0, 2)), 1),
    ((1, 9, 9, 2), (3, 3), 1, "valid", (2, 3)),
    ((1, 5, 5, 2), (2, 2), 3, "full", 1),
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", TWIN_TABLE)
@pytest.mark.parametrize("block_bytes", [conv2d.BLOCK_BYTES, 1])  # 1: one image per block
def test_fast_conv2d_equals_loops(shape, kernel, stride, padding, dilation, block_bytes,
                                  monkeypatch):
    monkeypatch.setattr(conv2d, "BLOCK_BYTES", block_bytes)
    x, w, b = random(shape, 0), random((*kernel, shape[-1], 4), 1), random(4, 2)
    args = {"stride": stride, "padding": padding, "dilation": dilation}
    fast, fast_cache = nn.conv2d_forward(x, w, b, **args)
    slow, slow_cache = nn.conv2d_forward_loops(x, w, b, **args)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    dout = random(fast.shape, 3)
    for g_fast, g_slow in zip(nn.conv2d_backward(dout, fast_cache),
                              nn.conv2d_backward_loops(dout, slow_cache), strict=True):
        np.testing.assert_allclose(g_fast, g_slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 7, 9, 2)])
def test_max_pool_2x2_fast_path_equals_window_max(shape):
    x = random(shape, 0)
    _, g = nn.pooling.check_pool_args(x, 2, None, "valid")
    np.testing.assert_array_equal(max_pool_2x2(x), max_pool_windows(x, g))


def test_im2col_layout_and_col2im_is_its_adjoint():
    x = random((2, 5, 4, 3), 0)
    cols = nn.im2col(x, 3, 2, stride=(2, 1), padding=1, dilation=1)
    assert cols.shape == (2 * 3 * 5, 3 * 2 * 3)  # (N*Ho*Wo, KH*KW*C)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    # row of output pixel (n=1, i=2, j=3), column of tap (u=2, v=1), channel c=0
    assert cols[(1 * 3 + 2) * 5 + 3, (2 * 2 + 1) * 3 + 0] == xp[1, 2 * 2 + 2, 3 + 1, 0]
    y = random(cols.shape, 1)
    back = nn.col2im(y, x.shape, 3, 2, stride=(2, 1), padding=1, dilation=1)
    assert np.isclose(np.sum(cols * y), np.sum(x * back))


def test_transposed_convolution_is_the_gradient_of_convolution():
    x, w = random((2, 7, 7, 3), 0), random((3, 3, 3, 4), 1)
    out, cache = nn.conv2d_forward(x, w, None, stride=2, padding="same")
    y = random(out.shape, 2)
    dx, _, _ = nn.conv2d_backward(y, cache)
    # the same kernel read as Conv2DTranspose (KH, KW, F, C) maps 4 channels back to 3
    transposed, _ = nn.conv_transpose2d_forward(y, w, None, stride=2, padding="same",
                                                output_padding=0)
    np.testing.assert_allclose(transposed, dx, rtol=1e-12, atol=1e-12)


def test_transposed_padding_crops_the_full_output():
    x, w, b = random((2, 3, 4, 2), 0), random((3, 3, 5, 2), 1), random(5, 2)
    full, _ = nn.conv_transpose2d_forward(x, w, b, stride=2, padding=0)  # (N, 7, 9, 5)
    cropped, _ = nn.conv_transpose2d_forward(x, w, b, stride=2, padding=((1, 0), (0, 2)))
    assert full.shape == (2, 7, 9, 5)
    np.testing.assert_allclose(cropped, full[:, 1:, :-2], rtol=1e-12, atol=1e-12)
