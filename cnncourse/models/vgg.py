"""VGG, configurations A to E (Simonyan & Zisserman, 2015).

    Simonyan K., Zisserman A. "Very deep convolutional networks for large-scale image
    recognition." ICLR 2015. Table 1 (configurations), Table 2 (parameters: A, A-LRN and B
    133 M, C 134 M, D 138 M, E 144 M).

Every block is a stack of 3x3 convolutions (stride 1, 'same' padding, ReLU) followed by 2x2 max
pooling with stride 2. Two stacked 3x3 convolutions see a 5x5 window and three a 7x7 window,
with fewer weights (2 * 9 C^2 and 3 * 9 C^2 against 25 C^2 and 49 C^2) and more ReLUs.
"""

from __future__ import annotations

import keras
from keras import layers

from cnncourse.models.alexnet import LocalResponseNormalization

# Table 1: per block, the kernel size of each convolution; a block's width is BLOCK_WIDTHS[i].
# Configuration C adds a 1x1 convolution at the end of blocks 3-5, D makes it a 3x3.
VGG_CONFIGS: dict[str, tuple[tuple[int, ...], ...]] = {
    "A": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "A-LRN": ((3,), (3,), (3, 3), (3, 3), (3, 3)),
    "B": ((3, 3), (3, 3), (3, 3), (3, 3), (3, 3)),
    "C": ((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)),
    "D": ((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)),
    "E": ((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3)),
}
BLOCK_WIDTHS = (64, 128, 256, 512, 512)
# Weight layers of each configuration: VGG-11 (A), -13 (B), -16 (C, D), -19 (E).
VGG_DEPTHS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}


def vgg(
    config: str = "D", *, input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
) -> keras.Model:  # fmt: skip
    """VGG configuration A, A-LRN, B, C, D or E of Table 1. Input (N, 224, 224, 3) by default.

    Output (N, num_classes). After five 2x2 poolings a 224x224 input leaves 7x7x512 maps, which
    feed FC-4096, FC-4096 (each with dropout 0.5, Section 3.1) and the classifier.
    With 1000 classes: A and A-LRN 132,863,336 parameters (LRN has none), B 133,047,848,
    C 133,638,952, D 138,357,544 (= keras.applications.VGG16), E 143,667,240 (= VGG19):
    the paper's 133, 133, 134, 138 and 144 million. Layer names follow Keras Applications
    (block1_conv1, ..., fc1, fc2, predictions).
    """
    if config not in VGG_CONFIGS:
        raise ValueError(f"config must be one of {sorted(VGG_CONFIGS)}, got {config!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    blocks = zip(VGG_CONFIGS[config], BLOCK_WIDTHS, strict=True)
    for block, (kernels, width) in enumerate(blocks, start=1):
        for i, k in enumerate(kernels, start=1):
            x = layers.Conv2D(width, k, padding="same", activation="relu",
                              name=f"block{block}_conv{i}")(x)  # fmt: skip
            if config == "A-LRN" and block == 1:
                x = LocalResponseNormalization(name="block1_lrn")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="drop1")(x)
    x = layers.Dense(4096, activation="relu", name="fc2")(x)
    x = layers.Dropout(0.5, name="drop2")(x)
    x = layers.Dense(num_classes, name="predictions")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"vgg{VGG_DEPTHS[config]}_{config}")
