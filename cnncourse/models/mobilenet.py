"""MobileNet v1 (Howard et al., 2017): depthwise separable convolutions and a width multiplier.

    Howard A. G., Zhu M., Chen B., Kalenichenko D., Wang W., Weyand T., Andreetto M., Adam H.
    "MobileNets: efficient convolutional neural networks for mobile vision applications."
    arXiv:1704.04861, 2017. Table 1 (architecture), Section 3.1 (cost of a depthwise separable
    convolution), Table 6 (width multiplier alpha: 1.0 -> 4.2 M parameters and 569 M
    multiply-adds, 0.75 -> 2.6 M and 325 M, 0.5 -> 1.3 M and 149 M, 0.25 -> 0.5 M and 41 M).

A depthwise separable convolution is a KxK depthwise convolution (one filter per input channel)
followed by a 1x1 pointwise convolution; its cost relative to a full KxK convolution with F
output channels is 1/F + 1/K^2 (Section 3.1), 8 to 9 times cheaper for K=3.
"""

from __future__ import annotations

import keras
from keras import layers

# Table 1 after the first convolution: (pointwise filters at alpha=1, depthwise stride)
MOBILENET_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)  # fmt: skip


def _bn_relu(x, name: str):
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _separable_block(x, filters: int, strides: int, name: str):
    """3x3 depthwise (one filter per channel) + BN-ReLU, 1x1 pointwise to `filters` + BN-ReLU."""
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False,
                               name=f"{name}_dw")(x)  # fmt: skip
    x = _bn_relu(x, f"{name}_dw")
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    return _bn_relu(x, f"{name}_pw")


def mobilenet(
    alpha: float = 1.0, *, input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000, dropout: float = 1e-3,
) -> keras.Model:  # fmt: skip
    """MobileNet v1 with width multiplier alpha (Table 1). Input (N, 224, 224, 3) by default.

    Output (N, num_classes). A 3x3/2 convolution with 32*alpha filters, thirteen depthwise
    separable blocks (every width times alpha), global average pooling, dropout and a 1x1
    convolution as the classifier, laid out as keras.applications.MobileNet so that the counts
    agree exactly: with 1000 classes **4,253,864 parameters** at alpha=1 (21,888 of them
    batch-norm statistics), 2,601,976 at 0.75, 1,342,536 at 0.5 and 475,544 at 0.25. The paper
    uses plain ReLU, Keras ReLU6; this follows the paper (neither has parameters).
    """
    if not 0 < alpha <= 4:
        raise ValueError(f"alpha (width multiplier) must be in (0, 4], got {alpha!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False,
                      name="conv1")(inputs)  # fmt: skip
    x = _bn_relu(x, "conv1")
    for i, (filters, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        x = _separable_block(x, int(filters * alpha), strides, f"block{i}")
    x = layers.GlobalAveragePooling2D(keepdims=True, name="avg_pool")(x)  # (N, 1, 1, C)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, name="predictions")(x)  # a dense layer as a 1x1 conv
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"mobilenet_{alpha:g}")
