"""The gradient-check tools themselves: known derivatives and the CS231n error definition."""

import numpy as np
import pytest

from cnncourse.gradcheck import numerical_gradient, rel_error


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
    numeric = numerical_gradient(lambda v: v**3, x, dout)
    np.testing.assert_allclose(numeric, 3 * x**2 * dout, rtol=1e-8)
    np.testing.assert_array_equal(x, [[0.5, -1.0], [2.0, 3.0]])  # x restored


def test_rel_error_follows_cs231n_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(0.5)
    assert rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)  # floor of 1e-8


def test_gradcheck_rejects_bad_input():
    with pytest.raises(ValueError, match="dtype int"):
        numerical_gradient(lambda v: v, np.arange(3), np.ones(3))
    with pytest.raises(ValueError, match=r"shapes differ: \(2,\) vs \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))
