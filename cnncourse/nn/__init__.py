"""Numpy reference layers of the course, channels last, with the same weight layouts as Keras.

Every forward returns (out, cache); every backward takes (dout, cache) and returns the
gradients in the order of the forward's inputs. Layers keep the input's floating dtype
(integer inputs become float64).
"""

from cnncourse.nn.activations import relu_backward, relu_forward
from cnncourse.nn.conv1d import conv1d_backward, conv1d_forward
from cnncourse.nn.conv2d import (
    conv2d_backward,
    conv2d_backward_loops,
    conv2d_forward,
    conv2d_forward_loops,
)
from cnncourse.nn.conv_transpose import conv_transpose2d_backward, conv_transpose2d_forward
from cnncourse.nn.dense import dense_backward, dense_forward, flatten_backward, flatten_forward
from cnncourse.nn.depthwise import depthwise_conv2d_backward, depthwise_conv2d_forward
from cnncourse.nn.im2col import col2im, im2col
from cnncourse.nn.losses import softmax_cross_entropy
from cnncourse.nn.pooling import (
    avgpool2d_backward,
    avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)

__all__ = [
    "avgpool2d_backward",
    "avgpool2d_forward",
    "col2im",
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_backward_loops",
    "conv2d_forward",
    "conv2d_forward_loops",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
    "dense_backward",
    "dense_forward",
    "depthwise_conv2d_backward",
    "depthwise_conv2d_forward",
    "flatten_backward",
    "flatten_forward",
    "im2col",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "relu_backward",
    "relu_forward",
    "softmax_cross_entropy",
]
