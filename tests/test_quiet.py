"""cnncourse.quiet: Keras imported in a notebook prints nothing of TensorFlow's C++ start-up."""

import os
import subprocess
import sys

import pytest


@pytest.mark.keras
def test_keras_is_imported_without_start_up_lines():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("from cnncourse.quiet import import_keras\nimport sys\n"
            "keras = import_keras()\nprint(keras.__name__)\n"
            "print('after', file=sys.stderr, flush=True)\n"
            "import os; os.write(2, b'c level after\\n')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "keras"
    assert result.stderr.splitlines() == ["after", "c level after"]  # stderr works again
