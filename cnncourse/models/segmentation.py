"""A small encoder-decoder for semantic segmentation (chapter 9), in the spirit of U-Net.

    Long J., Shelhamer E., Darrell T. "Fully convolutional networks for semantic segmentation."
    CVPR 2015 (no dense layers: the output is a map). Ronneberger O., Fischer P., Brox T.
    "U-Net: convolutional networks for biomedical image segmentation." MICCAI 2015 (skip
    connections from encoder to decoder, concatenated).

The encoder halves the maps twice with strided 3x3 convolutions; the decoder doubles them back
with 3x3 transposed convolutions of stride 2; a 1x1 convolution gives every pixel a softmax
over the classes.
"""

from __future__ import annotations

import keras
from keras import layers


def encoder_decoder(
    *, input_shape: tuple[int, int, int] = (32, 32, 1), num_classes: int = 4,
    skip_connections: bool = True, width: int = 16,
) -> keras.Model:  # fmt: skip
    """(N, H, W, C) images -> (N, H, W, num_classes) per-pixel class probabilities.

    H and W must be divisible by 4 (two stride-2 stages). Encoder: 3x3 convolutions with
    width, 2*width (stride 2) and 4*width (stride 2) filters; decoder: two 3x3 transposed
    convolutions of stride 2 back to H x W, each followed (skip_connections=True) by the
    concatenation of the encoder maps of the same size, as in U-Net. With the defaults
    (32x32x1 input, 4 classes, width 16): 51,124 parameters; without the skips 46,452.
    """
    h, w = input_shape[:2]
    if h % 4 or w % 4:
        raise ValueError(f"input height and width must be divisible by 4, got {input_shape}")
    inputs = keras.Input(shape=input_shape, name="image")
    e1 = layers.Conv2D(width, 3, padding="same", activation="relu", name="enc1")(inputs)
    e2 = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu",
                       name="enc2")(e1)  # fmt: skip
    e3 = layers.Conv2D(4 * width, 3, strides=2, padding="same", activation="relu",
                       name="enc3")(e2)  # fmt: skip
    d2 = layers.Conv2DTranspose(2 * width, 3, strides=2, padding="same", activation="relu",
                                name="dec2")(e3)  # fmt: skip
    if skip_connections:
        d2 = layers.Concatenate(name="skip2")([d2, e2])
    d1 = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu",
                                name="dec1")(d2)  # fmt: skip
    if skip_connections:
        d1 = layers.Concatenate(name="skip1")([d1, e1])
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", dtype="float32",
                            name="classes")(d1)  # fmt: skip
    name = "encoder_decoder" if skip_connections else "encoder_decoder_no_skips"
    return keras.Model(inputs, outputs, name=name)
