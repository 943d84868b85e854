"""The model zoo of chapter 8: Keras 3 builders, one module per family.

Every builder is a plain function named after its network that takes `input_shape` (H, W, C)
and `num_classes` keywords and returns an uncompiled `keras.Model` with random weights, whose
output is a float32 softmax (N, num_classes). Each docstring cites its paper and gives its
parameter count; tests/models checks those counts against Keras Applications and the papers.
"""

from __future__ import annotations

from cnncourse.models.alexnet import LocalResponseNormalization, alexnet
from cnncourse.models.densenet import densenet121
from cnncourse.models.googlenet import googlenet, inception_module
from cnncourse.models.lenet import SparselyConnectedConv2D, lenet5
from cnncourse.models.mobilenet import mobilenet
from cnncourse.models.resnet import cifar_resnet, resnet
from cnncourse.models.vgg import vgg

__all__ = [
    "LocalResponseNormalization",
    "SparselyConnectedConv2D",
    "alexnet",
    "cifar_resnet",
    "densenet121",
    "googlenet",
    "inception_module",
    "lenet5",
    "mobilenet",
    "resnet",
    "vgg",
]
