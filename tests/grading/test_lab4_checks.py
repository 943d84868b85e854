"""Lab 4's checks (cnncourse.grading.lab_checks.lab4): each function graded on its own, with its
known mistakes named, and the training test grading the training loop alone."""

from __future__ import annotations

import numpy as np
import pytest

from cnncourse.grading import checks, lab_checks
from cnncourse.grading.lab_checks import lab4

RNG = np.random.default_rng(44)
PARAMS = {k: RNG.normal(size=s) * 0.3 for k, s in lab4.LENET_SHAPES.items()}
X = RNG.uniform(size=(3, 28, 28, 1))
Y = np.array([1, 4, 9])


def message_of(run) -> str:
    with pytest.raises(AssertionError) as failure:
        run()
    return str(failure.value)


def forward_without_relu_c3(params, x):
    logits, cache = lab4.reference_forward(params, x, relu=(True, False, True, True))
    return logits, cache


def backward_without_mask_f6(dlogits, cache):
    return lab4.reference_backward(dlogits, cache, relu_mask=(True, True, True, False))


@pytest.mark.parametrize(("run", "named"), [
    (lambda: lab_checks.check_lenet_forward(forward_without_relu_c3, PARAMS, X),
     "no ReLU after C3"),
    (lambda: lab_checks.check_lenet_forward(
        lambda p, x: lab4.reference_forward(p, x, flatten_channels_first=True), PARAMS, X),
     "flattened channels first"),
    (lambda: lab_checks.check_lenet_forward(
        lambda p, x: (lab4.reference_forward(p, x)[0], {}), PARAMS, X),
     "the cache is not the dict the lab prescribes"),
    (lambda: lab_checks.check_lenet_backward(backward_without_mask_f6, PARAMS, X, Y),
     "gradient passes F6's ReLU where its input was < 0"),
    (lambda: lab_checks.check_lenet_backward(
        lambda d, c: {k: (v.T if k == "w4" else v) for k, v in
                      lab4.reference_backward(d, c).items()}, PARAMS, X, Y),
     "w4 is transposed"),
    (lambda: lab_checks.check_softmax_cross_entropy(
        lambda z, y: (lab4.reference_softmax(z, y)[0], 3 * lab4.reference_softmax(z, y)[1]),
        RNG.normal(size=(3, 10)), Y), "not divided by the batch size"),
    (lambda: lab_checks.check_init_lenet(lambda seed: {
        k: (v / np.sqrt(2)).astype(np.float32) for k, v in lab4.reference_init(seed).items()}),
     "LeCun's sqrt(1/fan_in)"),
    (lambda: lab_checks.check_layers(
        lambda x, w, b, s, p: lab4.plain_conv2d_forward(x, w[::-1, ::-1], b, s, p),
        lab4.plain_conv2d_backward, lab4.plain_maxpool_forward, lab4.plain_maxpool2d_backward),
     "the kernel is flipped"),
])
def test_a_lab4_mistake_is_named_first(run, named):
    text = message_of(run)
    assert named in text.splitlines()[0], text
    assert len(text.splitlines()) <= 6, text  # one cause seen in several gradients: said once
    assert all(len(line) <= checks.LINE for line in text.splitlines())


def test_right_answers_pass_and_the_forward_runs_on_the_course_layers():
    lab_checks.check_layers(lab4.plain_conv2d_forward, lab4.plain_conv2d_backward,
                            lab4.plain_maxpool_forward, lab4.plain_maxpool2d_backward)
    lab_checks.check_init_lenet(lab4.reference_init)
    lab_checks.check_softmax_cross_entropy(lab4.reference_softmax, [[1000.0, 0.0]], [0])
    lab_checks.check_lenet_backward(lab4.reference_backward, PARAMS, X, Y)

    def conv2d_forward(*args, **kwargs):  # the student's broken layer: not used by the test
        raise ValueError("broken layer")

    def lenet_forward(params, x):  # calls the notebook's conv2d_forward by name
        return lab4.reference_forward(params, x)

    lenet_forward.__globals__["conv2d_forward"] = conv2d_forward
    try:
        lab_checks.check_lenet_forward(lenet_forward, PARAMS, X)
    finally:
        del lenet_forward.__globals__["conv2d_forward"]


def test_the_two_reference_networks_agree():
    np.testing.assert_allclose(lab4.reference_logits(PARAMS, X),
                               lab4.reference_forward(PARAMS, X)[0], rtol=1e-10)


def test_a_reference_call_gets_no_credit():
    import cnncourse.nn as reference

    text = message_of(lambda: lab_checks.check_softmax_cross_entropy(
        reference.softmax_cross_entropy, RNG.normal(size=(3, 10)), Y))
    assert "calls the course's reference implementation" in text


def own_conv2d_forward(x, w, b, stride=1, padding=0):
    """A student's layer whose cache is in its own format (not the course's)."""
    out, cache = lab4.plain_conv2d_forward(x, w, b, stride, padding)
    return out, ("mine", cache)


def own_conv2d_backward(dout, cache):
    return lab4.plain_conv2d_backward(dout, cache[1])


NAMESPACE = {**lab4.LAYERS, "conv2d_forward": own_conv2d_forward,
             "conv2d_backward": own_conv2d_backward, "init_lenet": lab4.reference_init,
             "softmax_cross_entropy": lab4.reference_softmax,
             "lenet_forward": lambda p, x: lab4.reference_forward(p, x),
             "lenet_backward": lambda d, c: {k: 0 * v for k, v in
                                             lab4.reference_backward(d, c).items()}}


def test_training_uses_the_course_version_of_a_wrong_piece_and_says_so(capsys):
    exec('''
def sgd_step(params, grads, learning_rate):
    for name in params:
        params[name] -= learning_rate * grads[name]

def train_lenet(x, y, *, epochs=1, batch_size=16, learning_rate=0.05, seed=0):
    params = init_lenet(seed)
    losses = []
    for start in range(0, len(x), batch_size):
        logits, cache = lenet_forward(params, x[start : start + batch_size])
        loss, dlogits = softmax_cross_entropy(logits, y[start : start + batch_size])
        sgd_step(params, lenet_backward(dlogits, cache), learning_rate)
        losses.append(loss)
    return params, losses

def accuracy(params, x, y):
    return float((lenet_forward(params, x)[0].argmax(axis=1) == y).mean())
''', NAMESPACE)  # noqa: S102 (a notebook's cells, as a student writes them)
    x, y = RNG.uniform(size=(48, 28, 28, 1)), RNG.integers(0, 10, size=48)
    before = {k: v.copy() for k, v in lab4.reference_init(0).items()}
    students = NAMESPACE["lenet_backward"]
    params = lab_checks.check_train_lenet(NAMESPACE["train_lenet"], NAMESPACE["accuracy"], x, y,
                                          x, y, threshold=0.0, epochs=1)
    shown = capsys.readouterr().out
    assert "Your lenet_backward failed a check" in shown
    assert any(not np.allclose(params[k], before[k]) for k in before)  # it did learn
    assert NAMESPACE["lenet_backward"] is students  # the student's own put back
