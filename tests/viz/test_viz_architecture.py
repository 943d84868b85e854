"""Architecture diagrams are read from the Keras model: change the model, the drawing changes."""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnncourse import models
from cnncourse.models.segmentation import encoder_decoder
from cnncourse.viz.architecture import (
    architecture_graph,
    plot_architecture,
    plot_architectures,
    plot_vgg_configurations,
    vgg_column,
)

# Drawn from the built layers' configs and shapes: the same on every backend, run under one.
pytestmark = [pytest.mark.keras, pytest.mark.backend_neutral]

PAGE_PIXELS = 700  # the book's text column
MIN_POINTS = 9  # legible at the column width
# A 390 px phone's text column (measured in Chromium: 358 px), where a phone diagram is shown at
# its drawn size; 7 pt at 100 dpi is 9.7 px, the least legible size (9 px) with room.
PHONE_PIXELS = 358
MIN_PHONE_POINTS = 7
VGG_CONFIGURATIONS = ("A", "A-LRN", "B", "C", "D", "E")


@functools.cache
def built(builder: Callable[..., keras.Model], *args, **kwargs) -> keras.Model:
    """builder(*args, **kwargs), a model of the zoo, built once for this module: ResNet-50 or
    GoogLeNet take seconds to build, and drawing a model never changes it."""
    return builder(*args, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def forget_built_models():
    """The models of `built` are freed when the module ends: the six full-size VGGs alone hold
    3.3 GB, which the next modules of this process should not carry."""
    yield
    built.cache_clear()


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def rendered(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def tiny_cnn(filters: int, kernel: int) -> keras.Model:
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(filters, kernel, activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="out")(x))


def test_lenet_boxes_are_its_layers_with_the_papers_shapes_and_counts():
    boxes = architecture_graph(built(models.lenet5, variant="modern"))
    table = [(b.label, b.shape_text, b.params) for b in boxes]
    assert table == [
        ("input", "32×32×1", 0),
        ("5×5 conv, 6 → ReLU", "28×28×6", 156),  # 6 * (25 + 1)
        ("2×2 max pool, stride 2", "14×14×6", 0),
        ("5×5 conv, 16 → ReLU", "10×10×16", 2_416),  # 16 * (150 + 1)
        ("2×2 max pool, stride 2", "5×5×16", 0),
        ("5×5 conv, 120 → ReLU → flatten", "120", 48_120),
        ("dense, 84 → ReLU", "84", 10_164),
        ("dense, 10 → softmax", "10", 850),
    ]
    assert [b.inputs for b in boxes] == [[], [0], [1], [2], [3], [4], [5], [6]]


def test_classic_lenet_draws_its_sparse_c3_and_trainable_subsampling():
    labels = [b.label for b in architecture_graph(built(models.lenet5))]
    assert "5×5 conv, 16, sparse → tanh" in labels
    assert labels.count("× weight + bias per map → tanh") == 2  # S2 and S4


@pytest.mark.parametrize(("filters", "kernel"), [(4, 3), (7, 5)])
def test_changing_the_model_changes_the_drawing(filters, kernel):
    fig = plot_architecture(tiny_cnn(filters, kernel))
    size = 12 - kernel + 1
    drawn = texts(fig)
    assert f"{kernel}×{kernel} conv, {filters} → ReLU" in drawn
    assert f"{size}×{size}×{filters}" in drawn
    assert f"{filters * (kernel * kernel * 3 + 1):,}" in drawn


def test_every_layer_is_in_exactly_one_box_and_nothing_is_folded_when_asked():
    model = built(models.alexnet)
    folded = architecture_graph(model)
    names = [n for b in folded for n in b.names]
    assert sorted(names) == sorted(layer.name for layer in model.layers)
    assert sum(b.params for b in folded) == model.count_params()
    assert len(architecture_graph(model, fold=())) == len(model.layers)
    assert [b.label for b in folded][1] == "11×11 conv, 96, stride 4 → ReLU → LRN"
    assert "5×5 conv, 256, 2 groups → ReLU → LRN" in [b.label for b in folded]


def test_inception_module_has_four_branches_in_the_papers_order_into_one_concatenation():
    boxes = architecture_graph(built(models.googlenet), layers="inception3a")
    labels = [b.label for b in boxes]
    assert labels[0] == "input" and boxes[0].shape_text == "28×28×192"
    concat = boxes[labels.index("concatenate")]
    assert concat.shape_text == "28×28×256"  # 64 + 128 + 32 + 32
    assert [boxes[i].label for i in concat.inputs] == [
        "1×1 conv, 64 → ReLU", "3×3 conv, 128 → ReLU", "5×5 conv, 32 → ReLU",
        "1×1 conv, 32 → ReLU"]  # fmt: skip
    assert sum(1 for b in boxes if b.inputs == [0]) == 4  # four branches leave the input


def test_residual_block_adds_the_unchanged_input_and_draws_it_as_identity():
    boxes = architecture_graph(built(models.resnet, 18), layers="conv3_block2_")
    add = next(b for b in boxes if b.steps[0] == "add")
    assert add.label == "add → ReLU"
    assert 0 in add.inputs  # the block's input itself, with no layer on the way
    assert [b.label for b in boxes[1:3]] == ["3×3 conv, 128 → BN → ReLU", "3×3 conv, 128 → BN"]
    assert "identity" in texts(plot_architectures([("basic", boxes)]))


def test_projection_shortcut_is_a_strided_1x1_convolution_beside_the_bottleneck():
    boxes = architecture_graph(built(models.resnet, 50), layers="conv3_block1_")
    add = next(b for b in boxes if b.steps[0] == "add")
    shortcut = boxes[add.inputs[0]]
    assert shortcut.label == "1×1 conv, 512, stride 2 → BN" and shortcut.inputs == [0]
    assert shortcut.params == 256 * 512 + 512 + 4 * 512  # weights, bias, BN's 4 per channel


def test_dense_block_concatenates_and_grows_by_the_growth_rate():
    boxes = architecture_graph(built(models.densenet121),
                               layers=("conv2_block1_", "conv2_block2_"))  # fmt: skip
    concats = [b for b in boxes if b.label == "concatenate"]
    assert [c.shape_text for c in concats] == ["56×56×96", "56×56×128"]  # 64 + 32 + 32
    assert 0 in concats[0].inputs  # the block's input is kept, not replaced
    assert boxes[1].label == "BN → ReLU → 1×1 conv, 128 → BN → ReLU"


def test_depthwise_separable_block_is_depthwise_then_pointwise():
    boxes = architecture_graph(built(models.mobilenet, 0.25), layers="block3_")
    assert [b.label for b in boxes] == ["input", "3×3 depthwise → BN → ReLU",
                                        "1×1 conv, 32 → BN → ReLU"]  # fmt: skip
    assert [b.kind for b in boxes] == ["input", "depthwise", "conv"]


@pytest.mark.parametrize("skips", [True, False])
def test_encoder_decoder_skips_appear_only_when_the_model_has_them(skips):
    boxes = architecture_graph(encoder_decoder(skip_connections=skips))
    concats = [b for b in boxes if b.label == "concatenate"]
    assert len(concats) == (2 if skips else 0)
    transposed = [b for b in boxes if b.kind == "transposed"]
    assert [b.shape_text for b in transposed] == ["16×16×32", "32×32×16"]
    assert boxes[-1].shape_text == "32×32×4"


def test_vgg_columns_follow_table_1_and_a_lrn_adds_only_lrn():
    assert vgg_column(built(models.vgg, "A-LRN", input_shape=(32, 32, 3)))[0] == ["conv3-64", "LRN"]
    column_c = vgg_column(built(models.vgg, "C", input_shape=(32, 32, 3)))
    assert column_c[2] == ["conv3-256", "conv3-256", "conv1-256"]
    assert column_c[-1] == ["FC-4096", "FC-4096", "FC-1000", "soft-max"]
    fig = plot_vgg_configurations({c: built(models.vgg, c, input_shape=(32, 32, 3)) for c in "AE"})
    drawn = texts(fig)
    assert "A\n11 layers" in drawn and "E\n19 layers" in drawn
    assert drawn.count("conv3-512") == 4 + 8  # A: 2 + 2, E: 4 + 4


@pytest.mark.parametrize("build", [
    lambda: plot_architecture(built(models.alexnet), show_names=True),
    lambda: plot_architecture(built(models.googlenet), layers="inception4e"),
    lambda: plot_architecture(encoder_decoder(), show_names=True),
])  # fmt: skip
def test_diagram_fits_the_page_with_legible_text_inside_it(build):
    fig = build()
    renderer = rendered(fig)
    assert fig.bbox.width <= PAGE_PIXELS
    for ax in fig.axes:
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert text.get_fontsize() >= MIN_POINTS - 0.5, text.get_text()
            assert 0 <= box.x0 and box.x1 <= fig.bbox.width + 1, text.get_text()


def overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes[:i])
            if a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1]


def two_blocks(layout: str):
    return plot_architectures([
        ("basic block", architecture_graph(built(models.resnet, 18), layers="conv3_block2_")),
        ("bottleneck block", architecture_graph(built(models.resnet, 50), layers="conv3_block1_")),
    ], layout=layout)  # fmt: skip


@pytest.mark.parametrize("build", [
    lambda: plot_architecture(built(models.alexnet), show_names=True, layout="phone"),
    lambda: plot_architecture(built(models.googlenet), layers="inception3a", layout="phone"),
    lambda: two_blocks("phone"),
    lambda: plot_vgg_configurations({c: built(models.vgg, c) for c in ("A", "B", "C", "E")},
                                    layout="phone"),
])  # fmt: skip
def test_phone_layout_fits_a_phone_with_legible_text_that_does_not_overlap(build):
    """The phone diagram is shown at its drawn size in a 390 px screen's column: none of its
    text is smaller than 7 pt (9.7 px), runs out of the figure or into another text."""
    fig = build()
    renderer = rendered(fig)
    assert fig.bbox.width <= PHONE_PIXELS
    extents = []
    for text in (t for ax in fig.axes for t in ax.texts if t.get_text()):
        box = text.get_window_extent(renderer)
        assert text.get_fontsize() >= MIN_PHONE_POINTS, text.get_text()
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width + 1, text.get_text()
        extents.append(box)
    assert not overlapping(extents)


def test_phone_layout_stacks_diagrams_that_the_page_draws_side_by_side():
    def title_positions(fig):
        renderer = rendered(fig)
        titles = [t for t in fig.axes[0].texts if t.get_text().endswith("block")]
        return [t.get_window_extent(renderer) for t in titles]

    basic, bottleneck = title_positions(two_blocks("page"))
    assert bottleneck.x0 > basic.x1 and abs(bottleneck.y0 - basic.y0) < 1  # side by side
    basic, bottleneck = title_positions(two_blocks("phone"))
    assert bottleneck.y1 < basic.y0 and abs(bottleneck.x0 - basic.x0) < 1  # one under the other


def test_phone_layout_of_vgg_sets_three_configurations_a_row():
    fig = plot_vgg_configurations({c: built(models.vgg, c) for c in VGG_CONFIGURATIONS},
                                  layout="phone")
    renderer = rendered(fig)
    headings = {t.get_text().split("\n")[0]: t.get_window_extent(renderer)
                for t in fig.axes[0].texts if "layers" in t.get_text()}
    assert len({round(h.y0) for h in headings.values()}) == 2  # two rows
    assert abs(headings["C"].x0 - headings["A"].x0) < 1 and headings["C"].y1 < headings["A"].y0
    assert abs(headings["E"].x0 - headings["B"].x0) < 1


def test_phone_layout_wraps_a_long_label_onto_lines_inside_its_box():
    """Inception's four branches share the phone's width: labels wrap at '→' and ', '."""
    fig = plot_architecture(built(models.googlenet), layers="inception3a", layout="phone")
    labels = texts(fig)
    assert "1×1 conv,\n64\n→ ReLU" in labels
    renderer = rendered(fig)
    patches = [p.get_window_extent(renderer) for p in fig.axes[0].patches]
    for text in fig.axes[0].texts:
        box = text.get_window_extent(renderer)
        assert any(p.x0 <= box.x0 and box.x1 <= p.x1 for p in patches), text.get_text()


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: architecture_graph(tiny_cnn(2, 3), layers="nothing"), "layers='nothing'"),
    (lambda: plot_architectures([]), "got none"),
    (lambda: plot_vgg_configurations({}), "got none"),
    (lambda: plot_architecture(tiny_cnn(2, 3), layout="tablet"), "got 'tablet'"),
    (lambda: plot_vgg_configurations({"A": built(models.vgg, "A")}, layout=7), "got 7"),
])  # fmt: skip
def test_bad_arguments_raise_value_error_naming_them(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
