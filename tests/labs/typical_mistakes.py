"""A class of typical student mistakes per lab, as a student would hand them in.

Each mistake is the lab's solution with one plausible slip (the edit is applied to the solution
cell's text, with the solution markers removed, in the *released* notebook, so no hidden test is
there). `nbgrader validate` then shows the student the failing cells; a mistake counts as named
when the first line of one of the error messages shown (the line `nbgrader validate` prints
after the traceback, with the lines that continue it) matches the mistake's `cause` pattern,
which says in words what a reader would accept as naming the cause. `cut_lines`,
`causes_not_whole` and `grading_code_shown` find what a student would not see whole, and the
grading code's frames or source if any were shown.

Mistakes share a notebook (one kernel) where no cell one can change is a cell another can
change (`pack`, `reach`: a static reading of which names each part of the notebook binds and
reads); each failed cell of validate's report then goes to the one mistake that reaches it
(`attribute`), so that each mistake is judged on what it alone makes validate show.

Run as a script for the rate per lab:
    .venv/bin/python -m tests.labs.typical_mistakes [--exercises DIR --solutions DIR] [--alone]
        [LAB ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import symtable
import sys
import tempfile
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import nbformat

from tests.labs.mutants import KERAS_CELLS

ROOT = Path(__file__).resolve().parents[2]
MARKERS = re.compile(r"[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n")
ERROR_LINE = re.compile(r"^    (\w*(?:Error|Exception|Used|Interrupt)): (.*)$", re.M)
WIDTH = 90  # nbgrader validate's Validator.width: a longer line is cut and ends with "..."


@dataclass(frozen=True)
class Mistake:
    name: str  # one word for the table, e.g. "conv1d_flipped"
    cell: str  # grade_id of the solution cell
    old: str  # text of the solution to replace (must occur)
    new: str
    cause: str  # regex (case-insensitive) that a first line naming the cause matches


MISTAKES = {
    "lab1_convolution": [
        Mistake("size_true_division", "conv_output_size", ") // s + 1", ") / s + 1",
                r"true division|floor|integer|//"),
        Mistake("size_no_dilation", "conv_output_size", " - (k - 1) * (d - 1)", "",
                r"dilation"),
        Mistake("size_padding_one_side", "conv_output_size", "i + 2 * p", "i + p",
                r"padding.*(one side|once|2p|2 \* p|both sides)"),
        Mistake("size_no_stride", "conv_output_size", ") // s + 1", ") + 1", r"stride"),
        Mistake("conv1d_flipped", "conv1d", "window @ w", "window @ w[::-1]", r"flipped"),
        Mistake("conv1d_no_dilation", "conv1d", "xp[i * stride : i * stride + span : dilation]",
                "xp[i * stride : i * stride + K]", r"dilation"),
        Mistake("conv1d_no_stride", "conv1d", "xp[i * stride : i * stride + span : dilation]",
                "xp[i : i + span : dilation]", r"stride"),
        Mistake("conv1d_padding_one_side", "conv1d",
                "np.pad(np.asarray(x, dtype=np.float64), padding)",
                "np.pad(np.asarray(x, dtype=np.float64), (padding, 0))",
                r"padding.*(one side|both sides|each side)"),
        Mistake("corr2d_flipped", "corr2d", "* k)", "* k[::-1, ::-1])", r"flipped"),
        Mistake("corr2d_transposed", "corr2d",
                "out[i, j] = np.sum(x[i : i + KH, j : j + KW] * k)\n    return out",
                "out[i, j] = np.sum(x[i : i + KH, j : j + KW] * k)\n    return out.T",
                r"transpos|swapped|rows and columns"),
        Mistake("sobel_sign_flipped", "sobel",
                "np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])",
                "np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])",
                r"sign|negat|flipped|opposite"),
        Mistake("sobel_y_not_transposed", "sobel", "return sobel_x().T", "return sobel_x()",
                r"sobel_y.*(transpos|sobel_x|vertical|rows)"),
        Mistake("magnitude_l1", "sobel", "np.sqrt(gx**2 + gy**2)", "np.abs(gx) + np.abs(gy)",
                r"norm|\|gx\| \+ \|gy\||absolute|sqrt|square root|euclid"),
        Mistake("magnitude_no_sqrt", "sobel", "np.sqrt(gx**2 + gy**2)", "gx**2 + gy**2",
                r"square root|sqrt|squared"),
        # chapter 1's equivariance (new with issue 14: not in the lab before)
        Mistake("shift_wrong_direction", "equivariance",
                "padded[abs(dy) - dy : abs(dy) - dy + H, abs(dx) - dx : abs(dx) - dx + W]",
                "padded[abs(dy) + dy : abs(dy) + dy + H, abs(dx) + dx : abs(dx) + dx + W]",
                r"wrong way|direction"),
        Mistake("shift_wraps_around", "equivariance", "    H, W = image.shape\n",
                "    return np.roll(image, (dy, dx), axis=(0, 1))\n", r"wrap"),
        Mistake("gap_not_normalised", "equivariance",
                " / np.abs(moved_first).max())", ")", r"divide|normalis|relative"),
    ],
    "lab2_conv_layer": [
        Mistake("forward_flipped", "conv2d_forward_loops", "np.tensordot(window, w,",
                "np.tensordot(window, w[::-1, ::-1],", r"flipped"),
        Mistake("forward_no_padding_in_size", "conv2d_forward_loops",
                "Ho = (H + 2 * padding - KH) // stride + 1",
                "Ho = (H - KH) // stride + 1", r"padding"),
        Mistake("forward_no_stride", "conv2d_forward_loops",
                "xp[:, i * stride : i * stride + KH, j * stride : j * stride + KW, :]",
                "xp[:, i : i + KH, j : j + KW, :]", r"stride"),
        Mistake("forward_no_bias", "conv2d_forward_loops",
                "axes=([1, 2, 3], [0, 1, 2])) + b", "axes=([1, 2, 3], [0, 1, 2]))", r"bias"),
        Mistake("forward_size_no_stride", "conv2d_forward_loops",  # crashes (issue 21)
                "Ho = (H + 2 * padding - KH) // stride + 1\n"
                "    Wo = (W + 2 * padding - KW) // stride + 1",
                "Ho = (H + 2 * padding - KH) + 1\n    Wo = (W + 2 * padding - KW) + 1",
                r"stride"),
        Mistake("forward_cache_padded", "conv2d_forward_loops",  # passed before issue 21
                "return out, (x, w, b, stride, padding)",
                "return out, (xp, w, b, stride, padding)", r"cache.*padded"),
        Mistake("forward_channels_first", "conv2d_forward_loops",
                "return out, (x, w, b, stride, padding)",
                "return out.transpose(0, 3, 1, 2), (x, w, b, stride, padding)",
                r"channels first|\(N, C, H, W\)"),
        Mistake("backward_dx_not_added", "conv2d_backward_loops",
                "dxp[:, rows, cols, :] += ", "dxp[:, rows, cols, :] = ",
                r"overlap|add|\+="),
        Mistake("backward_db_wrong_axes", "conv2d_backward_loops",
                "db = dout.sum(axis=(0, 1, 2))", "db = dout.sum(axis=(1, 2))",
                r"db.*(axes|axis|sum|batch)"),
        Mistake("backward_no_crop", "conv2d_backward_loops",
                "dx = dxp[:, padding : padding + H, padding : padding + W, :]", "dx = dxp",
                r"dx.*(padding|crop)"),
        Mistake("backward_first_example_only", "conv2d_backward_loops",
                "dw += np.tensordot(xp[:, rows, cols, :], d, axes=([0], [0]))",
                "dw += np.tensordot(xp[0, rows, cols, :], d[0], axes=0)",
                r"dw.*(batch|example|sum)"),
        Mistake("backward_expects_padded_cache", "conv2d_backward_loops",
                "xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))",
                "xp = x", r"cache"),
        Mistake("backward_dw_flipped", "conv2d_backward_loops",
                "    return dx, dw, db", "    return dx, dw[::-1, ::-1], db",
                r"dw.*flipped"),
        Mistake("im2col_channels_first", "im2col",
                "return cols.reshape(N * Ho * Wo, KH * KW * C)",
                "return cols.transpose(0, 1, 2, 5, 3, 4).reshape(N * Ho * Wo, KH * KW * C)",
                r"order|channels innermost|\(c, u, v\)"),
        Mistake("im2col_no_stride", "im2col",
                "xp[:, u : u + stride * Ho : stride,\n"
                "                                        v : v + stride * Wo : stride, :]",
                "xp[:, u : u + Ho, v : v + Wo, :]", r"stride"),
        Mistake("fast_no_bias", "conv2d_forward_fast", "w.reshape(KH * KW * C, F) + b",
                "w.reshape(KH * KW * C, F)", r"bias"),
        Mistake("fast_height_width_swapped", "conv2d_forward_fast",
                "return out.reshape(N, Ho, Wo, F)", "return out.reshape(N, Wo, Ho, F)",
                r"height and width|swapped|transpos"),
    ],
    "lab3_pooling": [
        Mistake("max_is_average", "maxpool2d_forward",
                "out = np.maximum(out, tap)\n    return out,",
                "out = np.maximum(out, tap)\n    out = sum(x[:, u : u + stride * Ho : stride, "
                "v : v + stride * Wo : stride, :] for u in range(pool_size) "
                "for v in range(pool_size)) / pool_size**2\n    return out,",
                r"average|mean"),
        Mistake("max_size_no_stride", "maxpool2d_forward",
                "Ho = (H - pool_size) // stride + 1\n    Wo = (W - pool_size) // stride + 1",
                "Ho = (H - pool_size) + 1\n    Wo = (W - pool_size) + 1", r"stride"),
        Mistake("max_size_off_by_one", "maxpool2d_forward",
                "Ho = (H - pool_size) // stride + 1\n    Wo = (W - pool_size) // stride + 1",
                "Ho = (H - pool_size) // stride\n    Wo = (W - pool_size) // stride",
                r"off by one|one (row|column|output)|\+ 1"),
        Mistake("max_starts_at_zero", "maxpool2d_forward",
                "out = np.full((N, Ho, Wo, C), -np.inf)", "out = np.zeros((N, Ho, Wo, C))",
                r"zero|-inf|negative"),
        Mistake("max_backward_every_tie", "maxpool2d_backward",
                "wins = (x[:, rows, cols, :] == out) & ~routed",
                "wins = x[:, rows, cols, :] == out", r"tie"),
        Mistake("max_backward_every_input", "maxpool2d_backward",
                "dx[:, rows, cols, :] += np.where(wins, dout, 0.0)",
                "dx[:, rows, cols, :] += dout", r"every input|maximum only|winner"),
        Mistake("max_backward_not_added", "maxpool2d_backward",
                "dx[:, rows, cols, :] += np.where(wins, dout, 0.0)",
                "dx[:, rows, cols, :] = np.where(wins, dout, dx[:, rows, cols, :])",
                r"overlap|add|\+="),
        Mistake("avg_forward_sum", "avgpool2d", "return out / pool_size**2, (x.shape,",
                "return out, (x.shape,", r"divide|sum of|1/P|window size"),
        Mistake("avg_forward_divide_by_p", "avgpool2d", "return out / pool_size**2, (x.shape,",
                "return out / pool_size, (x.shape,", r"P\^2|P²|pool_size\*\*2|window size|P \* P"),
        Mistake("avg_backward_not_divided", "avgpool2d",
                "share = dout / pool_size**2", "share = dout", r"divide|1/P|window size"),
        Mistake("avg_backward_not_added", "avgpool2d",
                "Wo : stride, :] += share", "Wo : stride, :] = share",
                r"overlap|add|\+="),
        Mistake("avg_forward_no_stride", "avgpool2d",
                "out += x[:, u : u + stride * Ho : stride, v : v + stride * Wo : stride, :]",
                "out += x[:, u : u + Ho, v : v + Wo, :]", r"stride"),
    ],
    "lab4_lenet": [
        Mistake("init_lecun", "init_lenet", "np.sqrt(2.0 / fan_in)", "np.sqrt(1.0 / fan_in)",
                r"LeCun|sqrt\(2"),
        Mistake("init_float64", "init_lenet",
                "(rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)",
                "rng.normal(size=shape) * np.sqrt(2.0 / fan_in)", r"float32"),
        Mistake("softmax_not_divided", "softmax_cross_entropy", "return float(loss), dlogits / N",
                "return float(loss), dlogits", r"divided by the batch"),
        Mistake("softmax_summed", "softmax_cross_entropy",
                "loss = -log_p[np.arange(N), labels].mean()",
                "loss = -log_p[np.arange(N), labels].sum()", r"summed|mean"),
        Mistake("softmax_overflow", "softmax_cross_entropy",
                "shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits",
                r"overflow|largest logit"),
        Mistake("forward_no_relu_c3", "lenet_forward",
                "m2, p2 = maxpool2d_forward(np.maximum(a2, 0))", "m2, p2 = maxpool2d_forward(a2)",
                r"no ReLU after C3"),
        Mistake("forward_flatten_channels_first", "lenet_forward",
                "f = m2.reshape(len(x), -1)", "f = m2.transpose(0, 3, 1, 2).reshape(len(x), -1)",
                r"channels first"),
        Mistake("forward_cache_after_relu", "lenet_forward", '"a1": a1,',
                '"a1": np.maximum(a1, 0),', r"ReLU|pre-activation"),
        Mistake("backward_no_relu_mask", "lenet_backward",
                'd = (dlogits @ p["w5"].T) * (cache["a4"] > 0)', 'd = dlogits @ p["w5"].T',
                r"ReLU"),
        Mistake("backward_w3_transposed", "lenet_backward",
                'grads["w3"], grads["b3"] = cache["f"].T @ d, d.sum(axis=0)',
                'grads["w3"], grads["b3"] = d.T @ cache["f"], d.sum(axis=0)', r"transposed"),
        Mistake("accuracy_per_batch", "train_lenet", "return hits / len(x)", "return hits / 500",
                r"accuracy|fraction"),
    ],
    "lab5_model_zoo": [  # Keras blocks, read from the graph the student builds (issue 21)
        Mistake("vgg_no_relu", "vgg_block", ', activation="relu")(x)', ")(x)",
                r"no ReLU"),
        Mistake("vgg_pool_every_conv", "vgg_block",
                "(x)\n    return layers.MaxPooling2D(2)(x)",
                "(x)\n        x = layers.MaxPooling2D(2)(x)\n    return x", r"every conv|once"),
        Mistake("vgg_pool_stride_1", "vgg_block", "layers.MaxPooling2D(2)",
                "layers.MaxPooling2D(2, strides=1)", r"stride"),
        Mistake("vgg_padding_valid", "vgg_block", 'padding="same", ', "", r"padding"),
        Mistake("residual_second_relu", "residual_block",
                'layers.Conv2D(filters, 3, padding="same")(y)',
                'layers.Conv2D(filters, 3, padding="same", activation="relu")(y)',
                r"second conv"),
        Mistake("residual_no_final_relu", "residual_block",
                'return layers.Activation("relu")(layers.Add()([shortcut, y]))',
                "return layers.Add()([shortcut, y])", r"no ReLU after the add"),
        Mistake("residual_relu_before_add", "residual_block",
                'return layers.Activation("relu")(layers.Add()([shortcut, y]))',
                'return layers.Add()([shortcut, layers.Activation("relu")(y)])',
                r"before the add"),
        Mistake("residual_always_projected", "residual_block",
                "shortcut = x\n    if x.shape[-1] != filters:\n"
                "        shortcut = layers.Conv2D(filters, 1)(x)",
                "shortcut = layers.Conv2D(filters, 1)(x)", r"projected.*x itself"),
        Mistake("residual_never_projected", "residual_block",  # crashed in Keras's Add before
                "    if x.shape[-1] != filters:\n"
                "        shortcut = layers.Conv2D(filters, 1)(x)  # projection to the new width\n",
                "", r"project the shortcut"),
        Mistake("inception_3x3_no_reduction", "inception_module",
                "conv(conv(x, f3_reduce, 1), f3, 3)", "conv(x, f3, 3)", r"reduction"),
        Mistake("inception_5x5_no_reduction", "inception_module",
                "conv(conv(x, f5_reduce, 1), f5, 5)", "conv(x, f5, 5)", r"reduction"),
        Mistake("inception_concat_axis", "inception_module", "Concatenate(axis=-1)",
                "Concatenate(axis=1)", r"channels|last axis"),
        Mistake("inception_pool_not_projected", "inception_module",
                'conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), pool_proj, 1)',
                'layers.MaxPooling2D(3, strides=1, padding="same")(x)', r"pool branch.*1x1"),
        Mistake("inception_pool_valid", "inception_module",
                'MaxPooling2D(3, strides=1, padding="same")', "MaxPooling2D(3, strides=1)",
                r"padding"),
        Mistake("separable_full_conv", "separable",
                'layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)',
                'layers.Conv2D(x.shape[-1], 3, padding="same", activation="relu")(x)',
                r"DepthwiseConv2D|each channel"),
        Mistake("separable_no_relu", "separable",
                'return layers.Conv2D(filters, 1, activation="relu")(x)',
                "return layers.Conv2D(filters, 1)(x)", r"no ReLU"),
        Mistake("ratio_k_not_squared", "separable", "return 1 / n + 1 / k**2",
                "return 1 / n + 1 / k", r"D_K\^2|taps"),
        Mistake("ratio_inverted", "separable", "return 1 / n + 1 / k**2",
                "return 1 / (1 / n + 1 / k**2)", r"inverse"),
    ],
    "lab6_transposed_segmentation": [
        Mistake("forward_no_crop", "conv_transpose2d_forward",
                "out = full[:, padding : Hf - padding, padding : Wf - padding, :] + b",
                "out = full + b", r"crop|padding"),
        Mistake("forward_not_added", "conv_transpose2d_forward",
                "j * stride + KW, :] += copy", "j * stride + KW, :] = copy",
                r"overlap|add|\+="),
        Mistake("forward_no_bias", "conv_transpose2d_forward",
                "padding : Wf - padding, :] + b", "padding : Wf - padding, :]", r"bias"),
        Mistake("forward_no_stride", "conv_transpose2d_forward",
                "full[:, i * stride : i * stride + KH, j * stride : j * stride + KW, :]",
                "full[:, i : i + KH, j : j + KW, :]", r"stride|apart"),
        Mistake("forward_flipped", "conv_transpose2d_forward",
                "np.tensordot(x[:, i, j, :], w, axes", "np.tensordot(x[:, i, j, :], "
                "w[::-1, ::-1], axes", r"flipped"),
        Mistake("forward_crop_one_side", "conv_transpose2d_forward",
                "out = full[:, padding : Hf - padding, padding : Wf - padding, :] + b",
                "out = full[:, padding:, padding:, :] + b", r"one side"),
        Mistake("backward_db_wrong_axes", "conv_transpose2d_backward",
                "db = dout.sum(axis=(0, 1, 2))", "db = dout.sum(axis=(1, 2))",
                r"db.*(axes|axis|sum)"),
        Mistake("backward_dx_flipped", "conv_transpose2d_backward",
                "np.tensordot(window, w, axes", "np.tensordot(window, w[::-1, ::-1], axes",
                r"flipped"),
        Mistake("backward_dw_one_example", "conv_transpose2d_backward",
                "dw += np.tensordot(window, x[:, i, j, :], axes=([0], [0]))",
                "dw += np.tensordot(window[0], x[0, i, j, :], axes=0)",
                r"dw.*(batch|example|sum)"),
        Mistake("overlap_no_stride", "overlap_counts",
                "counts[i * s : i * s + k, j * s : j * s + k] += 1",
                "counts[i : i + k, j : j + k] += 1", r"stride|apart"),
        Mistake("overlap_not_added", "overlap_counts", "j * s + k] += 1", "j * s + k] = 1",
                r"overlap|add|\+="),
        Mistake("iou_absent_zero", "iou", "ious = np.full(num_classes, np.nan)",
                "ious = np.zeros(num_classes)", r"absent|NaN"),
        Mistake("iou_dice", "iou",
                "ious[c] = np.sum((predicted == c) & (truth == c)) / union",
                "ious[c] = 2 * np.sum((predicted == c) & (truth == c)) / "
                "(np.sum(predicted == c) + np.sum(truth == c))", r"dice"),
        Mistake("iou_whole_image", "iou",  # named since issue 21
                "ious[c] = np.sum((predicted == c) & (truth == c)) / union",
                "ious[c] = np.sum((predicted == c) & (truth == c)) / predicted.size",
                r"image size|union"),
        Mistake("forward_kernel_cf", "conv_transpose2d_forward",  # crashed raw before
                "KH, KW, F, _ = w.shape", "KH, KW, _, F = w.shape",
                r"kernel is|output channels third"),
        Mistake("mean_with_absent", "iou",
                "return float(np.nanmean(iou_per_class(predicted, truth, num_classes)))",
                "return float(np.mean(np.nan_to_num(iou_per_class(predicted, truth, "
                "num_classes))))", r"absent|nanmean|skip"),
    ],
}


def student_notebook(release: Path, solutions: Path, lab: str,
                     mistake: Mistake | None) -> nbformat.NotebookNode:
    """The release with every answer written as the solution, one of them with the mistake."""
    answers = {c.metadata.nbgrader["grade_id"]: MARKERS.sub("", c.source)
               for c in nbformat.read(solutions / lab / f"{lab}.ipynb", as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release / lab / f"{lab}.ipynb", as_version=4)
    # the Keras training sections (labs 4 and 6) hold no mistake here: left out, to keep it quick
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in KERAS_CELLS.get(lab, ()) and not _after_keras(nb, c, lab)]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    if mistake is not None:
        make_mistake(nb, lab, mistake)
    return nb


def make_mistake(nb: nbformat.NotebookNode, lab: str, mistake: Mistake) -> None:
    """Edits the mistake's answer cell of `nb` (written as the solution) in place."""
    cell = next(c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == mistake.cell)
    if mistake.old not in cell.source:
        raise ValueError(f"{lab} {mistake.name}: {mistake.old!r} not in the answer")
    cell.source = cell.source.replace(mistake.old, mistake.new, 1)


def _after_keras(nb: nbformat.NotebookNode, cell: nbformat.NotebookNode, lab: str) -> bool:
    """Whether the cell comes after the first Keras cell of the lab (its prose and demos)."""
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    keras = [i for i, gid in enumerate(ids) if gid in KERAS_CELLS.get(lab, ())]
    return bool(keras) and nb.cells.index(cell) >= keras[0] - 1


def packed_class(lab: str) -> list[list[Mistake]]:
    """The lab's mistakes as students, each with at most one mistake per answer cell."""
    by_cell: dict[str, list[Mistake]] = {}
    for mistake in MISTAKES[lab]:
        by_cell.setdefault(mistake.cell, []).append(mistake)
    return [[m for m in row if m is not None] for row in zip_longest(*by_cell.values())]


def with_mistakes(lab: str, mistakes: list[Mistake], release: Path = ROOT / "exercises",
                  solutions: Path = ROOT / "solutions") -> nbformat.NotebookNode:
    nb = student_notebook(release, solutions, lab, None)
    for mistake in mistakes:
        make_mistake(nb, lab, mistake)
    return nb


# --- packing: several mistakes in one student, each judged on its own cells' errors ---------
#
# A lab notebook is a sequence of parts: an answer cell and the cells after it up to the next
# answer cell (its test cells, and any demo cell that follows them). A kernel runs the parts in
# order, so a mistake changes what its own part shows and what the later parts that read a name
# its part binds show, those parts' readers too, and so on: the mistake's reach. Two mistakes
# whose reaches are disjoint can share a notebook: no cell either of them can change is a cell
# the other can change, and each error shown lies in the reach of one mistake only.


class _Names(ast.NodeVisitor):
    """Names a cell reads before binding them itself (free) and names it binds (defined, but
    not by an import: a module is the same whatever a student answers), statement by
    statement in the order Python evaluates them."""

    def __init__(self, bound: set[str]):
        self.bound, self.free, self.defined = set(bound), set(), set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id)
        elif node.id not in self.bound:
            self.free.add(node.id)

    def _bind(self, name: str, imported: bool = False) -> None:
        self.bound.add(name)
        if not imported:
            self.defined.add(name)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(ast.Name(node.target.id, ast.Load()) if isinstance(node.target, ast.Name)
                   else node.target)
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        for child in (node.iter, node.target, *node.body, *node.orelse):
            self.visit(child)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0], imported=True)

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for child in node.body:
            self.visit(child)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        """A def or class reads, when called, the globals its body reads: counted here."""
        for child in (*node.decorator_list, *getattr(node, "bases", ())):
            self.visit(child)
        if isinstance(node, ast.FunctionDef):
            for default in (*node.args.defaults, *node.args.kw_defaults):
                if default is not None:
                    self.visit(default)
        self.free |= _globals_read(ast.unparse(node)) - self.bound
        self._bind(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in node.args.defaults:
            self.visit(default)
        self.free |= _globals_read(ast.unparse(node)) - self.bound

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp
                       | ast.DictComp) -> None:
        """A comprehension's variables are its own: they do not bind the cell's names."""
        outer, outer_defined = set(self.bound), set(self.defined)
        for generator in node.generators:
            for child in (generator.iter, generator.target, *generator.ifs):
                self.visit(child)
        for child in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
            self.visit(child)
        self.bound, self.defined = outer, outer_defined

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp


def _globals_read(source: str) -> set[str]:
    """The global names that the functions, lambdas and classes of `source` read."""
    def reads(table: symtable.SymbolTable) -> set[str]:
        here = {s.get_name() for s in table.get_symbols() if s.is_referenced()
                and (s.is_global() or table.get_type() == "class" and not s.is_assigned())}
        return here.union(*(reads(child) for child in table.get_children()))
    top = symtable.symtable(source, "<cell>", "exec")
    return set().union(*(reads(child) for child in top.get_children()))


@dataclass(frozen=True)
class Part:
    answer: str | None  # grade_id of the answer cell; None for the cells before the first
    sources: tuple[str, ...]  # the code cells' sources, the answer cell's first
    free: frozenset[str]  # names read before the part binds them
    defined: frozenset[str]  # names the part binds, imports aside


def parts(nb: nbformat.NotebookNode) -> list[Part]:
    """The notebook's code cells, cut before each answer cell."""
    groups: list[tuple[str | None, list[str]]] = [(None, [])]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            groups.append((meta["grade_id"], []))
        groups[-1][1].append(cell.source)
    found = []
    for answer, sources in groups:
        names = _Names(set())
        for source in sources:
            names.visit(ast.parse(source))
        found.append(Part(answer, tuple(sources), frozenset(names.free),
                          frozenset(names.defined)))
    return found


def reach(all_parts: list[Part], answer: str) -> set[str | None]:
    """The parts (by answer) whose cells an edit of `answer` can change: its own, and every
    later part that reads a name one of those binds."""
    start = next(i for i, part in enumerate(all_parts) if part.answer == answer)
    reached, defined = {answer}, set(all_parts[start].defined)
    for part in all_parts[start + 1:]:
        if part.free & defined:
            reached.add(part.answer)
            defined |= part.defined
    return reached


def pack(all_parts: list[Part], mistakes: list[Mistake]) -> list[list[Mistake]]:
    """Students of several mistakes each, whose reaches are disjoint (first fit, in order);
    a mistake that shares a part with every student so far starts a new one."""
    reaches = {m.name: reach(all_parts, m.cell) for m in mistakes}
    students: list[list[Mistake]] = []
    for mistake in mistakes:
        fits = (s for s in students if all(not reaches[m.name] & reaches[mistake.name]
                                           for m in s))
        student = next(fits, None)
        if student is None:
            students.append(student := [])
        student.append(mistake)
    return students


SEPARATOR = "\n" + "=" * WIDTH + "\n"  # validate's line before each cell it shows
FAILED = "The following cell failed:\n\n"


def shown_source(source: str) -> str:
    """A cell's source as validate prints it: stripped, indented, long lines cut."""
    return "\n".join(line if len(line) <= WIDTH - 3 else line[:WIDTH - 3] + "..."
                     for line in ("    " + line for line in source.strip().split("\n")))


def attribute(report: str, all_parts: list[Part], student: list[Mistake]) -> dict[str, str]:
    """Each mistake's report: validate's header and the failed cells in its reach. Every
    mistake's, as with one mistake per notebook: a failed cell before the first answer (no
    answer runs before it), and one that failed only by writing to stderr, no error shown
    (a library's lines, such as TensorFlow's start-up lines before the labs imported Keras
    quietly: a mistake that reaches such a cell can only make the others' reports stricter).
    Any other failed cell outside every reach is the student's only mistake's; with several,
    nothing can say whose it is, and that stops the run."""
    header, *shown = report.split(SEPARATOR)
    everyone = [m.name for m in student]
    owners = {0: everyone} if all_parts[0].answer is None else {}  # part index -> mistakes
    for mistake in student:
        for index, part in enumerate(all_parts):
            if part.answer in reach(all_parts, mistake.cell):
                owners[index] = [mistake.name]
    sections: dict[str, list[str]] = {m.name: [] for m in student}
    cells = [(index, shown_source(source)) for index, part in enumerate(all_parts)
             for source in part.sources]
    position = 0
    for section in shown:
        if not section.startswith(FAILED):
            raise RuntimeError(f"validate showed a cell that did not fail:\n{section[:500]}")
        source = section[len(FAILED):section.index("\n\nThe error was:\n\n")]
        index = next((k for k in range(position, len(cells)) if cells[k][1] == source), None)
        if index is None:
            raise RuntimeError(f"failed cell not in the notebook (in order):\n{source[:500]}")
        position = index + 1
        names = (everyone if not first_lines(section) else
                 owners.get(cells[index][0], everyone if len(student) == 1 else None))
        if names is None:
            raise RuntimeError(f"a cell no mistake of {everyone} can change failed:\n"
                               f"{section[:1500]}")
        for name in names:
            sections[name].append(section)
    return {name: SEPARATOR.join([header, *own]) for name, own in sections.items()}


def validate(paths: list[Path], env: dict[str, str]) -> str:
    """nbgrader validate's report (its stdout) on the notebooks, in one run."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", *map(str, paths)],
                            capture_output=True, text=True, env=env, timeout=1800,
                            cwd=paths[0].parent)
    return result.stdout


REPORT_START = re.compile(r"^(VALIDATION FAILED ON|Success! Your notebook passes)", re.M)


def split_reports(output: str, paths: list[Path]) -> dict[Path, str]:
    """The report of each notebook: nbgrader validate writes one per notebook, in order, each
    starting with 'VALIDATION FAILED ON' or 'Success! ...'."""
    starts = [m.start() for m in REPORT_START.finditer(output)]
    if len(starts) != len(paths):
        raise RuntimeError(f"nbgrader validate wrote {len(starts)} reports for {len(paths)} "
                           f"notebooks:\n{output[-3000:]}")
    ends = [*starts[1:], len(output)]
    return {path: output[start:end] for path, start, end in zip(paths, starts, ends, strict=True)}


def messages(report: str) -> list[list[str]]:
    """The messages of the errors shown, each as its lines ("XError: first line", then the lines
    that follow it up to the blank line that ends the error), without validate's indent."""
    lines = report.splitlines()
    found = []
    for index, line in enumerate(lines):
        if ERROR_LINE.match(line):
            message = []
            for shown in lines[index:]:
                if not shown.strip():
                    break
                message.append(shown[4:])
            found.append(message)
    return found


def first_lines(report: str) -> list[str]:
    """The first line of each error message, with its continuation lines (indented by two
    spaces: a first line too long for validate is wrapped, not cut)."""
    firsts = []
    for message in messages(report):
        first = message[0]
        for line in message[1:]:
            if not line.startswith("  "):
                break
            first += " " + line.strip()
        firsts.append(first)
    return firsts



def cut_lines(report: str) -> list[str]:
    """Lines of the error messages that validate cut (so the student does not see them whole)."""
    return [line for message in messages(report) for line in message
            if len(line) + 4 >= WIDTH - 3 and line.endswith("...")]


def causes_not_whole(report: str) -> list[str]:
    """Catalogued diagnoses named in the report ([mistake: id]) whose text is not there whole."""
    from cnncourse.grading.checks import MISTAKES, mistake_ids_in

    # a line too long for validate continues on the next, indented by two spaces
    shown = "\n".join("\n".join(message) for message in messages(report)).replace("\n  ", " ")
    return [MISTAKES[m] for m in mistake_ids_in(shown) if m != "crashed"
            and MISTAKES[m] not in shown]


def grading_source_lines() -> set[str]:
    """The lines of cnncourse/grading's source long enough to be recognised (25 characters)."""
    return {line.strip() for path in (ROOT / "cnncourse" / "grading").rglob("*.py")
            for line in path.read_text().splitlines() if len(line.strip()) >= 25}


def grading_code_shown(report: str, source: set[str]) -> list[str]:
    """Lines of the errors shown that come from the grading code: its frames or its source."""
    errors = "\n".join(part.split("\n\n\n")[0] for part in report.split("The error was:")[1:])
    return [line.strip() for line in errors.splitlines() if "cnncourse/grading" in line
            or line.strip().rstrip(".").strip() in source
            or re.sub(r"^-*>?\s*\d+\s", "", line.strip()).strip() in source]


ARGUMENTS = re.compile(r"\([^()]*\)")


def names_cause(mistake: Mistake, line: str) -> bool:
    """Whether a first line names the mistake's cause; the arguments of a call quoted in the
    line, e.g. `conv1d(x, w, dilation=2)`, do not count as naming the dilation."""
    return re.search(mistake.cause, ARGUMENTS.sub("", line), re.I) is not None


def run_class(lab: str, release: Path, solutions: Path, env: dict[str, str],
              packed: bool = True) -> list[tuple[Mistake, bool, list[str], str]]:
    """Validate every mistake of a lab; returns (mistake, named, first lines shown, report),
    the report holding the failed cells of the mistake's reach. Packed, the mistakes whose
    reaches are disjoint share a notebook (a kernel); else each has its own."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id") for c in
             nbformat.read(solutions / lab / f"{lab}.ipynb", as_version=4).cells}
    mistakes = [m for m in MISTAKES[lab] if m.cell in cells]
    all_parts = parts(student_notebook(release, solutions, lab, None))
    students = pack(all_parts, mistakes) if packed else [[m] for m in mistakes]
    with tempfile.TemporaryDirectory() as tmp:
        config = release / lab / "nbgrader_config.py"  # the student's folder has the lab's
        if config.is_file():
            shutil.copy(config, tmp)
        paths = []
        for number, student in enumerate(students):
            path = Path(tmp) / f"student{number}.ipynb"
            nbformat.write(with_mistakes(lab, student, release, solutions), path)
            paths.append(path)
        reports = split_reports(validate(paths, env), paths)
    own = {name: report for student, path in zip(students, paths, strict=True)
           for name, report in attribute(reports[path], all_parts, student).items()}
    results = []
    for mistake in mistakes:
        lines = first_lines(own[mistake.name])
        named = any(names_cause(mistake, line) for line in lines)
        results.append((mistake, named, lines, own[mistake.name]))
    return results


def validation_env(home: Path) -> dict[str, str]:
    """A student's environment: no TF_CPP_MIN_LOG_LEVEL (the labs import Keras quietly)."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("labs", nargs="*", default=list(MISTAKES))
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--alone", action="store_true",
                        help="one notebook (kernel) per mistake instead of packed notebooks")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        env = validation_env(Path(home))
        for lab in args.labs:
            results = run_class(lab, args.exercises, args.solutions, env, packed=not args.alone)
            named = sum(ok for _, ok, _, _ in results)
            print(f"{lab}: {named} of {len(results)} mistakes named in the first line "
                  f"({named / len(results):.0%})", flush=True)
            if args.verbose:
                for mistake, ok, lines, _ in results:
                    print(f"   {'named ' if ok else 'MISSED'} {mistake.name}: "
                          f"{lines[0] if lines else '(no error shown)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
