"""The static figures of the layers, pooling and training chapters fit the page and read well:
at most 7 inches wide (the 700 px text column at 100 dpi), no text smaller than 9 pt."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnncourse.viz.augmentation import plot_augmented_images
from cnncourse.viz.batchnorm import plot_batch_normalisation
from cnncourse.viz.checkerboard import plot_transposed_overlap
from cnncourse.viz.im2col import plot_im2col
from cnncourse.viz.initialisation import plot_activation_statistics
from cnncourse.viz.multichannel import plot_multichannel_convolution
from cnncourse.viz.network_pipeline import plot_network_pipeline
from cnncourse.viz.nonlinearity import plot_relu
from cnncourse.viz.pooling import (
    plot_pooling_gradient,
    plot_pooling_modes,
    plot_shift_invariance,
)

PAGE_INCHES = 7.0
MIN_POINTS = 9
RNG = np.random.default_rng(0)
GUIDE = RNG.integers(0, 4, size=(5, 5))

# the figures as the chapters draw them, at their largest
FIGURES = {
    "relu": lambda: plot_relu(RNG.integers(-6, 8, size=(5, 5))),
    "multi-channel": lambda: plot_multichannel_convolution(
        RNG.integers(0, 3, size=(5, 5, 2)), RNG.integers(-1, 2, size=(3, 3, 2, 3)),
        np.array([1, 0, -1])),
    "im2col": lambda: plot_im2col(np.arange(1, 17).reshape(4, 4, 1), np.ones((3, 3, 1, 2))),
    "pipeline": lambda: plot_network_pipeline(
        RNG.random((28, 28)), RNG.normal(size=(3, 3, 1, 4)), np.zeros(4),
        RNG.normal(size=(13 * 13 * 4, 10)), np.zeros(10)),
    "pooling modes": lambda: plot_pooling_modes(GUIDE, 3, 1),
    "shift invariance": lambda: plot_shift_invariance(RNG.integers(0, 9, size=(8, 8))),
    "pooling gradient": lambda: plot_pooling_gradient(GUIDE[:4, :4], np.ones((2, 2))),
    "overlap": lambda: plot_transposed_overlap(4, (3, 4), 2),
    "initialisation": lambda: plot_activation_statistics({"a": [1.0, 0.1]}, {"a": [1.0, 0.1]}),
    "batch normalisation": lambda: plot_batch_normalisation(
        RNG.normal(size=(4, 5, 5, 4)), RNG.normal(size=(4, 5, 5, 4))),
    "augmentation": lambda: plot_augmented_images(np.zeros((3, 28, 28)),
                                                  np.zeros((3, 6, 28, 28))),
}  # fmt: skip


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_page_with_legible_text(name):
    fig = FIGURES[name]()
    FigureCanvasAgg(fig).draw()
    assert fig.get_figwidth() <= PAGE_INCHES, f"{name}: {fig.get_figwidth():.2f} in wide"
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and
                                    hasattr(a, "get_text")) if t.get_text().strip()]
    small = {t.get_text(): t.get_fontsize() for t in texts if t.get_fontsize() < MIN_POINTS}
    assert not small, f"{name}: text below {MIN_POINTS} pt: {small}"
