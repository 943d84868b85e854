"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) and its local response normalisation.

    Krizhevsky A., Sutskever I., Hinton G. E. "ImageNet classification with deep convolutional
    neural networks." NeurIPS 25, 2012. Section 3 (ReLU, two GPUs, LRN, overlapping pooling),
    Fig. 2 (architecture), Section 4.2 (dropout).
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="cnncourse")
class LocalResponseNormalization(layers.Layer):
    """Local response normalisation across channels (AlexNet, Section 3.3). No parameters.

    Input and output (N, H, W, C). Each activation a[c] is divided by
        (k + alpha * sum of a[c']^2 over the `depth` channels c' centred on c) ** beta,
    with the paper's k=2, depth (n)=5, alpha=1e-4, beta=0.75. Channels beyond the edges count
    as zeros.
    """

    def __init__(self, depth: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if depth < 1 or depth % 2 == 0:
            raise ValueError(f"depth must be an odd integer >= 1, got {depth!r}")
        self.depth, self.k, self.alpha, self.beta = depth, k, alpha, beta

    def call(self, x):
        half = self.depth // 2
        channels = x.shape[-1]
        squares = ops.pad(ops.square(x), [(0, 0), (0, 0), (0, 0), (half, half)])
        # sum of `depth` neighbouring channels: one shifted slice per offset
        window = sum(squares[..., i : i + channels] for i in range(self.depth))
        return x / ops.power(self.k + self.alpha * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth=self.depth, k=self.k, alpha=self.alpha, beta=self.beta)
        return config


def alexnet(
    *, input_shape: tuple[int, int, int] = (227, 227, 3), num_classes: int = 1000,
    groups: int = 2,
) -> keras.Model:  # fmt: skip
    """AlexNet (Krizhevsky et al., 2012, Fig. 2). Input (N, 227, 227, 3), output (N, num_classes).

    Five convolutions (96@11x11/4, 256@5x5, 384@3x3, 384@3x3, 256@3x3), LRN after the first two,
    3x3/2 overlapping max pooling after conv1, conv2 and conv5, then FC 4096, 4096 with dropout
    0.5, and the classifier. The paper says 224x224 inputs; 227 is the size its arithmetic needs
    ((227 - 11) / 4 + 1 = 55), as in the reference Caffe model.

    groups=2 reproduces the two-GPU split: conv2, conv4 and conv5 see only the maps on their
    own GPU, which is a grouped convolution. With 1000 classes this gives **60,965,224
    parameters** (the paper's "60 million"); groups=1 (one stream) gives 62,378,344.
    """
    if groups not in (1, 2):
        raise ValueError(f"groups must be 1 (one stream) or 2 (two GPUs), got {groups!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(inputs)
    x = LocalResponseNormalization(name="lrn1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", groups=groups, activation="relu", name="conv2")(x)
    x = LocalResponseNormalization(name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", groups=groups, activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", groups=groups, activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dropout(0.5, name="drop6")(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dropout(0.5, name="drop7")(x)
    x = layers.Dense(num_classes, name="fc8")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name="alexnet")
