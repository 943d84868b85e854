"""Mutants of the labs' reference answers, graded in one process.

A mutant changes one token of a solution region (between `### BEGIN SOLUTION` and
`### END SOLUTION`) the way a student slips: an operator swapped (`+` / `-`, `//` / `/`,
`+=` / `=`, `<` / `<=`), an integer off by one, a `range(n)` one short, a slice step dropped
(`a:b:s` -> `a:b`), two names of a pair swapped (`KH` / `KW`, `i` / `j`). Mutants that do not
compile are skipped.

`grade(lab_notebook, mutant)` runs the notebook's set-up, solution and graded test cells (hidden
tests included) in a fresh namespace of this process, as nbgrader's autograder would score them:
a graded cell earns its points when it raises nothing. That is seconds for a whole lab instead
of seconds per mutant through nbgrader.

Run as a script for the table of the issue (mutants tried, killed, largest share of the lab):
    .venv/bin/python -m tests.labs.mutants [--solutions DIR] lab1_convolution ...
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import re
import signal
import sys
import time
import tokenize
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NUMPY_LABS = ["lab1_convolution", "lab2_conv_layer", "lab3_pooling", "lab4_lenet",
              "lab6_transposed_segmentation"]
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
CELL_SECONDS = 240  # a mutant stuck in one cell (a huge allocation, a long loop) is
# killed; lab 4's training takes 6 s of CPU, several times that on a busy machine

OPERATOR_SWAPS = {
    "+": "-", "-": "+", "*": "+", "/": "*", "//": "/", "**": "*", "+=": "=", "-=": "+=",
    "<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "&": "|",
}
NAME_SWAPS = {"KH": "KW", "KW": "KH", "H": "W", "W": "H", "Ho": "Wo", "Wo": "Ho", "i": "j",
              "j": "i", "u": "v", "v": "u", "rows": "cols", "cols": "rows", "gx": "gy"}

# The tests that grade each function of each lab: a mutant inside a function may cost at most
# their points. Grade ids absent from a lab's notebook are ignored (older versions of a lab).
FUNCTION_TESTS = {
    "lab1_convolution": {
        "conv_output_size": ["test_conv_output_size"],
        "conv1d": ["test_conv1d_basic", "test_conv1d_stride_padding_dilation"],
        "corr2d": ["test_corr2d"],
        "sobel_x": ["test_sobel_kernels"],
        "sobel_y": ["test_sobel_kernels"],
        "gradient_magnitude": ["test_gradient_magnitude"],
        "shift_image": ["test_equivariance"],
        "equivariance_gap": ["test_equivariance"],
    },
    "lab2_conv_layer": {
        "conv2d_forward_loops": ["test_conv2d_forward_loops"],
        "conv2d_backward_loops": ["test_conv2d_backward_loops"],
        "im2col": ["test_im2col"],
        "conv2d_forward_fast": ["test_conv2d_forward_fast"],
    },
    "lab3_pooling": {
        "maxpool2d_forward": ["test_maxpool2d_forward"],
        "maxpool2d_backward": ["test_maxpool2d_backward"],
        "avgpool2d_forward": ["test_avgpool2d_forward"],
        "avgpool2d_backward": ["test_avgpool2d_backward"],
    },
    "lab4_lenet": {
        "conv2d_forward": ["test_layers"],
        "conv2d_backward": ["test_layers"],
        "maxpool2d_forward": ["test_layers"],
        "maxpool2d_backward": ["test_layers"],
        "init_lenet": ["test_init_lenet"],
        "softmax_cross_entropy": ["test_softmax_cross_entropy"],
        "lenet_forward": ["test_lenet_forward"],
        "lenet_backward": ["test_lenet_backward"],
        "sgd_step": ["test_train_lenet"],
        "train_lenet": ["test_train_lenet"],
        "accuracy": ["test_train_lenet"],
    },
    "lab6_transposed_segmentation": {
        "conv_transpose2d_forward": ["test_conv_transpose2d_forward",
                                     "test_conv_transpose2d_stride_padding"],
        "conv_transpose2d_backward": ["test_conv_transpose2d_backward"],
        "overlap_counts": ["test_overlap_counts"],
        "iou_per_class": ["test_iou"],
        "mean_iou": ["test_iou"],  # one test cell grades both (2 points)
    },
}
# Cells not run by the in-process grader: Keras training, scored as the solution scores them.
# Mutants are not made in them either (they are not numpy answers).
KERAS_CELLS = {"lab6_transposed_segmentation": {
    "setup-segmentation", "encoder_decoder", "train-segmenter", "test_encoder_decoder",
    "setup-transfer", "fine_tune", "test_transfer_classifier", "train-transfer",
    "test_fine_tune"}, "lab4_lenet": {"keras_lenet", "test_keras_lenet"}}
# Test cells that train with the student's pieces where a quick check finds them right and the
# course's where it finds them wrong (lab_checks.lab4.check_train_lenet). A mutant in a piece
# the quick check replaces never runs in that training: its outcome is the one of every other
# mutant with the same pieces replaced, so it is trained once per set of replaced pieces. A
# mutant in a function the training function never reaches (lab 4's `accuracy`, called on the
# trained parameters) leaves the (seeded) training as it is: the cell runs with the training's
# result from an earlier run with the same pieces replaced, and grades the rest for itself.
TRAINING_CELLS = {"lab4_lenet": ("test_train_lenet", "train_lenet")}


@dataclass(frozen=True)
class Mutant:
    """One token of one solution cell changed."""

    cell: str  # grade_id of the solution cell
    function: str  # the function the change is in
    line: int  # line in the cell, from 1
    description: str  # e.g. "'+' -> '-'"
    source: str  # the whole mutated cell


def notebook(solutions: Path, lab: str) -> nbformat.NotebookNode:
    return nbformat.read(solutions / lab / f"{lab}.ipynb", as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_lines(source: str) -> set[int]:
    """Line numbers (from 1) inside the solution regions of a cell."""
    lines = set()
    for match in SOLUTION_REGION.finditer(source):
        first = source[: match.start(1)].count("\n") + 1
        lines.update(range(first, first + match.group(1).count("\n")))
    return lines


def enclosing_functions(tree: ast.Module) -> dict[int, str]:
    """Line -> name of the top-level function defined there."""
    where = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for line in range(node.lineno, node.end_lineno + 1):
                where[line] = node.name
    return where


def _replace(lines: list[str], line: int, start: int, end: int, text: str) -> str:
    changed = list(lines)
    row = changed[line - 1]
    changed[line - 1] = row[:start] + text + row[end:]
    return "".join(changed)


def _token_edits(source: str, allowed: set[int]) -> Iterator[tuple[int, int, int, str, str]]:
    """(line, start col, end col, replacement, description) for operators, numbers, names."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        (line, start), (_, end) = token.start, token.end
        if line not in allowed:
            continue
        if token.type == tokenize.OP and token.string in OPERATOR_SWAPS:
            new = OPERATOR_SWAPS[token.string]
            yield line, start, end, new, f"{token.string!r} -> {new!r}"
        elif token.type == tokenize.NUMBER and token.string.isdigit():
            value = int(token.string)
            for new in (value + 1, value - 1):
                if new >= 0:
                    yield line, start, end, str(new), f"{value} -> {new}"
        elif token.type == tokenize.NAME and token.string in NAME_SWAPS:
            new = NAME_SWAPS[token.string]
            yield line, start, end, new, f"{token.string} -> {new}"


def _ast_edits(tree: ast.Module, lines: list[str], allowed: set[int]
               ) -> Iterator[tuple[int, int, int, str, str]]:
    """Slice steps dropped and range(n) one short."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Slice) and node.step is not None and node.lineno in allowed:
            if node.step.lineno != node.step.end_lineno:
                continue
            row = lines[node.step.lineno - 1]
            colon = row.rfind(":", 0, node.step.col_offset)
            while colon > 0 and row[colon - 1] == " ":  # `a : b : s` -> `a : b`
                colon -= 1
            yield (node.step.lineno, colon, node.step.end_col_offset, "",
                   f"slice step {ast.unparse(node.step)!r} dropped")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "range" and len(node.args) == 1
                and node.lineno in allowed and node.args[0].end_lineno == node.args[0].lineno):
            arg = node.args[0]
            text = ast.unparse(arg)
            yield (arg.lineno, arg.col_offset, arg.end_col_offset, f"{text} - 1",
                   f"range({text}) -> range({text} - 1)")


def mutants_of(cell_id: str, source: str) -> Iterator[Mutant]:
    """Every compiling one-token mutant of the solution regions of one cell."""
    allowed = solution_lines(source)
    tree = ast.parse(source)
    functions = enclosing_functions(tree)
    lines = source.splitlines(keepends=True)
    seen = set()
    for line, start, end, text, description in [*_token_edits(source, allowed),
                                                *_ast_edits(tree, lines, allowed)]:
        mutated = _replace(lines, line, start, end, text)
        if mutated in seen or line not in functions:
            continue
        seen.add(mutated)
        try:
            compile(mutated, cell_id, "exec")
        except SyntaxError:
            continue
        yield Mutant(cell_id, functions[line], line, description, mutated)


def lab_mutants(nb: nbformat.NotebookNode, lab: str) -> list[Mutant]:
    skipped = KERAS_CELLS.get(lab, set())
    return [mutant for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
            and grade_id(cell) not in skipped
            for mutant in mutants_of(grade_id(cell), cell.source)]


def max_scores(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Points of the autograded (code) cells; written answers are graded by hand."""
    return {grade_id(c): float(c.metadata.nbgrader["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


class _CellTimeout(BaseException):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def stop(signum, frame):
        raise _CellTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cell(source: str, gid: str, namespace: dict) -> bool:
    """Execute one cell in `namespace`; True when it raised nothing (within CELL_SECONDS)."""
    try:
        with _time_limit(CELL_SECONDS), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{gid}>", "exec"), namespace)  # noqa: S102
        return True
    except (Exception, _CellTimeout):  # noqa: BLE001 (any failure costs the cell)
        return False
    except BaseException as other:  # e.g. checks.ReferenceUsed escaping a check
        if isinstance(other, KeyboardInterrupt | SystemExit):
            raise
        return False


def replaced_for_training(namespace: dict) -> frozenset[str]:
    """The student's pieces that lab 4's training test replaces by the course's versions."""
    from cnncourse.grading.lab_checks import lab4

    return frozenset(lab4._wrong_pieces(namespace, lab4.FORBIDDEN))


def _global_names(code: types.CodeType) -> set[str]:
    """The global (and attribute) names a function's code reads, its inner functions' included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def reached_from(namespace: dict, name: str) -> set[str]:
    """The names of the namespace's functions that calling `name` can run: `name` and every
    function of the namespace its code names, and theirs (an over-estimate: attribute names
    count too)."""
    reached, waiting = set(), [name]
    while waiting:
        current = waiting.pop()
        code = getattr(namespace.get(current), "__code__", None)
        if current in reached or code is None:
            continue
        reached.add(current)
        waiting.extend(n for n in _global_names(code) if n in namespace)
    return reached


@dataclass
class Trainings:
    """What the training cell of a lab (TRAINING_CELLS) gave, per set of replaced pieces,
    shared between the mutants of that lab."""

    outcomes: dict[frozenset[str], tuple[bool, dict]] = field(default_factory=dict)
    # the cell's outcome and the names it bound, for mutants in a replaced piece
    results: dict[frozenset[str], object] = field(default_factory=dict)
    # what the training function returned, for mutants in functions it never reaches


def _standing_in(namespace: dict, name: str, result: object) -> Callable:
    """A function of the namespace (its globals, so that the checks read the pieces from there)
    that returns a copy of `result` instead of training again."""
    deepcopy = copy.deepcopy  # a closure's name: the globals are the notebook's

    def stand_in(*args: object, **kwargs: object) -> object:
        return deepcopy(result)

    return types.FunctionType(stand_in.__code__, namespace, name, None, stand_in.__closure__)


def _recording(namespace: dict, name: str, into: dict, key: frozenset[str]) -> Callable:
    """The namespace's function `name`, keeping a copy of what it returns in into[key]."""
    function, deepcopy = namespace[name], copy.deepcopy  # closure names, as in _standing_in

    def recorder(*args: object, **kwargs: object) -> object:
        into[key] = deepcopy(result := function(*args, **kwargs))
        return result

    return types.FunctionType(recorder.__code__, namespace, name, None, recorder.__closure__)


def _run_training_cell(source: str, gid: str, namespace: dict, function: str | None,
                       trained_by: str, trainings: Trainings) -> bool:
    """Run the training cell with what can be shared from trainings with the same pieces."""
    replaced = replaced_for_training(namespace)
    if function in replaced and replaced in trainings.outcomes:
        passed, bound = trainings.outcomes[replaced]
        namespace.update(bound)
        return passed
    before, own = dict(namespace), namespace.get(trained_by)
    stand_in = None
    if callable(own) and function not in reached_from(namespace, trained_by):
        stand_in = (_standing_in(namespace, trained_by, trainings.results[replaced])
                    if replaced in trainings.results
                    else _recording(namespace, trained_by, trainings.results, replaced))
        namespace[trained_by] = stand_in
    try:
        passed = run_cell(source, gid, namespace)
    finally:
        if stand_in is not None and namespace.get(trained_by) is stand_in:
            namespace[trained_by] = own
    if function in replaced:
        trainings.outcomes[replaced] = passed, {k: v for k, v in namespace.items()
                                                if before.get(k, before) is not v}
    return passed


def grade(nb: nbformat.NotebookNode, lab: str, mutant: Mutant | None = None,
          trainings: Trainings | None = None) -> dict[str, float]:
    """Points per graded cell of the notebook with `mutant` in place, as the autograder scores.

    Runs the code cells that nbgrader marks (set-up, solutions, tests) in order in a fresh
    namespace; ungraded demo cells are skipped, and so are the lab's Keras cells (scored full).
    `trainings` is shared between the grading of one lab's solution and mutants: see
    TRAINING_CELLS.
    """
    namespace: dict[str, object] = {"__name__": "__main__"}
    scores = {}
    skipped = KERAS_CELLS.get(lab, set())
    training_cell, trained_by = TRAINING_CELLS.get(lab, (None, None))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta:
            continue
        gid = grade_id(cell)
        if gid in skipped:
            if meta.get("grade"):
                scores[gid] = float(meta["points"])
            continue
        source = mutant.source if mutant is not None and gid == mutant.cell else cell.source
        if trainings is not None and gid == training_cell:
            passed = _run_training_cell(source, gid, namespace,
                                        mutant.function if mutant else None, trained_by,
                                        trainings)
        else:
            passed = run_cell(source, gid, namespace)
        if meta.get("grade"):
            scores[gid] = float(meta["points"]) if passed else 0.0
    return scores


@dataclass
class Outcome:
    mutant: Mutant
    lost: float  # points lost against the solution
    allowed: float  # the points of the function the mutant is in


def run_lab(solutions: Path, lab: str, limit: int | None = None) -> tuple[list[Outcome], float]:
    """Grade every mutant of a lab; returns the outcomes and the lab's total points."""
    import matplotlib

    matplotlib.use("Agg")
    nb = notebook(solutions, lab)
    full = max_scores(nb)
    trainings = Trainings()
    baseline = grade(nb, lab, trainings=trainings)
    if baseline != full:
        failing = sorted(k for k in full if baseline[k] != full[k])
        raise RuntimeError(f"{lab}: the solution itself loses points in {failing}")
    tests = FUNCTION_TESTS[lab]
    outcomes = []
    for mutant in lab_mutants(nb, lab)[:limit]:
        scores = grade(nb, lab, mutant, trainings)
        allowed = sum(full.get(t, 0.0) for t in tests.get(mutant.function, []))
        outcomes.append(Outcome(mutant, sum(full.values()) - sum(scores.values()), allowed))
    return outcomes, sum(full.values())


def summary(outcomes: list[Outcome], total: float) -> str:
    killed = [o for o in outcomes if o.lost > 0]
    worst = max((o.lost for o in outcomes), default=0.0)
    over = [o for o in outcomes if o.lost > o.allowed]
    return (f"{len(outcomes)} mutants, {len(killed)} killed, largest loss {worst:g} of "
            f"{total:g} points ({worst / total:.0%}), {len(over)} cost more than their "
            f"function's points")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("labs", nargs="*", default=NUMPY_LABS)
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--verbose", action="store_true", help="list survivors and overspends")
    args = parser.parse_args(argv)
    for lab in args.labs:
        if not (args.solutions / lab).exists():
            print(f"{lab}: not in {args.solutions}")
            continue
        started = time.process_time()
        outcomes, total = run_lab(args.solutions, lab)
        print(f"{lab}: {summary(outcomes, total)} ({time.process_time() - started:.0f} s of "
              f"CPU)", flush=True)
        if args.verbose:
            for o in outcomes:
                if o.lost == 0 or o.lost > o.allowed:
                    m = o.mutant
                    print(f"   lost {o.lost:g}/{o.allowed:g}  {m.function} line {m.line}: "
                          f"{m.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
