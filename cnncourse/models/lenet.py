"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), the network of the course's chapter 7.

    LeCun Y., Bottou L., Bengio Y., Haffner P. "Gradient-based learning applied to document
    recognition." Proceedings of the IEEE 86(11), 2278-2324, 1998. Section II.B, Fig. 2, Table I.

Layer names follow the paper: C = convolution, S = subsampling, F = fully connected.
Input 32x32: the paper pads the 28x28 MNIST digits by 2 pixels on each side, so that strokes
can reach the centre of the receptive field of the highest-level feature detectors.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

# Table I of the paper: the S2 feature maps (0-5) each C3 feature map (0-15) is connected to.
# Six maps see 3 contiguous maps, six see 4 contiguous, three see 4 non-contiguous, one sees all.
C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip

LENET5_VARIANTS = ("classic", "modern")


@keras.saving.register_keras_serializable(package="cnncourse")
class SparselyConnectedConv2D(layers.Layer):
    """A 'valid' convolution in which output map j sees only the input maps connections[j].

    Input (N, H, W, C), output (N, Ho, Wo, F) with F = len(connections), Ho = H - KH + 1.
    Only the connected kernels are weights: the layer stores them as one flat vector and scatters
    it into a full (KH, KW, C, F) kernel whose other entries are zero, then runs one convolution.
    LeNet-5's C3 uses it to break the symmetry between maps and to save parameters (1,516
    instead of 2,416 for a full 5x5 convolution from 6 to 16 maps).
    """

    def __init__(self, connections, kernel_size: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.connections = tuple(tuple(int(c) for c in ins) for ins in connections)
        self.kernel_size = int(kernel_size)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels = input_shape[-1]
        used = {c for ins in self.connections for c in ins}
        if max(used) >= channels:
            raise ValueError(
                f"connections refer to input map {max(used)}, but the input has {channels} maps "
                f"(input shape {input_shape})"
            )
        k, filters = self.kernel_size, len(self.connections)
        mask = np.zeros((k, k, channels, filters), dtype=bool)
        for j, ins in enumerate(self.connections):
            mask[:, :, list(ins), j] = True
        # Entry 0 of the padded weight vector is a fixed zero; connected positions index 1..P.
        index = np.zeros(mask.size, dtype="int32")
        index[mask.ravel()] = np.arange(1, mask.sum() + 1)
        self._scatter_index = index
        mean_fan_in = mask.sum() / filters  # LeCun-style scale for the average fan-in
        limit = math.sqrt(3.0 / mean_fan_in)
        self.kernel = self.add_weight(
            shape=(int(mask.sum()),),
            initializer=keras.initializers.RandomUniform(-limit, limit),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(filters,), initializer="zeros", name="bias")
        self._kernel_shape = mask.shape

    def full_kernel(self):
        """The (KH, KW, C, F) kernel with zeros where a map is not connected."""
        padded = ops.concatenate([ops.zeros((1,), dtype=self.kernel.dtype), self.kernel])
        return ops.reshape(ops.take(padded, self._scatter_index), self._kernel_shape)

    def call(self, x):
        kernel = ops.cast(self.full_kernel(), x.dtype)
        y = ops.conv(x, kernel, strides=1, padding="valid") + ops.cast(self.bias, x.dtype)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        k = self.kernel_size
        return (n, None if h is None else h - k + 1, None if w is None else w - k + 1,
                len(self.connections))  # fmt: skip

    def get_config(self):
        config = super().get_config()
        config.update(
            connections=[list(ins) for ins in self.connections],
            kernel_size=self.kernel_size,
            activation=keras.activations.serialize(self.activation),
        )
        return config


def _subsampling(x, name: str, *, trainable_scale: bool):
    """S2/S4: 2x2 average, then (classic) a trainable coefficient and bias per map."""
    x = layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    if trainable_scale:
        # A 1x1 depthwise convolution is exactly one coefficient and one bias per map.
        x = layers.DepthwiseConv2D(1, activation="tanh", name=name)(x)
    return x


def lenet5(
    *, input_shape: tuple[int, int, int] = (32, 32, 1), num_classes: int = 10,
    variant: str = "classic",
) -> keras.Model:  # fmt: skip
    """LeNet-5 (LeCun et al., 1998, Fig. 2). Input (N, 32, 32, 1), output (N, num_classes).

    variant='classic' follows the paper: tanh units; S2 and S4 average 2x2 blocks and multiply
    each map by a trainable coefficient plus a bias (12 and 32 parameters); C3 uses the sparse
    connection table of Table I (1,516 parameters). C1 has 156, C5 48,120 and F6 10,164
    parameters, so C1 to F6 hold exactly the paper's 60,000. The paper's output layer of
    Euclidean RBF units with fixed bitmaps is replaced by a softmax layer (84*10 + 10 = 850),
    for a total of **60,850 parameters**. (The paper also scales tanh as 1.7159 tanh(2a/3);
    plain tanh is used here.)

    variant='modern' is the usual re-implementation: ReLU, 2x2 max pooling without parameters,
    C3 a full 5x5 convolution from 6 to 16 maps (2,416), for **61,706 parameters**.

    Shapes for a 32x32 input: C1 (28, 28, 6), S2 (14, 14, 6), C3 (10, 10, 16), S4 (5, 5, 16),
    C5 (1, 1, 120), F6 (84,), output (num_classes,).
    """
    if variant not in LENET5_VARIANTS:
        raise ValueError(f"variant must be one of {LENET5_VARIANTS}, got {variant!r}")
    classic = variant == "classic"
    act = "tanh" if classic else "relu"
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(6, 5, activation=act, name="C1")(inputs)
    if classic:
        x = _subsampling(x, "S2", trainable_scale=True)
        x = SparselyConnectedConv2D(C3_CONNECTIONS, 5, activation=act, name="C3")(x)
        x = _subsampling(x, "S4", trainable_scale=True)
    else:
        x = layers.MaxPooling2D(2, name="S2")(x)
        x = layers.Conv2D(16, 5, activation=act, name="C3")(x)
        x = layers.MaxPooling2D(2, name="S4")(x)
    x = layers.Conv2D(120, 5, activation=act, name="C5")(x)  # a 5x5 kernel on 5x5 maps
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=act, name="F6")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")
