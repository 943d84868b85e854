"""GoogLeNet, the Inception v1 network (Szegedy et al., 2015).

    Szegedy C., Liu W., Jia Y., Sermanet P., Reed S., Anguelov D., Erhan D., Vanhoucke V.,
    Rabinovich A. "Going deeper with convolutions." CVPR 2015. Fig. 2(b) (Inception module with
    dimension reductions), Table 1 (GoogLeNet: about 6.8 M parameters, 1.5 G operations),
    Section 5 (auxiliary classifiers).

An Inception module runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max pooling side by side and
concatenates them; 1x1 "reduce" convolutions in front of the 3x3 and 5x5 branches (and after the
pooling) keep the width, and therefore the cost, in check.
"""

from __future__ import annotations

import keras
from keras import layers

from cnncourse.models.alexnet import LocalResponseNormalization

# Table 1: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj); None = max pooling
INCEPTION_V1: tuple[tuple[str, tuple[int, int, int, int, int, int] | None], ...] = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    ("pool3", None),
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    ("pool4", None),
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)
AUXILIARY_AFTER = ("4a", "4d")  # Section 5: classifiers on top of 4a and 4d


def _conv(x, filters: int, kernel: int, name: str, strides: int = 1):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu",
                         name=name)(x)  # fmt: skip


def inception_module(x, widths: tuple[int, int, int, int, int, int], name: str):
    """Inception module (Fig. 2b): (N, H, W, C) -> (N, H, W, #1x1 + #3x3 + #5x5 + pool proj)."""
    n1, r3, n3, r5, n5, pool_proj = widths
    branch1 = _conv(x, n1, 1, f"{name}_1x1")
    branch3 = _conv(_conv(x, r3, 1, f"{name}_3x3_reduce"), n3, 3, f"{name}_3x3")
    branch5 = _conv(_conv(x, r5, 1, f"{name}_5x5_reduce"), n5, 5, f"{name}_5x5")
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch_pool = _conv(pooled, pool_proj, 1, f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_output")([branch1, branch3, branch5, branch_pool])


def _auxiliary_classifier(x, num_classes: int, name: str):
    """5x5/3 average pooling, 1x1 conv 128, FC 1024, dropout 0.7, classifier (Section 5)."""
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)  # 14x14 -> 4x4
    x = _conv(x, 128, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    x = layers.Dense(num_classes, name=f"{name}_logits")(x)
    return layers.Activation("softmax", dtype="float32", name=name)(x)


def googlenet(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), num_classes: int = 1000,
    auxiliary_classifiers: bool = False,
) -> keras.Model:  # fmt: skip
    """GoogLeNet (Table 1). Input (N, 224, 224, 3) by default, output (N, num_classes).

    Stem: 7x7/2 conv 64, 3x3/2 max pool, LRN, 1x1 conv 64, 3x3 conv 192, LRN, 3x3/2 max pool;
    nine Inception modules (3a-3b, 4a-4e, 5a-5b) with 3x3/2 max pooling after 3b and 4e;
    average pooling (global here, the paper's 7x7 on a 224 input), dropout 0.4, classifier.
    With 1000 classes it has **6,998,552 parameters** (6,990,272 weights and 8,280 biases).
    Table 1's params column counts weights in units of K = 1024 and adds up to 6,797.7 K
    (6.96 million), within 1% of this; some of its rows are rounded loosely (conv1 reads 2.7 K
    for 9,408 weights). auxiliary_classifiers=True adds the two training-time classifiers of
    Section 5 as extra outputs (main, aux on 4a, aux on 4d); they need a 224x224 input.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 64, 7, "conv1", strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = LocalResponseNormalization(name="lrn1")(x)
    x = _conv(x, 64, 1, "conv2_reduce")
    x = _conv(x, 192, 3, "conv2")
    x = LocalResponseNormalization(name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    auxiliary = []
    for name, widths in INCEPTION_V1:
        if widths is None:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)
            continue
        x = inception_module(x, widths, f"inception{name}")
        if auxiliary_classifiers and name in AUXILIARY_AFTER:
            auxiliary.append(_auxiliary_classifier(x, num_classes, f"aux_{name}"))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, [outputs, *auxiliary] if auxiliary else outputs, name="googlenet")
