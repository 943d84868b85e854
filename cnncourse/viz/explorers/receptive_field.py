"""Receptive-field calculator: a stack of layers you can edit, and what one unit sees.

Each layer (a convolution or a pooling window) has a kernel k, a stride s and a dilation d.
From r = 1, j = 1 on the input, each layer gives

    r <- r + (k + (k - 1)(d - 1) - 1) j        j <- j s

(`cnncourse.arithmetic.receptive_field_table`). The explorer shows the table for the stack the
book chose, computed by the package, and recomputes it in the page as the reader adds, removes
and edits layers (the browser test checks those numbers against the package). Units are drawn
along one axis, as `cnncourse.viz.plot_receptive_field` draws them; selecting a unit traces
every unit it depends on down to the input ('valid' layers, no padding).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncourse.arithmetic import Layer, conv_output_size, receptive_field_table
from cnncourse.viz.drawing.colours import CURRENT_TEAL, INPUT_BLUE, KERNEL_NAVY, OUTPUT_CYAN
from cnncourse.viz.explorers.page import Explorer, build_explorer, png_bytes
from cnncourse.viz.receptive_field import MAX_INPUT as MAX_DRAWN_INPUT
from cnncourse.viz.receptive_field import plot_receptive_field

LAYER_KINDS = ("conv", "pool")
MAX_LAYERS = 8  # rows that fit a phone screen
MAX_KERNEL, MAX_STRIDE, MAX_DILATION = 7, 4, 4  # the number boxes' limits
MAX_INPUT = 64  # input cells drawn at most: 5 px each on a 390 px phone


def _layer_dicts(layers: Sequence[Layer], kinds: Sequence[str]) -> list[dict[str, object]]:
    rows = receptive_field_table(layers)  # checks each layer, names a bad one
    if not 1 <= len(rows) <= MAX_LAYERS:
        raise ValueError(f"layers must hold 1 to {MAX_LAYERS} layers, got {len(rows)}")
    if len(kinds) != len(rows) or any(kind not in LAYER_KINDS for kind in kinds):
        raise ValueError(f"kinds must give one of {LAYER_KINDS} per layer ({len(rows)}), "
                         f"got {list(kinds)!r}")
    result = []
    for row, kind in zip(rows, kinds, strict=True):
        too_big = (row.kernel > MAX_KERNEL or row.stride > MAX_STRIDE
                   or row.dilation > MAX_DILATION or (kind == "pool" and row.dilation != 1))
        if too_big:
            raise ValueError(f"a {kind} layer must have kernel <= {MAX_KERNEL}, stride <= "
                             f"{MAX_STRIDE}, dilation <= {MAX_DILATION} (1 for pooling), got "
                             f"{(row.kernel, row.stride, row.dilation)}")
        result.append({"kind": kind, "kernel": row.kernel, "stride": row.stride,
                       "dilation": row.dilation, "size": row.size, "jump": row.jump})
    return result


def _check_input_size(layers: Sequence[Layer], input_size: int) -> None:
    if isinstance(input_size, bool) or not isinstance(input_size, int) or not (
            1 <= input_size <= MAX_INPUT):
        raise ValueError(f"input_size must be an integer from 1 to {MAX_INPUT}, "
                         f"got {input_size!r}")
    n = input_size
    for layer in layers:
        kernel, stride, *dilation = layer
        n = conv_output_size(n, kernel, stride=stride, dilation=dilation[0] if dilation else 1)


def receptive_field_explorer(
    layers: Sequence[Layer] = ((3, 1), (3, 1), (2, 2), (3, 1)),
    *,
    kinds: Sequence[str] | None = None,
    input_size: int | None = None,
) -> Explorer:
    """Calculator of receptive fields, starting from `layers`.

    layers: (kernel, stride) or (kernel, stride, dilation) tuples, 1 to 8 of them.
    kinds: 'conv' or 'pool' per layer (default: a layer whose kernel equals its stride > 1
    is shown as pooling, the others as convolutions). input_size: input cells drawn along
    the axis, default the receptive field plus two jumps (at most 64); every layer must fit
    ('valid', o = floor((n - ke) / s) + 1 >= 1).
    """
    layers = [tuple(layer) for layer in layers]
    if kinds is None:
        kinds = ["pool" if len(layer) == 2 and layer[0] == layer[1] > 1 else "conv"
                 for layer in layers]
    rows = _layer_dicts(layers, kinds)
    if input_size is None:
        input_size = min(rows[-1]["size"] + 2 * rows[-1]["jump"], MAX_INPUT)
    _check_input_size(layers, input_size)
    data = {
        "layers": rows,
        "inputSize": input_size,
        "limits": {"layers": MAX_LAYERS, "kernel": MAX_KERNEL, "stride": MAX_STRIDE,
                   "dilation": MAX_DILATION, "input": MAX_INPUT},
        "colours": {"input": INPUT_BLUE, "kernel": KERNEL_NAVY, "output": OUTPUT_CYAN,
                    "current": CURRENT_TEAL},
    }
    drawn = min(max(input_size, rows[-1]["size"]), MAX_DRAWN_INPUT)
    figure = plot_receptive_field(layers, input_size=drawn, dpi=40)
    alt = (f"A stack of {len(rows)} layers drawn along one axis: one unit of the last layer "
           f"sees {rows[-1]['size']} inputs.")
    return build_explorer("receptive_field", data, png_bytes(figure, dpi=40), alt)
