"""Digits, signals and learning curves: one panel per example, titles and data as given."""

import numpy as np
import pytest

from cnncourse.viz.examples import plot_image_row, plot_learning_curves, plot_signals


def test_image_row_shows_each_image_under_its_title():
    images = np.random.default_rng(0).random((3, 6, 6, 1))
    fig = plot_image_row(images, ["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), images[1, :, :, 0])


def test_signals_one_line_each():
    signals = np.arange(40.0).reshape(2, 20, 1)
    fig = plot_signals(signals, ["zero", "one"], columns=2)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), signals[1, :, 0])
    assert [ax.get_title() for ax in fig.axes] == ["zero", "one"]


def test_learning_curves_training_solid_validation_dashed():
    history = {"accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.65]}
    ax = plot_learning_curves({"net": history}).axes[0]
    train, test = ax.lines
    assert list(train.get_ydata()) == history["accuracy"] and train.get_linestyle() == "-"
    assert list(test.get_ydata()) == history["val_accuracy"] and test.get_linestyle() == "--"


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: plot_image_row(np.zeros((2, 3)), None), "shape \\(2, 3\\)"),
    (lambda: plot_image_row(np.zeros((2, 3, 3)), ["one"]), "2 images but 1 titles"),
    (lambda: plot_signals(np.zeros((2, 5)), ["one"]), "1 titles"),
    (lambda: plot_learning_curves({"net": {"loss": [1.0]}}), "no 'accuracy'.*\\['loss'\\]"),
])  # fmt: skip
def test_bad_input_raises_value_error_naming_it(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()
