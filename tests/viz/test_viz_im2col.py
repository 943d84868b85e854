"""im2col figure: columns are the input's windows, rows the kernels, product the convolution."""

import numpy as np
import pytest

from cnncourse.viz.im2col import im2col_matrices, plot_im2col

X = np.arange(1.0, 17.0).reshape(4, 4, 1)  # the numbers 1..16, row by row
W = np.zeros((3, 3, 1, 2))
W[1, 1, 0, 1] = 1.0  # kernel 1 copies the window's centre


def test_columns_are_windows_and_rows_are_kernels():
    w_row, x_col, y = im2col_matrices(X, W)
    assert w_row.shape == (2, 9) and x_col.shape == (9, 4) and y.shape == (2, 4)
    # window 1 (row 0, column 1) of the input holds 2, 3, 4 / 6, 7, 8 / 10, 11, 12
    assert x_col[:, 1].tolist() == [2, 3, 4, 6, 7, 8, 10, 11, 12]
    assert w_row[1].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert y[1].tolist() == [6, 7, 10, 11]  # the centres of the four windows


def test_two_channels_sit_innermost_in_a_column():
    x = np.stack([X[:, :, 0], -X[:, :, 0]], axis=-1)  # (4, 4, 2)
    _, x_col, _ = im2col_matrices(x, np.zeros((3, 3, 2, 1)))
    assert x_col[:4, 0].tolist() == [1, -1, 2, -2]


def test_figure_labels_the_shapes():
    fig = plot_im2col(X, W, window=3)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"W_row (2\u00d79)", "X_col (9\u00d74)", "Y (2\u00d74)"} <= set(texts)


@pytest.mark.parametrize("window", [4, -1, 1.0])
def test_window_outside_the_output_raises(window):
    with pytest.raises(ValueError, match=f"got {window!r}"):
        plot_im2col(X, W, window=window)


def test_channel_mismatch_raises():
    with pytest.raises(ValueError, match=r"w \(3, 3, 2, 1\)"):
        im2col_matrices(X, np.zeros((3, 3, 2, 1)))
