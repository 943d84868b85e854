"""Hand-crafted kernels: properties an image-processing reader can check by eye."""

import numpy as np
import pytest

from cnncourse.filters import (
    KERNELS,
    apply_filter,
    box_blur,
    diagonal_edge,
    edge,
    flip_kernel,
    gaussian_blur,
    gaussian_blur_3x3,
    gradient_magnitude,
    identity,
    laplacian,
    sharpen,
    shift,
    sobel_x,
    sobel_y,
)


def _sliding_sum(image, kernel):
    """'valid' cross-correlation written out: one window at a time, no library."""
    KH, KW = len(kernel), len(kernel[0])
    H, W = len(image), len(image[0])
    out = np.zeros((H - KH + 1, W - KW + 1))
    for i in range(H - KH + 1):
        for j in range(W - KW + 1):
            total = 0.0
            for u in range(KH):
                for v in range(KW):
                    total += image[i + u][j + v] * kernel[u][v]
            out[i, j] = total
    return out


@pytest.fixture
def photo():
    """A small deterministic colour 'photo' (H, W, C) = (9, 11, 3)."""
    return np.random.default_rng(3).random((9, 11, 3))


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_matches_explicit_sliding_window_sums(name, photo):
    kernel = KERNELS[name]()
    out = apply_filter(photo[..., 1], kernel, padding="valid")
    np.testing.assert_allclose(out, _sliding_sum(photo[..., 1], kernel), atol=1e-12)


def test_same_padding_keeps_the_size_and_pads_with_zeros():
    image = np.arange(20.0).reshape(4, 5)
    out = apply_filter(image, np.ones((3, 3)), padding="same")
    assert out.shape == (4, 5)
    assert out[0, 0] == image[0, 0] + image[0, 1] + image[1, 0] + image[1, 1]


def test_colour_channels_are_filtered_one_by_one(photo):
    out = apply_filter(photo, sobel_x())
    assert out.shape == photo.shape
    for c in range(3):
        np.testing.assert_allclose(out[..., c], apply_filter(photo[..., c], sobel_x()))


def test_identity_returns_the_image(photo):
    np.testing.assert_allclose(apply_filter(photo, identity()), photo, atol=1e-12)


def test_box_blur_of_a_constant_image_is_constant_inside():
    image = np.full((8, 8), 0.7)
    out = apply_filter(image, box_blur(3))
    np.testing.assert_allclose(out[1:-1, 1:-1], 0.7)
    assert out[0, 0] == pytest.approx(0.7 * 4 / 9)  # the corner window holds 5 padding zeros


def test_gaussian_sums_to_one_is_symmetric_and_peaks_in_the_centre():
    kernel = gaussian_blur(7, sigma=1.5)
    assert kernel.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kernel, kernel.T)
    np.testing.assert_allclose(kernel, flip_kernel(kernel))
    assert kernel.argmax() == 3 * 7 + 3
    assert gaussian_blur(5, sigma=0.5)[2, 2] > gaussian_blur(5, sigma=2.0)[2, 2]


def test_sums_of_kernels_decide_what_happens_to_flat_regions():
    for kernel in (identity(), box_blur(5), sharpen()):
        assert kernel.sum() == pytest.approx(1.0)  # flat regions keep their brightness
    for kernel in (edge(), laplacian(), sobel_x(), sobel_y()):
        assert kernel.sum() == pytest.approx(0.0)  # flat regions go to zero


def test_sobel_x_responds_to_vertical_edges_only():
    vertical_edge = np.zeros((7, 7))
    vertical_edge[:, 4:] = 1.0  # brighter on the right
    horizontal_edge = vertical_edge.T.copy()
    gx_v = apply_filter(vertical_edge, sobel_x(), padding="valid")
    gx_h = apply_filter(horizontal_edge, sobel_x(), padding="valid")
    assert gx_v.max() == pytest.approx(4.0)  # 1 + 2 + 1 across the step
    assert np.all(gx_v >= 0)  # dark to bright, left to right
    np.testing.assert_allclose(gx_h, 0.0)
    np.testing.assert_allclose(apply_filter(vertical_edge, sobel_y(), padding="valid"), 0.0)


def test_laplacian_of_a_linear_ramp_is_zero_inside():
    rows, cols = np.mgrid[0:6, 0:8]
    ramp = 2.0 * rows - 3.0 * cols + 1.0
    np.testing.assert_allclose(apply_filter(ramp, laplacian(), padding="valid"), 0.0, atol=1e-12)
    bowl = rows**2 + cols**2.0  # second derivatives 2 + 2
    np.testing.assert_allclose(apply_filter(bowl, laplacian(), padding="valid"), 4.0)


def test_shift_moves_an_impulse():
    impulse = np.zeros((7, 7))
    impulse[3, 3] = 1.0
    moved = apply_filter(impulse, shift(dy=1, dx=-2))
    assert np.argwhere(moved).tolist() == [[4, 1]]
    assert moved[4, 1] == 1.0


def test_convolution_is_cross_correlation_with_the_flipped_kernel():
    image = np.random.default_rng(0).random((6, 7))
    kernel = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, -1.0]])  # asymmetric
    correlation = apply_filter(image, kernel, padding="valid")
    # true convolution written out: out[i, j] = sum x[i + KH-1 - u, j + KW-1 - v] * k[u, v]
    convolution = np.zeros_like(correlation)
    for i in range(correlation.shape[0]):
        for j in range(correlation.shape[1]):
            for u in range(3):
                for v in range(2):
                    convolution[i, j] += image[i + 2 - u, j + 1 - v] * kernel[u, v]
    assert not np.allclose(correlation, convolution)
    np.testing.assert_allclose(apply_filter(image, flip_kernel(kernel), padding="valid"),
                               convolution)


def test_gradient_magnitude_combines_both_sobel_directions():
    image = np.zeros((8, 8))
    image[2:6, 2:6] = 1.0  # a bright square: edges in both directions
    gx, gy = apply_filter(image, sobel_x()), apply_filter(image, sobel_y())
    magnitude = gradient_magnitude(image)
    np.testing.assert_allclose(magnitude**2, gx**2 + gy**2)
    assert magnitude[4, 1] == pytest.approx(4.0)  # left edge: Gx = 1 + 2 + 1, Gy = 0
    assert magnitude[1, 1] == pytest.approx(np.sqrt(2.0))  # corner: Gx = Gy = 1 (one pixel)
    assert magnitude[0, 0] == 0.0 and magnitude[4, 4] == 0.0  # far away and inside: flat


@pytest.mark.parametrize(
    ("image", "kernel", "fragment"),
    [
        (np.zeros(5), identity(), "shape (5,)"),
        (np.zeros((2, 3, 4, 5)), identity(), "shape (2, 3, 4, 5)"),
        (np.zeros((5, 5)), np.ones(3), "shape (3,)"),
        (np.zeros((5, 5)), np.ones((1, 2, 3)), "shape (1, 2, 3)"),
        (np.zeros((2, 2)), np.ones((3, 3)), "larger than"),
    ],
)
def test_bad_input_raises_value_error_naming_the_shape(image, kernel, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        apply_filter(image, kernel, padding="valid")


@pytest.mark.parametrize("call", [lambda: box_blur(4), lambda: gaussian_blur(0),
                                  lambda: gaussian_blur(3, sigma=0), lambda: shift(0.5, 1)])
def test_bad_kernel_arguments_raise(call):
    with pytest.raises(ValueError, match="got"):
        call()


def test_gaussian_3x3_is_the_binomial_table_kernel():
    np.testing.assert_allclose(gaussian_blur_3x3() * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_diagonal_edge_ignores_straight_edges_and_answers_corners():
    np.testing.assert_array_equal(diagonal_edge(), [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    vertical = np.zeros((7, 7))
    vertical[:, 4:] = 1.0
    for image in (vertical, vertical.T):
        np.testing.assert_allclose(apply_filter(image, diagonal_edge(), padding="valid"), 0.0)
    corner = np.zeros((7, 7))
    corner[3:, 3:] = 1.0  # bright lower-right quadrant
    out = apply_filter(corner, diagonal_edge(), padding="valid")
    # the 4 windows holding the corner see one lit corner tap (+1) and lit zero taps
    assert np.argwhere(out).tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    np.testing.assert_array_equal(out[out != 0], 1.0)
