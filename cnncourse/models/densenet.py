"""DenseNet-121 (Huang, Liu, van der Maaten & Weinberger, 2017).

    Huang G., Liu Z., van der Maaten L., Weinberger K. Q. "Densely connected convolutional
    networks." CVPR 2017. Table 1 (DenseNet-121: blocks of 6, 12, 24, 16 layers, growth
    rate k=32, DenseNet-BC with bottleneck 1x1 convolutions and compression 0.5).

Inside a dense block every layer receives the concatenation of all earlier feature maps and
adds k new ones, so the width grows by k per layer; transition layers (1x1 convolution that
halves the width, 2x2 average pooling) sit between blocks.
"""

from __future__ import annotations

import keras
from keras import layers

DENSENET121_BLOCKS = (6, 12, 24, 16)
GROWTH_RATE = 32  # k in the paper
COMPRESSION = 0.5  # theta: a transition keeps half of the maps
BN_EPSILON = 1.001e-5  # as Keras Applications


def _bn_relu(x, name: str):
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _dense_layer(x, name: str):
    """BN-ReLU-Conv1x1(4k)-BN-ReLU-Conv3x3(k), concatenated to its input: C -> C + k maps."""
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * GROWTH_RATE, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(GROWTH_RATE, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def _transition(x, name: str):
    """BN-ReLU-Conv1x1 to half the maps, then 2x2 average pooling: (H, W, C) -> (H/2, W/2, C/2)."""
    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[-1] * COMPRESSION), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def densenet121(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), num_classes: int = 1000
) -> keras.Model:
    """DenseNet-121 (Table 1). Input (N, 224, 224, 3) by default, output (N, num_classes).

    Stem 7x7/2 convolution with 2k = 64 filters and 3x3/2 max pooling; dense blocks of 6, 12,
    24 and 16 layers (56, 28, 14, 7 pixels for a 224 input) with transitions between them;
    batch norm, ReLU, global average pooling and the classifier. With 1000 classes it has
    **8,062,504 parameters**, exactly keras.applications.DenseNet121 (83,648 of them are the
    non-trainable batch-norm statistics; the paper's Fig. 3 puts DenseNet-121 at about 8 M).
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(2 * GROWTH_RATE, 7, strides=2, padding="same", use_bias=False,
                      name="conv1_conv")(inputs)  # fmt: skip
    x = _bn_relu(x, "conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for block, layers_in_block in enumerate(DENSENET121_BLOCKS, start=2):
        for i in range(1, layers_in_block + 1):
            x = _dense_layer(x, f"conv{block}_block{i}")
        if block < 1 + len(DENSENET121_BLOCKS):
            x = _transition(x, f"pool{block}")
    x = _bn_relu(x, "final")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(num_classes, name="predictions")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name="densenet121")
