"""Lab 5's checks (cnncourse.grading.lab_checks.lab5): each typical slip in a Keras block is
named on the first line with its catalogue id, read from the layers the block builds (or from
the tensors it had made when Keras refused to build it); right blocks, however written, pass.

The slow twin runs these slips through `nbgrader validate` (tests/labs/test_typical_mistakes.py).
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from cnncourse.grading import checks, lab_checks

pytestmark = [pytest.mark.keras, pytest.mark.backend_neutral]


def first_line_and_ids(run) -> tuple[str, list[str], str]:
    with pytest.raises(AssertionError) as failure:
        run()
    text = str(failure.value)
    return text.splitlines()[0], checks.mistake_ids_in(text), text


# ------------------------------------------------------------------ blocks as students write them
def conv(t, filters, size, *, relu=True, padding="same"):
    return layers.Conv2D(filters, size, padding=padding,
                         activation="relu" if relu else None)(t)


def vgg(x, filters, convs, *, relu=True, pool_every=False, pool_strides=2, padding="same"):
    for _ in range(convs):
        x = conv(x, filters, 3, relu=relu, padding=padding)
        if pool_every:
            x = layers.MaxPooling2D(2)(x)
    return x if pool_every else layers.MaxPooling2D(2, strides=pool_strides)(x)


def residual(x, filters, *, second_relu=False, final_relu=True, relu_before_add=False,
             project="when needed"):
    shortcut = x
    if project == "always" or (project == "when needed" and x.shape[-1] != filters):
        shortcut = layers.Conv2D(filters, 1)(x)
    y = conv(conv(x, filters, 3), filters, 3, relu=second_relu)
    if relu_before_add:
        y = layers.ReLU()(y)
    added = layers.Add()([shortcut, y])
    return layers.Activation("relu")(added) if final_relu else added


def inception(x, f1, f3r, f3, f5r, f5, fp, *, reduce3=True, reduce5=True, axis=-1,
              pool_proj=True, pool_padding="same", pool_strides=1):
    branch3 = conv(conv(x, f3r, 1), f3, 3) if reduce3 else conv(x, f3, 3)
    branch5 = conv(conv(x, f5r, 1), f5, 5) if reduce5 else conv(x, f5, 5)
    pooled = layers.MaxPooling2D(3, strides=pool_strides, padding=pool_padding)(x)
    branch_pool = conv(pooled, fp, 1) if pool_proj else pooled
    return layers.Concatenate(axis=axis)([conv(x, f1, 1), branch3, branch5, branch_pool])


def separable(x, filters, *, depthwise=True, depthwise_relu=True, pointwise_relu=True):
    if depthwise:
        x = layers.DepthwiseConv2D(3, padding="same",
                                   activation="relu" if depthwise_relu else None)(x)
    else:
        x = conv(x, x.shape[-1], 3)
    return conv(x, filters, 1, relu=pointwise_relu)


def using(block, **slip):
    """The block with one slip, called as the notebook calls it (positional arguments)."""
    return lambda x, *args: block(x, *args, **slip)


INCEPTION_3A = ((28, 28, 192), (64, 96, 128, 16, 32, 32))
SMALL = ((9, 7, 5), (2, 3, 4, 5, 6, 7))

CASES = [
    ("vgg without ReLU", lambda: lab_checks.check_vgg_block(using(vgg, relu=False),
                                                            (32, 32, 3), 64, 2), "relu_missing"),
    ("vgg pooled after every conv", lambda: lab_checks.check_vgg_block(
        using(vgg, pool_every=True), (32, 32, 3), 64, 2), "vgg_pool_every_conv"),
    ("vgg pooling of stride 1", lambda: lab_checks.check_vgg_block(
        using(vgg, pool_strides=1), (32, 32, 3), 64, 2), "vgg_pool_stride"),
    ("vgg valid convolutions", lambda: lab_checks.check_vgg_block(
        using(vgg, padding="valid"), (32, 32, 3), 64, 2), "padding_valid"),
    ("residual ReLU on the second conv", lambda: lab_checks.check_residual_block(
        using(residual, second_relu=True), (8, 8, 16), 16), "residual_second_relu"),
    ("residual without the final ReLU", lambda: lab_checks.check_residual_block(
        using(residual, final_relu=False), (8, 8, 16), 16), "residual_no_final_relu"),
    ("residual ReLU before the add", lambda: lab_checks.check_residual_block(
        using(residual, final_relu=False, relu_before_add=True), (8, 8, 16), 16),
     "residual_relu_before_add"),
    ("residual always projected", lambda: lab_checks.check_residual_block(
        using(residual, project="always"), (8, 8, 16), 16), "residual_always_projected"),
    ("residual never projected (Keras refuses the add)", lambda: lab_checks.check_residual_block(
        using(residual, project="never"), (8, 8, 16), 32), "residual_not_projected"),
    ("inception 3x3 without reduction", lambda: lab_checks.check_inception_module(
        using(inception, reduce3=False), *INCEPTION_3A), "inception_no_reduction"),
    ("inception 5x5 without reduction", lambda: lab_checks.check_inception_module(
        using(inception, reduce5=False), *SMALL), "inception_no_reduction"),
    ("inception concatenated on axis 1 (Keras refuses)", lambda: (
        lab_checks.check_inception_module(using(inception, axis=1), *INCEPTION_3A)),
     "concat_axis"),
    ("inception pool branch not projected", lambda: lab_checks.check_inception_module(
        using(inception, pool_proj=False), *INCEPTION_3A), "inception_pool_not_projected"),
    ("inception pooling 'valid' (Keras refuses)", lambda: lab_checks.check_inception_module(
        using(inception, pool_padding="valid"), *INCEPTION_3A), "padding_valid"),
    ("inception pooling of stride 3 (Keras refuses)", lambda: (
        lab_checks.check_inception_module(using(inception, pool_strides=3), *INCEPTION_3A)),
     "stride_changes_size"),
    ("separable with a full Conv2D", lambda: lab_checks.check_separable_block(
        using(separable, depthwise=False), (16, 16, 32), 64), "separable_no_depthwise"),
    ("separable without the pointwise ReLU", lambda: lab_checks.check_separable_block(
        using(separable, pointwise_relu=False), (16, 16, 32), 64), "relu_missing"),
    ("separable without the depthwise ReLU", lambda: lab_checks.check_separable_block(
        using(separable, depthwise_relu=False), (16, 16, 32), 64), "relu_missing"),
    ("separable with SeparableConv2D", lambda: lab_checks.check_separable_block(
        lambda x, f: layers.SeparableConv2D(f, 3, padding="same", activation="relu")(x),
        (16, 16, 32), 64), "separable_layer_used"),
    ("cost ratio 1/k", lambda: lab_checks.check_separable_cost_ratio(
        lambda k, n: 1 / n + 1 / k, 3, 512), "cost_ratio_k_not_squared"),
    ("cost ratio inverted", lambda: lab_checks.check_separable_cost_ratio(
        lambda k, n: 1 / (1 / n + 1 / k**2), 3, 512), "cost_ratio_inverted"),
    ("cost ratio without 1/N", lambda: lab_checks.check_separable_cost_ratio(
        lambda k, n: 1 / k**2, 3, 512), "cost_ratio_term_missing"),
]


@pytest.mark.parametrize(("what", "run", "mistake"), CASES, ids=[c[0] for c in CASES])
def test_a_lab5_mistake_is_named_first(what, run, mistake):
    first, ids, text = first_line_and_ids(run)
    assert ids == [mistake], f"{what}: {text}"
    assert checks.MISTAKES[mistake] in first, f"{what}: {text}"
    assert all(len(line) <= checks.LINE for line in text.splitlines()), text


def test_a_crash_while_building_names_the_students_line_and_the_cause():
    def residual_block(x, filters):
        y = conv(conv(x, filters, 3), filters, 3, relu=False)
        return layers.Activation("relu")(layers.Add()([x, y]))  # the student's line

    _, ids, text = first_line_and_ids(
        lambda: lab_checks.check_residual_block(residual_block, (8, 8, 16), 32))
    assert ids == ["residual_not_projected"]
    assert "return layers.Activation(\"relu\")(layers.Add()([x, y]))" in text.replace("\n  ",
                                                                                     " ")


def keras_ops_residual(x, filters):
    """A right residual block written with keras.ops and a shared-nothing `+`."""
    shortcut = x if x.shape[-1] == filters else layers.Conv2D(filters, 1)(x)
    y = layers.Conv2D(filters, 3, padding="same")(x)
    y = layers.Conv2D(filters, 3, padding="same")(keras.ops.relu(y))
    return keras.ops.relu(y + shortcut)


def branches_in_another_order(x, f1, f3r, f3, f5r, f5, fp):
    pooled = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    return keras.ops.concatenate([conv(pooled, fp, 1), conv(conv(x, f5r, 1), f5, 5),
                                  conv(conv(x, f3r, 1), f3, 3), conv(x, f1, 1)], axis=3)


def separate_activations(x, filters):
    x = layers.ReLU()(layers.DepthwiseConv2D(3, padding="same")(x))
    return layers.Activation("relu")(layers.Conv2D(filters, 1)(x))


def test_right_blocks_pass_however_they_are_written():
    for block in (vgg, lambda x, f, n: vgg(x, f, n, pool_strides=None)):
        lab_checks.check_vgg_block(block, (32, 32, 3), 64, 2)
        lab_checks.check_vgg_block(block, (24, 16, 5), 12, 3)
    for block in (residual, keras_ops_residual):
        for shape, filters in (((8, 8, 16), 16), ((8, 8, 16), 32), ((6, 10, 4), 7)):
            lab_checks.check_residual_block(block, shape, filters)
    for block in (inception, branches_in_another_order):
        lab_checks.check_inception_module(block, *INCEPTION_3A)
        lab_checks.check_inception_module(block, *SMALL)
    for block in (separable, separate_activations):
        lab_checks.check_separable_block(block, (16, 16, 32), 64)
        lab_checks.check_separable_block(block, (5, 9, 6), 11)
    lab_checks.check_separable_cost_ratio(lambda k, n: (k * k + n) / (k * k * n), 3, 512)


def test_the_graph_lists_each_call_with_what_it_reads():
    inputs = keras.Input(shape=(8, 8, 4))
    shared = layers.Conv2D(4, 3, padding="same")
    graph = lab_checks.BlockGraph(shared(shared(inputs)) + inputs)
    kinds = [step.kind for step in graph.steps]
    assert kinds == ["input", "conv", "conv", "add"]  # the shared layer's two calls
    assert graph.steps[3].inputs == (2, 0) and graph.steps[2].inputs == (1,)


def test_a_block_that_returns_no_tensor_is_told_so():
    first, ids, _ = first_line_and_ids(lambda: lab_checks.check_vgg_block(
        lambda x, f, n: None, (32, 32, 3), 64, 2))
    assert ids == ["returned_none"]
    first, _, text = first_line_and_ids(lambda: lab_checks.check_separable_block(
        lambda x, f: keras.Model(x, x), (16, 16, 32), 64))
    assert "must return the block's output tensor" in first and "got Functional" in text
