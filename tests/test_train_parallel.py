"""Data-parallel training (`devices`, `--devices N|all`) against one device, on virtual CPUs.

The number of devices must be fixed before the backend starts, so the parity runs happen in a
subprocess per backend (this file run as a script): JAX with
XLA_FLAGS=--xla_force_host_platform_device_count=4, TensorFlow with four logical CPU devices.
In it, `cnncourse train lenet5` trains on 1, 2 and 4 devices, with the default recipe (seeded
shuffling, augmentation and cosine schedule), the same global batch, on a few digits whose
training, validation and test sets all end with a smaller batch. Each backend runs once: the
tests below are parametrised by backend, not marked `keras` (which would run them twice).

Tolerance. The devices compute the same sums in another order (each adds up its share of the
batch, then the shares are added), so float32 results differ in the last bits, ~1e-7 relative,
and eight Adam steps (which divide the gradient by its own running size) carry that into the
weights as differences of order 1e-6. The bounds (weights 1e-4, loss and accuracy 1e-5) are well
above that noise and far below what a wrong reduction does: a loss summed over 4 replicas is 4x,
a replica that steps on its own gradient moves its weights by ~1e-3 per step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncourse import cli, train

DEVICE_COUNTS = (1, 2, 4)
VIRTUAL_DEVICES = 4
WEIGHT_ATOL = 1e-4
METRIC_ATOL = 1e-5


# ---------------------------------------------------------------- choosing and checking devices


@pytest.mark.parametrize(
    ("devices", "chosen"), [(1, ["d:0"]), (2, ["d:0", "d:1"]), ("all", ["d:0", "d:1", "d:2"])]
)
def test_select_devices_takes_the_first_n_or_all(devices, chosen):
    assert train.select_devices(devices, ["d:0", "d:1", "d:2"]) == chosen


def test_more_devices_than_there_are_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"devices=8 .* only 2 available: gpu:0, gpu:1"):
        train.select_devices(8, ["gpu:0", "gpu:1"])


def test_all_on_a_one_device_machine_is_that_device():
    assert train.select_devices("all", ["cpu:0"]) == ["cpu:0"]


def test_batch_that_does_not_divide_among_the_devices_names_both_numbers():
    with pytest.raises(ValueError, match=r"batch size 30 does not divide among 4 devices.*"
                       r"multiple of 4 \(e\.g\. --batch-size 28\)"):  # fmt: skip
        train.check_batches_split(30, 4, {"training": 640})


def test_last_batch_of_a_set_that_does_not_divide_is_refused():
    # 1,000 test images in batches of 128: the last holds 104 = 8 x 13, not a multiple of 16.
    with pytest.raises(ValueError, match=r"test set \(1,000 images in batches of 128\) holds 104 "
                       r"images, which do not divide among 16 devices"):  # fmt: skip
        train.check_batches_split(128, 16, {"training": 3600, "validation": 400, "test": 1000})


@pytest.mark.parametrize("n_devices", [1, 2, 4, 8])
def test_batches_of_the_offline_sample_split_over_up_to_8_devices(n_devices):
    train.check_batches_split(128, n_devices, {"training": 3600, "validation": 400, "test": 1000})


def test_one_device_takes_any_batch():
    train.check_batches_split(31, 1, {"training": 100, "test": 7})


@pytest.mark.parametrize("value", [0, -2, "two", 1.5])
def test_train_config_rejects_bad_devices(value):
    with pytest.raises(ValueError, match=f"devices.*{value!r}"):
        train.TrainConfig(devices=value)


def test_train_command_takes_devices(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(train, "run_training", seen.append)
    assert cli.main(["train", "lenet5", "--devices", "all"]) == 0
    assert cli.main(["train", "lenet5", "--devices", "4"]) == 0
    assert cli.main(["train", "lenet5"]) == 0
    assert [config.devices for config in seen] == ["all", 4, 1]
    with pytest.raises(SystemExit):
        cli.main(["train", "lenet5", "--devices", "0"])
    assert "expected an integer >= 1 or 'all', got '0'" in capsys.readouterr().err


# ------------------------------------------------------ 'all' on one device: today's code path


@pytest.mark.keras
@pytest.mark.slow
def test_devices_all_on_one_device_trains_exactly_as_before(tmp_path, capsys, monkeypatch):
    import keras

    assert len(train.parallel_devices()) == 1  # the test process has one CPU device
    with train.data_parallel(train.select_devices("all", train.parallel_devices())):
        assert train.replica_count() == 1  # no distribution set at all
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            assert not tf.distribute.has_strategy()
        else:
            assert keras.distribution.distribution() is None
    # The tiny set: what is compared is the code path, not how well it trains (the 5,000
    # digits took 17 s of CPU a backend).
    monkeypatch.setattr(train, "load_mnist", lambda *args, **kwargs: tiny_mnist())
    common = ["train", "lenet5", "--epochs", "1", "--data", "sample"]
    assert cli.main([*common, "--output", str(tmp_path / "today")]) == 0
    assert cli.main([*common, "--devices", "all", "--output", str(tmp_path / "all")]) == 0
    assert "Data-parallel" not in capsys.readouterr().out
    today, every = (json.loads((tmp_path / run / "history.json").read_text())
                    for run in ("today", "all"))  # fmt: skip
    assert every["history"] == today["history"]  # bit for bit: the same code path
    assert every["test_loss"] == today["test_loss"]


# ------------------------------------------------ parity on 1, 2 and 4 virtual devices (subprocess)


@pytest.fixture(scope="module", params=["tensorflow", "jax"])
def parallel_runs(request, tmp_path_factory) -> dict:
    """Run this file as a script under one backend with 4 virtual CPUs; its record and weights."""
    backend = request.param
    out = tmp_path_factory.mktemp(f"parallel-{backend}")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={VIRTUAL_DEVICES}")  # fmt: skip
    done = subprocess.run([sys.executable, __file__, str(out)], env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((out / "record.json").read_text())
    record["weights"] = {n: dict(np.load(out / f"weights_{n}.npz")) for n in DEVICE_COUNTS}
    record["initial"] = {n: dict(np.load(out / f"initial_{n}.npz")) for n in DEVICE_COUNTS}
    record["backend"] = backend
    return record


@pytest.mark.slow
def test_the_subprocess_trained_on_the_devices_asked_for(parallel_runs):
    assert parallel_runs["devices_seen"] == VIRTUAL_DEVICES
    for n in DEVICE_COUNTS:
        assert parallel_runs["runs"][str(n)]["replicas"] == n
    assert "Data-parallel over 4 devices" in parallel_runs["runs"]["4"]["printed"]
    assert "batches of 32 = 4 x 8 per device" in parallel_runs["runs"]["4"]["printed"]
    assert "Data-parallel" not in parallel_runs["runs"]["1"]["printed"]


@pytest.mark.slow
def test_every_device_count_starts_from_the_same_weights(parallel_runs):
    start = parallel_runs["initial"]
    for n in (2, 4):
        for name, value in start[1].items():
            np.testing.assert_array_equal(start[n][name], value, err_msg=f"{n} devices, {name}")


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4])
def test_parallel_training_ends_with_the_one_device_weights(parallel_runs, n):
    one, many = parallel_runs["weights"][1], parallel_runs["weights"][n]
    moved = max(np.abs(one[k] - parallel_runs["initial"][1][k]).max() for k in one)
    assert moved > 100 * WEIGHT_ATOL  # the runs really trained
    where = f"{parallel_runs['backend']}, {n} devices"
    for name, value in one.items():
        np.testing.assert_allclose(many[name], value, rtol=0, atol=WEIGHT_ATOL,
                                   err_msg=f"{where}, {name}")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4])
def test_parallel_metrics_and_evaluate_equal_one_device(parallel_runs, n):
    """Loss and accuracy per epoch (training and validation) and the test evaluation."""
    one, many = parallel_runs["runs"]["1"], parallel_runs["runs"][str(n)]
    assert sorted(many["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    where = f"{parallel_runs['backend']}, {n} devices"
    for key, values in one["history"].items():
        np.testing.assert_allclose(many["history"][key], values, rtol=0, atol=METRIC_ATOL,
                                   err_msg=f"{where}, {key}")  # fmt: skip
    for key in ("test_loss", "test_accuracy"):
        assert many[key] == pytest.approx(one[key], abs=METRIC_ATOL), key


@pytest.mark.slow
def test_sgd_steps_average_the_replicas_gradients(parallel_runs):
    """Plain SGD is sensitive to the gradient's scale (Adam is not): a sum over 4 replicas
    would step 4x as far. The loss of the global batch is reported, not a sum."""
    sgd = parallel_runs["sgd"]
    np.testing.assert_allclose(sgd["4"]["weights_l1"], sgd["1"]["weights_l1"], rtol=1e-5)
    np.testing.assert_allclose(sgd["4"]["loss"], sgd["1"]["loss"], rtol=0, atol=METRIC_ATOL)
    np.testing.assert_allclose(sgd["4"]["evaluate"], sgd["1"]["evaluate"], rtol=0,
                               atol=METRIC_ATOL)  # fmt: skip


@pytest.mark.slow
def test_indivisible_batch_is_refused_before_training(parallel_runs):
    refused = parallel_runs["refused"]
    assert "batch size 30 does not divide among 4 devices" in refused["error"]
    assert refused["fit_calls"] == 0


@pytest.mark.slow
def test_batch_norm_statistics_are_per_replica_on_tensorflow_unless_synchronized(parallel_runs):
    """A batch of four 0s and four 2s (variance 1) on 1 device, 2 devices, 2 synchronized.
    TensorFlow's replicas each see a half of variance 0; JAX's DataParallel compiles one
    program for the global batch, so its statistics are the whole batch's."""
    expected = {"tensorflow": [1.0, 0.0, 1.0], "jax": [1.0, 1.0, 1.0]}[parallel_runs["backend"]]
    np.testing.assert_allclose(parallel_runs["batch_norm_variance"], expected, atol=1e-5)


# ------------------------------------------------------------------ the subprocess (the worker)


def tiny_mnist():
    """200 training digits (180 fit + 20 validation) and 52 test digits: in batches of 32, each
    set ends with a smaller batch (20 images each), which still splits over 1, 2 and 4. The
    test set's last batch has the validation batch's size, so evaluating it reuses the step
    compiled for validation (under JAX, a compilation of a second a device count)."""
    from cnncourse.data import Dataset, load_mnist

    full = load_mnist("sample")
    return Dataset(full.x_train[:200], full.y_train[:200], full.x_test[:52], full.y_test[:52],
                   full.source)  # fmt: skip


def worker(out: Path) -> None:
    """Train lenet5 through `cnncourse train` on 1, 2, 4 devices and record what happened."""
    import contextlib
    import io

    import keras

    train.split_cpu(VIRTUAL_DEVICES)
    data = tiny_mnist()
    train.load_mnist = lambda *args, **kwargs: data  # the command trains on the tiny set
    built, replicas, fit_calls = [], [], []
    build_model, fit = train.build_model, keras.Model.fit

    def recording_build(*args, **kwargs):
        built.append(build_model(*args, **kwargs))
        built.append([w.copy() for w in built[-1].get_weights()])
        replicas.append(train.replica_count())
        return built[-2]

    def recording_fit(self, *args, **kwargs):
        fit_calls.append(1)
        return fit(self, *args, **kwargs)

    train.build_model, keras.Model.fit = recording_build, recording_fit
    record = {"devices_seen": len(train.parallel_devices()), "runs": {}}
    for n in DEVICE_COUNTS:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            cli.main(["train", "lenet5", "--epochs", "2", "--batch-size", "32", "--devices",
                      str(n), "--output", str(out / f"run_{n}")])  # fmt: skip
        model, initial = built[-2], built[-1]
        names = [f"{i}_{w.path}" for i, w in enumerate(model.weights)]
        np.savez(out / f"weights_{n}.npz", **dict(zip(names, model.get_weights(), strict=True)))
        np.savez(out / f"initial_{n}.npz", **dict(zip(names, initial, strict=True)))
        saved = json.loads((out / f"run_{n}" / "history.json").read_text())
        record["runs"][str(n)] = {
            "history": saved["history"], "test_loss": saved["test_loss"],
            "test_accuracy": saved["test_accuracy"], "replicas": replicas[-1],
            "printed": printed.getvalue(),
        }  # fmt: skip
    fit_calls.clear()
    try:
        cli.main(["train", "lenet5", "--batch-size", "30", "--devices", "4",
                  "--output", str(out / "refused")])  # fmt: skip
        record["refused"] = {"error": "no error", "fit_calls": len(fit_calls)}
    except ValueError as error:
        record["refused"] = {"error": str(error), "fit_calls": len(fit_calls)}
    record["sgd"] = {str(n): sgd_steps(data, n, built[1]) for n in (1, 4)}
    cases = ((1, False), (2, False), (2, True))  # (devices, synchronized)
    record["batch_norm_variance"] = [train.batch_norm_moving_variance(*case) for case in cases]
    (out / "record.json").write_text(json.dumps(record))


def sgd_steps(data, n: int, initial: list) -> dict:
    """Four plain SGD steps (lr 0.1, no shuffling) on n devices from `initial` weights."""
    import keras

    x = train.fit_images_to(data.x_train[:128], train.MNIST_INPUT_SHAPE)
    y = data.y_train[:128]
    with train.data_parallel(train.parallel_devices()[:n]):
        model = train.build_model("lenet5", train.MNIST_INPUT_SHAPE, 10)
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])  # fmt: skip
        history = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        evaluated = model.evaluate(x, y, batch_size=32, verbose=0)
    return {"loss": history.history["loss"], "evaluate": [float(v) for v in evaluated],
            "weights_l1": [float(np.abs(w).sum()) for w in model.get_weights()]}  # fmt: skip


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
