"""Every backward pass agrees with central differences in float64 (relative error < 1e-7)."""

import numpy as np
import pytest

import cnncourse.nn as nn
from cnncourse.gradcheck import numerical_gradient, rel_error

BOUND = 1e-7


def random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def check_gradients(forward, backward, inputs, **kwargs):
    """Compare backward's gradient for each input with numerical_gradient of forward."""
    out, cache = forward(*inputs, **kwargs)
    dout = random(out.shape, 99)
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    for index, (value, grad) in enumerate(zip(inputs, analytic, strict=True)):
        def f(v, index=index):
            args = list(inputs)
            args[index] = v
            return forward(*args, **kwargs)[0]
        numeric = numerical_gradient(f, value.copy(), dout)
        assert rel_error(grad, numeric) < BOUND, f"input {index}"


#  x shape,       kernel, F, stride, padding,            dilation
CONV_TABLE = [
    ((2, 5, 5, 2), (3, 3), 3, 1, "same", 1),
    ((2, 6, 5, 2), (3, 2), 2, (2, 1), ((1, 0), (0, 2)), 1),
    ((1, 7, 7, 2), (3, 3), 2, 2, "valid", 2),
    ((1, 4, 4, 1), (2, 2), 2, 1, "full", 1),
]


@pytest.mark.parametrize("shape, kernel, filters, stride, padding, dilation", CONV_TABLE)
@pytest.mark.parametrize("twin", ["fast", "loops"])
def test_conv2d_gradients(twin, shape, kernel, filters, stride, padding, dilation):
    forward, backward = {
        "fast": (nn.conv2d_forward, nn.conv2d_backward),
        "loops": (nn.conv2d_forward_loops, nn.conv2d_backward_loops),
    }[twin]
    inputs = (random(shape, 0), random((*kernel, shape[-1], filters), 1), random(filters, 2))
    check_gradients(forward, backward, inputs, stride=stride, padding=padding,
                    dilation=dilation)


@pytest.mark.parametrize("stride, padding, dilation", [(1, "same", 1), (2, (2, 0), 2)])
def test_conv1d_gradients(stride, padding, dilation):
    inputs = (random((2, 9, 2), 0), random((3, 2, 3), 1), random(3, 2))
    check_gradients(nn.conv1d_forward, nn.conv1d_backward, inputs, stride=stride,
                    padding=padding, dilation=dilation)


@pytest.mark.parametrize("stride, padding, dilation", [(1, "same", 1), (2, "valid", 1),
                                                       ((1, 2), 1, 2)])
def test_depthwise_gradients(stride, padding, dilation):
    inputs = (random((2, 6, 7, 2), 0), random((3, 3, 2, 2), 1), random(4, 2))
    check_gradients(nn.depthwise_conv2d_forward, nn.depthwise_conv2d_backward, inputs,
                    stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize("k, stride, padding, output_padding", [
    (3, 1, "same", None), (3, 2, "valid", 1), (4, 2, "same", None), (3, (2, 1), 1, (1, 0)),
])
def test_conv_transpose_gradients(k, stride, padding, output_padding):
    inputs = (random((2, 3, 4, 2), 0), random((k, k, 3, 2), 1), random(3, 2))
    check_gradients(nn.conv_transpose2d_forward, nn.conv_transpose2d_backward, inputs,
                    stride=stride, padding=padding, output_padding=output_padding)


def distinct_values(shape, seed):
    """Values at least 0.1 apart, so a step of h=1e-5 never changes which input wins a max."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(size).reshape(shape) * 0.1


@pytest.mark.parametrize("pool, stride, padding", [
    (2, None, "valid"), (2, None, "same"), (3, 2, "same"), (3, 1, "valid"),
    ((2, 3), (1, 2), "same"),
])
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_gradients(kind, pool, stride, padding):
    forward, backward = {
        "max": (nn.maxpool2d_forward, nn.maxpool2d_backward),
        "average": (nn.avgpool2d_forward, nn.avgpool2d_backward),
    }[kind]
    # distinct values keep every max away from a tie; averages take any input
    x = distinct_values((2, 5, 7, 2), 0) if kind == "max" else random((2, 5, 7, 2), 0)
    check_gradients(forward, backward, (x,), pool_size=pool, stride=stride, padding=padding)


def test_dense_gradients():
    inputs = (random((4, 5), 0), random((5, 3), 1), random(3, 2))
    check_gradients(nn.dense_forward, nn.dense_backward, inputs)


def test_relu_and_flatten_gradients():
    x = random((2, 3, 4, 2), 0)
    x[np.abs(x) < 0.1] = 0.5  # keep away from the kink at 0
    check_gradients(nn.relu_forward, nn.relu_backward, (x,))
    check_gradients(nn.flatten_forward, nn.flatten_backward, (x,))


def test_softmax_cross_entropy_gradient():
    logits, labels = random((5, 4), 0), np.array([0, 3, 1, 1, 2])
    _, dlogits = nn.softmax_cross_entropy(logits, labels)
    numeric = numerical_gradient(lambda z: nn.softmax_cross_entropy(z, labels)[0], logits,
                                 np.float64(1.0))
    assert rel_error(dlogits, numeric) < BOUND


def test_max_pool_tie_sends_gradient_to_first_maximum_in_row_major_order():
    x = np.array([[1.0, 3.0], [3.0, 0.0]]).reshape(1, 2, 2, 1)  # 3 at (0, 1) and (1, 0)
    out, cache = nn.maxpool2d_forward(x, pool_size=2)
    dx = nn.maxpool2d_backward(np.full(out.shape, 5.0), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0.0, 5.0], [0.0, 0.0]])


def test_max_pool_all_equal_window_sends_gradient_to_top_left():
    x = np.ones((1, 4, 4, 1))
    out, cache = nn.maxpool2d_forward(x, pool_size=2)
    dx = nn.maxpool2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], np.kron(np.ones((2, 2)), [[1, 0], [0, 0]]))


def test_overlapping_max_pool_windows_add_their_gradients():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0  # the centre wins all four 2x2 windows of stride 1
    out, cache = nn.maxpool2d_forward(x, pool_size=2, stride=1)
    dx = nn.maxpool2d_backward(np.ones(out.shape), cache)
    assert dx[0, 1, 1, 0] == 4.0 and dx.sum() == 4.0
