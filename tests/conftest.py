"""Settings every test shares, applied before numpy, TensorFlow or matplotlib are imported."""

import os
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # tensorflow without a GPU: no cuInit error
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
