"""LeNet-5's sparse C3 layer and AlexNet's LRN against plain, obviously correct twins."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnncourse import models
from cnncourse.models.lenet import C3_CONNECTIONS

pytestmark = pytest.mark.keras


def lrn_loops(a: np.ndarray, depth=5, k=2.0, alpha=1e-4, beta=0.75) -> np.ndarray:
    """AlexNet Section 3.3 written out: b[c] = a[c] / (k + alpha sum_{c'} a[c']^2)^beta."""
    out = np.empty_like(a)
    channels = a.shape[-1]
    for c in range(channels):
        lo, hi = max(0, c - depth // 2), min(channels - 1, c + depth // 2)
        window = (a[..., lo : hi + 1] ** 2).sum(axis=-1)
        out[..., c] = a[..., c] / (k + alpha * window) ** beta
    return out


def test_lrn_matches_the_papers_formula():
    # large activations so that the normalisation is far from a constant scale
    a = np.random.default_rng(1).normal(scale=30.0, size=(2, 3, 4, 9)).astype("float32")
    layer = models.LocalResponseNormalization()
    np.testing.assert_allclose(np.asarray(layer(a)), lrn_loops(a), rtol=1e-5)


@pytest.mark.backend_neutral  # a count of built variables: the same on every backend
def test_c3_connection_table_has_the_papers_1516_parameters_and_60_connections():
    """Table I connects the 16 C3 maps to 60 S2 maps in all; 60 * 25 weights + 16 biases."""
    assert sum(len(ins) for ins in C3_CONNECTIONS) == 60
    layer = models.SparselyConnectedConv2D(C3_CONNECTIONS, 5)
    layer.build((None, 14, 14, 6))
    assert layer.count_params() == 1516


def test_sparse_conv_equals_a_full_conv_with_unconnected_kernels_zeroed():
    x = np.random.default_rng(2).normal(size=(2, 14, 14, 6)).astype("float32")
    sparse = models.SparselyConnectedConv2D(C3_CONNECTIONS, 5)
    y = np.asarray(sparse(x))
    kernel = np.asarray(sparse.full_kernel())  # (5, 5, 6, 16)
    for j, ins in enumerate(C3_CONNECTIONS):
        unconnected = [c for c in range(6) if c not in ins]
        assert np.all(kernel[:, :, unconnected, j] == 0)
        assert np.all(kernel[:, :, list(ins), j] != 0)
    full = keras.layers.Conv2D(16, 5)
    full.build(x.shape)
    full.set_weights([kernel, np.asarray(sparse.bias)])
    np.testing.assert_allclose(y, np.asarray(full(x)), rtol=1e-5, atol=1e-5)


def test_sparse_conv_rejects_a_table_wider_than_its_input():
    layer = models.SparselyConnectedConv2D(C3_CONNECTIONS, 5)
    with pytest.raises(ValueError, match="6 maps|input map 5"):
        layer.build((None, 14, 14, 5))


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    ("layer", "params"),
    [("C1", 156), ("S2", 12), ("C3", 1516), ("S4", 32), ("C5", 48_120), ("F6", 10_164)],
)
def test_classic_lenet5_layers_have_the_papers_trainable_parameters(layer, params):
    """LeCun et al. (1998), Section II.B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164."""
    assert models.lenet5().get_layer(layer).count_params() == params


@pytest.mark.backend_neutral
def test_lenet5_totals():
    # C1..F6 hold the paper's 60,000; the softmax output adds 84 * 10 + 10
    assert models.lenet5().count_params() == 60_000 + 850
    # modern: C3 becomes a full 5x5 conv 6 -> 16 (2,416) and pooling has no parameters
    assert models.lenet5(variant="modern").count_params() == 60_000 - 12 - 1516 - 32 + 2416 + 850


def test_sparse_c3_survives_a_keras_file_round_trip(tmp_path):
    lenet = models.lenet5()
    x = np.random.default_rng(3).random((2, 32, 32, 1), dtype=np.float32)
    path = tmp_path / "lenet5.keras"
    lenet.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(lenet(x)), rtol=1e-6)


# The file's layers and their count: the same on every backend (building this VGG under JAX
# compiled an initializer per shape, ~8 s); the LRN layer runs under JAX in
# test_lrn_matches_the_papers_formula.
@pytest.mark.backend_neutral
def test_lrn_survives_a_keras_file_round_trip(tmp_path):
    model = models.vgg("A-LRN", input_shape=(32, 32, 3), num_classes=3)
    model.save(tmp_path / "vgg.keras")
    assert keras.models.load_model(tmp_path / "vgg.keras").count_params() == model.count_params()
