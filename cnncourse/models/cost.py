"""Parameter and multiply-add counts of a Keras model, layer by layer, from `cnncourse.arithmetic`.

The formulas live in `cnncourse.arithmetic`; this module only reads the sizes of each Keras layer
and applies them, so the book's formulas can be checked against Keras's own `count_params()`.
Multiply-adds are for one example and count the convolutions and dense layers only, as the
papers do (batch norm, activations, pooling and additions are left out).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from cnncourse import arithmetic


@dataclass(frozen=True)
class LayerCost:
    """Cost of one weight layer: its name, Keras class, parameters and multiply-adds."""

    name: str
    kind: str
    params: int
    macs: int


def _spatial_output(layer) -> tuple[int, int]:
    _, ho, wo, _ = layer.output.shape  # (N, Ho, Wo, F)
    return ho, wo


def layer_cost(layer) -> LayerCost | None:
    """Parameters and multiply-adds of a Conv2D, DepthwiseConv2D or Dense layer; None otherwise.

    Conv2D with G groups: each of the F kernels sees C_in / G channels.
    """
    bias = getattr(layer, "use_bias", False)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        c_in, m = layer.input.shape[-1], layer.depth_multiplier
        per_position = arithmetic.depthwise_conv2d_params(kh, kw, c_in, depth_multiplier=m,
                                                          bias=False)  # fmt: skip
        params = arithmetic.depthwise_conv2d_params(kh, kw, c_in, depth_multiplier=m, bias=bias)
        ho, wo = _spatial_output(layer)
        return LayerCost(layer.name, "DepthwiseConv2D", params, ho * wo * per_position)
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        c_in, c_out = layer.input.shape[-1] // layer.groups, layer.filters
        params = arithmetic.conv2d_params(kh, kw, c_in, c_out, bias=bias)
        ho, wo = _spatial_output(layer)
        return LayerCost(layer.name, "Conv2D", params,
                         arithmetic.conv2d_macs(ho, wo, kh, kw, c_in, c_out))  # fmt: skip
    if isinstance(layer, keras.layers.Dense):
        n_in, n_out = layer.input.shape[-1], layer.units
        params = arithmetic.dense_params(n_in, n_out, bias=bias)
        return LayerCost(layer.name, "Dense", params, arithmetic.dense_macs(n_in, n_out))
    return None


def model_costs(model: keras.Model) -> list[LayerCost]:
    """The LayerCost of every Conv2D, DepthwiseConv2D and Dense layer of `model`, in order."""
    costs = [layer_cost(layer) for layer in model.layers]
    return [cost for cost in costs if cost is not None]


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one example through the weight layers of `model`."""
    return sum(cost.macs for cost in model_costs(model))
