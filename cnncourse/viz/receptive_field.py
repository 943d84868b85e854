"""How the receptive field grows through a stack of layers, drawn along one axis.

Each row is a layer (the input at the bottom); a unit of layer l reads kernel taps of layer
l - 1, `dilation` apart, and neighbouring units are `stride` apart. One unit of the top layer is
traced down to the input: every unit it depends on is coloured, and the input cells it sees form
its receptive field. Sizes come from `cnncourse.arithmetic.receptive_field_table`.
Square kernels behave the same way along both axes, so one axis tells the whole story.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from cnncourse.arithmetic import Layer, ReceptiveFieldRow, receptive_field_table
from cnncourse.viz.grids import (
    CURRENT_TEAL,
    INPUT_BLUE,
    KERNEL_NAVY,
    OUTPUT_CYAN,
    cell_axes,
    draw_cell,
    new_figure,
)

MAX_INPUT = 80  # input cells drawn at most
ROW_SPACING = 2.5  # cells between two layer rows, room for the connections
IDLE_GREY = "#eeeeee"
CELL_INCHES = 0.22
LEFT_CELLS, RIGHT_CELLS = 12, 4  # label widths, in cells


def traced_units(rows: Sequence[ReceptiveFieldRow], top_unit: int) -> list[set[int]]:
    """Units of each level (0 = input, len(rows) = top) that `top_unit` of the top depends on."""
    traced = [{top_unit}]
    for row in reversed(rows):
        below = {u * row.stride + t * row.dilation for u in traced[0] for t in range(row.kernel)}
        traced.insert(0, below)
    return traced


def plot_receptive_field(
    layers: Sequence[Layer], *, input_size: int | None = None, dpi: float = 100
) -> Figure:
    """Rows of units from the input (bottom) to the last layer (top); one top unit traced down.

    layers: (kernel, stride) or (kernel, stride, dilation) tuples, pooling included.
    input_size: input cells drawn; default the receptive field plus room for three top units.
    Each row is labelled with its kernel, stride, dilation and receptive field size.
    """
    rows = receptive_field_table(layers)
    top = rows[-1]
    n_in = top.size + 2 * top.jump if input_size is None else input_size
    if isinstance(n_in, bool) or not isinstance(n_in, int) or not top.size <= n_in <= MAX_INPUT:
        raise ValueError(f"input_size must be an int between the receptive field {top.size} and "
                         f"{MAX_INPUT}, got {input_size!r}")
    levels = [ReceptiveFieldRow(1, 1, 1, 1, 1), *rows]  # level 0: the input itself
    counts = [(n_in - level.size) // level.jump + 1 for level in levels]
    traced = traced_units(rows, (counts[-1] - 1) // 2)
    height = ROW_SPACING * len(rows) + 1
    fig = new_figure(CELL_INCHES * (n_in + LEFT_CELLS + RIGHT_CELLS), CELL_INCHES * height + 0.1,
                     dpi=dpi)
    ax = cell_axes(fig, n_in, height)
    ax.set_xlim(-LEFT_CELLS, n_in + RIGHT_CELLS)  # room for the labels beside the rows
    for index, level in enumerate(levels):
        y = (len(levels) - 1 - index) * ROW_SPACING
        for unit in range(counts[index]):
            x = unit * level.jump + (level.size - 1) / 2  # centred on the inputs it sees
            colour = _colour(index, len(levels) - 1) if unit in traced[index] else IDLE_GREY
            draw_cell(ax, 0, x, origin=(0, y), facecolor=colour, edgecolor="black", lw=0.6)
            if index > 0 and unit in traced[index]:
                _connect(ax, levels, index, unit, x, y)
        ax.text(-0.6, y + 0.5, _label(index, level), ha="right", va="center", fontsize=8)
        ax.text(n_in + 0.6, y + 0.5, f"sees {level.size}", ha="left", va="center", fontsize=8)
    return fig


def _colour(index: int, top_index: int) -> str:
    return INPUT_BLUE if index == 0 else CURRENT_TEAL if index == top_index else OUTPUT_CYAN


def _label(index: int, level: ReceptiveFieldRow) -> str:
    if index == 0:
        return "input"
    return f"layer {index}: k={level.kernel}, s={level.stride}, d={level.dilation}"


def _connect(ax, levels, index, unit, x, y) -> None:
    """Lines from a traced unit down to the kernel taps it reads on the level below."""
    level, below = levels[index], levels[index - 1]
    for tap in range(level.kernel):
        source = unit * level.stride + tap * level.dilation
        x_below = source * below.jump + (below.size - 1) / 2
        ax.plot([x + 0.5, x_below + 0.5], [y + 1, y + ROW_SPACING], color=KERNEL_NAVY, lw=0.7)
