"""Settings every test shares, applied before numpy, TensorFlow or matplotlib are imported."""

import functools
import os
import sys
import tempfile

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # tensorflow without a GPU: no cuInit error
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Modules whose tests share no module-scoped fixture across parameters: under xdist's loadscope
# (tasks.py) each parameter's tests are a unit of their own (a lab's graded class, a lab's
# mutants), so that these minutes-long modules spread over the workers instead of one worker
# taking them one lab after the other. Every other module stays on one worker.
SPLIT_BY_PARAMETER = {
    "tests/labs/test_typical_mistakes.py",
    "tests/labs/test_mutants.py",
    "tests/labs/test_lab_feedback.py",  # graded_class: a module fixture per lab (params)
    "tests/grading/run/test_lab_preflight.py",
}


def scope_of(nodeid: str) -> str:
    """The xdist unit of a test: its module, or in SPLIT_BY_PARAMETER its module and parameter."""
    module = nodeid.split("::", 1)[0]
    if module in SPLIT_BY_PARAMETER and nodeid.endswith("]") and "[" in nodeid:
        return f"{module}[{nodeid[nodeid.index('[') + 1:]}"
    return module


def pytest_xdist_make_scheduler(config, log):
    """loadscope with the units of scope_of."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrParameterScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ModuleOrParameterScheduling(config, log)


# `tasks.py test` collects the book's tests from this folder alone (collecting the whole suite
# imports TensorFlow and nbgrader: ~15 s of CPU in each of its processes).
BOOK_TESTS = "tests/book/"


def pytest_collection_modifyitems(items):
    """A test marked `book` outside BOOK_TESTS is an error: `tasks.py test` would run it nowhere.
    Then the lab modules of SPLIT_BY_PARAMETER first, then the other slow tests, then the rest (a
    stable sort): xdist hands out units in this order, so the minutes-long ones start at once
    and the many short ones fill the workers at the end."""
    def rank(item) -> int:
        if item.get_closest_marker("slow") is None:
            return 2
        return 0 if item.nodeid.split("::", 1)[0] in SPLIT_BY_PARAMETER else 1

    astray = [item.nodeid for item in items
              if item.get_closest_marker("book") and not item.nodeid.startswith(BOOK_TESTS)]
    if astray:
        raise pytest.UsageError(f"tests marked book outside {BOOK_TESTS}: {astray}")
    items.sort(key=rank)


def pytest_runtest_setup(item):
    """Ask alembic for the gradebook schema's head once per test process: nbgrader runs the
    `alembic` script for it each time it creates a gradebook (~1.6 CPU-s; the test processes
    created 60 in a run), and the head is fixed by the nbgrader installed. The `cnncourse` and
    `nbgrader` commands the tests run still ask alembic themselves."""
    api = sys.modules.get("nbgrader.api")
    if api is not None and not hasattr(api.get_alembic_version, "cache_info"):
        api.get_alembic_version = functools.cache(api.get_alembic_version)
