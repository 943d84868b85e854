"""LeNet explorer: every layer's feature maps for a few digits, computed by the trained model.

Nothing is trained or run in the browser. When the explorer is made, the Keras model computes
the output of each of its layers for each digit; the page stores them (8-bit, each layer's
range of one digit mapped to 0..255), the layers' weights (8-bit, symmetric around 0) and the
model's output probabilities (6 decimals). Selecting a unit shows the window of the layer below
that it reads and the kernel that weighs it (convolution), the window it takes the max or mean
of (pooling), or its row of weights (dense).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnncourse.arithmetic import padding_amounts
from cnncourse.viz.explorers.page import (
    Explorer,
    build_explorer,
    encode_bytes,
    png_bytes,
    signed_colour_table,
)

MAX_IMAGES = 8  # digits to choose from: each adds about 11 KB for LeNet-5
POOLING_KINDS = {"MaxPooling2D": "max", "AveragePooling2D": "mean"}


@dataclass
class Level:
    """One displayed layer: its output (N, H, W, C) for every image, and how a unit is made."""

    name: str
    kind: str  # 'input', 'conv', 'pool', 'dense' or the Keras class name of another layer
    values: np.ndarray  # (N, H, W, C); a vector output (N, C) is stored as (N, 1, 1, C)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        N, H, W, C = self.values.shape
        low = self.values.reshape(N, -1).min(axis=1)  # (N,)
        high = self.values.reshape(N, -1).max(axis=1)
        span = np.where(high > low, high - low, 1.0)
        scaled = (self.values - low[:, None, None, None]) / span[:, None, None, None]
        codes = np.round(scaled * 255).astype(np.uint8)  # (N, H, W, C)
        return {"name": self.name, "kind": self.kind, "shape": [H, W, C],
                "low": low.tolist(), "high": high.tolist(),
                "values": [encode_bytes(codes[n]) for n in range(N)], **self.details}


def _as_maps(values: np.ndarray) -> np.ndarray:
    """(N, H, W, C) stays; (N, C) -> (N, 1, 1, C)."""
    return values if values.ndim == 4 else values.reshape(len(values), 1, 1, -1)


def _weights_json(kernel: np.ndarray, bias: np.ndarray | None) -> dict[str, Any]:
    """8-bit symmetric weights: w ~ code * scale, code in -127..127; float biases."""
    extent = float(np.abs(kernel).max()) or 1.0
    codes = np.round(kernel / extent * 127).astype(np.int8)
    bias = np.zeros(kernel.shape[-1]) if bias is None else bias
    return {"weights": encode_bytes(codes), "weightScale": extent / 127,
            "weightShape": list(kernel.shape), "bias": np.round(bias, 6).tolist()}


def _details(layer: Any, input_shape: tuple[int, ...]) -> tuple[str, dict[str, Any]]:
    """(kind, what a unit needs: kernel, stride, padding) of one Keras layer."""
    kind = type(layer).__name__
    config = layer.get_config()
    if kind in ("Conv2D", *POOLING_KINDS):
        conv = kind == "Conv2D"
        size = config["kernel_size"] if conv else config["pool_size"]
        strides = config["strides"] or size
        dilation = config.get("dilation_rate", (1, 1))
        pads = [padding_amounts(n, k, stride=s, padding=config["padding"], dilation=d)[0]
                for n, k, s, d in zip(input_shape[:2], size, strides, dilation, strict=True)]
        details = {"size": list(size), "strides": list(strides), "dilation": list(dilation),
                   "padBefore": pads}
        if conv:
            details.update(_weights_json(*layer.get_weights()[:2]) if config["use_bias"]
                           else _weights_json(layer.get_weights()[0], None))
            details["activation"] = config["activation"]
            return "conv", details
        return "pool", {**details, "mode": POOLING_KINDS[kind]}
    if kind == "Dense":
        weights = layer.get_weights()
        details = _weights_json(weights[0], weights[1] if config["use_bias"] else None)
        return "dense", {**details, "activation": config["activation"]}
    return kind, {}


def _check_inputs(model: Any, images: np.ndarray, labels: np.ndarray) -> None:
    expected = tuple(model.input_shape[1:])
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        raise ValueError(f"images must be (N, {', '.join(map(str, expected))}) for this model, "
                         f"got shape {images.shape}")
    if not 1 <= len(images) <= MAX_IMAGES:
        raise ValueError(f"pass 1 to {MAX_IMAGES} images, got {len(images)}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must be ({len(images)},), one per image, got {labels.shape}")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")


def model_levels(model: Any, images: np.ndarray) -> list[Level]:
    """The input and every layer shown: Conv2D, pooling and Dense layers, and any other layer
    that changes the number of values (a Flatten or an Activation is not shown)."""
    import keras

    chosen, shapes = [], [tuple(model.input_shape[1:])]
    for layer in model.layers[1:]:
        shape = tuple(layer.output.shape[1:])
        kind = type(layer).__name__
        if kind in ("Conv2D", "Dense", *POOLING_KINDS) or np.prod(shape) != np.prod(shapes[-1]):
            if tuple(layer.input.shape[1:]) not in (shapes[-1], (int(np.prod(shapes[-1])),)):
                raise ValueError(f"lenet_explorer needs a chain of layers; {layer.name} reads "
                                 f"{tuple(layer.input.shape[1:])}, not {shapes[-1]}")
            chosen.append(layer)
            shapes.append(shape)
    outputs = keras.Model(model.inputs, [layer.output for layer in chosen]).predict(
        images, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    levels = [Level("input", "input", _as_maps(np.asarray(images, dtype=np.float64)))]
    for layer, values, input_shape in zip(chosen, outputs, shapes, strict=False):
        kind, details = _details(layer, input_shape)
        levels.append(Level(layer.name, kind, _as_maps(np.asarray(values, np.float64)), details))
    return levels


def lenet_explorer(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    class_names: list[str] | None = None,
) -> Explorer:
    """Explorer of a trained Keras model (a chain of layers, e.g. `models.lenet5('modern')`).

    images: (N, H, W, C) with 1 <= N <= 8, as the model reads them (LeNet-5: (N, 32, 32, 1));
    labels: (N,) their true classes. class_names: default '0', '1', ... The ten output
    probabilities shown are `model.predict(images)`.
    """
    from cnncourse.viz.feature_maps import plot_feature_maps

    images, labels = np.asarray(images), np.asarray(labels)
    _check_inputs(model, images, labels)
    probabilities = np.asarray(model.predict(images, verbose=0), dtype=np.float64)  # (N, K)
    if probabilities.ndim != 2:
        raise ValueError(f"the model must output (N, classes), got {probabilities.shape}")
    K = probabilities.shape[1]
    names = [str(k) for k in range(K)] if class_names is None else list(class_names)
    if len(names) != K:
        raise ValueError(f"class_names must name the {K} classes, got {len(names)}")
    if not np.isin(labels, np.arange(K)).all():
        raise ValueError(f"labels must be classes 0..{K - 1}, got {labels.tolist()}")
    levels = model_levels(model, images)
    data = {
        "levels": [level.to_json() for level in levels],
        "labels": [int(label) for label in labels],
        "probabilities": np.round(probabilities, 6).tolist(),
        "classNames": names,
        "colourTable": signed_colour_table(),
    }
    first = next((level for level in levels if level.kind == "conv"), levels[0])
    figure = plot_feature_maps(first.values[0], dpi=40)
    alt = (f"Feature maps of layer {first.name} for the first test digit (a {labels[0]}); "
           f"the model gives it probability {probabilities[0, labels[0]]:.3f}.")
    return build_explorer("lenet", data, png_bytes(figure, dpi=40), alt)
