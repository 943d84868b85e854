"""Figures and animations in notebooks and the online book (animations as JavaScript players)."""

from __future__ import annotations

import base64
import io
import re
from html import escape
from typing import TYPE_CHECKING

from matplotlib.animation import Animation
from matplotlib.figure import Figure
from PIL import Image

if TYPE_CHECKING:
    from IPython.display import HTML

SIZE_BUDGET_BYTES = 400_000  # one animation's share of a book page
PALETTE_COLOURS = 16  # a handful of flat colours and grey text edges; 64 cost 30% more bytes
_PNG_FRAME = re.compile(r'"data:image/png;base64,([^"]*)"')


def animation_html(anim: Animation, *, fps: float = 2.0, loop: bool = True) -> HTML:
    """The animation as IPython HTML: `anim.to_jshtml()`, every frame a PNG inside the page.

    Frames are drawn at the figure's own dpi (the package's animations use 100, so they show at
    their size in the book's 700 px column) and stored as palette PNGs of at most 16 colours,
    so that an animation of 49 frames of 700x430 px stays under 400 KB. The figure is closed
    afterwards when pyplot holds it, so a notebook does not also print a static copy.
    """
    from IPython.display import HTML

    if not isinstance(anim, Animation):
        raise ValueError(f"animation_html needs a matplotlib Animation, got {type(anim).__name__}")
    html = anim.to_jshtml(fps=fps, default_mode="loop" if loop else "once")
    description = animation_description(anim, frames=len(_PNG_FRAME.findall(html)))
    _close_if_pyplot_holds(anim)
    return HTML(accessible_player(_PNG_FRAME.sub(_palette_frame, html), description))


def animation_description(anim: Animation, *, frames: int) -> str:
    """A text alternative of an animation drawn by `anim.to_jshtml()`: how many frames, and
    the titles of its figure as the last frame left them (the package's animations title
    each frame with what it shows: "max pooling 2x2, stride 2: 4x4 -> 2x2")."""
    figure = anim._fig
    titles = [figure._suptitle.get_text() if figure._suptitle else ""]
    titles += [ax.get_title() for ax in figure.axes] + [text.get_text() for text in figure.texts]
    shown = list(dict.fromkeys(title.strip() for title in titles if title.strip()))
    summary = f"Animation in {frames} frames"
    return f"{summary}; the last frame: {'; '.join(shown)}." if shown else f"{summary}."


def accessible_player(html: str, description: str) -> str:
    """matplotlib's player with names for what a screen reader meets: the frame image gets
    `description` as its alt text, the frame slider a label (both have none in matplotlib)."""
    alt = escape(description, quote=True)
    html = re.sub(r'<img id="(_anim_img\w+)">', rf'<img id="\1" alt="{alt}">', html)
    return re.sub(r'<input id="(_anim_slider\w+)" type="range"',
                  r'<input id="\1" type="range" aria-label="Frame of the animation"', html)


def _palette_frame(match: re.Match) -> str:
    """One embedded frame re-encoded as a palette PNG (same pixels up to 16 colours)."""
    png = base64.b64decode(match.group(1).replace("\\\n", ""))
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(PALETTE_COLOURS)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return f'"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode("ascii")}"'


def _close_if_pyplot_holds(anim: Animation) -> None:
    import matplotlib.pyplot as plt

    figure = anim._fig  # matplotlib keeps the animated figure only in this attribute
    for number in plt.get_fignums():
        if plt.figure(number) is figure:
            plt.close(figure)


def show_figures_in_notebooks() -> None:
    """Let IPython display a pyplot-free Figure that ends a cell, as a PNG, whatever the backend.

    pyplot's inline backend registers this only once pyplot is imported; figures made here may
    be the first (and only) ones of a notebook. Does nothing outside IPython or when a display
    for figures is already registered.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
