"""Animations embedded in the book: HTML players under the size budget, no stray figures."""

import base64
import io
import re

import matplotlib.pyplot as plt
import pytest
from matplotlib.animation import FuncAnimation
from PIL import Image

from cnncourse.viz import animate_convolution, animate_transposed_convolution, animation_html
from cnncourse.viz.drawing.embed import SIZE_BUDGET_BYTES

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def embedded_frames(html: str) -> list[bytes]:
    return [base64.b64decode(data.replace("\\\n", ""))
            for data in re.findall(r'"data:image/png;base64,([^"]*)"', html)]


@pytest.mark.parametrize(("make", "n_frames"), [
    (lambda: animate_convolution(5, 3, padding="full"), 49),  # the longest of chapter 3
    (lambda: animate_transposed_convolution(3, 3, stride=2), 49),  # the largest: 9x9 and 7x7
    (lambda: animate_transposed_convolution(3, 3, stride=2, padding="same"), 36),
])  # fmt: skip
def test_animation_html_stays_under_the_size_budget(make, n_frames):
    anim = make()
    html = animation_html(anim).data
    assert len(html.encode()) < SIZE_BUDGET_BYTES == 400_000
    frames = embedded_frames(html)
    assert len(frames) == n_frames
    width, height = anim._fig.get_size_inches() * anim._fig.dpi
    image = Image.open(io.BytesIO(frames[10]))
    assert image.size == (round(width), round(height))
    assert len(image.getcolors(256) or []) >= 4  # input, padding, kernel, output colours


def test_package_animations_never_enter_pyplot():
    before = plt.get_fignums()
    animation_html(animate_convolution(4, 3))
    assert plt.get_fignums() == before


def test_animation_html_closes_a_pyplot_figure():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    anim = FuncAnimation(fig, lambda i: [line.set_xdata([0, i])], frames=3)
    assert fig.number in plt.get_fignums()
    animation_html(anim)
    assert fig.number not in plt.get_fignums()


def test_animation_html_rejects_other_objects():
    with pytest.raises(ValueError, match="got Figure"):
        animation_html(plt.figure())
    plt.close("all")


def test_figures_display_as_png_in_ipython_without_pyplot(monkeypatch):
    import IPython
    from IPython.core.formatters import DisplayFormatter

    from cnncourse.viz import plot_matrix
    from cnncourse.viz.drawing.embed import show_figures_in_notebooks

    shell = type("Shell", (), {"display_formatter": DisplayFormatter()})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    show_figures_in_notebooks()
    data, _ = shell.display_formatter.format(plot_matrix([[1, 2], [3, 4]]))
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_animation_player_has_a_text_alternative_and_a_labelled_slider():
    from cnncourse.viz import animate_pooling

    html = animation_html(animate_pooling([[1, 2], [3, 4]], pool_size=1, stride=1)).data
    alt = re.search(r'<img id="_anim_img\w+" alt="([^"]+)">', html)
    assert alt, "the animation's frame image has no alt text"
    assert alt[1].startswith("Animation in 4 frames; the last frame: ") and "pooling" in alt[1]
    assert re.search(r'<input id="_anim_slider\w+" type="range" aria-label="[^"]+"', html)
