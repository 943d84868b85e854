"""The model zoo of chapter 8: Keras 3 builders, one module per family.

Every builder is a plain function named after its network that takes `input_shape` (H, W, C)
and `num_classes` keywords and returns an uncompiled `keras.Model` with random weights, whose
output is a float32 softmax (N, num_classes). Each docstring cites its paper and gives its
parameter count; tests/models checks those counts against Keras Applications and the papers.
The segmentation network of chapter 9, `encoder_decoder`, outputs one softmax per pixel,
(N, H, W, num_classes).
"""

from __future__ import annotations

from functools import partial

from cnncourse.models.alexnet import LocalResponseNormalization, alexnet
from cnncourse.models.densenet import densenet121
from cnncourse.models.googlenet import googlenet, inception_module
from cnncourse.models.lenet import SparselyConnectedConv2D, lenet5
from cnncourse.models.mobilenet import mobilenet
from cnncourse.models.resnet import cifar_resnet, resnet
from cnncourse.models.segmentation import encoder_decoder
from cnncourse.models.vgg import vgg

__all__ = [
    "MODELS",
    "LocalResponseNormalization",
    "SparselyConnectedConv2D",
    "alexnet",
    "cifar_resnet",
    "densenet121",
    "encoder_decoder",
    "googlenet",
    "inception_module",
    "lenet5",
    "mobilenet",
    "resnet",
    "vgg",
]

# Registry used by `cnncourse train`: name -> builder taking input_shape and num_classes.
MODELS = {
    "lenet5": lenet5,
    "lenet5_modern": partial(lenet5, variant="modern"),
    "alexnet": alexnet,
    **{f"vgg{depth}": partial(vgg, config) for config, depth in
       (("A", 11), ("B", 13), ("D", 16), ("E", 19))},
    "googlenet": googlenet,
    **{f"resnet{depth}": partial(resnet, depth) for depth in (18, 34, 50, 101, 152)},
    **{f"cifar_resnet{depth}": partial(cifar_resnet, depth) for depth in (20, 56, 110)},
    "densenet121": densenet121,
    "mobilenet": mobilenet,
    "mobilenet_0.25": partial(mobilenet, 0.25),
}  # fmt: skip
