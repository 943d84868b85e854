"""Interactive explorers for the online book: self-contained HTML and JavaScript.

Each function returns an `Explorer` whose `html` holds a static picture, the package's own
numbers, and a small script that redraws on every input: no server, no CDN, no kernel, so it
works in the built book, in a notebook and from a file opened with file://. A notebook cell that
ends with an explorer shows it.

- `image_kernel_explorer()`: the sample photo and the kernels of `cnncourse.filters`.
- `arithmetic_explorer()`: output sizes and padding from `cnncourse.arithmetic`.
- `receptive_field_explorer(layers)`: receptive fields and jumps of a stack of layers.
- `lenet_explorer(model, images, labels)`: every layer of a trained Keras LeNet.
"""

from cnncourse.viz.explorers.arithmetic import arithmetic_explorer
from cnncourse.viz.explorers.image_kernel import image_kernel_explorer
from cnncourse.viz.explorers.lenet import lenet_explorer
from cnncourse.viz.explorers.page import SIZE_BUDGET_BYTES, Explorer
from cnncourse.viz.explorers.receptive_field import receptive_field_explorer

__all__ = [
    "SIZE_BUDGET_BYTES",
    "Explorer",
    "arithmetic_explorer",
    "image_kernel_explorer",
    "lenet_explorer",
    "receptive_field_explorer",
]
