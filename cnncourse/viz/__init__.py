"""Figures and animations of the course, drawn with matplotlib by the package itself.

Every figure is a `matplotlib.figure.Figure` made outside pyplot: a notebook cell that ends with
one shows it once, `fig.savefig(...)` writes it. Animations are `FuncAnimation`s; in the book
they are shown with `animation_html(anim)`.
"""

from cnncourse.viz.arithmetic_animation import (
    animate_convolution,
    animate_transposed_convolution,
    convolution_scene,
    draw_convolution_frame,
    transposed_convolution_scene,
)
from cnncourse.viz.drawing.embed import animation_html, show_figures_in_notebooks
from cnncourse.viz.feature_maps import plot_feature_maps, plot_kernels
from cnncourse.viz.filters import plot_filter_bank
from cnncourse.viz.matrix import plot_matrix
from cnncourse.viz.pooling import animate_pooling, plot_pooling, pooled_values
from cnncourse.viz.receptive_field import animate_receptive_field, plot_receptive_field

show_figures_in_notebooks()

__all__ = [
    "animate_convolution",
    "animate_pooling",
    "animate_receptive_field",
    "animate_transposed_convolution",
    "animation_html",
    "convolution_scene",
    "draw_convolution_frame",
    "plot_feature_maps",
    "plot_filter_bank",
    "plot_kernels",
    "plot_matrix",
    "plot_pooling",
    "plot_receptive_field",
    "pooled_values",
    "transposed_convolution_scene",
]
