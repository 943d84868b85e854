"""LeNet-5 against the Keras "simple MNIST convnet", side by side on the same data and device.

The baseline is the network of the Keras example "Simple MNIST convnet" (F. Chollet,
keras.io/examples/vision/mnist_convnet): Conv2D 32@3x3 - max pool - Conv2D 64@3x3 - max pool -
dropout 0.5 - Dense 10, 34,826 parameters, about 99.1% test accuracy on full MNIST. Both LeNet-5
variants of cnncourse.models and the baseline are trained with the same optimiser (Adam),
batch size, epochs, seed and validation split, each on its own input size (LeNet-5 gets the
digits padded to 32x32, as in the paper). Each network trains twice, with two recipes of
cnncourse.train and the same epochs:

- old: Adam at a constant 1e-3 on the digits as they are;
- new: the default TrainConfig, with random shifts (+-2 px), rotations (+-10 deg) and zooms
  (+-10%) of the training digits, and the step decayed along a cosine from 3e-3 to 0.

Prints test accuracy, seconds per epoch (mean of the epochs after the first, which also
compiles), the new recipe's time per epoch over the old one's, and each error over the
baseline's error with the same recipe.

Targets: on full MNIST (online), LeNet-5 reaches at least 99.2% test accuracy, better than the
paper's 99.05% (LeCun et al., 1998, 0.95% error without distortions; 0.8% with them). Offline
it trains on the 4,000 + 1,000 digits of the shipped sample and reports what it reaches.

Run: python benchmarks/bench_lenet.py [--epochs 15] [--data auto|keras|sample]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
from dataclasses import replace  # noqa: E402

import keras  # noqa: E402
from keras import layers  # noqa: E402

from cnncourse.data import MNIST_SOURCES, load_mnist  # noqa: E402
from cnncourse.models import lenet5  # noqa: E402
from cnncourse.train import TrainConfig, detect_accelerator, dtype_policy, train_model  # noqa: E402

LENET5_PAPER_ACCURACY = 0.9905  # LeCun et al. (1998), Fig. 9: 0.95% test error, no distortions
LENET5_TARGET_ACCURACY = 0.992


def simple_mnist_convnet(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    """The Keras example's convnet: (N, 28, 28, 1) -> (N, 10), 34,826 parameters."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes),
            layers.Activation("softmax", dtype="float32"),
        ],
        name="simple_mnist_convnet",
    )


CONTENDERS = {
    "keras simple convnet": simple_mnist_convnet,
    "lenet5 (classic)": lambda: lenet5(variant="classic"),
    "lenet5 (modern)": lambda: lenet5(variant="modern"),
}


def recipes(config: TrainConfig) -> dict[str, TrainConfig]:
    """The two recipes compared, both with config's epochs, batch size and seed."""
    old = replace(config, learning_rate=1e-3, schedule="constant", augmentation=None)
    return {"old": old, "new": config}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="the Keras example's 15")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data", choices=MNIST_SOURCES, default="auto")
    args = parser.parse_args()

    accelerator = detect_accelerator()
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, data_source=args.data,
                         verbose=2)  # fmt: skip
    policy = dtype_policy(config, accelerator)
    print(f"Device: {accelerator.describe()}; Keras {keras.__version__}, "
          f"{keras.backend.backend()} backend, {policy}")  # fmt: skip
    data = load_mnist(args.data)
    keras.config.set_dtype_policy(policy)
    results = {}  # (model name, recipe) -> (parameters, test accuracy, seconds per epoch)
    for name, build in CONTENDERS.items():
        for recipe, recipe_config in recipes(config).items():
            keras.utils.set_random_seed(config.seed)
            model = build()
            print(f"\n== {name}, {recipe} recipe: {model.count_params():,} parameters", flush=True)
            result = train_model(model, data, recipe_config, accelerator)
            results[name, recipe] = (model.count_params(), result.test_accuracy,
                                     result.seconds_per_epoch())  # fmt: skip
    print_table(results, args, data.source, len(data.x_train))


def print_table(results: dict, args: argparse.Namespace, source: str, train_size: int) -> None:
    """One row per model: accuracy and time of both recipes, and error ratios to the baseline."""
    baseline = next(iter(CONTENDERS))
    print(f"\n{args.epochs} epochs, batch {args.batch_size}, on {train_size:,} training images "
          f"(10% held out for validation); data: {source}")  # fmt: skip
    print(f"{'model':22} {'params':>7} {'old acc':>8} {'new acc':>8} {'old s/ep':>9} "
          f"{'new s/ep':>9} {'new/old time':>13} {'error/base old':>15} {'new':>6}")  # fmt: skip
    for name in CONTENDERS:
        params, old_acc, old_s = results[name, "old"]
        _, new_acc, new_s = results[name, "new"]
        old_ratio = (1 - old_acc) / max(1 - results[baseline, "old"][1], 1e-9)
        new_ratio = (1 - new_acc) / max(1 - results[baseline, "new"][1], 1e-9)
        print(f"{name:22} {params:>7,} {old_acc:>8.2%} {new_acc:>8.2%} {old_s:>9.2f} {new_s:>9.2f}"
              f" {new_s / old_s:>12.2f}x {old_ratio:>14.2f}x {new_ratio:>5.2f}x")  # fmt: skip
    best_lenet = max(acc for (name, _), (_, acc, _) in results.items() if name.startswith("lenet5"))
    if "full MNIST" in source:
        verdict = "meets" if best_lenet >= LENET5_TARGET_ACCURACY else "MISSES"
        print(f"LeNet-5 best {best_lenet:.2%} {verdict} the {LENET5_TARGET_ACCURACY:.1%} target "
              f"(paper: {LENET5_PAPER_ACCURACY:.2%})")  # fmt: skip
    else:
        print(f"Offline sample: LeNet-5 best {best_lenet:.2%} (the {LENET5_TARGET_ACCURACY:.1%} "
              "target applies to full MNIST)")  # fmt: skip


if __name__ == "__main__":
    main()
