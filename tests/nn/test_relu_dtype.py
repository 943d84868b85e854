"""relu_backward keeps fractional gradients whatever the input's dtype (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from cnncourse import nn


@pytest.mark.parametrize(
    ("x_dtype", "dout_dtype", "dx_dtype"),
    [(np.int64, np.float64, np.float64),   # the bug: 0.5 became 0
     (np.uint8, np.float32, np.float32),   # an image of pixels
     (np.int32, np.int64, np.float64),     # integer all the way: still a float gradient
     (np.float32, np.float32, np.float32),
     (np.float32, np.float64, np.float64),
     (np.float64, np.float32, np.float64)],
)  # fmt: skip
def test_relu_backward_dtype_table(x_dtype, dout_dtype, dx_dtype):
    x = np.array([[-2, 0, 3]], dtype=x_dtype) if x_dtype != np.uint8 else np.array([[0, 0, 3]],
                                                                                   dtype=np.uint8)
    _, cache = nn.relu_forward(x)
    dout = np.array([[0.5, 0.5, 0.5]]).astype(dout_dtype) if np.issubdtype(
        dout_dtype, np.floating) else np.array([[7, 7, 7]], dtype=dout_dtype)  # fmt: skip
    dx = nn.relu_backward(dout, cache)
    assert dx.dtype == dx_dtype
    np.testing.assert_array_equal(dx, [[0, 0, dout[0, 2]]])


def test_relu_backward_of_integer_input_keeps_a_half():
    _, cache = nn.relu_forward(np.array([1, -1, 2]))
    np.testing.assert_array_equal(nn.relu_backward(np.array([0.5, 0.5, 0.25]), cache),
                                  [0.5, 0.0, 0.25])  # fmt: skip


def test_relu_backward_refuses_a_misshapen_dout():
    _, cache = nn.relu_forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\), expected the input's \(2, 3\)"):
        nn.relu_backward(np.ones((3, 2)), cache)
