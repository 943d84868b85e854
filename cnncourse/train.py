"""Train a model of the zoo on MNIST, on a GPU when there is one, and the `cnncourse train` command.

    cnncourse train lenet5                      # full MNIST online, the shipped sample offline
    cnncourse train lenet5 --epochs 1           # a quick look (seconds on a CPU offline)
    cnncourse train resnet18 --devices all      # data-parallel over every GPU of the machine

The same code runs on a CPU and on a GPU, under KERAS_BACKEND=tensorflow (the default) or jax.
On a GPU it trains in mixed precision (float16 compute, float32 weights; the models' softmax
outputs stay float32) and with XLA-compiled steps. It fixes the seeds, shows Keras progress bars,
prints the device, the test accuracy and the time per epoch, and saves the history (JSON) and
the trained model (.keras) under runs/<model>/ unless told otherwise.

The default recipe (TrainConfig): 20 epochs; random shifts, rotations and zooms of the training
digits (`Augmentation`), redrawn every epoch and never applied at inference; Adam whose step
follows a cosine from `learning_rate` down to zero over the whole run.

With `devices` N > 1 (or 'all'), training is data-parallel: every device holds a copy of the
model and gets N-th of each global batch, and the gradients are averaged before each step. On
JAX that is a `keras.distribution.DataParallel` over the first N devices; on TensorFlow a
`tf.distribute.MirroredStrategy` over the first N logical devices (GPUs when there are, else
CPUs), the model built and compiled inside its scope (`data_parallel`). One device, 'all' on a
one-device machine included, is the plain path with no distribution at all."""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cnncourse.data import MNIST_SOURCES, Dataset, load_mnist

# LeNet-5's input: the 28x28 digits padded by 2 pixels (LeCun et al., 1998). Every model of the
# zoo except AlexNet accepts it, so all of them train on the same padded digits.
MNIST_INPUT_SHAPE = (32, 32, 1)
MNIST_CLASSES = 10


LEARNING_RATE_SCHEDULES = ("cosine", "constant")
ALL_DEVICES = "all"


@dataclass(frozen=True)
class Augmentation:
    """Random distortions of the training images, redrawn for every batch; none at inference.

    LeNet-5's authors trained on affine distortions of the digits (translations, scaling,
    squeezing, shearing) and its test error fell from 0.95% to 0.8% (LeCun et al., 1998,
    Sec. III.C). Here each image is shifted, rotated and zoomed by amounts drawn uniformly in
    [-max, max]; the uncovered border is filled with zeros, MNIST's background.
    """

    max_shift: float = 2.0  # pixels: the 2-pixel border of LeNet-5's 32x32 input holds the digit
    max_rotation: float = 10.0  # degrees: slants of handwriting; a 6 stays far from a 9
    max_zoom: float = 0.1  # of the size: a digit of MNIST's 20x20 box grows or shrinks <= 2 px

    def __post_init__(self) -> None:
        for name in ("max_shift", "max_rotation", "max_zoom"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value < 90:
                raise ValueError(f"{name} must be a number in [0, 90), got {value!r}")
        if self.max_zoom >= 1:
            raise ValueError(f"max_zoom must be below 1, got {self.max_zoom!r}")


@dataclass
class TrainConfig:
    """How to train; each default says why it was chosen."""

    model: str = "lenet5"  # the network of chapter 7
    # The paper trained LeNet-5 for 20 passes over MNIST (LeCun et al., 1998, Fig. 5). With
    # fresh distortions every epoch the network keeps learning for that long instead of
    # memorising; a cosine schedule needs its length fixed in advance, and 20 is it.
    epochs: int = 20
    batch_size: int = 128  # the Keras MNIST example's size; small enough for any GPU
    # The cosine's peak: 3x Adam's default 1e-3 (Kingma & Ba, 2015), since the decay takes care
    # of the end of the run. Measured on the offline sample (benchmarks/bench_lenet.py, 15
    # epochs): a 1e-3 peak left all three networks under-trained, 3e-3 did not.
    learning_rate: float = 3e-3
    # Cosine decay (Loshchilov & Hutter, 2017, without restarts): large steps early, small ones
    # at the end, where a constant step keeps the weights rattling around the minimum.
    schedule: str = "cosine"
    augmentation: Augmentation | None = field(default_factory=Augmentation)  # None: no distortion
    validation_split: float = 0.1  # the last 10% of the training set watches for overfitting
    seed: int = 0  # same seed, same weights, same shuffling, same curves
    data_source: str = "auto"  # full MNIST when online, the shipped sample when not
    output_dir: Path | None = None  # None -> runs/<model>/ in the current directory
    mixed_precision: bool | None = None  # None -> on with a GPU (tensor cores), off on a CPU
    jit_compile: bool | None = None  # None -> XLA on a GPU; Keras's "auto" elsewhere (JAX jits)
    verbose: int = 1  # 1: Keras progress bars; 2: one line per epoch (logs); 0: silent
    # One device, as on a laptop; N or 'all' split each global batch of `batch_size` over the
    # first N devices (data parallelism). The batch stays global: batch_size 128 on 4 devices is
    # 32 images per device, the same steps as on one device (and the same learning rate).
    devices: int | str = 1

    def __post_init__(self) -> None:
        if self.data_source not in MNIST_SOURCES:
            raise ValueError(
                f"data_source must be one of {MNIST_SOURCES}, got {self.data_source!r}"
            )
        if self.schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(
                f"schedule must be one of {LEARNING_RATE_SCHEDULES}, got {self.schedule!r}"
            )
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a number > 0, got {self.learning_rate!r}")
        if not 0 <= self.validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split!r}")
        one_or_more = isinstance(self.devices, int) and self.devices >= 1
        if self.devices != ALL_DEVICES and not one_or_more:
            raise ValueError(f"devices must be an integer >= 1 or 'all', got {self.devices!r}")


@dataclass(frozen=True)
class Accelerator:
    """The device Keras will train on: kind 'GPU' or 'CPU', and its name."""

    kind: str
    name: str
    count: int = 1

    def describe(self) -> str:
        many = f" x{self.count}" if self.count > 1 else ""
        return f"GPU: {self.name}{many}" if self.kind == "GPU" else f"CPU ({self.name})"


def _gpu_names() -> list[str]:
    """Names of the GPUs the current Keras backend can use (empty on a CPU-only machine)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        details = [tf.config.experimental.get_device_details(gpu) for gpu in gpus]
        return [d.get("device_name", gpu.name) for d, gpu in zip(details, gpus, strict=True)]
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def detect_accelerator() -> Accelerator:
    """The GPU the Keras backend sees, else the CPU."""
    import platform

    names = _gpu_names()
    if names:
        return Accelerator("GPU", names[0], len(names))
    return Accelerator("CPU", platform.processor() or platform.machine())


def dtype_policy(config: TrainConfig, accelerator: Accelerator) -> str:
    """'mixed_float16' on a GPU (unless config says no), 'float32' otherwise.

    On a CPU float16 is slower, not faster, so mixed precision is never used there.
    """
    wanted = accelerator.kind == "GPU" if config.mixed_precision is None else config.mixed_precision
    return "mixed_float16" if wanted and accelerator.kind == "GPU" else "float32"


def jit_setting(config: TrainConfig, accelerator: Accelerator) -> bool | str:
    """XLA-compiled train steps on a GPU; Keras's 'auto' elsewhere (TF on a CPU skips XLA)."""
    if config.jit_compile is not None:
        return config.jit_compile
    return True if accelerator.kind == "GPU" else "auto"


def parallel_devices() -> list[str]:
    """Names of the devices the current Keras backend can train on in parallel, in order.

    The GPUs (or TPUs) when there are any, else the CPU: one device, or as many virtual ones as
    were set up before the backend started (JAX: the XLA_FLAGS
    --xla_force_host_platform_device_count=N; TensorFlow: set_logical_device_configuration).
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        return list(keras.distribution.list_devices())  # e.g. ['gpu:0', 'gpu:1']
    if backend == "tensorflow":
        import tensorflow as tf

        logical = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return [device.name for device in logical]  # e.g. ['/device:GPU:0', '/device:GPU:1']
    return [f"{backend}:0"]  # PyTorch: one device (data_parallel refuses more)


def select_devices(devices: int | str, available: list[str]) -> list[str]:
    """The first `devices` of `available`, or all of them for 'all'."""
    wanted = len(available) if devices == ALL_DEVICES else devices
    if wanted > len(available):
        raise ValueError(f"devices={devices!r} asked for, but only {len(available)} "
                         f"available: {', '.join(available)}")  # fmt: skip
    return available[:wanted]


def _batch_size_that_splits(batch_size: int, n_devices: int, set_sizes: dict[str, int]) -> str:
    """The multiple of n_devices nearest batch_size whose batches all split, as a hint."""
    candidates = sorted(range(n_devices, 4 * batch_size + n_devices, n_devices),
                        key=lambda b: (abs(b - batch_size), b))  # fmt: skip
    for b in candidates:
        if all(size % b % n_devices == 0 for size in set_sizes.values()):
            return f"e.g. --batch-size {b}"
    return f"none near {batch_size} splits them all"


def check_batches_split(batch_size: int, n_devices: int, set_sizes: dict[str, int]) -> None:
    """Refuse, before any training, batches that cannot be split evenly over n_devices.

    Every batch is split: the global batch of `batch_size` images, and the last, smaller batch
    of each set ({name: number of images}), of size N mod batch_size. An uneven split crashes
    JAX mid-run (the batch axis must divide among the devices; cf. keras-team/keras#21167),
    and on TensorFlow would give unequal shards, whose per-device mean losses Keras averages
    with equal weights: not the mean over the batch.
    """
    if n_devices == 1:
        return
    hint = _batch_size_that_splits(batch_size, n_devices, set_sizes)
    if batch_size % n_devices:
        raise ValueError(f"batch size {batch_size} does not divide among {n_devices} devices: "
                         f"choose a multiple of {n_devices} ({hint})")  # fmt: skip
    for name, size in set_sizes.items():
        last = size % batch_size
        if last % n_devices:
            raise ValueError(
                f"the last batch of the {name} set ({size:,} images in batches of "
                f"{batch_size}) holds {last} images, which do not divide among {n_devices} "
                f"devices: choose another batch size ({hint})"
            )


def replica_count() -> int:
    """How many devices share each batch in the current scope: 1 outside `data_parallel`."""
    import keras

    if keras.backend.backend() == "jax":
        distribution = keras.distribution.distribution()
        return 1 if distribution is None else int(distribution.device_mesh.devices.size)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    return 1


def _mirrored_strategy(devices: list[str]):
    """TensorFlow's MirroredStrategy over `devices`. On CPU devices the gradients are summed on
    one device: TensorFlow's default, collective all-reduce, fails when a second strategy with
    another number of devices is made in the same process ("joining a group with size 4, but
    that group has size 2"), as the tests, the chapter and the benchmark do. GPUs keep the
    default (NCCL)."""
    import tensorflow as tf

    on_cpus = all("CPU" in name.upper() for name in devices)
    reduction = tf.distribute.ReductionToOneDevice() if on_cpus else None
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=reduction)


@contextmanager
def data_parallel(devices: list[str]) -> Iterator[None]:
    """A scope in which Keras builds, compiles, fits and evaluates models over `devices`.

    Each device holds a replica of the weights and computes the gradient of its share of the
    global batch (N, ...) -> (N / len(devices), ...); the gradients are averaged before every
    step, so the weights stay identical. One device: no distribution at all, the plain path.
    """
    import keras

    backend = keras.backend.backend()
    if len(devices) == 1:
        yield
    elif backend == "jax":
        with keras.distribution.DataParallel(devices=devices).scope():
            yield
    elif backend == "tensorflow":
        with _mirrored_strategy(devices).scope():
            yield
    else:
        raise ValueError(f"data-parallel training needs the jax or tensorflow backend, "
                         f"got {backend!r} with devices {devices}")  # fmt: skip


def fit_images_to(x: np.ndarray, input_shape: tuple) -> np.ndarray:
    """Zero-pad images (N, H, W, C) equally on each side to the model's (Ho, Wo, C)."""
    if x.ndim != 4:
        raise ValueError(f"images must be 4-D (N, H, W, C), got shape {x.shape}")
    N, H, W, C = x.shape
    Ho, Wo, Co = input_shape[-3:]
    if Co != C or Ho < H or Wo < W:
        raise ValueError(f"cannot fit images {(H, W, C)} to the model's input {(Ho, Wo, Co)}")
    top, left = (Ho - H) // 2, (Wo - W) // 2
    return np.pad(x, [(0, 0), (top, Ho - H - top), (left, Wo - W - left), (0, 0)])


def epoch_timer():
    """A Keras callback whose `seconds` lists the wall-clock time of each epoch.

    Defined inside a function so that importing this module (for `cnncourse --help`) does not
    import Keras.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


@dataclass
class TrainResult:
    """What a training run produced; everything but `model` is also in history.json."""

    model: object = field(repr=False)
    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    epoch_seconds: list[float]
    accelerator: Accelerator
    data_source: str
    output_dir: Path | None

    def seconds_per_epoch(self) -> float:
        """Mean time of the epochs after the first (which also compiles); the first if alone."""
        later = self.epoch_seconds[1:] or self.epoch_seconds
        return float(np.mean(later))


def augmentation_layers(augmentation: Augmentation, image_size: tuple[int, int],
                        seed: int) -> list:  # fmt: skip
    """Keras random layers that distort a batch (N, H, W, C) of images of size (H, W).

    Each layer distorts only when called with training=True and returns its input unchanged
    otherwise. They are float32 whatever the global dtype policy, and a list rather than a
    keras.Sequential, because `training_batches` calls them inside a tf.data pipeline, where
    each Keras preprocessing layer switches to TensorFlow ops under any backend.
    """
    from keras import layers

    H, W = image_size
    common = dict(fill_mode="constant", fill_value=0.0, dtype="float32")
    return [
        layers.RandomTranslation(
            augmentation.max_shift / H, augmentation.max_shift / W, seed=seed, **common
        ),
        layers.RandomRotation(augmentation.max_rotation / 360, seed=seed + 1, **common),
        layers.RandomZoom(augmentation.max_zoom, seed=seed + 2, **common),
    ]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float) -> tuple[np.ndarray, ...]:
    """(x_fit, y_fit, x_val, y_val): the last `fraction` of x (N, H, W, C) is held out.

    The same cut as Keras's `validation_split`: N_fit = ceil(N * (1 - fraction)), no shuffling.
    """
    n_fit = math.ceil(len(x) * (1 - fraction))
    return x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:]


def _keep_tensorflow_off_the_gpu() -> None:
    """Under JAX or PyTorch, tf.data only feeds batches: hide the GPUs from TensorFlow, which
    would otherwise reserve most of their memory for itself (the Keras guides do the same)."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() == "tensorflow":
        return
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TensorFlow already running: hidden by an earlier call, or in use
        pass


def _batch_seeds(seed: int, step):
    """A stand-in for a keras.random.SeedGenerator that hands the random layers distorting one
    batch the seeds (seed, 64 * step + k), k = 1, 2, ... for their k-th draw: no state, so the
    distortions of batch `step` (a scalar tensor) depend on the seed and the step alone."""
    import keras
    import tensorflow as tf

    class BatchSeeds(keras.random.SeedGenerator):
        def __init__(self):  # no super().__init__(): no state variable at all
            self.draws = 0

        def next(self, ordered=True):
            self.draws += 1  # counted while tracing: one distinct seed per draw of the batch
            draw = 64 * tf.cast(step, tf.int64) + self.draws
            return tf.stack([tf.constant(seed, tf.int64), draw])

    return BatchSeeds()


def training_batches(x: np.ndarray, y: np.ndarray, config: TrainConfig):
    """A tf.data pipeline of the batches of all config.epochs epochs, one after the other:
    ceil(N / batch_size) batches of x (N, H, W, C) and y (N,) per epoch, shuffled anew each
    epoch and, if configured, distorted.

    Keras's random image layers cannot be compiled by XLA, so inside the model they would turn
    compiled train steps off (under JAX, every step would run op by op). In the input pipeline
    they run on the CPU ahead of the accelerator (prefetch), and the model trains compiled.

    The randomness is stateless: epoch e's order is a function of (seed, e), the distortions of
    the step-th batch of the run a function of (seed, step). So the batches do not depend on
    how many iterators are opened or how far ahead they are read, and the map runs in parallel.
    This matters for data parallelism: under a tf.distribute strategy, Keras reads one batch
    to build the model before fitting, then starts over (TensorFlow trainer,
    `_maybe_symbolic_build`); with a stateful shuffle and random layers, training on several
    devices would see other batches than on one.
    """
    import tensorflow as tf

    _keep_tensorflow_off_the_gpu()
    N, H, W, C = x.shape
    images, labels = tf.constant(x), tf.constant(y)
    distortions = ([] if config.augmentation is None else
                   augmentation_layers(config.augmentation, (H, W), config.seed))  # fmt: skip

    def epoch_batches(epoch):  # -> batches of indices, (batch_size,) each
        seed = tf.stack([tf.constant(config.seed, tf.int64), epoch])
        order = tf.random.experimental.stateless_shuffle(tf.range(N), seed=seed)  # (N,)
        return tf.data.Dataset.from_tensor_slices(order).batch(config.batch_size)

    def gather_and_distort(step, index):
        batch, seeds = tf.gather(images, index), _batch_seeds(config.seed, step)
        for layer in distortions:
            layer.backend.set_backend("tensorflow")  # as the layer does when called in tf.data
            try:
                change = layer.get_random_transformation(batch, training=True, seed=seeds)
                batch = layer.transform_images(batch, change, training=True)
            finally:
                layer.backend.reset()
        return batch, tf.gather(labels, index)

    steps = tf.data.Dataset.range(config.epochs).flat_map(epoch_batches).enumerate()
    return steps.map(gather_and_distort, num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True).prefetch(tf.data.AUTOTUNE)  # fmt: skip


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int):
    """Adam's step: config.learning_rate, constant or decayed along a cosine to 0 at the end."""
    import keras

    if config.schedule == "constant":
        return config.learning_rate
    total_steps = config.epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, total_steps)


def train_model(model, data: Dataset, config: TrainConfig, accelerator: Accelerator) -> TrainResult:
    """Compile and fit a Keras model on `data` as config says, then evaluate it on the test split.

    x is padded to the model's input size (28x28 digits -> 32x32 for LeNet-5). Only the training
    batches are distorted; validation and test images are seen as they are. The dtype policy
    must already be set when the model is built (see `train`). Inside `data_parallel`, the
    model must be built there too; batches that would not split evenly are refused first.
    """
    import keras

    x_train = fit_images_to(data.x_train, model.input_shape)
    x_test = fit_images_to(data.x_test, model.input_shape)
    x_fit, y_fit, x_val, y_val = split_validation(x_train, data.y_train, config.validation_split)
    sizes = {"training": len(x_fit), "validation": len(x_val), "test": len(x_test)}
    check_batches_split(config.batch_size, replica_count(), sizes)
    steps_per_epoch = math.ceil(len(x_fit) / config.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(config, steps_per_epoch)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_setting(config, accelerator),
    )
    timer = epoch_timer()
    fitted = model.fit(
        training_batches(x_fit, y_fit, config), epochs=config.epochs, shuffle=False,
        steps_per_epoch=steps_per_epoch,  # one iterator through all the epochs' batches
        validation_data=(x_val, y_val) if len(x_val) else None,
        validation_batch_size=config.batch_size, callbacks=[timer], verbose=config.verbose,
    )  # fmt: skip
    test_loss, test_accuracy = model.evaluate(x_test, data.y_test, batch_size=config.batch_size,
                                              verbose=0)  # fmt: skip
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    return TrainResult(model, history, float(test_loss), float(test_accuracy), timer.seconds,
                       accelerator, data.source, None)  # fmt: skip


def build_model(name: str, input_shape: tuple[int, int, int], num_classes: int):
    """A zoo model by registry name (cnncourse.models.MODELS) for the given input and classes."""
    from cnncourse.models import MODELS

    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](input_shape=input_shape, num_classes=num_classes)
    except ValueError as error:
        raise ValueError(f"{name} cannot take {input_shape} inputs: {error}") from error


def save_run(result: TrainResult, config: TrainConfig, output_dir: Path) -> None:
    """Write output_dir/model.keras and output_dir/history.json (curves, timings, test scores)."""
    import keras

    output_dir.mkdir(parents=True, exist_ok=True)
    result.model.save(output_dir / "model.keras")
    record = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "backend": keras.backend.backend(),
        "device": result.accelerator.describe(),
        "data_source": result.data_source,
        "history": result.history,
        "epoch_seconds": result.epoch_seconds,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
    }
    (output_dir / "history.json").write_text(json.dumps(record, indent=2))
    result.output_dir = output_dir


def run_training(config: TrainConfig) -> TrainResult:
    """Train config.model on MNIST as configured, print the results and save the run."""
    import keras

    keras.utils.set_random_seed(config.seed)  # Python, numpy and backend seeds at once
    accelerator = detect_accelerator()
    policy = dtype_policy(config, accelerator)
    print(f"Training {config.model} on {accelerator.describe()} with Keras {keras.__version__} "
          f"({keras.backend.backend()} backend, {policy})", flush=True)  # fmt: skip
    devices = select_devices(config.devices, parallel_devices())
    check_batches_split(config.batch_size, len(devices), {})  # the sets' sizes: train_model
    if len(devices) > 1:
        print(f"Data-parallel over {len(devices)} devices ({', '.join(devices)}): batches of "
              f"{config.batch_size} = {len(devices)} x {config.batch_size // len(devices)} "
              "per device", flush=True)  # fmt: skip
    data = load_mnist(config.data_source, seed=config.seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        with data_parallel(devices):
            model = build_model(config.model, MNIST_INPUT_SHAPE, MNIST_CLASSES)
            result = train_model(model, data, config, accelerator)
    finally:
        keras.config.set_dtype_policy(previous)
    print(f"{config.model}: test accuracy {result.test_accuracy:.2%}, "
          f"{result.seconds_per_epoch():.1f} s per epoch (first epoch "
          f"{result.epoch_seconds[0]:.1f} s, with compilation)", flush=True)  # fmt: skip
    output_dir = config.output_dir or Path("runs") / config.model
    save_run(result, config, Path(output_dir))
    print(f"Saved {output_dir / 'model.keras'} and {output_dir / 'history.json'}", flush=True)
    return result


def train(model_name: str, **options) -> TrainResult:
    """Train a zoo model on MNIST: `train("lenet5", epochs=20)`. Options are TrainConfig fields."""
    return run_training(TrainConfig(model=model_name, **options))


def split_cpu(n_devices: int) -> None:
    """Make the backend see the CPU as n_devices virtual devices, to try data parallelism
    without GPUs. TensorFlow: logical devices, set here before it starts; JAX: only the
    XLA_FLAGS --xla_force_host_platform_device_count=N, set before it is imported, can do it,
    so here it is only checked."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        virtual = [tf.config.LogicalDeviceConfiguration() for _ in range(n_devices)]
        tf.config.set_logical_device_configuration(cpu, virtual)
    seen = len(parallel_devices())
    if seen != n_devices:
        raise RuntimeError(f"asked for {n_devices} virtual CPU devices, the "
                           f"{keras.backend.backend()} backend sees {seen}")  # fmt: skip


def run_on_virtual_cpus(n_devices: int, expression: str, backend: str | None = None):
    """The value of `expression` (Python using `train`, this module; its value JSON-able),
    computed in a new Python process whose CPU is split into n_devices devices (`split_cpu`),
    under `backend` (default: KERAS_BACKEND). A new process, because the device count is
    fixed when the backend starts."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={n_devices}",
               KERAS_BACKEND=backend or os.environ.get("KERAS_BACKEND", "tensorflow"))  # fmt: skip
    code = ("import json, contextlib, io\nfrom cnncourse import train\n"
            f"train.split_cpu({n_devices})\nwith contextlib.redirect_stdout(io.StringIO()):\n"
            f"    value = {expression}\nprint(json.dumps(value))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{expression} on {n_devices} virtual CPUs failed:\n"
                           f"{done.stderr[-3000:]}")  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def parallel_parity(device_counts: tuple[int, ...] = (1, 2, 4), n_images: int = 128,
                    batch_size: int = 32) -> list[dict]:  # fmt: skip
    """LeNet-5 trained for one epoch on n_images digits of the offline sample (the default
    recipe, same seed) on each number of devices, from the same initial weights; one row per
    count: devices, batch per device, training loss and accuracy, test accuracy on 64 other
    digits, and the largest difference of any weight from the first run's (one device)."""
    import keras

    full = load_mnist("sample")
    data = Dataset(full.x_train[:n_images], full.y_train[:n_images], full.x_test[:64],
                   full.y_test[:64], full.source)  # fmt: skip
    config = TrainConfig(epochs=1, batch_size=batch_size, validation_split=0.0, verbose=0)
    keras.utils.set_random_seed(config.seed)
    initial = build_model("lenet5", MNIST_INPUT_SHAPE, MNIST_CLASSES).get_weights()
    rows, reference = [], None
    for n in device_counts:
        with data_parallel(parallel_devices()[:n]):
            model = build_model("lenet5", MNIST_INPUT_SHAPE, MNIST_CLASSES)
            model.set_weights(initial)
            result = train_model(model, data, config, detect_accelerator())
        weights = model.get_weights()
        reference = reference or weights
        moved = [np.abs(w - r).max() for w, r in zip(weights, reference, strict=True)]
        rows.append({"devices": n, "batch/device": batch_size // n,
                     "loss": result.history["loss"][-1],
                     "accuracy": result.history["accuracy"][-1],
                     "test accuracy": result.test_accuracy,
                     "max weight diff": float(max(moved))})  # fmt: skip
    return rows


def batch_norm_moving_variance(n_devices: int, synchronized: bool = False) -> float:
    """The moving variance a BatchNormalization layer (momentum 0: it keeps the last batch's
    statistic) holds after one training step on a batch (8, 1) of four 0s then four 2s, split
    over n_devices. The batch's variance is 1; each half's is 0.

    `synchronized` is TensorFlow's option (all-reduce the statistics over the replicas). JAX
    has no such option and needs none: its DataParallel compiles one program for the global
    batch, whose statistics are the whole batch's."""
    import keras

    x = np.array([[0.0]] * 4 + [[2.0]] * 4, dtype="float32")  # (8, 1): mean 1, variance 1
    on_tensorflow = keras.backend.backend() == "tensorflow"
    with data_parallel(parallel_devices()[:n_devices]):
        synchronized = synchronized and on_tensorflow
        norm = keras.layers.BatchNormalization(momentum=0.0, synchronized=synchronized)
        model = keras.Sequential([keras.Input((1,)), norm])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return float(keras.ops.convert_to_numpy(norm.moving_variance)[0])


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register `cnncourse train MODEL [--epochs N] ...`."""
    defaults = TrainConfig()
    parser = subparsers.add_parser("train", help="train a model of the zoo on MNIST",
                                   description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("model", help="network to train: lenet5, lenet5_modern, resnet18, ... "
                        "(see cnncourse.models.MODELS)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--schedule", choices=LEARNING_RATE_SCHEDULES, default=defaults.schedule,
                        help="cosine: the step decays to 0 by the end")  # fmt: skip
    parser.add_argument("--no-augmentation", action="store_true",
                        help="no random shifts, turns and zooms of the digits")  # fmt: skip
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--data", choices=MNIST_SOURCES, default=defaults.data_source,
                        help="auto: full MNIST when online, else the offline sample")  # fmt: skip
    parser.add_argument("--output", type=Path, default=None,
                        help="where model.keras and history.json go (runs/MODEL/)")  # fmt: skip
    parser.add_argument("--no-mixed-precision", action="store_true",
                        help="train in float32 even on a GPU")  # fmt: skip
    parser.add_argument("--devices", type=parse_devices, default=defaults.devices,
                        help="train data-parallel on the first N devices, or 'all'; the batch "
                        "size stays global, split among them (default: 1)")  # fmt: skip
    parser.set_defaults(func=_run_cli)


def parse_devices(text: str) -> int | str:
    """--devices: 'all' or an integer >= 1."""
    if text == ALL_DEVICES:
        return ALL_DEVICES
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 or 'all', got {text!r}")
    return int(text)


def _run_cli(args: argparse.Namespace) -> int:
    config = TrainConfig(
        model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, schedule=args.schedule, seed=args.seed,
        augmentation=None if args.no_augmentation else Augmentation(), data_source=args.data,
        output_dir=args.output, mixed_precision=False if args.no_mixed_precision else None,
        devices=args.devices,
    )  # fmt: skip
    run_training(config)
    return 0
