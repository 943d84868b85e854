"""Architecture diagrams drawn from a Keras model itself, so a diagram cannot disagree with it.

`architecture_graph` walks the layers of a functional Keras model (or the layers of one block
of it, chosen by name prefix) and returns one `Box` per drawn operation: its label, output shape
(without the batch axis), parameter count and the boxes that feed it. Layers without a shape of
their own (batch normalisation, activations, dropout, flatten, LRN) are folded into the box of
the layer they follow, or, when that is a branch point, the one they precede; so a ResNet box
reads "3x3 conv, 64 -> BN -> ReLU". `plot_architecture` lays the boxes out top to bottom
(longest path from the input gives the row, branches sit side by side, a connection that would
cross a box goes round it on the right) and draws them with matplotlib. `plot_vgg_configurations`
draws VGG's Table 1 from the built configurations. Every diagram has two layouts: "page", for
the book's 700 px column, and "phone", for a 390 px screen (PHONE_INCHES wide at 100 dpi, so
shown at its drawn size: labels wrap onto more lines, diagrams drawn side by side on the page
are stacked, VGG's six columns become two rows of three).

Only the layers' class names, `get_config()` values, output shapes and `count_params()` are read:
the module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from cnncourse.viz.drawing.grids import PAGE_INCHES, new_figure, text_inches

# Layers with no shape change of their own: drawn inside the box of a neighbour.
FOLDED = ("BatchNormalization", "Activation", "ReLU", "Dropout", "Flatten",
          "LocalResponseNormalization")  # fmt: skip
KIND_COLOURS = {
    "input": "#e6e6e6", "conv": "#cfe2f3", "depthwise": "#d9d2e9", "transposed": "#c9ede4",
    "pool": "#fce5cd", "dense": "#d9ead3", "merge": "#fff2cc", "other": "#f4f4f4",
}  # fmt: skip
FONT_POINTS = 9.5  # >= 9 pt at <= 7 in: legible in the 700 px column
# A phone's text column is about 350 px (390 px screen): a phone diagram is drawn that wide at
# 100 dpi, so that it is shown at its drawn size, and its 8 pt text (7.5 pt shapes) at 10 px.
LAYOUTS = ("page", "phone")
PHONE_INCHES = 3.1
PHONE_FONT_POINTS = 8.0
LANE_GAP_INCHES = {"page": 0.15, "phone": 0.08}
SHAPE_COLUMN_INCHES = 1.15
PARAMS_COLUMN_INCHES = 0.95
SIDE_TRACK_INCHES = 0.16  # spacing of connections routed round the boxes

LayerSelector = str | Sequence[str] | Callable[[str], bool] | None


@dataclass
class Box:
    """One drawn operation: `names` are the Keras layers in it, `inputs` index other boxes."""

    names: list[str]
    kind: str
    steps: list[str]  # what the box computes, in order: ["3×3 conv, 64", "BN", "ReLU"]
    shape: tuple
    params: int
    inputs: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " → ".join(self.steps)

    @property
    def shape_text(self) -> str:
        if len(self.shape) == 1 and self.shape[0] is not None:
            return f"{self.shape[0]:,}"
        return "×".join("?" if s is None else str(s) for s in self.shape)


# ----------------------------------------------------------------------------- the graph


def _activation_name(config: Mapping) -> str | None:
    name = config.get("activation")
    if isinstance(name, dict):  # a serialised activation
        name = name.get("config", {}).get("name", name.get("class_name"))
    if name in (None, "linear"):
        return None
    return {"relu": "ReLU", "tanh": "tanh", "softmax": "softmax", "sigmoid": "sigmoid"
            }.get(name, str(name))  # fmt: skip


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _kernel_text(config: Mapping, key: str = "kernel_size") -> str:
    kh, kw = _pair(config[key])
    return f"{kh}×{kw}"


def _stride_text(config: Mapping, key: str = "strides") -> str:
    s = _pair(config.get(key) or 1)[0]
    return f", stride {s}" if s != 1 else ""


def layer_steps(layer) -> tuple[str, list[str]]:
    """(kind, steps) of one Keras layer, read from its class and config.

    kind is one of KIND_COLOURS; steps is the operation then its fused activation, if any:
    Conv2D(64, 3, strides=2, activation='relu') -> ('conv', ['3×3 conv, 64, stride 2', 'ReLU']).
    """
    cls, config = type(layer).__name__, layer.get_config()
    act = _activation_name(config)
    if cls == "InputLayer":
        return "input", ["input"]
    if cls in ("Conv2D", "Conv1D", "SparselyConnectedConv2D"):
        groups = config.get("groups", 1)
        filters = config.get("filters", len(config.get("connections", ())))
        text = (f"{_kernel_text(config)} conv, {filters}{_stride_text(config)}"
                f"{f', {groups} groups' if groups > 1 else ''}"
                f"{', sparse' if cls == 'SparselyConnectedConv2D' else ''}")
        kind = "conv"
    elif cls == "DepthwiseConv2D":
        kind = "depthwise"
        text = (f"{_kernel_text(config)} depthwise{_stride_text(config)}"
                if _pair(config["kernel_size"]) != (1, 1) else "× weight + bias per map")
    elif cls == "Conv2DTranspose":
        kind = "transposed"
        text = f"{_kernel_text(config)} transposed conv, {config['filters']}{_stride_text(config)}"
    elif cls == "Dense":
        kind, text = "dense", f"dense, {config['units']}"
    elif cls in ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D"):
        kind = "pool"
        what = "max" if cls.startswith("Max") else "average"
        text = f"{_kernel_text(config, 'pool_size')} {what} pool{_stride_text(config)}"
    elif cls.startswith("Global"):
        kind, text = "pool", "global average pool" if "Average" in cls else "global max pool"
    elif cls in ("Concatenate", "Add"):
        kind, text = "merge", "concatenate" if cls == "Concatenate" else "add"
    else:
        kind, text = "other", _folded_text(layer)
    return kind, [text] + ([act] if act and kind != "other" else [])


def _folded_text(layer) -> str:
    """Short name of a layer that has no shape change of its own (or another layer)."""
    cls, config = type(layer).__name__, layer.get_config()
    if cls == "Activation":
        return _activation_name(config) or "linear"
    if cls == "Dropout":
        return f"dropout {config['rate']:g}"
    short = {"BatchNormalization": "BN", "ReLU": "ReLU", "Flatten": "flatten",
             "LocalResponseNormalization": "LRN", "UpSampling2D": "upsample"}  # fmt: skip
    return short.get(cls, cls)


def _selected(name: str, layers: LayerSelector) -> bool:
    if layers is None:
        return True
    if callable(layers):
        return bool(layers(name))
    prefixes = (layers,) if isinstance(layers, str) else tuple(layers)
    return name.startswith(prefixes)


def _parents(layer) -> list:
    nodes = getattr(layer, "_inbound_nodes", [])
    return [node.operation for node in nodes[0].parent_nodes] if nodes else []


def _raw_boxes(model, layers: LayerSelector) -> tuple[dict[str, Box], dict[str, list[str]]]:
    """One box per selected layer, plus an 'input' box per outside layer feeding the selection.

    Returns (boxes by layer name, parent names by layer name).
    """
    boxes: dict[str, Box] = {}
    parents: dict[str, list[str]] = {}
    for layer in model.layers:
        if not _selected(layer.name, layers):
            continue
        for parent in _parents(layer):
            if not _selected(parent.name, layers) and parent.name not in boxes:
                boxes[parent.name] = Box([parent.name], "input", ["input"],
                                         tuple(parent.output.shape[1:]), 0)
                parents[parent.name] = []
        kind, steps = layer_steps(layer)
        boxes[layer.name] = Box([layer.name], kind, steps, tuple(layer.output.shape[1:]),
                                layer.count_params())
        parents[layer.name] = [p.name for p in _parents(layer)]
    if len(boxes) == 0:
        raise ValueError(f"no layer of model {model.name!r} matches layers={layers!r}")
    return boxes, parents


def _children(parents: Mapping[str, list[str]]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {name: [] for name in parents}
    for name, ins in parents.items():
        for p in ins:
            children[p].append(name)
    return children


def _merge(boxes, parents, keep: str, gone: str, *, after: bool) -> None:
    """Fold box `gone` into its neighbour `keep` (after it, or before it) and rewire."""
    k, g = boxes[keep], boxes[gone]
    if after:
        k.names += g.names
        k.steps += g.steps
        k.shape = g.shape
    else:
        k.names = g.names + k.names
        k.steps = g.steps + k.steps
        parents[keep] = parents[gone]
    k.params += g.params
    del boxes[gone], parents[gone]
    for name, ins in parents.items():
        parents[name] = [keep if p == gone else p for p in ins]


def _fold(model, boxes, parents, fold: Sequence[str]) -> None:
    """Fold shape-less layers into the box before them, or (at a branch) into the one after."""
    classes = {layer.name: type(layer).__name__ for layer in model.layers}
    foldable = [n for n in boxes if classes.get(n) in fold and boxes[n].kind != "input"]
    for name in foldable:  # forward: conv -> BN -> ReLU becomes one box
        ins = parents[name]
        if len(ins) == 1 and boxes[ins[0]].kind != "input" and _children(parents)[ins[0]] == [name]:
            _merge(boxes, parents, ins[0], name, after=True)
    for name in reversed([n for n in foldable if n in boxes]):  # backward: BN -> ReLU -> conv
        outs = _children(parents)[name]
        if len(outs) == 1 and parents[outs[0]] == [name]:
            _merge(boxes, parents, outs[0], name, after=False)


def architecture_graph(model, *, layers: LayerSelector = None,
                       fold: Sequence[str] = FOLDED) -> list[Box]:  # fmt: skip
    """The boxes of a diagram of `model` (a functional Keras model), in topological order.

    layers: which layers to draw: all (None), those whose names start with a prefix (a string
    or a sequence of them, e.g. 'inception3a' or 'conv2_block1_'), or a predicate on the name.
    Layers outside the selection that feed it become 'input' boxes with their output shape.
    fold: class names of layers drawn inside a neighbour's box (FOLDED; () draws every layer).
    Each Box has the Keras layer names it stands for, so a test can map it back to the model.
    """
    boxes, parents = _raw_boxes(model, layers)
    _fold(model, boxes, parents, fold)
    order = list(boxes)
    for name, box in boxes.items():
        box.inputs = [order.index(p) for p in parents[name] if p in boxes]
    return list(boxes.values())


# ----------------------------------------------------------------------------- the layout


def _ranks(boxes: Sequence[Box]) -> list[int]:
    """Row of each box: the longest path from an input (boxes are in topological order)."""
    ranks: list[int] = []
    for box in boxes:
        ranks.append(1 + max((ranks[i] for i in box.inputs), default=-1))
    return ranks


def _branch_key(boxes: Sequence[Box], i: int) -> tuple[int, int]:
    """Where the branch starting at box i joins: (its place among the merge's inputs, -length).

    Branches are drawn in the order their merge lists them (an Inception module's 1x1, 3x3,
    5x5, pool); into an add, the longest branch first, so a shortcut runs on the right.
    """
    length = 0
    while True:
        length += 1
        children = [k for k, b in enumerate(boxes) if i in b.inputs]
        if len(children) != 1:
            return (0, -length)
        child = boxes[children[0]]
        if len(child.inputs) > 1:
            if child.steps[0] == "add":
                return (0, -length)
            return (child.inputs.index(i), -length)
        i = children[0]


def _lanes(boxes: Sequence[Box]) -> list[float]:
    """Column of each box: branches spread round their parent's lane, merges centred on theirs."""
    lanes: list[float] = [0.0] * len(boxes)
    branches: dict[int, list[int]] = {}
    for i, box in enumerate(boxes):
        if len(box.inputs) == 1:
            branches.setdefault(box.inputs[0], []).append(i)
    for siblings in branches.values():
        siblings.sort(key=lambda k: _branch_key(boxes, k))
    for i, box in enumerate(boxes):
        if len(box.inputs) > 1:
            lanes[i] = sum(lanes[j] for j in box.inputs) / len(box.inputs)
        elif box.inputs:
            siblings = branches[box.inputs[0]]
            lanes[i] = lanes[box.inputs[0]] + siblings.index(i) - (len(siblings) - 1) / 2
    low = min(lanes)
    return [lane - low for lane in lanes]


@dataclass(frozen=True)
class Geometry:
    """Sizes in inches of one diagram: boxes of width `box` on a grid of `pitch` x `row`."""

    box: float
    height: float
    pitch: float
    row: float
    fontsize: float
    compact: bool  # boxes of several lines (branches side by side) rather than table rows


def _line_inches(points: float) -> float:
    return points * 1.3 / 72


def _geometry(boxes: Sequence[Box], lanes: Sequence[float], *, width: float,
              fontsize: float, show_names: bool, gap: float) -> Geometry:  # fmt: skip
    """A table row per box where a single chain has room for one, else boxes of as many lines
    as their longest wrapped label needs (plus one or two for shape and parameters)."""
    line = fontsize * 1.45 / 72
    n_lanes = int(max(lanes)) + 1
    if n_lanes == 1 and width >= 4.5:  # room for a table row: operation, shape, parameters
        return Geometry(width, line + 0.12, width, line + 0.34, fontsize, compact=False)
    box = (width - gap * (n_lanes - 1)) / n_lanes
    lines = max(_box_lines(b, box - 0.1, fontsize, show_names) for b in boxes)
    height = lines * _line_inches(fontsize) + 0.16
    return Geometry(box, height, box + gap, height + 0.3, fontsize, compact=True)


def _wrap(text: str, width: float, points: float,
          separators: Sequence[str] = (" → ", ", ", " ")) -> str:  # fmt: skip
    """Break a label into lines of at most `width` inches: at ' → ' first (the next line starts
    with the arrow), then at ', ', then at spaces. A word wider than `width` stays whole."""
    if text_inches(text, points) <= width or not separators:
        return text
    sep, finer = separators[0], separators[1:]
    parts = text.split(sep)
    lines = [parts[0]]
    for part in parts[1:]:
        joined = lines[-1] + sep + part
        if text_inches(joined, points) <= width:
            lines[-1] = joined
        elif sep == " → ":
            lines.append("→ " + part)
        else:
            lines[-1] += sep.rstrip()
            lines.append(part)
    return "\n".join(_wrap(line, width, points, finer) for line in lines)


def _detail(box: Box, width: float, points: float) -> str:
    """Shape and parameters under the operation: on one line where they fit, else two."""
    if not box.params:
        return box.shape_text
    one_line = f"{box.shape_text}  ·  {_params_text(box.params)}"
    if text_inches(one_line, points) <= width:
        return one_line
    return f"{box.shape_text}\n{_params_text(box.params)}"


def _box_lines(box: Box, width: float, points: float, show_names: bool) -> int:
    label = _wrap(_label(box, show_names), width, points)
    return label.count("\n") + _detail(box, width, points - 0.5).count("\n") + 2


def _params_text(params: int) -> str:
    return f"{params:,}" if params else ""


def _label(box: Box, show_names: bool) -> str:
    """What a box says: its operations, after the Keras name of its first layer if asked."""
    return (box.names[0] + ": " if show_names and box.kind != "input" else "") + box.label


def _table_width(boxes: Sequence[Box], show_names: bool, fontsize: float) -> float:
    """Inches a one-lane diagram needs as a table: longest label, shape and parameter columns."""
    longest = max(text_inches(_label(b, show_names), fontsize) for b in boxes)
    return longest + SHAPE_COLUMN_INCHES + PARAMS_COLUMN_INCHES + 0.35


def _draw_box(ax: Axes, box: Box, x: float, y: float, g: Geometry, show_names: bool) -> None:
    """Box centred at (x, y) inches: operations, then output shape and parameters."""
    ax.add_patch(FancyBboxPatch((x - g.box / 2, y - g.height / 2), g.box, g.height,
                                boxstyle="round,pad=0,rounding_size=0.05",
                                facecolor=KIND_COLOURS[box.kind], edgecolor="#555555", lw=0.8))
    label = _label(box, show_names)
    small = g.fontsize - 0.5
    if g.compact:
        label = _wrap(label, g.box - 0.1, g.fontsize)
        detail = _detail(box, g.box - 0.1, small)
        n_label, n_detail = label.count("\n") + 1, detail.count("\n") + 1
        split = y + (n_label - n_detail) * _line_inches(g.fontsize) / 2
        ax.text(x, split - 0.01, label, ha="center", va="bottom", fontsize=g.fontsize,
                linespacing=1.1)
        ax.text(x, split + 0.01, detail, ha="center", va="top", fontsize=small,
                color="#333333", linespacing=1.1)
        return
    left, right = x - g.box / 2 + 0.08, x + g.box / 2 - 0.08
    ax.text(left, y, label, ha="left", va="center", fontsize=g.fontsize)
    ax.text(right - PARAMS_COLUMN_INCHES, y, box.shape_text, ha="right", va="center",
            fontsize=small, color="#333333")
    ax.text(right, y, _params_text(box.params), ha="right", va="center", fontsize=small,
            color="#333333")


def _arrow(ax: Axes, points: Sequence[tuple[float, float]]) -> None:
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color="#444444", lw=1.0, solid_capstyle="butt")
    ax.annotate("", xy=points[-1], xytext=points[-2],
                arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.0,
                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})


def _blocked(x: float, r0: int, r1: int, centres, ranks, g: Geometry) -> bool:
    """Does a vertical line at x between rows r0 and r1 (exclusive) cross a box?"""
    return any(r0 < r < r1 and abs(cx - x) < g.box / 2 + 0.02
               for (cx, _), r in zip(centres, ranks, strict=True))


def _draw_edges(ax: Axes, boxes, centres, ranks, g: Geometry) -> float:
    """Connections of every box to its inputs; returns the rightmost x used by a side route."""
    rightmost, track = max(x for x, _ in centres) + g.box / 2, 0
    for i, box in enumerate(boxes):
        (xc, yc) = centres[i]
        for j in box.inputs:
            (xp, yp) = centres[j]
            top, bottom = yc - g.height / 2, yp + g.height / 2
            if not _blocked(xp, ranks[j], ranks[i], centres, ranks, g):
                mid = top - (g.row - g.height) / 2
                _arrow(ax, [(xp, bottom), (xp, mid), (xc, mid), (xc, top)])
                continue
            track += 1
            side = max(cx for (cx, _), r in zip(centres, ranks, strict=True)
                       if ranks[j] <= r <= ranks[i])
            xs = side + g.box / 2 + SIDE_TRACK_INCHES * track
            _arrow(ax, [(xp + g.box / 2, yp), (xs, yp), (xs, yc), (xc + g.box / 2, yc)])
            if box.kind == "merge" and box.steps[0] == "add" and boxes[j].kind != "conv":
                ax.text(xs + 0.05, (yp + yc) / 2, "identity", rotation=-90, ha="left",
                        va="center", fontsize=g.fontsize - 0.5, color="#444444")
            rightmost = max(rightmost, xs + (0.25 if box.kind == "merge" else 0))
    return rightmost


def _draw_graph(ax: Axes, boxes: Sequence[Box], g: Geometry, *, show_names: bool,
                title: str | None) -> tuple[float, float]:  # fmt: skip
    """Draw a diagram with its top-left corner at (0, 0), y pointing down; returns its size."""
    ranks, lanes = _ranks(boxes), _lanes(boxes)
    top = 0.3 if title else 0.0
    centres = [(g.box / 2 + lane * g.pitch, top + g.height / 2 + rank * g.row)
               for lane, rank in zip(lanes, ranks, strict=True)]
    if not g.compact:  # column headings over the shape and parameter columns
        right = g.box - 0.08
        y = top - 0.02 + (0.0 if title else 0.2)
        for x, text in ((right - PARAMS_COLUMN_INCHES, "output"), (right, "parameters")):
            ax.text(x, y, text, ha="right", va="bottom", fontsize=g.fontsize - 0.5,
                    color="#333333", style="italic")
        centres = [(x, y + (0.0 if title else 0.2)) for x, y in centres]
    for box, (x, y) in zip(boxes, centres, strict=True):
        _draw_box(ax, box, x, y, g, show_names)
    width = _draw_edges(ax, boxes, centres, ranks, g)
    if title:
        ax.text(0, 0, title, ha="left", va="top", fontsize=g.fontsize + 1, weight="bold")
    return width, max(y for _, y in centres) + g.height / 2


def _side_room(boxes: Sequence[Box]) -> float:
    """Width to keep right of the boxes for connections routed round them."""
    ranks, lanes = _ranks(boxes), _lanes(boxes)
    skips = sum(1 for i, b in enumerate(boxes) for j in b.inputs if ranks[i] - ranks[j] > 1
                and lanes[i] == lanes[j])  # fmt: skip
    return 0.3 + SIDE_TRACK_INCHES * skips if skips else 0.0


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _layout_sizes(layout: str, width: float | None, fontsize: float | None
                  ) -> tuple[float, float]:  # fmt: skip
    """(width, fontsize) in inches and points: those given, else the layout's own."""
    _check_layout(layout)
    page = layout == "page"
    return (width if width is not None else PAGE_INCHES - 0.2 if page else PHONE_INCHES,
            fontsize if fontsize is not None else FONT_POINTS if page else PHONE_FONT_POINTS)


def plot_architectures(
    diagrams: Sequence[tuple[str | None, Sequence[Box]]],
    *,
    width: float | None = None,
    show_names: bool = False,
    fontsize: float | None = None,
    layout: str = "page",
) -> Figure:
    """Several diagrams side by side, each (title, boxes from `architecture_graph`).

    The page width (inches) is shared in proportion to the diagrams' numbers of lanes; a single
    chain of layers is drawn only as wide as its longest row needs (narrow figures stay legible
    when a phone shrinks them), and the figure is cut to the drawing. layout='phone' draws them
    one under another, each PHONE_INCHES wide with PHONE_FONT_POINTS text (width and fontsize,
    when given, override the layout's).
    """
    if not diagrams:
        raise ValueError("plot_architectures needs at least one (title, boxes) diagram, got none")
    width, fontsize = _layout_sizes(layout, width, fontsize)
    rows = [list(diagrams)] if layout == "page" else [[diagram] for diagram in diagrams]
    placed = [_place_row(row, width, show_names, fontsize, LANE_GAP_INCHES[layout])
              for row in rows]
    fig = new_figure(width + 0.2, 1.0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    right, y0 = 0.0, 0.0
    for row, row_width in placed:
        bottom, right = y0, max(right, row_width)  # titles may reach past the boxes
        for (title, boxes), g, x0 in row:
            drawn = _draw_graph(_OffsetAxes(ax, x0, y0), boxes, g, show_names=show_names,
                                title=title)
            right, bottom = max(right, x0 + drawn[0]), max(bottom, y0 + drawn[1])
        y0 = bottom + 0.35
    right = min(right, width)
    fig.set_size_inches(right + 0.2, y0 - 0.35 + 0.15)  # cut to the drawing: no blank margins
    ax.set_xlim(-0.1, right + 0.1)
    ax.set_ylim(y0 - 0.35 + 0.1, -0.05)
    return fig


def _place_row(diagrams, width: float, show_names: bool, fontsize: float, gap: float):
    """([(diagram, geometry, x0)], width they take) of diagrams side by side in `width` inches."""
    lane_counts = [int(max(_lanes(boxes))) + 1 for _, boxes in diagrams]
    if len(diagrams) == 1 and lane_counts[0] == 1:
        room = _side_room(diagrams[0][1])
        needed = _table_width(diagrams[0][1], show_names, fontsize) + room
        width = min(width, max(needed, 4.5 + room))  # a table as wide as its longest row
    rooms = [_side_room(boxes) for _, boxes in diagrams]
    share = (width - 0.3 * (len(diagrams) - 1) - sum(rooms)) / sum(lane_counts)
    placed, x0 = [], 0.0
    for diagram, n, room in zip(diagrams, lane_counts, rooms, strict=True):
        g = _geometry(diagram[1], _lanes(diagram[1]), width=share * n, fontsize=fontsize,
                      show_names=show_names, gap=gap)
        placed.append((diagram, g, x0))
        x0 += share * n + room + 0.3
    return placed, x0 - 0.3


class _OffsetAxes:
    """An Axes seen through an offset, so each diagram draws from its own (0, 0)."""

    def __init__(self, ax: Axes, dx: float, dy: float = 0.0):
        self.ax, self.dx, self.dy = ax, dx, dy

    def add_patch(self, patch):
        patch.set_x(patch.get_x() + self.dx)
        patch.set_y(patch.get_y() + self.dy)
        return self.ax.add_patch(patch)

    def text(self, x, y, *args, **kwargs):
        return self.ax.text(x + self.dx, y + self.dy, *args, **kwargs)

    def plot(self, xs, ys, **kwargs):
        return self.ax.plot([x + self.dx for x in xs], [y + self.dy for y in ys], **kwargs)

    def annotate(self, text, xy, xytext, **kwargs):
        return self.ax.annotate(text, xy=(xy[0] + self.dx, xy[1] + self.dy),
                                xytext=(xytext[0] + self.dx, xytext[1] + self.dy), **kwargs)


def plot_architecture(
    model,
    *,
    layers: LayerSelector = None,
    fold: Sequence[str] = FOLDED,
    title: str | None = None,
    show_names: bool = False,
    width: float | None = None,
    fontsize: float | None = None,
    layout: str = "page",
) -> Figure:
    """Diagram of a Keras model, or of the block of it that `layers` selects, top to bottom.

    A chain of layers is drawn as a table: one row per box with what it computes, its output
    shape and its parameters. Branches (an Inception module) are drawn side by side with their
    shapes and parameters under the operation. See `architecture_graph` for layers and fold;
    show_names prefixes each box with the Keras name of its first layer (C1, conv1...).
    layout='phone' draws it for a phone's column (see `plot_architectures`).
    """
    boxes = architecture_graph(model, layers=layers, fold=fold)
    return plot_architectures([(title, boxes)], width=width, show_names=show_names,
                              fontsize=fontsize, layout=layout)


# ----------------------------------------------------------------------------- VGG, Table 1


def vgg_column(model) -> list[list[str]]:
    """VGG model -> its blocks as the paper's Table 1 writes them: [['conv3-64', 'LRN'], ...].

    A block ends at each max pooling; the classifier is the last block (FC-4096, ..., soft-max).
    """
    blocks: list[list[str]] = [[]]
    for layer in model.layers:
        cls, config = type(layer).__name__, layer.get_config()
        if cls == "Conv2D":
            blocks[-1].append(f"conv{_pair(config['kernel_size'])[0]}-{config['filters']}")
        elif cls == "LocalResponseNormalization":
            blocks[-1].append("LRN")
        elif cls == "MaxPooling2D":
            blocks.append([])
        elif cls == "Dense":
            blocks[-1].append(f"FC-{config['units']}")
        elif cls == "Activation" and _activation_name(config) == "softmax":
            blocks[-1].append("soft-max")
    return blocks


def plot_vgg_configurations(models: Mapping[str, object], *, fontsize: float = 9,
                            layout: str = "page") -> Figure:  # fmt: skip
    """VGG's Table 1 drawn from built models: one column per configuration, a row per layer.

    models: configuration name -> Keras model (e.g. {'A': vgg('A'), ...}). Layers that a
    configuration adds to the one on its left are in bold on a darker cell; a grey band marks
    each max pooling; the foot of each column gives the weight layers and parameters.
    layout='phone' puts as many columns side by side as fit PHONE_INCHES, an inch each (three),
    the next ones under them.
    """
    if not models:
        raise ValueError("plot_vgg_configurations needs at least one model, got none")
    _check_layout(layout)
    columns = {name: vgg_column(m) for name, m in models.items()}
    width = PAGE_INCHES - 0.3 if layout == "page" else PHONE_INCHES
    per_row = len(columns) if layout == "page" else max(1, int(width))  # 1 in a column
    cell_w = min(1.1, width / per_row)
    names = list(columns)
    groups = [names[i:i + per_row] for i in range(0, len(names), per_row)]
    tables = [_block_rows([columns[name] for name in group]) for group in groups]
    heights = [0.6 + (sum(rows) + len(rows) - 1) * 0.2 + 0.45 for rows in tables]
    fig_width = cell_w * len(groups[0])
    height = sum(heights) + 0.25 * (len(groups) - 1)
    fig = new_figure(fig_width + 0.2, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.1, fig_width + 0.1)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    previous, top = None, 0.0
    for group, rows, table_height in zip(groups, tables, heights, strict=True):
        for c, name in enumerate(group):
            _draw_vgg_column(ax, name, columns[name], models[name], previous, rows,
                             x=c * cell_w, top=top, cell_w=cell_w, fontsize=fontsize)
            previous = columns[name]
        top += table_height + 0.25
    return fig


def _block_rows(columns: Sequence[list[list[str]]]) -> list[int]:
    """Rows each block takes in a table of these columns: its most layers in any column."""
    n_blocks = max(len(c) for c in columns)
    return [max(len(c[b]) if b < len(c) else 0 for c in columns) for b in range(n_blocks)]


def _draw_vgg_column(ax: Axes, name: str, blocks: list[list[str]], model, previous, rows,
                     *, x: float, top: float, cell_w: float, fontsize: float) -> None:
    """One configuration of Table 1 with its left edge at x: heading, layers, parameters."""
    cell_h, n_blocks = 0.2, len(rows)
    depth = sum(1 for layer in model.layers if type(layer).__name__ in ("Conv2D", "Dense"))
    centre = x + cell_w / 2
    ax.text(centre, top + 0.05, f"{name}\n{depth} layers", ha="center", va="top",
            fontsize=fontsize, weight="bold", linespacing=1.2)
    y = top + 0.6
    for b, block in enumerate(blocks):
        for r in range(rows[b]):
            label = block[r] if r < len(block) else ""
            new = bool(label) and previous is not None and (
                b >= len(previous) or r >= len(previous[b]) or previous[b][r] != label)
            if label:
                ax.add_patch(FancyBboxPatch(
                    (x + 0.04, y + 0.015), cell_w - 0.08, cell_h - 0.03,
                    boxstyle="round,pad=0,rounding_size=0.03", lw=0.6, edgecolor="#777777",
                    facecolor="#9fc5e8" if new else KIND_COLOURS[
                        "dense" if label.startswith(("FC", "soft")) else "conv"]))
                ax.text(centre, y + cell_h / 2, label, ha="center", va="center",
                        fontsize=fontsize, weight="bold" if new else "normal")
            y += cell_h
        if b < n_blocks - 1:
            ax.add_patch(FancyBboxPatch((x + 0.04, y + 0.05), cell_w - 0.08, cell_h - 0.1,
                                        boxstyle="square,pad=0",
                                        facecolor=KIND_COLOURS["pool"], lw=0))
            ax.text(centre, y + cell_h / 2, "maxpool", ha="center", va="center",
                    fontsize=fontsize - 1, color="#555555")
            y += cell_h
    ax.text(centre, y + 0.1, f"{model.count_params() / 1e6:.0f} M params", ha="center",
            va="top", fontsize=fontsize)
