"""Bad arguments raise ValueError with a message that echoes what was received."""

import numpy as np
import pytest

import cnncourse.nn as nn

X = np.zeros((1, 4, 4, 2))
W = np.zeros((3, 3, 2, 5))
NAN_X = X.copy()
NAN_X[0, 1, 1, 0] = np.nan

# call that must fail,                                                   message it must match
BAD_CALLS = [
    (lambda: nn.conv2d_forward(X[0], W), r"x must be 4-D \(N, H, W, C\), got shape \(4, 4, 2\)"),
    (lambda: nn.conv2d_forward(X, W[0]), r"w must be 4-D .*got shape \(3, 2, 5\)"),
    (lambda: nn.conv2d_forward(np.zeros((1, 4, 4, 3)), W),
     r"x has 3 channels .* but w expects 2"),
    (lambda: nn.conv2d_forward(X, W, np.zeros(4)),
     r"bias must have shape \(5,\), got shape \(4,\)"),
    (lambda: nn.conv2d_forward(X, np.zeros((5, 5, 2, 1))),
     r"kernel 5x5 is larger than the padded input 4x4 \(padding=0\)"),
    (lambda: nn.conv2d_forward(X, W, dilation=2),
     r"kernel 3x3 \(spanning 5x5 with dilation 2x2\) is larger than the padded input 4x4"),
    (lambda: nn.conv2d_forward(X, W, stride=0), r"stride must be >= 1, got 0"),
    (lambda: nn.conv2d_forward(X, W, stride=(1, -2)), r"stride must be >= 1, got \(1, -2\)"),
    (lambda: nn.conv2d_forward(X, W, dilation=0), r"dilation must be >= 1, got 0"),
    (lambda: nn.conv2d_forward(X, W, padding="mirror"), r"got 'mirror'"),
    (lambda: nn.conv2d_forward(X, W, padding=-1), r"got -1"),
    (lambda: nn.conv2d_forward(X, W, padding=(1, 2, 3)), r"got \(1, 2, 3\)"),
    (lambda: nn.conv2d_forward(NAN_X, W), r"x contains 1 NaN or infinite value"),
    (lambda: nn.conv2d_forward_loops(X, np.zeros((5, 5, 2, 1))),
     r"kernel 5x5 is larger than the padded input 4x4"),
    (lambda: nn.conv1d_forward(np.zeros((1, 3, 2)), np.zeros((5, 2, 1))),
     r"kernel 5 is larger than the padded input 3 \(padding=0\)"),
    (lambda: nn.conv1d_forward(np.zeros((1, 3, 2)), np.zeros((2, 3, 1))),
     r"x has 2 channels .* w expects 3"),
    (lambda: nn.depthwise_conv2d_forward(X, np.zeros((3, 3, 3, 1))),
     r"x has 2 channels .* w expects 3"),
    (lambda: nn.depthwise_conv2d_forward(X, np.zeros((3, 3, 2, 2)), np.zeros(2)),
     r"bias must have shape \(4,\), got shape \(2,\)"),
    (lambda: nn.conv_transpose2d_forward(X, np.zeros((3, 3, 4, 2)), stride=2, output_padding=2),
     r"output_padding must be .* got 2"),
    (lambda: nn.conv_transpose2d_forward(X, np.zeros((3, 3, 4, 5))),
     r"x has 2 channels .* w expects 5"),
    (lambda: nn.maxpool2d_forward(X, pool_size=5), r"kernel 5x5 is larger than the padded input"),
    (lambda: nn.maxpool2d_forward(X, padding="full"), r"'valid' or 'same', got 'full'"),
    (lambda: nn.avgpool2d_forward(X, stride=0), r"stride must be >= 1, got 0"),
    (lambda: nn.maxpool2d_forward(NAN_X), r"x contains 1 NaN or infinite value"),
    (lambda: nn.maxpool2d_forward(NAN_X, pool_size=3, padding="same"), r"x contains 1 NaN"),
    (lambda: nn.avgpool2d_forward(NAN_X), r"x contains 1 NaN or infinite value"),
    (lambda: nn.dense_forward(np.zeros((2, 3)), np.zeros((4, 5))),
     r"x has 3 channels .* w expects 4"),
    (lambda: nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
     r"labels must lie in \[0, 3\), got values from 0 to 3"),
    (lambda: nn.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
     r"labels must be 2 integers, got shape \(2,\) and dtype float64"),
    (lambda: nn.conv1d_forward(np.zeros((1, 5, 2)), np.zeros((3, 2, 1)), stride=(1, 2)),
     r"stride must be an int, got \(1, 2\)"),
    (lambda: nn.conv2d_forward(X.astype(complex), W),
     r"x must hold real numbers, got dtype complex"),
    (lambda: nn.im2col(X[0], 3, 3), r"x must be 4-D \(N, H, W, C\), got shape \(4, 4, 2\)"),
    (lambda: nn.col2im(np.zeros((5, 18)), X.shape, 3, 3),
     r"cols must have shape .* = \(4, 18\) for x_shape \(1, 4, 4, 2\), got shape \(5, 18\)"),
    (lambda: nn.conv2d_backward(np.zeros((1, 3, 3, 5)), nn.conv2d_forward(X, W)[1]),
     r"dout must have the forward output's shape \(1, 2, 2, 5\), got shape \(1, 3, 3, 5\)"),
    (lambda: nn.conv2d_backward_loops(np.zeros((1, 2, 2, 4)), nn.conv2d_forward_loops(X, W)[1]),
     r"shape \(1, 2, 2, 5\), got shape \(1, 2, 2, 4\)"),
    (lambda: nn.conv_transpose2d_backward(
        np.zeros((1, 4, 4, 5)), nn.conv_transpose2d_forward(X, np.zeros((3, 3, 5, 2)))[1]),
     r"shape \(1, 6, 6, 5\), got shape \(1, 4, 4, 5\)"),
    (lambda: nn.depthwise_conv2d_backward(
        np.zeros((1, 2, 2, 3)), nn.depthwise_conv2d_forward(X, np.zeros((3, 3, 2, 2)))[1]),
     r"shape \(1, 2, 2, 4\), got shape \(1, 2, 2, 3\)"),
    (lambda: nn.maxpool2d_backward(np.zeros((1, 4, 4, 2)), nn.maxpool2d_forward(X)[1]),
     r"shape \(1, 2, 2, 2\), got shape \(1, 4, 4, 2\)"),
    (lambda: nn.avgpool2d_backward(np.zeros((1, 2, 2)), nn.avgpool2d_forward(X)[1]),
     r"shape \(1, 2, 2, 2\), got shape \(1, 2, 2\)"),
    (lambda: nn.dense_backward(np.zeros((2, 4)), nn.dense_forward(np.zeros((2, 3)),
                                                                  np.zeros((3, 5)))[1]),
     r"shape \(2, 5\), got shape \(2, 4\)"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS)
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
