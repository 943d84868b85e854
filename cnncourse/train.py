"""Train a model of the zoo on MNIST, on a GPU when there is one, and the `cnncourse train` command.

    cnncourse train lenet5                      # full MNIST online, the shipped sample offline
    cnncourse train lenet5 --epochs 1           # a quick look (seconds on a CPU offline)

The same code runs on a CPU and on a GPU, under KERAS_BACKEND=tensorflow (the default) or jax.
On a GPU it trains in mixed precision (float16 compute, float32 weights; the models' softmax
outputs stay float32) and with XLA-compiled steps. It fixes the seeds, shows Keras progress bars,
prints the device, the test accuracy and the time per epoch, and saves the history (JSON) and
the trained model (.keras) under runs/<model>/ unless told otherwise.

The default recipe (TrainConfig): 20 epochs; random shifts, rotations and zooms of the training
digits (`Augmentation`), redrawn every epoch and never applied at inference; Adam whose step
follows a cosine from `learning_rate` down to zero over the whole run."""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cnncourse.data import MNIST_SOURCES, Dataset, load_mnist

# LeNet-5's input: the 28x28 digits padded by 2 pixels (LeCun et al., 1998). Every model of the
# zoo except AlexNet accepts it, so all of them train on the same padded digits.
MNIST_INPUT_SHAPE = (32, 32, 1)
MNIST_CLASSES = 10


LEARNING_RATE_SCHEDULES = ("cosine", "constant")


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


def training_batches(x: np.ndarray, y: np.ndarray, config: TrainConfig):
    """A tf.data pipeline of shuffled (and, if configured, distorted) batches of x (N, H, W, C).

    Keras's random image layers cannot be compiled by XLA, so inside the model they would turn
    compiled train steps off (under JAX, every step would run op by op). In the input pipeline
    they run on the CPU ahead of the accelerator (prefetch), and the model trains compiled.
    The map is sequential: parallel calls would race for the layers' random state, and the same
    seed would no longer give the same batches.
    """
    import tensorflow as tf

    _keep_tensorflow_off_the_gpu()
    N, H, W, C = x.shape
    batches = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(N, seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
    )
    if config.augmentation is not None:
        distortions = augmentation_layers(config.augmentation, (H, W), config.seed)

        def distort(images, labels):
            for layer in distortions:
                images = layer(images, training=True)
            return images, labels

        batches = batches.map(distort)
    return batches.prefetch(tf.data.AUTOTUNE)


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
    must already be set when the model is built (see `train`).
    """
    import keras

    x_train = fit_images_to(data.x_train, model.input_shape)
    x_test = fit_images_to(data.x_test, model.input_shape)
    x_fit, y_fit, x_val, y_val = split_validation(x_train, data.y_train, config.validation_split)
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
    data = load_mnist(config.data_source, seed=config.seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
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
    parser.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    config = TrainConfig(
        model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, schedule=args.schedule, seed=args.seed,
        augmentation=None if args.no_augmentation else Augmentation(), data_source=args.data,
        output_dir=args.output, mixed_precision=False if args.no_mixed_precision else None,
    )  # fmt: skip
    run_training(config)
    return 0
