"""A class of typical student mistakes per lab, as a student would hand them in.

Each mistake is the lab's solution with one plausible slip (the edit is applied to the solution
cell's text, with the solution markers removed, in the *released* notebook, so no hidden test is
there). `nbgrader validate` then shows the student the failing cells; a mistake counts as named
when the first line of one of the error messages shown (the line `nbgrader validate` prints
after the traceback, with the lines that continue it) matches the mistake's `cause` pattern,
which says in words what a reader would accept as naming the cause. `cut_lines`,
`causes_not_whole` and `grading_code_shown` find what a student would not see whole, and the
grading code's frames or source if any were shown.

Run as a script for the rate per lab:
    .venv/bin/python -m tests.labs.typical_mistakes [--exercises DIR --solutions DIR] [LAB ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
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
            if mistake is not None and grade_id == mistake.cell:
                if mistake.old not in cell.source:
                    raise ValueError(f"{lab} {mistake.name}: {mistake.old!r} not in the answer")
                cell.source = cell.source.replace(mistake.old, mistake.new, 1)
    return nb


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


def with_mistakes(lab: str, mistakes: list[Mistake]) -> nbformat.NotebookNode:
    nb = student_notebook(ROOT / "exercises", ROOT / "solutions", lab, None)
    for mistake in mistakes:
        cell = next(c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == mistake.cell)
        assert mistake.old in cell.source, f"{lab} {mistake.name} no longer applies"
        cell.source = cell.source.replace(mistake.old, mistake.new, 1)
    return nb


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


WIDTH = 90  # nbgrader validate's Validator.width: a longer line is cut and ends with "..."


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


def run_class(lab: str, release: Path, solutions: Path, env: dict[str, str]
              ) -> list[tuple[Mistake, bool, list[str], str]]:
    """Validate every mistake of a lab; returns (mistake, named, first lines shown, report)."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id") for c in
             nbformat.read(solutions / lab / f"{lab}.ipynb", as_version=4).cells}
    mistakes = [m for m in MISTAKES[lab] if m.cell in cells]
    with tempfile.TemporaryDirectory() as tmp:
        config = release / lab / "nbgrader_config.py"  # the student's folder has the lab's
        if config.is_file():
            shutil.copy(config, tmp)
        paths = []
        for mistake in mistakes:
            path = Path(tmp) / f"{mistake.name}.ipynb"
            nbformat.write(student_notebook(release, solutions, lab, mistake), path)
            paths.append(path)
        reports = split_reports(validate(paths, env), paths)
    results = []
    for mistake, path in zip(mistakes, paths, strict=True):
        lines = first_lines(reports[path])
        named = any(names_cause(mistake, line) for line in lines)
        results.append((mistake, named, lines, reports[path]))
    return results


def validation_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), OPENBLAS_NUM_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("labs", nargs="*", default=list(MISTAKES))
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        env = validation_env(Path(home))
        for lab in args.labs:
            results = run_class(lab, args.exercises, args.solutions, env)
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
