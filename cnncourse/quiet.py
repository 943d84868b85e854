"""Keras imported without TensorFlow's start-up lines, for notebooks.

Importing TensorFlow prints lines from its C++ core to the process's stderr before
TF_CPP_MIN_LOG_LEVEL is read ("WARNING: All log messages before absl::InitializeLog() ...",
"oneDNN custom operations are on", "Could not find cuda drivers"). In a notebook they appear
under the cell, and a student believes they caused them; under nbgrader, output on stderr in a
test cell costs that cell. `import_keras()` imports Keras (and runs one operation, which prints
the rest) with file descriptor 2 sent to /dev/null, then puts it back: later errors and warnings
show as usual.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def stderr_discarded() -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 to /dev/null while the block runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras() -> ModuleType:
    """The keras module, imported (once) without the C++ start-up lines of its backend."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_discarded():
        import keras

        keras.ops.convert_to_numpy(keras.ops.ones((1,)) + 1)  # the first operation logs too
    return keras
