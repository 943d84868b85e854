"""The encoder-decoder of chapter 9: per-pixel class probabilities, parameters counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cnncourse.models.segmentation import encoder_decoder

pytestmark = pytest.mark.keras


def conv(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


@pytest.mark.backend_neutral  # a count of built variables: the same on every backend
@pytest.mark.parametrize(("skips", "expected"), [
    # enc 1->16, 16->32, 32->64; dec 64->32, (32+32)->16 or 32->16; 1x1 (16+16)->4 or 16->4
    (True, conv(3, 1, 16) + conv(3, 16, 32) + conv(3, 32, 64) + conv(3, 64, 32)
     + conv(3, 64, 16) + conv(1, 32, 4)),
    (False, conv(3, 1, 16) + conv(3, 16, 32) + conv(3, 32, 64) + conv(3, 64, 32)
     + conv(3, 32, 16) + conv(1, 16, 4)),
])  # fmt: skip
def test_parameter_count(skips, expected):
    assert encoder_decoder(skip_connections=skips).count_params() == expected


def test_one_probability_vector_per_pixel():
    model = encoder_decoder(input_shape=(16, 20, 3), num_classes=5)
    out = np.asarray(model.predict(np.zeros((2, 16, 20, 3), "float32"), verbose=0))
    assert out.shape == (2, 16, 20, 5)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)


def test_size_not_divisible_by_four_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"\(30, 32, 1\)"):
        encoder_decoder(input_shape=(30, 32, 1))
