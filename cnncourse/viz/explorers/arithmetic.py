"""Convolution-arithmetic explorer: sliders for the sizes, the padded input and the output grid.

Every size it shows is looked up in a table that `cnncourse.arithmetic` computed when the
explorer was made, for every setting the sliders can reach, so the page and the formulas of the
package cannot disagree:

- direct convolution: output size `conv_output_size`, zeros `padding_amounts` (before, after)
  and the inputs left at the end `uncovered_inputs`;
- transposed convolution: drawn as its equivalent stride-1 convolution over the input with
  s - 1 zeros between units (Dumoulin & Visin 2016, relationship 14), as
  `transposed_convolution_scene` draws it; its output size is `conv_transpose_output_size`.

The square input and kernel behave the same way along both axes.
"""

from __future__ import annotations

import numpy as np

from cnncourse.arithmetic import (
    Padding,
    conv_output_size,
    padding_amounts,
    uncovered_inputs,
)
from cnncourse.viz.arithmetic_animation import draw_convolution_frame, transposed_convolution_scene
from cnncourse.viz.drawing.colours import (
    CURRENT_TEAL,
    INPUT_BLUE,
    KERNEL_NAVY,
    OUTPUT_CYAN,
    PAD_GREY,
)
from cnncourse.viz.explorers.page import Explorer, build_explorer, encode_bytes, png_bytes

INPUT_SIZES = tuple(range(1, 11))  # up to 10: with 'full' padding the canvas stays <= 34 cells
KERNEL_SIZES = tuple(range(1, 6))
STRIDES = (1, 2, 3)
DILATIONS = (1, 2, 3)
PADDINGS: tuple[Padding, ...] = ("valid", "same", "full", 0, 1, 2, 3)
TRANSPOSED_PADDINGS: tuple[Padding, ...] = ("valid", "same", 0, 1, 2, 3)
MISSING = -1  # a setting the package refuses (kernel larger than the padded input, ...)


def direct_entry(n: int, k: int, padding: Padding, s: int, d: int) -> list[int]:
    """[output size, zeros before, zeros after, uncovered inputs], or [-1] * 4 if refused."""
    try:
        size = conv_output_size(n, k, stride=s, padding=padding, dilation=d)
    except ValueError:
        return [MISSING] * 4
    before, after = padding_amounts(n, k, stride=s, padding=padding, dilation=d)
    return [size, before, after, uncovered_inputs(n, k, stride=s, padding=padding, dilation=d)]


def transposed_entry(n: int, k: int, padding: Padding, s: int) -> list[int]:
    """[output size, zeros before, zeros after] of the equivalent stride-1 convolution, or
    [-1] * 3 when the package refuses the setting (padding > k - 1, an empty output)."""
    try:
        scene = transposed_convolution_scene(n, k, stride=s, padding=padding)
    except ValueError:
        return [MISSING] * 3
    columns = np.flatnonzero(scene.is_input.any(axis=0))  # canvas columns holding an input
    width = scene.is_input.shape[1]
    return [scene.output[1], int(columns[0]), int(width - 1 - columns[-1])]


def size_tables() -> dict[str, object]:
    """Both tables, int8, flattened in the order of the axes listed with them."""
    direct = [direct_entry(n, k, p, s, d) for n in INPUT_SIZES for k in KERNEL_SIZES
              for p in PADDINGS for s in STRIDES for d in DILATIONS]
    transposed = [transposed_entry(n, k, p, s) for n in INPUT_SIZES for k in KERNEL_SIZES
                  for p in TRANSPOSED_PADDINGS for s in STRIDES]
    return {
        "direct": encode_bytes(np.array(direct, dtype=np.int8).ravel()),
        "transposed": encode_bytes(np.array(transposed, dtype=np.int8).ravel()),
    }


def _check_choice(name: str, value: object, choices: tuple) -> None:
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def arithmetic_explorer(
    *,
    input_size: int = 5,
    kernel_size: int = 3,
    padding: Padding = 1,
    stride: int = 2,
    dilation: int = 1,
    transposed: bool = False,
) -> Explorer:
    """Explorer of one convolution's sizes; the arguments are the sliders' first settings.

    input_size 1..10, kernel_size 1..5, padding 'valid' / 'same' / 'full' or 0..3, stride 1..3,
    dilation 1..3 (1 when transposed). Output size o = floor((i + p_b + p_a - ke) / s) + 1 with
    ke = k + (k - 1)(d - 1); transposed (int p): o = s (i - 1) + k - 2p.
    """
    _check_choice("input_size", input_size, INPUT_SIZES)
    _check_choice("kernel_size", kernel_size, KERNEL_SIZES)
    _check_choice("padding", padding, TRANSPOSED_PADDINGS if transposed else PADDINGS)
    _check_choice("stride", stride, STRIDES)
    _check_choice("dilation", dilation, (1,) if transposed else DILATIONS)
    data = {
        "inputSizes": list(INPUT_SIZES), "kernelSizes": list(KERNEL_SIZES),
        "paddings": list(PADDINGS), "transposedPaddings": list(TRANSPOSED_PADDINGS),
        "strides": list(STRIDES), "dilations": list(DILATIONS),
        "initial": {"input": input_size, "kernel": kernel_size, "padding": padding,
                    "stride": stride, "dilation": dilation, "transposed": bool(transposed)},
        "colours": {"input": INPUT_BLUE, "kernel": KERNEL_NAVY, "output": OUTPUT_CYAN,
                    "current": CURRENT_TEAL, "padding": PAD_GREY},
        **size_tables(),
    }
    figure = draw_convolution_frame(input_size, kernel_size, stride=stride, padding=padding,
                                    dilation=dilation, transposed=transposed, dpi=60)
    kind = "transposed convolution" if transposed else "convolution"
    alt = (f"A {kind} of a {input_size}x{input_size} input with a {kernel_size}x{kernel_size} "
           f"kernel, stride {stride}, padding {padding!r}: the kernel at the first output cell.")
    return build_explorer("arithmetic", data, png_bytes(figure, dpi=60), alt)
