"""How the receptive field grows through a stack of layers, drawn along one axis.

Each row is a layer (the input at the bottom); a unit of layer l reads kernel taps of layer
l - 1, `dilation` apart, and neighbouring units are `stride` apart. One unit is traced down to
the input: every unit it depends on is coloured, and the input cells it sees form its receptive
field. The animation traces a unit of each layer in turn, so the field grows frame by frame.
Sizes come from `cnncourse.arithmetic.receptive_field_table`.
Square kernels behave the same way along both axes, so one axis tells the whole story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.animation import FuncAnimation
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from cnncourse.arithmetic import Layer, ReceptiveFieldRow, receptive_field_table
from cnncourse.viz.drawing.colours import CURRENT_TEAL, INPUT_BLUE, KERNEL_NAVY, OUTPUT_CYAN
from cnncourse.viz.drawing.grids import FRAME_DPI, draw_cell, text_inches, titled_cell_figure

MAX_INPUT = 80  # input cells drawn at most
ROW_SPACING = 2.5  # cells between two layer rows, room for the connections
IDLE_GREY = "#eeeeee"
CELL_INCHES = 0.4  # 40 px at FRAME_DPI; smaller when a wide input would overflow the page
LABEL_POINTS = 10


def traced_units(rows: Sequence[ReceptiveFieldRow], top_unit: int) -> list[set[int]]:
    """Units of each level (0 = input, len(rows) = top) that `top_unit` of the top depends on."""
    traced = [{top_unit}]
    for row in reversed(rows):
        below = {u * row.stride + t * row.dilation for u in traced[0] for t in range(row.kernel)}
        traced.insert(0, below)
    return traced


def _input_size(rows: Sequence[ReceptiveFieldRow], input_size: int | None) -> int:
    top = rows[-1]
    n_in = top.size + 2 * top.jump if input_size is None else input_size
    if isinstance(n_in, bool) or not isinstance(n_in, int) or not top.size <= n_in <= MAX_INPUT:
        raise ValueError(f"input_size must be an int between the receptive field {top.size} and "
                         f"{MAX_INPUT}, got {input_size!r}")
    return n_in


def _frame_title(step: int, levels: Sequence[ReceptiveFieldRow]) -> str:
    if step == 0:
        return "the input: one unit sees 1 input"
    return f"after layer {step} of {len(levels) - 1}: one unit sees {levels[step].size} inputs"


def _draw_stack(layers: Sequence[Layer], input_size: int | None, *, dpi: float
                ) -> tuple[Figure, Callable, int]:
    """Rows of cells for the input and every layer; update(step) traces a unit of layer `step`.

    Returns the figure, update and the number of steps, len(layers) + 1 (step 0: the input).
    """
    rows = receptive_field_table(layers)
    n_in = _input_size(rows, input_size)
    levels = [ReceptiveFieldRow(1, 1, 1, 1, 1), *rows]  # level 0: the input itself
    counts = [(n_in - level.size) // level.jump + 1 for level in levels]
    labels = [_label(index, level) for index, level in enumerate(levels)]
    titles = [_frame_title(step, levels) for step in range(len(levels))]
    sides = (max(text_inches(text, LABEL_POINTS) for text in labels) + 0.15,
             text_inches(f"sees {rows[-1].size}", LABEL_POINTS) + 0.15)
    fig, ax = titled_cell_figure(n_in, ROW_SPACING * len(rows) + 1,
                                 max(titles, key=len), max_cell_inches=CELL_INCHES,
                                 sides=sides, dpi=dpi)
    cells = []  # cells[level][unit]: the patch of one unit
    for index, level in enumerate(levels):
        y = _row_y(index, levels)
        cells.append([draw_cell(ax, 0, _unit_x(level, unit), origin=(0, y),
                                facecolor=IDLE_GREY, edgecolor="black", lw=0.6)
                      for unit in range(counts[index])])
        ax.text(-0.6, y + 0.5, labels[index], ha="right", va="center", fontsize=LABEL_POINTS)
        ax.text(n_in + 0.6, y + 0.5, f"sees {level.size}", ha="left", va="center",
                fontsize=LABEL_POINTS)
    wires = ax.add_collection(LineCollection([], colors=KERNEL_NAVY, linewidths=0.8))
    (title,) = fig.texts  # the suptitle, rewritten on every step

    def update(step: int) -> list:
        unit = _centred_unit(levels[step], counts[step], n_in)
        traced = traced_units(rows[:step], unit)
        for index, patches in enumerate(cells):
            for u, patch in enumerate(patches):
                on = index <= step and u in traced[index]
                patch.set_facecolor(_colour(index, step) if on else IDLE_GREY)
        wires.set_segments([segment for index in range(1, step + 1) for u in traced[index]
                            for segment in _wires(levels, index, u)])
        title.set_text(titles[step])
        return [*(patch for patches in cells for patch in patches), wires, title]

    return fig, update, len(levels)


def _row_y(index: int, levels: Sequence[ReceptiveFieldRow]) -> float:
    return (len(levels) - 1 - index) * ROW_SPACING


def _unit_x(level: ReceptiveFieldRow, unit: int) -> float:
    """Left edge of a unit's cell: centred on the inputs it sees."""
    return unit * level.jump + (level.size - 1) / 2


def _centred_unit(level: ReceptiveFieldRow, count: int, n_in: int) -> int:
    """The unit of a level whose receptive field is closest to the middle of the input."""
    unit = round(((n_in - 1) / 2 - (level.size - 1) / 2) / level.jump)
    return min(max(unit, 0), count - 1)


def _colour(index: int, step: int) -> str:
    return INPUT_BLUE if index == 0 else CURRENT_TEAL if index == step else OUTPUT_CYAN


def _label(index: int, level: ReceptiveFieldRow) -> str:
    if index == 0:
        return "input"
    return f"layer {index}: k={level.kernel}, s={level.stride}, d={level.dilation}"


def _wires(levels, index, unit) -> list[list[tuple[float, float]]]:
    """Segments from a traced unit down to the kernel taps it reads on the level below."""
    level, below = levels[index], levels[index - 1]
    x, y = _unit_x(level, unit), _row_y(index, levels)
    segments = []
    for tap in range(level.kernel):
        x_below = _unit_x(below, unit * level.stride + tap * level.dilation)
        segments.append([(x + 0.5, y + 1), (x_below + 0.5, y + ROW_SPACING)])
    return segments


def plot_receptive_field(
    layers: Sequence[Layer], *, input_size: int | None = None, dpi: float = FRAME_DPI
) -> Figure:
    """Rows of units from the input (bottom) to the last layer (top); one top unit traced down.

    layers: (kernel, stride) or (kernel, stride, dilation) tuples, pooling included.
    input_size: input cells drawn; default the receptive field plus room for three top units.
    Each row is labelled with its kernel, stride, dilation and receptive field size.
    """
    fig, update, n_steps = _draw_stack(layers, input_size, dpi=dpi)
    update(n_steps - 1)
    return fig


def animate_receptive_field(
    layers: Sequence[Layer],
    *,
    input_size: int | None = None,
    dpi: float = FRAME_DPI,
    interval_ms: int = 1200,
) -> FuncAnimation:
    """Animation of a receptive field growing layer by layer: len(layers) + 1 frames.

    Frame 0 marks one input unit; frame l traces one unit of layer l down to the input, whose
    coloured cells are its receptive field, `receptive_field(layers[:l])` of them. Arguments as
    `plot_receptive_field`; show it in a notebook with `animation_html`.
    """
    fig, update, n_steps = _draw_stack(layers, input_size, dpi=dpi)
    update(0)
    return FuncAnimation(fig, update, frames=n_steps, interval=interval_ms)
