"""Parameter counts of the model zoo against Keras Applications, the papers and arithmetic.py.

Every model is built once, with random weights (nothing is downloaded). Reference figures:
- Keras Applications built with weights=None (exact equality).
- VGG: Simonyan & Zisserman (2015), Table 2: A, A-LRN, B 133 M, C 134 M, D 138 M, E 144 M.
- AlexNet: Krizhevsky et al. (2012), Section 1 "60 million parameters"; the BVLC reference
  Caffe model (two groups) has 60,965,224, which is the figure tested to 1%.
- ResNet-18/34: torchvision's model documentation, 11,689,512 and 21,797,672 trainable
  parameters (the same networks without convolution biases and batch-norm statistics).
- GoogLeNet: Szegedy et al. (2015), Table 1; its rows add up to 6,797.7 K weights with
  K = 1024 (checked on the inception 3a row: 163,328 weights = 159.5 K), 6,960,845.
- MobileNet: Howard et al. (2017), Table 6: 4.2, 2.6, 1.3 and 0.5 M parameters,
  569, 325, 149 and 41 M multiply-adds for alpha 1, 0.75, 0.5, 0.25.
- ResNet multiply-adds: He et al. (2016), Table 1: 1.8, 3.6, 3.8, 7.6, 11.3 x 10^9.
"""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest

from cnncourse import models
from cnncourse.models.cost import layer_cost, model_costs, multiply_adds

pytestmark = pytest.mark.keras

KERAS_TWINS = [
    # (our builder, Keras Applications constructor)
    pytest.param(lambda: models.vgg("D"), keras.applications.VGG16, id="vgg-D=VGG16"),
    pytest.param(lambda: models.vgg("E"), keras.applications.VGG19, id="vgg-E=VGG19"),
    pytest.param(lambda: models.resnet(50), keras.applications.ResNet50, id="resnet50"),
    pytest.param(lambda: models.resnet(101), keras.applications.ResNet101, id="resnet101"),
    pytest.param(lambda: models.resnet(152), keras.applications.ResNet152, id="resnet152"),
    pytest.param(models.densenet121, keras.applications.DenseNet121, id="densenet121"),
    pytest.param(models.mobilenet, keras.applications.MobileNet, id="mobilenet-1.0"),
]


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def assert_arithmetic_matches_keras(model: keras.Model) -> None:
    """Every Conv2D, DepthwiseConv2D and Dense layer: arithmetic.py's count == Keras's count."""
    costs = model_costs(model)
    assert costs, f"{model.name} has no weight layers to check"
    for cost in costs:
        assert cost.params == model.get_layer(cost.name).count_params(), cost


@pytest.mark.parametrize(("build", "keras_twin"), KERAS_TWINS)
def test_count_equals_keras_applications(build, keras_twin):
    ours = build()
    expected = keras_twin(weights=None).count_params()
    assert ours.count_params() == expected
    assert_arithmetic_matches_keras(ours)
    del ours
    gc.collect()


PUBLISHED = [
    # (builder, published count, source), compared within 1%
    pytest.param(lambda: models.vgg("A"), 133e6, id="vgg-A Table 2"),
    pytest.param(lambda: models.vgg("A-LRN"), 133e6, id="vgg-A-LRN Table 2"),
    pytest.param(lambda: models.vgg("B"), 133e6, id="vgg-B Table 2"),
    pytest.param(lambda: models.vgg("C"), 134e6, id="vgg-C Table 2"),
    pytest.param(lambda: models.vgg("D"), 138e6, id="vgg-D Table 2"),
    pytest.param(lambda: models.vgg("E"), 144e6, id="vgg-E Table 2"),
    pytest.param(models.alexnet, 60_965_224, id="alexnet Caffe reference"),
    pytest.param(lambda: models.resnet(18), 11_689_512, id="resnet18 torchvision"),
    pytest.param(lambda: models.resnet(34), 21_797_672, id="resnet34 torchvision"),
    pytest.param(models.googlenet, 6_797.7 * 1024, id="googlenet Table 1"),
    pytest.param(models.mobilenet, 4.2e6, id="mobilenet-1.0 Table 6"),
]


@pytest.mark.parametrize(("build", "published"), PUBLISHED)
def test_trainable_count_matches_published_within_1_percent(build, published):
    model = build()
    assert trainable_count(model) == pytest.approx(published, rel=0.01)
    assert_arithmetic_matches_keras(model)
    del model
    gc.collect()


@pytest.mark.parametrize(
    ("alpha", "params_m", "macs_m"),
    [(1.0, 4.2, 569), (0.75, 2.6, 325), (0.5, 1.3, 149), (0.25, 0.5, 41)],
)
def test_mobilenet_width_multiplier_matches_table_6(alpha, params_m, macs_m):
    model = models.mobilenet(alpha)
    keras_model = keras.applications.MobileNet(alpha=alpha, weights=None)
    assert model.count_params() == keras_model.count_params()
    # Table 6 prints parameters to 0.1 M and multiply-adds to 1 M
    assert round(trainable_count(model) / 1e6, 1) == params_m
    assert round(multiply_adds(model) / 1e6) == macs_m


@pytest.mark.parametrize(
    ("depth", "giga_macs"), [(18, 1.8), (34, 3.6), (50, 3.8), (101, 7.6), (152, 11.3)]
)
def test_resnet_multiply_adds_match_table_1(depth, giga_macs):
    # Table 1 rounds to 0.1 G; our ResNet-34 has 3.66 G, hence 2%.
    assert multiply_adds(models.resnet(depth)) / 1e9 == pytest.approx(giga_macs, rel=0.02)


@pytest.mark.parametrize(
    ("depth", "params_m", "digits"), [(20, 0.27, 2), (32, 0.46, 2), (56, 0.85, 2), (110, 1.7, 1)]
)
def test_cifar_resnet_matches_table_6_to_printed_digits(depth, params_m, digits):
    """He et al. (2016), Table 6 prints 0.27 M, 0.46 M, 0.85 M and 1.7 M."""
    model = models.cifar_resnet(depth)
    assert round(trainable_count(model) / 1e6, digits) == params_m
    assert_arithmetic_matches_keras(model)


def weight_layers(model: keras.Model) -> list[str]:
    return [c.name for c in model_costs(model) if not c.name.endswith("_0_conv")]


@pytest.mark.parametrize(("depth"), [20, 56])
def test_cifar_resnet_has_depth_weight_layers_and_parameter_free_shortcuts(depth):
    # 6n+2 = first conv + 6n convs in blocks + classifier; option A adds no layer with weights
    assert len(model_costs(models.cifar_resnet(depth))) == depth


@pytest.mark.parametrize(("depth"), [18, 50])
def test_imagenet_resnet_depth_counts_weight_layers_outside_projections(depth):
    assert len(weight_layers(models.resnet(depth, input_shape=(32, 32, 3)))) == depth


@pytest.mark.parametrize(
    ("config", "depth"), [("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16), ("D", 16), ("E", 19)]
)
def test_vgg_configurations_have_the_papers_depth(config, depth):
    assert len(model_costs(models.vgg(config, input_shape=(32, 32, 3), num_classes=10))) == depth


@pytest.fixture(scope="module")
def small_googlenet() -> keras.Model:
    return models.googlenet(input_shape=(64, 64, 3), num_classes=10)


@pytest.mark.parametrize(
    ("module", "kilo"),
    [("3a", 159), ("3b", 380), ("4a", 364), ("4b", 437), ("4e", 840)],
)  # fmt: skip
def test_googlenet_inception_weights_match_table_1(small_googlenet, module, kilo):
    """Table 1, params column (K = 1024), which counts weights without biases.

    Rows 4c, 4d, 5a and 5b of Table 1 disagree with the widths printed in the same rows (4c's
    widths give 509,440 weights = 497.5 K, the table says 463 K), so they are not tested; the
    total still agrees within 1% (test_trainable_count_matches_published_within_1_percent).
    """
    prefix = f"inception{module}_"
    names = [c.name for c in model_costs(small_googlenet) if c.name.startswith(prefix)]
    assert len(names) == 6
    weights = sum(int(np.prod(small_googlenet.get_layer(n).kernel.shape)) for n in names)
    assert weights / 1024 == pytest.approx(kilo, rel=0.01)


def test_googlenet_auxiliary_classifiers_add_outputs():
    model = models.googlenet(auxiliary_classifiers=True, num_classes=10)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 10)] * 3


def test_layer_cost_ignores_layers_without_weights():
    assert layer_cost(keras.layers.ReLU()) is None
