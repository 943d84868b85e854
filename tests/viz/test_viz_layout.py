"""Frames read well at the book's page width: whole titles, legible text, cells that show."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnncourse.viz import (
    animate_convolution,
    animate_pooling,
    animate_receptive_field,
    animate_transposed_convolution,
)
from cnncourse.viz.drawing.grids import titled_cell_figure

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")

PAGE_PIXELS = 700  # the text column of the built book, measured in Chromium at 1300 px
LEGIBLE_PIXELS = 14  # the page's own body text is about 16 px

# the animations of the book's chapters, the widest and the tallest among them
BOOK_ANIMATIONS = {
    "4x4, k=3": lambda: animate_convolution(4, 3),
    "5x5, k=4, p=2": lambda: animate_convolution(5, 4, padding=2),
    "5x5, k=3, full": lambda: animate_convolution(5, 3, padding="full"),
    "7x7, k=3, d=2": lambda: animate_convolution(7, 3, dilation=2),
    "transposed 3x3, s=2": lambda: animate_transposed_convolution(3, 3, stride=2),
    "transposed 3x3, s=2, same": lambda: animate_transposed_convolution(3, 3, stride=2,
                                                                        padding="same"),
    "max pooling 3x3": lambda: animate_pooling(np.arange(25.0).reshape(5, 5), 3, 1),
    "receptive field, dilated": lambda: animate_receptive_field(
        [(3, 1, 1), (3, 1, 2), (3, 1, 4)], input_size=17),
}  # fmt: skip


def rendered(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


@pytest.mark.parametrize("name", BOOK_ANIMATIONS)
def test_frame_fits_the_page_with_its_whole_title(name):
    fig = BOOK_ANIMATIONS[name]()._fig
    renderer = rendered(fig)
    width, height = fig.bbox.width, fig.bbox.height
    assert width <= PAGE_PIXELS, f"{name}: {width:.0f} px frames are scaled down by the page"
    title = fig.texts[0].get_window_extent(renderer)
    assert 0 <= title.x0 and title.x1 <= width and 0 <= title.y0 and title.y1 <= height
    assert fig.texts[0].get_fontsize() * fig.dpi / 72 >= LEGIBLE_PIXELS
    grids = fig.axes[0].get_window_extent(renderer)
    assert title.y0 >= grids.y1 - 1, f"{name}: the title overlaps the drawing"


@pytest.mark.parametrize("name", BOOK_ANIMATIONS)
def test_cells_are_large_enough_to_read(name):
    fig = BOOK_ANIMATIONS[name]()._fig
    rendered(fig)
    (x0, _), (x1, _) = fig.axes[0].transData.transform([(0, 0), (1, 0)])
    assert x1 - x0 >= 24, f"{name}: cells of {x1 - x0:.0f} px"


def test_a_wide_drawing_shrinks_its_cells_to_the_page():
    fig, ax = titled_cell_figure(60, 5, "sixty cells", max_cell_inches=0.4)
    rendered(fig)
    (x0, _), (x1, _) = ax.transData.transform([(0, 0), (60, 0)])
    assert fig.bbox.width <= PAGE_PIXELS and x1 - x0 <= PAGE_PIXELS
    assert x1 - x0 > 0.9 * (PAGE_PIXELS - 20)  # and still uses the page


def test_a_short_title_over_a_small_drawing_is_not_cut():
    fig, _ = titled_cell_figure(2, 2, "a title much wider than two cells", max_cell_inches=0.4)
    renderer = rendered(fig)
    title = fig.texts[0].get_window_extent(renderer)
    assert title.x0 >= 0 and title.x1 <= fig.bbox.width


def test_a_title_wider_than_the_page_raises():
    with pytest.raises(ValueError, match="got 'x{200}'"):
        titled_cell_figure(3, 3, "x" * 200, max_cell_inches=0.4)
