"""Residual networks (He, Zhang, Ren & Sun, 2016): ImageNet ResNets and the CIFAR-10 ResNets.

    He K., Zhang X., Ren S., Sun J. "Deep residual learning for image recognition." CVPR 2016.
    Table 1 (ImageNet architectures 18 to 152), Fig. 5 (basic and bottleneck blocks),
    Section 4.2 and Table 6 (CIFAR-10 networks of 6n+2 layers: 20, 32, 44, 56, 110).

A residual block computes y = relu(F(x) + shortcut(x)): the layers learn the residual F and the
identity shortcut carries x (and its gradient) past them unchanged.
"""

from __future__ import annotations

import keras
from keras import layers

# Table 1: (block type, blocks per stage for conv2_x .. conv5_x)
IMAGENET_RESNETS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
STAGE_WIDTHS = (64, 128, 256, 512)
BN_EPSILON = 1.001e-5  # as Keras Applications (and the converted Caffe models)


def _conv_bn(x, filters: int, kernel: int, name: str, *, strides: int = 1, relu: bool = True,
             use_bias: bool = True):  # fmt: skip
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=use_bias,
                      name=f"{name}_conv")(x)  # fmt: skip
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def _basic_block(x, filters: int, strides: int, name: str, *, cifar: bool = False):
    """Two 3x3 convolutions (Fig. 5 left) plus the shortcut.

    ImageNet: a 1x1 projection where the shape changes (option B), convolutions with a bias as
    in Keras. CIFAR (cifar=True): the parameter-free option A shortcut, convolutions without bias.
    """
    shortcut = x
    if cifar:
        shortcut = _cifar_shortcut(x, filters, strides, name)
    elif strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, f"{name}_0", strides=strides, relu=False)
    x = _conv_bn(x, filters, 3, f"{name}_1", strides=strides, use_bias=not cifar)
    x = _conv_bn(x, filters, 3, f"{name}_2", relu=False, use_bias=not cifar)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _bottleneck_block(x, filters: int, strides: int, name: str):
    """1x1 reduce, 3x3, 1x1 expand to 4*filters (Fig. 5 right); projection on the first block.

    The stride sits on the first 1x1 convolution, as in the original Caffe models and Keras.
    """
    shortcut = x
    if strides != 1 or x.shape[-1] != 4 * filters:
        shortcut = _conv_bn(x, 4 * filters, 1, f"{name}_0", strides=strides, relu=False)
    x = _conv_bn(x, filters, 1, f"{name}_1", strides=strides)
    x = _conv_bn(x, filters, 3, f"{name}_2")
    x = _conv_bn(x, 4 * filters, 1, f"{name}_3", relu=False)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnet(
    depth: int = 50, *, input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
) -> keras.Model:  # fmt: skip
    """ImageNet ResNet-18, 34, 50, 101 or 152 (Table 1). Input (N, 224, 224, 3) by default.

    Output (N, num_classes). Stem: 7x7/2 convolution with 64 filters and 3x3/2 max pooling;
    four stages (conv2_x to conv5_x) at 56, 28, 14 and 7 pixels for a 224 input; global average
    pooling and the classifier. Convolutions keep a bias before batch normalisation, as Keras
    Applications do (the bias is redundant there), so that with 1000 classes the counts equal
    keras.applications.ResNet50/101/152 exactly: 25,636,712, 44,707,176 and 60,419,944
    parameters, of which 53,120, 105,344 and 151,424 are the non-trainable batch-norm
    statistics. ResNet-18 has 11,703,912 and ResNet-34 21,823,208 (torchvision's versions,
    without conv biases and statistics, have 11,689,512 and 21,797,672 trainable parameters).
    Multiply-adds for a 224 input (Table 1): 1.8, 3.6, 3.8, 7.6 and 11.3 billion.
    """
    if depth not in IMAGENET_RESNETS:
        raise ValueError(f"depth must be one of {sorted(IMAGENET_RESNETS)}, got {depth!r}")
    kind, stages = IMAGENET_RESNETS[depth]
    block = _basic_block if kind == "basic" else _bottleneck_block
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, 64, 7, "conv1", strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for stage, (blocks, width) in enumerate(zip(stages, STAGE_WIDTHS, strict=True), start=2):
        for b in range(1, blocks + 1):
            strides = 2 if b == 1 and stage > 2 else 1
            x = block(x, width, strides, f"conv{stage}_block{b}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(num_classes, name="predictions")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def _cifar_shortcut(x, filters: int, strides: int, name: str):
    """Option A (Section 4.2): subsample by the stride, pad the new channels with zeros. No weights.

    (N, H, W, C) -> (N, H/2, W/2, 2C) when the block halves the size and doubles the width.
    """
    if strides == 1 and x.shape[-1] == filters:
        return x
    if filters != 2 * x.shape[-1]:
        raise ValueError(f"option-A shortcut doubles the channels; got {x.shape[-1]} -> {filters}")
    x = layers.MaxPooling2D(1, strides=strides, name=f"{name}_subsample")(x)  # every 2nd pixel
    zeros = layers.Rescaling(0.0, name=f"{name}_zeros")(x)
    return layers.Concatenate(name=f"{name}_pad")([x, zeros])


def cifar_resnet(
    depth: int = 20, *, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 10,
) -> keras.Model:  # fmt: skip
    """The CIFAR-10 ResNet with 6n+2 layers (Section 4.2): depth 20, 32, 44, 56, 110, 1202...

    Input (N, 32, 32, 3) by default, output (N, num_classes). A 3x3 convolution with 16 filters,
    then three stages of n basic blocks with 16, 32 and 64 filters on 32x32, 16x16 and 8x8 maps,
    global average pooling and the classifier. Shortcuts are identities, with option A (zero
    padding, no parameters) where the width doubles, as in the paper. Convolutions have no bias
    (batch normalisation follows each one). Trainable parameters: 269,722 for depth 20,
    853,018 for 56 and 1,727,962 for 110: the paper's 0.27 M, 0.85 M and 1.7 M (Table 6).
    """
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(f"depth must be 6n+2 with n >= 1 (20, 32, 56, 110...), got {depth!r}")
    n = (depth - 2) // 6
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, 16, 3, "conv1", use_bias=False)
    for stage, width in enumerate((16, 32, 64), start=2):
        for b in range(1, n + 1):
            strides = 2 if b == 1 and stage > 2 else 1
            x = _basic_block(x, width, strides, f"conv{stage}_block{b}", cifar=True)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(num_classes, name="predictions")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"cifar_resnet{depth}")
