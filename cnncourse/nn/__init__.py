"""Numpy reference layers of the course, channels last, with the same weight layouts as Keras.

Every forward returns (out, cache); every backward takes (dout, cache) and returns the
gradients in the order of the forward's inputs. Layers keep the input's floating dtype.
"""

from cnncourse.nn.conv1d import conv1d_backward, conv1d_forward
from cnncourse.nn.conv2d import (
    conv2d_backward,
    conv2d_backward_loops,
    conv2d_forward,
    conv2d_forward_loops,
)
from cnncourse.nn.im2col import col2im, im2col

__all__ = [
    "col2im",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_backward_loops",
    "conv2d_forward",
    "conv2d_forward_loops",
    "im2col",
]
