"""Convolution arithmetic frames and animations: one frame per output cell, kernel in place."""

import re

import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from cnncourse.arithmetic import conv_transpose_output_size
from cnncourse.viz import (
    animate_convolution,
    animate_transposed_convolution,
    convolution_scene,
    draw_convolution_frame,
    transposed_convolution_scene,
)
from cnncourse.viz.drawing.colours import CURRENT_TEAL, KERNEL_NAVY

# animations built only to count their frames are never rendered, and matplotlib says so
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def n_frames(anim: FuncAnimation) -> int:
    return len(list(anim.new_frame_seq()))


def patches_coloured(fig: Figure, colour: str) -> list[tuple[float, float]]:
    """Lower-left corners of the rectangles filled with `colour`, sorted."""
    target = mcolors.to_rgb(colour)
    corners = [p.get_xy() for p in fig.axes[0].patches
               if p.get_fill() and np.allclose(p.get_facecolor()[:3], target)]
    return sorted((float(x), float(y)) for x, y in corners)


# output positions of the cases drawn in Dumoulin & Visin (2016), counted by hand
@pytest.mark.parametrize(("kwargs", "positions"), [
    ({"input_size": 4, "kernel_size": 3}, 2 * 2),
    ({"input_size": 5, "kernel_size": 4, "padding": 2}, 6 * 6),
    ({"input_size": 5, "kernel_size": 3, "padding": "same"}, 5 * 5),
    ({"input_size": 5, "kernel_size": 3, "padding": "full"}, 7 * 7),
    ({"input_size": 5, "kernel_size": 3, "stride": 2}, 2 * 2),
    ({"input_size": 6, "kernel_size": 3, "stride": 2, "padding": 1}, 3 * 3),
    ({"input_size": 7, "kernel_size": 3, "dilation": 2}, 3 * 3),
    ({"input_size": (4, 6), "kernel_size": (3, 2)}, 2 * 5),
])  # fmt: skip
def test_one_frame_per_output_position(kwargs, positions):
    anim = animate_convolution(**kwargs)
    assert isinstance(anim, FuncAnimation)
    assert n_frames(anim) == positions


def test_padded_canvas_marks_inputs_and_padding():
    scene = convolution_scene(5, 3, padding="full")
    assert scene.is_input.shape == (9, 9)
    assert scene.is_input.sum() == 25
    assert not scene.is_input[:2].any() and not scene.is_input[:, -2:].any()


def test_kernel_taps_of_a_strided_padded_frame():
    # input 6, kernel 3, stride 2, padding 1: output cell (1, 2) reads padded rows 2..4, cols 4..6
    fig = draw_convolution_frame(6, 3, stride=2, padding=1, position=(1, 2), dpi=40)
    taps = patches_coloured(fig, KERNEL_NAVY)
    assert len(taps) == 9
    xs, ys = sorted({x for x, _ in taps}), sorted({y for _, y in taps})
    assert xs == [4.0, 5.0, 6.0]
    assert [y - ys[0] for y in ys] == [0.0, 1.0, 2.0] and ys[0] == pytest.approx(2.0)
    # the output grid (3x3) sits right of the canvas (8 cells wide) after a gap
    (current,) = patches_coloured(fig, CURRENT_TEAL)
    assert current[0] > 8 + 2 - 1e-9


def test_dilated_taps_are_spread_by_the_dilation():
    fig = draw_convolution_frame(7, 3, dilation=2, position=(0, 1), dpi=40)
    xs = sorted({x for x, _ in patches_coloured(fig, KERNEL_NAVY)})
    assert xs == [1.0, 3.0, 5.0]


@pytest.mark.parametrize(("n", "k", "stride", "padding"), [
    (2, 3, 1, 0), (2, 3, 2, 0), (3, 3, 2, 1), (2, 4, 2, 1), (3, 2, 3, 0), (4, 3, 1, 2),
])  # fmt: skip
def test_transposed_scene_is_a_unit_stride_convolution_of_the_right_size(n, k, stride, padding):
    scene = transposed_convolution_scene(n, k, stride=stride, padding=padding)
    expected = conv_transpose_output_size(n, k, stride=stride, padding=padding)
    assert scene.output == (expected, expected)
    assert scene.stride == (1, 1)
    assert scene.is_input.sum() == n * n
    inputs = np.argwhere(scene.is_input[:, 0 + k - padding - 1])  # one column of real inputs
    assert np.all(np.diff(inputs[:, 0]) == stride)  # stride - 1 zeros between inputs
    assert n_frames(animate_transposed_convolution(n, k, stride=stride, padding=padding)) == (
        expected * expected
    )


def test_every_tap_stays_on_the_canvas():
    for scene in (convolution_scene(6, 3, stride=2, padding=1),
                  convolution_scene(9, 3, padding="same", dilation=3),
                  transposed_convolution_scene(3, 3, stride=2, padding=1)):
        for frame in range(scene.n_frames):
            for row, col in scene.taps(*scene.position(frame)):
                assert 0 <= row < scene.is_input.shape[0] and 0 <= col < scene.is_input.shape[1]


def test_static_frame_is_a_figure_with_a_title():
    fig = draw_convolution_frame(3, 3, stride=2, transposed=True, position=(2, 3))
    assert isinstance(fig, Figure)
    assert "transposed" in fig.get_suptitle()


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: animate_convolution(3, 5), "larger than the padded input"),
    (lambda: animate_convolution(0, 3), "got 0"),
    (lambda: animate_convolution(5, 3, stride=0), "got 0"),
    (lambda: animate_convolution(5, 3, padding=(1, 2)), "got \\(1, 2\\)"),
    (lambda: animate_convolution(5, 3, padding="half"), "got 'half'"),
    (lambda: animate_convolution(60, 3), "too large to draw"),
    (lambda: animate_transposed_convolution(2, 3, padding=3), "larger than kernel - 1"),
    (lambda: draw_convolution_frame(4, 3, position=(2, 0)), "got \\(2, 0\\)"),
])  # fmt: skip
def test_bad_sizes_raise_value_error(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def transposed_by_scene(x: np.ndarray, w: np.ndarray, scene) -> np.ndarray:
    """The scene computed: x (H, W) placed on the canvas's input cells, then the flipped kernel
    w (KH, KW) correlated over the canvas at every output position, as the frames show it."""
    canvas = np.zeros(scene.is_input.shape)
    canvas[scene.is_input] = x.ravel()
    flipped = w[::-1, ::-1].ravel()
    out = np.zeros(scene.output)
    for frame in range(scene.n_frames):
        i, j = scene.position(frame)
        out[i, j] = sum(canvas[r, c] * tap for (r, c), tap in zip(scene.taps(i, j), flipped,
                                                                   strict=True))
    return out


@pytest.mark.parametrize(("n", "k", "stride", "padding"), [
    (3, 3, 2, "same"), (4, 3, 2, "same"), (3, 4, 2, "same"), (3, 2, 3, "same"), (2, 5, 1, "same"),
    (3, 3, 2, "valid"), (3, 2, 3, "valid"), (3, 3, 2, 1), (2, 4, 2, 2),
])  # fmt: skip
def test_transposed_scene_computes_what_the_layer_computes(n, k, stride, padding):
    from cnncourse.nn import conv_transpose2d_forward

    scene = transposed_convolution_scene(n, k, stride=stride, padding=padding)
    expected_size = conv_transpose_output_size(n, k, stride=stride, padding=padding)
    assert scene.output == (expected_size, expected_size)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(n, n)), rng.normal(size=(k, k))
    layer, _ = conv_transpose2d_forward(x[None, :, :, None], w[:, :, None, None],
                                        stride=stride, padding=padding)
    np.testing.assert_allclose(transposed_by_scene(x, w, scene), layer[0, :, :, 0], atol=1e-12)


def test_transposed_same_padding_multiplies_the_size_by_the_stride():
    anim = animate_transposed_convolution((3, 2), 3, stride=2, padding="same")
    assert n_frames(anim) == 6 * 4
    assert "padding 'same'" in anim._fig.get_suptitle()


@pytest.mark.parametrize("padding", ["full", "half", (1, 1), True, -1])
def test_transposed_rejects_other_paddings(padding):
    with pytest.raises(ValueError, match=re.escape(f"got {padding!r}")):
        transposed_convolution_scene(3, 3, stride=2, padding=padding)
