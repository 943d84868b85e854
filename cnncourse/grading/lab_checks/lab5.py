"""The checks of lab 5 (lab5_model_zoo): the VGG, residual, Inception and depthwise separable
blocks built with the Keras functional API, and the cost ratio of a separable convolution.

A block check builds the student's block on a `keras.Input` (through `checks.call_own`, so a
crash names the student's line), reads the graph it made (`BlockGraph`: every operation from the
input to the returned tensor, with the operations it reads) and names the first piece that is
missing, extra or set wrong (a ReLU, a padding, a pooling's stride, a 1x1 reduction, the
shortcut, the concatenation's axis) before it compares the output shape and the parameter
count. When the block crashes while it is built (tensors that cannot be added or concatenated),
the tensors the student's function had made by then name the cause (`block_hint`).

Keras is imported when a check runs: the kernels of the numpy labs never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cnncourse import arithmetic
from cnncourse.grading import checks
from cnncourse.grading.checks import MISTAKES, call_own

# A diagnosis: (a key of MISTAKES or a free description, a detail line).
Diagnosis = tuple[str, str]


# ============================================================ the graph of a block
@dataclass(frozen=True)
class Step:
    """One call of a Keras operation in a block: a layer, or a keras.ops function."""

    operation: object
    kind: str  # "input", "conv", "depthwise", "separable", "maxpool", "relu", "add", ...
    inputs: tuple[int, ...]  # the steps it reads (indices into BlockGraph.steps)
    shape: tuple  # its output's shape, without the batch axis


def _is_relu(activation: object) -> bool:
    return getattr(activation, "__name__", None) == "relu"


def _kind(operation: object) -> str:
    import keras

    kinds = ((keras.layers.InputLayer, "input"), (keras.layers.DepthwiseConv2D, "depthwise"),
             (keras.layers.SeparableConv2D, "separable"), (keras.layers.Conv2D, "conv"),
             (keras.layers.MaxPooling2D, "maxpool"), (keras.layers.AveragePooling2D, "avgpool"),
             (keras.layers.ReLU, "relu"))
    for layer_class, kind in kinds:
        if isinstance(operation, layer_class):
            return kind
    if isinstance(operation, keras.layers.Activation):
        return "relu" if _is_relu(operation.activation) else "activation"
    # layers.Add and `a + b` (keras.ops), layers.Concatenate and ops.concatenate, ops.relu
    return type(operation).__name__.lower()


class BlockGraph:
    """The operations between a block's input and the tensor it returns, in the order they
    run (each call of a shared layer is a step of its own)."""

    def __init__(self, output: object):
        self.steps: list[Step] = []
        self._index: dict[int, int] = {}
        self.output = self._visit(output)

    def _visit(self, tensor: object) -> int:
        # KerasHistory (operation, node_index, tensor_index): the call that made the tensor
        operation, node_index, _ = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        if id(node) not in self._index:
            inputs = tuple(self._visit(t) for t in node.input_tensors)
            self._index[id(node)] = len(self.steps)
            self.steps.append(Step(operation, _kind(operation), inputs,
                                   tuple(node.output_tensors[0].shape[1:])))
        return self._index[id(node)]

    def of_kind(self, *kinds: str) -> list[int]:
        return [i for i, step in enumerate(self.steps) if step.kind in kinds]

    def convs(self, *sizes: int) -> list[int]:
        """The Conv2D steps, those of kernel sizes x sizes only when sizes are given."""
        return [i for i in self.of_kind("conv") if not sizes or self.kernel(i) in
                {(k, k) for k in sizes}]

    def layer(self, index: int) -> object:
        return self.steps[index].operation

    def kernel(self, index: int) -> tuple[int, ...]:
        return tuple(self.layer(index).kernel_size)

    def consumers(self, index: int) -> list[int]:
        return [i for i, step in enumerate(self.steps) if index in step.inputs]

    def relu_inside(self, index: int) -> bool:
        """Whether the step is a ReLU, or a layer with activation='relu'."""
        return self.steps[index].kind == "relu" or _is_relu(
            getattr(self.layer(index), "activation", None))

    def relu_after(self, index: int) -> bool:
        """Whether the step's output goes through a ReLU (its own activation or the next)."""
        return self.relu_inside(index) or any(self.steps[c].kind == "relu"
                                              for c in self.consumers(index))

    def reads_input(self, index: int) -> bool:
        return any(self.steps[i].kind == "input" for i in self.steps[index].inputs)

    def valid_padding(self, indices: Sequence[int]) -> list[int]:
        return [i for i in indices if getattr(self.layer(i), "padding", "same") == "valid"]


def _size(kernel: Sequence[int]) -> str:
    return "x".join(str(k) for k in kernel)


def _no_relu(graph: BlockGraph, indices: Sequence[int], what: str) -> Diagnosis | None:
    bare = [i for i in indices if not graph.relu_after(i)]
    if not bare:
        return None
    if len(indices) == 1:
        return "relu_missing", f"the {what} has none"
    return "relu_missing", _how_many(bare, indices, what, "have none")


def _padding(graph: BlockGraph, indices: Sequence[int], what: str) -> Diagnosis | None:
    valid = graph.valid_padding(indices)
    if not valid:
        return None
    return "padding_valid", _how_many(valid, indices, what, "have padding 'valid'")


def _how_many(found: Sequence[int], indices: Sequence[int], what: str, have: str) -> str:
    if len(found) == len(indices):
        return f"all {len(indices)} {what} {have}"
    return f"{len(found)} of the {len(indices)} {what} {have}"


# ============================================================ crashes while building
def _spatial(tensor: object) -> tuple:
    return tuple(tensor.shape[1:3])


def _size_change(tensor: object, size: tuple) -> Diagnosis | None:
    """The first step on the way to `tensor` that changes the image size `size`, as a cause."""
    graph = BlockGraph(tensor)
    for step in graph.steps:
        if not step.inputs or len(step.shape) != 3:
            continue
        before = graph.steps[step.inputs[0]].shape[:2]
        if before == size and step.shape[:2] != size:
            layer = step.operation
            window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", ())
            change = (f"{type(layer).__name__} {_size(window)} turns {_size(size)} into "
                      f"{_size(step.shape[:2])}")
            if getattr(layer, "padding", None) == "valid":
                return "padding_valid", change
            return "stride_changes_size", change
    return None


def block_hint(input_shape: Sequence[int], *, channels_change: bool = False) -> checks.CrashHint:
    """Names the cause of a crash while a block is built: a tensor of the student's whose image
    size differs from the input's (padding 'valid', a stride), tensors concatenated along the
    wrong axis, or (channels_change) a shortcut added without its projection."""
    size = tuple(input_shape[:2])

    def hint(variables: dict[str, object], error: BaseException) -> str | None:
        import keras

        for value in variables.values():
            if isinstance(value, keras.KerasTensor) and len(value.shape) == 4 and _spatial(
                    value) != size:
                found = _size_change(value, size)
                if found is not None:
                    return f"{found[0]}#{found[1]}"
        text = str(error).lower()
        if "concatenat" in text:
            return "concat_axis#all branches keep H and W; the channels differ"
        if channels_change and ("shape" in text or "broadcast" in text):
            return "residual_not_projected"
        return None

    return hint


# ============================================================ building and the common checks
def _build(label: str, block: Callable, input_shape: Sequence[int], args: Sequence[object],
           hint: checks.CrashHint | None) -> tuple[object, object, BlockGraph]:
    """(model, output tensor, graph) of the student's block on a keras.Input of input_shape."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    output = call_own(label, block, inputs, *args, crash_hint=hint)
    if output is None:
        raise checks.failure(label, MISTAKES["returned_none"], mistake="returned_none")
    if not isinstance(output, keras.KerasTensor):
        raise checks.failure(label, "must return the block's output tensor",
                             details=f"got {type(output).__name__}: return what the last layer "
                                     "returns when called on its input")
    try:
        model = keras.Model(inputs, output)
    except ValueError as error:
        raise checks.failure(label, "the output tensor is not computed from the input x",
                             details=str(error).split("\n")[0]) from None
    return model, output, BlockGraph(output)


def _fail(label: str, diagnosis: Diagnosis) -> None:
    cause, detail = diagnosis
    if cause in MISTAKES:
        raise checks.failure(label, MISTAKES[cause], details=detail, mistake=cause)
    raise checks.failure(label, cause, details=detail)


def _check_block(label: str, model: object, output: object, graph: BlockGraph,
                 diagnosis: Diagnosis | None, expected_shape: Sequence[int],
                 parts: Sequence[tuple[str, int]]) -> None:
    """A diagnosis found in the graph, then the output shape, then the parameters (parts:
    (what, parameters) of each layer the block must have)."""
    if diagnosis is not None:
        _fail(label, diagnosis)
    checks.check_equal(f"{label} output shape", tuple(output.shape[1:]), tuple(expected_shape))
    expected = sum(n for _, n in parts)
    got = int(model.count_params())
    if got != expected:
        raise checks.failure(label, f"{got} parameters, expected {expected}",
                             details=" + ".join(f"{n} ({what})" for what, n in parts))


# ============================================================ VGG
def vgg_diagnosis(graph: BlockGraph, filters: int, convs: int) -> Diagnosis | None:
    conv = graph.convs()
    if len(conv) != convs:
        return (f"{len(conv)} Conv2D layers, expected convs = {convs}",
                "the block repeats Conv2D 3x3 + ReLU convs times, then pools once")
    for i in conv:
        if graph.kernel(i) != (3, 3):
            return f"a Conv2D {_size(graph.kernel(i))}: VGG's convolutions are 3x3", ""
        if graph.layer(i).filters != filters:
            return f"a Conv2D with {graph.layer(i).filters} filters, expected {filters}", ""
    found = _padding(graph, conv, "Conv2D") or _no_relu(graph, conv, "Conv2D")
    if found is not None:
        return found
    pools = graph.of_kind("maxpool", "avgpool")
    if not pools:
        return "vgg_no_pool", ""
    if len(pools) > 1:
        return "vgg_pool_every_conv", f"{len(pools)} poolings for {len(conv)} Conv2D"
    pool = graph.layer(pools[0])
    if graph.steps[pools[0]].kind == "avgpool":
        return "an average pooling: VGG's pooling is MaxPooling2D", ""
    if tuple(pool.pool_size) != (2, 2) or tuple(pool.strides) != (2, 2):
        return "vgg_pool_stride", (f"yours is {_size(pool.pool_size)} with stride "
                                   f"{_size(pool.strides)}")
    return None


def check_vgg_block(block: Callable, input_shape: Sequence[int], filters: int,
                    convs: int) -> None:
    """vgg_block(x, filters, convs) on inputs of input_shape (H, W, C): convs Conv2D 3x3
    'same' with ReLU, then a 2x2 max pooling of stride 2."""
    H, W, C = input_shape
    label = f"vgg_block(x, {filters}, {convs}) on {tuple(input_shape)}"
    # no crash hint: the pooling halves the size, as it should
    model, output, graph = _build(label, block, input_shape, (filters, convs), None)
    parts = [(f"Conv2D 3x3 {C}->{filters}", arithmetic.conv2d_params(3, 3, C, filters))]
    parts += [(f"Conv2D 3x3 {filters}->{filters}", arithmetic.conv2d_params(
        3, 3, filters, filters))] * (convs - 1)
    _check_block(label, model, output, graph, vgg_diagnosis(graph, filters, convs),
                 (H // 2, W // 2, filters), parts)


# ============================================================ residual
def _shortcut(graph: BlockGraph, index: int) -> bool:
    """Whether the step is the block's input or a 1x1 Conv2D of it (a projection)."""
    step = graph.steps[index]
    return step.kind == "input" or (step.kind == "conv" and graph.kernel(index) == (1, 1)
                                    and graph.reads_input(index))


def residual_diagnosis(graph: BlockGraph, channels: int, filters: int) -> Diagnosis | None:
    adds = graph.of_kind("add")
    if not adds:
        return "residual_no_add", ("Concatenate stacks the channels; Add sums the tensors"
                                   if graph.of_kind("concatenate") else "")
    if len(adds) > 1:
        return f"{len(adds)} additions: the block adds once, x + F(x)", ""
    add = adds[0]
    sides = graph.steps[add].inputs
    shortcut = [i for i in sides if _shortcut(graph, i)]
    if len(sides) != 2 or len(shortcut) != 1:
        return "the Add must sum the shortcut (x, or its 1x1 projection) and F(x)", ""
    residual = next(i for i in sides if i not in shortcut)
    final_relu = graph.relu_after(add)
    if graph.relu_inside(residual):
        return ("residual_second_relu", "") if final_relu else ("residual_relu_before_add", "")
    if not final_relu:
        return "residual_no_final_relu", ""
    conv = graph.convs(3)
    if len(conv) != 2:
        return f"{len(conv)} Conv2D 3x3, expected 2: F(x) = Conv(ReLU(Conv(x)))", ""
    first = [i for i in conv if graph.reads_input(i)]
    found = _padding(graph, conv, "Conv2D 3x3") or _no_relu(graph, first, "first Conv2D 3x3")
    if found is not None:
        return found
    projected = graph.steps[shortcut[0]].kind == "conv"
    if projected and channels == filters:
        return "residual_always_projected", f"the input has {channels} channels already"
    if not projected and channels != filters:
        return "residual_not_projected", f"{channels} input channels, {filters} filters"
    if projected and graph.relu_inside(shortcut[0]):
        return "the 1x1 projection of the shortcut has no activation", ""
    return None


def check_residual_block(block: Callable, input_shape: Sequence[int], filters: int) -> None:
    """residual_block(x, filters): ReLU(shortcut(x) + Conv3x3(ReLU(Conv3x3(x)))), the shortcut
    projected by a 1x1 Conv2D when the width changes; with zero weights, ReLU(x)."""
    import keras

    H, W, C = input_shape
    label = f"residual_block(x, {filters}) on {tuple(input_shape)}"
    model, output, graph = _build(label, block, input_shape, (filters,),
                                  block_hint(input_shape, channels_change=C != filters))
    parts = [(f"Conv2D 3x3 {C}->{filters}", arithmetic.conv2d_params(3, 3, C, filters)),
             (f"Conv2D 3x3 {filters}->{filters}", arithmetic.conv2d_params(3, 3, filters,
                                                                             filters))]
    if C != filters:
        parts.append((f"1x1 projection {C}->{filters}", arithmetic.conv2d_params(1, 1, C,
                                                                                filters)))
    _check_block(label, model, output, graph, residual_diagnosis(graph, C, filters),
                 (H, W, filters), parts)
    if C == filters:  # F(x) = 0: the block returns ReLU(x)
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        x = np.random.default_rng(0).normal(size=(2, H, W, C)).astype("float32")
        checks.check_array(f"{label} with zero weights", keras.ops.convert_to_numpy(model(x)),
                           np.maximum(x, 0), rtol=1e-6,
                           why="F(x) = 0, so the block returns ReLU(x)")


# ============================================================ Inception
def inception_diagnosis(graph: BlockGraph) -> Diagnosis | None:
    concats = graph.of_kind("concatenate")
    if not concats:
        return "the branches are not concatenated (layers.Concatenate)", ""
    concat = concats[-1]
    axis = getattr(graph.layer(concat), "axis", -1)
    if axis not in (-1, 3):
        return "concat_axis", f"axis={axis}"
    if len(graph.steps[concat].inputs) != 4:
        return f"{len(graph.steps[concat].inputs)} branches concatenated, expected 4", ""
    for i in graph.convs(3, 5):
        if graph.reads_input(i):
            k = graph.kernel(i)[0]
            return "inception_no_reduction", (f"the {k}x{k} branch: first a 1x1 Conv2D with "
                                              f"f{k}_reduce filters, then the {k}x{k}")
    pools = graph.of_kind("maxpool", "avgpool")
    if len(pools) != 1:
        return f"{len(pools)} poolings, expected one: the 3x3 max pooling branch", ""
    if concat in graph.consumers(pools[0]):
        return "inception_pool_not_projected", ""
    pool = graph.layer(pools[0])
    if (graph.steps[pools[0]].kind != "maxpool" or tuple(pool.pool_size) != (3, 3)
            or tuple(pool.strides) != (1, 1)):
        return ("the pooling branch starts with a 3x3 max pooling of stride 1",
                f"yours: {type(pool).__name__} {_size(pool.pool_size)}, stride "
                f"{_size(pool.strides)}")
    conv = graph.convs()
    found = _padding(graph, [*conv, *pools], "layers") or _no_relu(graph, conv, "Conv2D")
    if found is not None:
        return found
    kernels = sorted(graph.kernel(i)[0] for i in conv)
    if kernels != [1, 1, 1, 1, 3, 5]:
        return ("Conv2D kernels " + ", ".join(f"{k}x{k}" for k in kernels),
                "expected four 1x1, one 3x3 and one 5x5")
    return None


def check_inception_module(block: Callable, input_shape: Sequence[int],
                           filters: Sequence[int]) -> None:
    """inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj): four branches
    concatenated along the channels."""
    H, W, C = input_shape
    f1, f3r, f3, f5r, f5, fp = filters
    label = f"inception_module(x, {', '.join(map(str, filters))}) on {tuple(input_shape)}"
    model, output, graph = _build(label, block, input_shape, tuple(filters),
                                  block_hint(input_shape))
    params = arithmetic.conv2d_params
    parts = [("1x1", params(1, 1, C, f1)), ("3x3 reduce", params(1, 1, C, f3r)),
             ("3x3", params(3, 3, f3r, f3)), ("5x5 reduce", params(1, 1, C, f5r)),
             ("5x5", params(5, 5, f5r, f5)), ("pool_proj", params(1, 1, C, fp))]
    _check_block(label, model, output, graph, inception_diagnosis(graph),
                 (H, W, f1 + f3 + f5 + fp), parts)


# ============================================================ MobileNet
def separable_diagnosis(graph: BlockGraph) -> Diagnosis | None:
    if graph.of_kind("separable"):
        return "separable_layer_used", ""
    depthwise = graph.of_kind("depthwise")
    if not depthwise:
        full = [_size(graph.kernel(i)) for i in graph.convs() if graph.kernel(i) != (1, 1)]
        return "separable_no_depthwise", (f"a Conv2D {full[0]} mixes the channels" if full
                                          else "")
    if graph.kernel(depthwise[0]) != (3, 3):
        return f"DepthwiseConv2D {_size(graph.kernel(depthwise[0]))}: the kernel is 3x3", ""
    pointwise = graph.convs(1)
    if len(pointwise) != 1 or len(graph.convs()) != 1:
        return "after the depthwise step, one pointwise Conv2D 1x1 mixes the channels", ""
    return (_padding(graph, depthwise, "DepthwiseConv2D")
            or _no_relu(graph, depthwise, "DepthwiseConv2D")
            or _no_relu(graph, pointwise, "pointwise Conv2D 1x1"))


def check_separable_block(block: Callable, input_shape: Sequence[int], filters: int) -> None:
    """separable_block(x, filters): DepthwiseConv2D 3x3 + ReLU, then Conv2D 1x1 + ReLU."""
    H, W, C = input_shape
    label = f"separable_block(x, {filters}) on {tuple(input_shape)}"
    model, output, graph = _build(label, block, input_shape, (filters,),
                                  block_hint(input_shape))
    parts = [(f"DepthwiseConv2D 3x3 on {C}", arithmetic.depthwise_conv2d_params(3, 3, C)),
             (f"Conv2D 1x1 {C}->{filters}", arithmetic.conv2d_params(1, 1, C, filters))]
    _check_block(label, model, output, graph, separable_diagnosis(graph), (H, W, filters),
                 parts)


def check_separable_cost_ratio(student: Callable, k: int, n: int, *,
                               forbidden: Sequence[Callable] = ()) -> None:
    """separable_cost_ratio(k, n) = 1/n + 1/k^2 (MobileNets, eq. 5)."""
    name = f"separable_cost_ratio({k}, {n})"
    got = call_own(name, student, k, n, forbidden=forbidden)
    expected = arithmetic.separable_cost_ratio(k, n)
    checks.check_scalar(name, got, expected, mistakes={
        "cost_ratio_k_not_squared": 1 / n + 1 / k,
        "cost_ratio_inverted": 1 / expected,
        "cost_ratio_term_missing#the pointwise term 1/N": 1 / k**2,
        "cost_ratio_term_missing#the depthwise term 1/D_K^2": 1 / n,
    })
