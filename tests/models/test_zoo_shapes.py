"""Output shapes of every builder on small inputs, and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from cnncourse import models

pytestmark = pytest.mark.keras

SMALL_BUILDS = [
    # (builder, small input shape (H, W, C), classes)
    pytest.param(lambda s, k: models.lenet5(input_shape=s, num_classes=k), (32, 32, 1), 10,
                 id="lenet5"),
    pytest.param(lambda s, k: models.lenet5(input_shape=s, num_classes=k, variant="modern"),
                 (32, 32, 1), 10, id="lenet5-modern"),
    pytest.param(lambda s, k: models.alexnet(input_shape=s, num_classes=k), (67, 67, 3), 5,
                 id="alexnet"),
    pytest.param(lambda s, k: models.vgg("A-LRN", input_shape=s, num_classes=k), (32, 32, 3), 7,
                 id="vgg-A-LRN"),
    pytest.param(lambda s, k: models.resnet(18, input_shape=s, num_classes=k), (32, 32, 3), 7,
                 id="resnet18"),
    pytest.param(lambda s, k: models.cifar_resnet(20, input_shape=s, num_classes=k), (32, 32, 3),
                 10, id="cifar_resnet20"),
    pytest.param(lambda s, k: models.mobilenet(0.25, input_shape=s, num_classes=k), (32, 32, 1),
                 3, id="mobilenet-0.25"),
]  # fmt: skip
# Deep graphs whose eager forward pass takes tens of seconds under JAX: symbolic shapes only.
# Symbolic shapes are the same on every backend: the layers these graphs use run under JAX in
# the small builds above (LocalResponseNormalization in alexnet and vgg-A-LRN) and in
# test_custom_layers.py, so they run under TensorFlow alone (building googlenet under JAX took
# 29 s of CPU).
DEEP_BUILDS = [
    pytest.param(lambda s, k: models.resnet(50, input_shape=s, num_classes=k), (32, 32, 3), 7,
                 id="resnet50"),
    pytest.param(lambda s, k: models.googlenet(input_shape=s, num_classes=k), (32, 32, 3), 4,
                 id="googlenet"),
    pytest.param(lambda s, k: models.densenet121(input_shape=s, num_classes=k), (32, 32, 3), 4,
                 id="densenet121"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "input_shape", "num_classes"), SMALL_BUILDS)
def test_output_is_a_probability_per_class(build, input_shape, num_classes):
    model = build(input_shape, num_classes)
    x = np.random.default_rng(0).random((2, *input_shape), dtype=np.float32)
    probabilities = np.asarray(model(x, training=False))
    assert probabilities.shape == (2, num_classes)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.backend_neutral
@pytest.mark.parametrize(("build", "input_shape", "num_classes"), DEEP_BUILDS)
def test_deep_models_take_small_inputs(build, input_shape, num_classes):
    model = build(input_shape, num_classes)
    assert tuple(model.input.shape) == (None, *input_shape)
    assert tuple(model.output.shape) == (None, num_classes)
    assert model.output.dtype == "float32"


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    ("layer", "shape"),
    [("C1", (28, 28, 6)), ("S2", (14, 14, 6)), ("C3", (10, 10, 16)), ("S4", (5, 5, 16)),
     ("C5", (1, 1, 120)), ("F6", (84,))],
)  # fmt: skip
@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_lenet5_feature_maps_have_the_papers_sizes(variant, layer, shape):
    """LeCun et al. (1998), Section II.B: C1 6@28x28, S2 6@14x14, C3 16@10x10, ..."""
    model = models.lenet5(variant=variant)
    assert tuple(model.get_layer(layer).output.shape[1:]) == shape


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    ("depth", "sizes"), [(18, (56, 28, 14, 7)), (50, (56, 28, 14, 7))]
)
def test_resnet_stages_run_at_56_28_14_7_pixels(depth, sizes):
    """He et al. (2016), Table 1, output sizes of conv2_x to conv5_x for a 224 input."""
    model = models.resnet(depth)
    last_blocks = {2: 2, 3: 2, 4: 2, 5: 2} if depth == 18 else {2: 3, 3: 4, 4: 6, 5: 3}
    for stage, size in zip((2, 3, 4, 5), sizes, strict=True):
        out = model.get_layer(f"conv{stage}_block{last_blocks[stage]}_out").output
        assert tuple(out.shape[1:3]) == (size, size)


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    ("call", "received"),
    [
        (lambda: models.vgg("F"), "'F'"),
        (lambda: models.resnet(42), "42"),
        (lambda: models.cifar_resnet(21), "21"),
        (lambda: models.mobilenet(0), "0"),
        (lambda: models.lenet5(variant="new"), "'new'"),
        (lambda: models.alexnet(groups=3), "3"),
        (lambda: models.LocalResponseNormalization(depth=4), "4"),
    ],
)
def test_bad_arguments_raise_value_error_naming_what_was_received(call, received):
    with pytest.raises(ValueError, match=received):
        call()
