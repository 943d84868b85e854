"""Convolution arithmetic drawn as Dumoulin & Visin (2016) draw it, as frames and animations.

Blue cells are the input, dashed cells the zeros of padding (and, for a transposed convolution,
the zeros inserted between inputs), navy shading the kernel taps on the input, cyan cells the
output with the cell being computed in dark teal. One frame per output position, row by row.

Sizes come from `cnncourse.arithmetic`, so every picture agrees with the formulas:
Ho = floor((H + p_top + p_bottom - KHe) / s) + 1 with KHe = KH + (KH - 1)(d - 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from cnncourse.arithmetic import (
    Padding,
    conv_output_size,
    conv_transpose_output_size,
    padding_amounts,
)
from cnncourse.viz.drawing.colours import CURRENT_TEAL, KERNEL_NAVY, OUTPUT_CYAN
from cnncourse.viz.drawing.grids import FRAME_DPI, draw_cell, draw_grid, titled_cell_figure

Size = int | tuple[int, int]

MAX_CELLS = 40  # largest padded input drawn per axis: more would not read at book width
GAP = 2.0  # cells between the input and the output grids
CELL_INCHES = 0.4  # 40 px at FRAME_DPI; smaller only when the drawing would overflow the page


@dataclass(frozen=True)
class ConvolutionScene:
    """Everything one frame shows.

    is_input: (Hc, Wc) boolean canvas the kernel slides over (True: an input value; False: a
    zero of padding or of stride insertion). The kernel (KH, KW) moves by `stride` over the
    canvas with `dilation` between its taps, giving an output of size `output` (Ho, Wo).
    """

    is_input: np.ndarray
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    output: tuple[int, int]
    title: str

    @property
    def n_frames(self) -> int:
        """One frame per output position: Ho * Wo."""
        return self.output[0] * self.output[1]

    def position(self, frame: int) -> tuple[int, int]:
        """Output cell (i, j) computed in `frame`, row by row."""
        return divmod(frame, self.output[1])

    def taps(self, i: int, j: int) -> list[tuple[int, int]]:
        """Canvas cells (row, col) under the kernel taps for output cell (i, j)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        KH, KW = self.kernel
        return [(i * sh + u * dh, j * sw + v * dw) for u in range(KH) for v in range(KW)]


def _pair(name: str, value: Size) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else value
    if not (isinstance(pair, tuple | list) and len(pair) == 2):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1
               for v in pair):
        raise ValueError(f"{name} must hold integers >= 1, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_drawable(canvas: tuple[int, int]) -> None:
    if max(canvas) > MAX_CELLS:
        raise ValueError(f"padded input {canvas[0]}x{canvas[1]} is too large to draw "
                         f"(at most {MAX_CELLS} cells per side)")


def _size_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def convolution_scene(
    input_size: Size,
    kernel_size: Size,
    *,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
) -> ConvolutionScene:
    """Scene of a direct convolution of an input (H, W) with a kernel (KH, KW).

    padding: int or 'valid' / 'same' / 'full', as in Keras (the odd zero of 'same' goes after).
    """
    (H, W), (KH, KW) = _pair("input_size", input_size), _pair("kernel_size", kernel_size)
    stride, dilation = _pair("stride", stride), _pair("dilation", dilation)
    if isinstance(padding, tuple):
        raise ValueError(f"padding must be an int or a word for a drawing, got {padding!r}")
    pads, out = [], []
    for n, k, s, d in zip((H, W), (KH, KW), stride, dilation, strict=True):
        pads.append(padding_amounts(n, k, stride=s, padding=padding, dilation=d))
        out.append(conv_output_size(n, k, stride=s, padding=padding, dilation=d))
    (top, bottom), (left, right) = pads
    canvas = np.zeros((H + top + bottom, W + left + right), dtype=bool)
    canvas[top:top + H, left:left + W] = True
    _check_drawable(canvas.shape)
    title = (f"input {_size_text((H, W))}, kernel {_size_text((KH, KW))}, "
             f"stride {stride[0]}, padding {padding!r}"
             + (f", dilation {dilation[0]}" if dilation != (1, 1) else "")
             + f"\n\u2192  output {_size_text(tuple(out))}")
    return ConvolutionScene(canvas, (KH, KW), stride, dilation, (out[0], out[1]), title)


def transposed_convolution_scene(
    input_size: Size, kernel_size: Size, *, stride: Size = 1, padding: int | str = 0
) -> ConvolutionScene:
    """Scene of a transposed convolution drawn as its equivalent direct convolution.

    Dumoulin & Visin (2016), relationship 14: insert s - 1 zeros between the inputs, pad with
    p' = k - p - 1 zeros on each side, and slide the kernel with unit stride; the output has
    o' = s (i - 1) + k - 2p cells. padding: int p with 0 <= p <= k - 1, or Keras's 'valid' and
    'same', whose sizes come from `conv_transpose_output_size` ('same': Ho = s H).
    """
    (H, W), (KH, KW) = _pair("input_size", input_size), _pair("kernel_size", kernel_size)
    stride = _pair("stride", stride)
    axes = [_transposed_axis(n, k, s, padding)
            for n, k, s in zip((H, W), (KH, KW), stride, strict=True)]
    (top, bottom, Ho), (left, right, Wo) = axes
    spread = [n + (n - 1) * (s - 1) for n, s in zip((H, W), stride, strict=True)]
    canvas = np.zeros((top + spread[0] + bottom, left + spread[1] + right), dtype=bool)
    canvas[top:top + spread[0]:stride[0], left:left + spread[1]:stride[1]] = True
    _check_drawable(canvas.shape)
    title = (f"transposed: input {_size_text((H, W))}, kernel {_size_text((KH, KW))}, "
             f"stride {stride[0]}, padding {padding!r}\n"
             f"= stride-1 convolution, {stride[0] - 1} zero(s) between inputs,\n"
             f"padding {_amounts_text(top, bottom)}  \u2192  output {_size_text((Ho, Wo))}")
    return ConvolutionScene(canvas, (KH, KW), (1, 1), (1, 1), (Ho, Wo), title)


def _transposed_axis(n: int, k: int, s: int, padding: int | str) -> tuple[int, int, int]:
    """(zeros before, zeros after, output size o) of the equivalent convolution along one axis.

    The transposed convolution is the adjoint of a direct convolution from o cells to n with
    padding (b, a): its equivalent pads k - 1 - b before and k - 1 - a + r after, where r is the
    remainder that the direct convolution's stride left uncovered.
    """
    if isinstance(padding, int) and not isinstance(padding, bool) and padding > k - 1:
        raise ValueError(f"padding {padding} is larger than kernel - 1 = {k - 1}: "
                         f"the equivalent convolution would need negative padding")
    o = conv_transpose_output_size(n, k, stride=s, padding=padding)  # checks the padding
    if isinstance(padding, str):
        before, after = padding_amounts(o, k, stride=s, padding=padding)
    else:
        before, after = padding, padding
    remainder = o + before + after - ((n - 1) * s + k)
    return k - 1 - before, k - 1 - after + remainder, o


def _amounts_text(before: int, after: int) -> str:
    return f"{before}" if before == after else f"{before} before, {after} after"


def _draw_scene(scene: ConvolutionScene, *, dpi: float) -> tuple[Figure, Callable]:
    """Draw the static grids once; return the figure and update(frame) that moves the kernel."""
    Hc, Wc = scene.is_input.shape
    Ho, Wo = scene.output
    width, height = Wc + GAP + Wo, max(Hc, Ho)
    fig, ax = titled_cell_figure(width, height, scene.title, max_cell_inches=CELL_INCHES,
                                 dpi=dpi)
    input_origin = (0.0, (height - Hc) / 2)
    output_origin = (Wc + GAP, (height - Ho) / 2)
    draw_grid(ax, scene.is_input, origin=input_origin)
    draw_grid(ax, np.ones(scene.output, dtype=bool), origin=output_origin, face=OUTPUT_CYAN)
    taps = [draw_cell(ax, 0, 0, origin=input_origin, facecolor=KERNEL_NAVY, alpha=0.55,
                      edgecolor="none") for _ in range(scene.kernel[0] * scene.kernel[1])]
    current = draw_cell(ax, 0, 0, origin=output_origin, facecolor=CURRENT_TEAL,
                        edgecolor="black", lw=0.8)

    def update(frame: int) -> list:
        i, j = scene.position(frame)
        for patch, (row, col) in zip(taps, scene.taps(i, j), strict=True):
            patch.set_xy((input_origin[0] + col, input_origin[1] + row))
        current.set_xy((output_origin[0] + j, output_origin[1] + i))
        return [*taps, current]

    update(0)
    return fig, update


def _animate(scene: ConvolutionScene, dpi: float, interval_ms: int) -> FuncAnimation:
    fig, update = _draw_scene(scene, dpi=dpi)
    return FuncAnimation(fig, update, frames=scene.n_frames, interval=interval_ms, blit=False)


def animate_convolution(
    input_size: Size,
    kernel_size: Size,
    *,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    dpi: float = FRAME_DPI,
    interval_ms: int = 500,
) -> FuncAnimation:
    """Animation of a kernel (KH, KW) sliding over an input (H, W): one frame per output cell.

    Covers no padding (0 / 'valid'), half padding ('same'), 'full', any int padding, strides and
    dilation. Show it in a notebook with `animation_html`. Raises ValueError when the kernel
    does not fit the padded input or a size is not a positive integer.
    """
    scene = convolution_scene(input_size, kernel_size, stride=stride, padding=padding,
                              dilation=dilation)
    return _animate(scene, dpi, interval_ms)


def animate_transposed_convolution(
    input_size: Size,
    kernel_size: Size,
    *,
    stride: Size = 1,
    padding: int | str = 0,
    dpi: float = FRAME_DPI,
    interval_ms: int = 500,
) -> FuncAnimation:
    """Animation of a transposed convolution as the equivalent direct convolution with unit
    stride over the zero-inserted, padded input (Dumoulin & Visin 2016, section 4)."""
    scene = transposed_convolution_scene(input_size, kernel_size, stride=stride, padding=padding)
    return _animate(scene, dpi, interval_ms)


def draw_convolution_frame(
    input_size: Size,
    kernel_size: Size,
    *,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    position: tuple[int, int] = (0, 0),
    transposed: bool = False,
    dpi: float = 150,
) -> Figure:
    """One still frame, for print: the kernel placed for output cell `position` = (i, j)."""
    if transposed:
        if dilation != 1:
            raise ValueError(f"a transposed frame is drawn without dilation, got {dilation!r}")
        scene = transposed_convolution_scene(input_size, kernel_size, stride=stride,
                                             padding=padding)
    else:
        scene = convolution_scene(input_size, kernel_size, stride=stride, padding=padding,
                                  dilation=dilation)
    i, j = position
    Ho, Wo = scene.output
    if not (0 <= i < Ho and 0 <= j < Wo):
        raise ValueError(f"position must lie in the {Ho}x{Wo} output, got {position!r}")
    fig, update = _draw_scene(scene, dpi=dpi)
    update(i * Wo + j)
    return fig
