"""Mutation test of the numpy labs: every plausible slip in a reference answer loses points,
and no slip loses more than the points of the function it is in (credit isolated).

The mutants come from tests/labs/mutants.py (operator swaps, off-by-ones, dropped slice steps,
swapped names, `range(n)` one short) and are graded in this process from the source notebook's
own hidden tests. The generator itself is checked on a small cell first.
"""

from __future__ import annotations

import pytest

from tests.labs import mutants

# Mutants that no test can kill because they compute the same thing, with the reason. Every
# other survivor fails the test.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("lab4_lenet", "lenet_backward", "'>' -> '>='"):
        "the ReLU's gradient at exactly 0: no pre-activation of float inputs is exactly 0",
    ("lab4_lenet", "lenet_forward", "1 -> 2"):
        "reshape(len(x), -2): numpy takes any negative size as the one to infer",
    ("lab4_lenet", "train_lenet", "0 -> 1"):
        "range(1, len(x), batch_size): every epoch skips one of 4,000 examples",
    ("lab4_lenet", "train_lenet", "range(epochs) -> range(epochs - 1)"):
        "two epochs instead of three still reach 85%: the test grades learning, not the count",
}

CELL = '''def f(x, n):
    """Docstring with 1 + 2 that is not mutated."""
    ### BEGIN SOLUTION
    out = x[1 : n : 2] + 1
    for i in range(n):
        out += i
    return out
    ### END SOLUTION
'''


def test_the_generator_makes_one_token_mutants_of_the_solution_only():
    made = {m.description: m.source for m in mutants.mutants_of("f", CELL)}
    assert "'+' -> '-'" in made and "out = x[1 : n : 2] - 1" in made["'+' -> '-'"]
    assert "'+=' -> '='" in made
    assert "slice step '2' dropped" in made and "x[1 : n] + 1" in made["slice step '2' dropped"]
    assert "range(n) -> range(n - 1)" in made
    assert {"1 -> 2", "1 -> 0", "2 -> 3"} <= set(made)
    assert all("1 + 2 that" in source for source in made.values())  # the docstring is kept
    assert all(m.function == "f" for m in mutants.mutants_of("f", CELL))


def test_grading_scores_cells_as_the_autograder_would(tmp_path):
    nb = mutants.notebook(mutants.ROOT / "solutions", "lab3_pooling")
    full = mutants.max_scores(nb)
    assert mutants.grade(nb, "lab3_pooling") == full
    broken = mutants.Mutant("maxpool2d_forward", "maxpool2d_forward", 0, "emptied",
                            "def maxpool2d_forward(x, pool_size=2, stride=None):\n"
                            "    return x, None\n")
    scores = mutants.grade(nb, "lab3_pooling", broken)
    assert scores["test_maxpool2d_forward"] == 0.0
    assert scores["test_maxpool2d_backward"] == full["test_maxpool2d_backward"]  # isolated


@pytest.mark.slow
@pytest.mark.parametrize("lab", mutants.NUMPY_LABS)
def test_every_mutant_loses_points_and_only_its_functions(lab):
    outcomes, total = mutants.run_lab(mutants.ROOT / "solutions", lab)
    assert len(outcomes) >= 50, f"{lab}: only {len(outcomes)} mutants"
    survivors = [o.mutant for o in outcomes if o.lost == 0
                 and (lab, o.mutant.function, o.mutant.description) not in EQUIVALENT]
    assert not survivors, "mutants that lose no points:\n" + "\n".join(
        f"  {m.function} line {m.line}: {m.description}" for m in survivors)
    over = [o for o in outcomes if o.lost > o.allowed]
    assert not over, "mutants that cost more than their function's points:\n" + "\n".join(
        f"  {o.mutant.function} line {o.mutant.line}: {o.mutant.description} lost {o.lost:g} "
        f"of {total:g} (its function has {o.allowed:g})" for o in over)


def test_a_training_is_shared_only_with_mutants_outside_what_it_runs():
    """The functions a training can run: what it names, and what those name (not `accuracy`,
    which the test calls on the trained parameters)."""
    namespace: dict = {}
    exec("def step(p):\n    return p - 1\n\n"  # noqa: S102
         "def train(x):\n    return [step(v) for v in x]\n\n"
         "def accuracy(p):\n    return sum(p)\n", namespace)
    assert mutants.reached_from(namespace, "train") == {"train", "step"}
