"""The sandbox's pieces: limits, the bubblewrap command line, and one real sandboxed process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnncourse.grading.driver import GradingOptions, sandbox_mode
from cnncourse.grading.sandbox import (
    GIB,
    ResourceLimits,
    SandboxSpec,
    bubblewrap_argv,
    bubblewrap_available,
    readonly_paths_for_python,
)

REPO = Path(__file__).resolve().parents[2]


def test_tensorflow_labs_get_more_address_space():
    assert ResourceLimits.for_source("import numpy").address_space_bytes == 4 * GIB
    assert ResourceLimits.for_source("import keras").address_space_bytes == 32 * GIB
    assert ResourceLimits.for_source("x", processes=9).processes == 9


def test_the_repository_is_not_in_the_sandbox_except_the_package(tmp_path):
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "v"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python())  # fmt: skip
    argv = bubblewrap_argv(spec, {"HOME": "/tmp"})
    mounted = {argv[i + 2] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")}
    for secret in ("solutions", "exercises", "gradebook.db", "submitted"):
        assert not any(str(REPO / secret) in m for m in mounted), secret
    writable = {argv[i + 2] for i, a in enumerate(argv) if a == "--bind"}
    assert writable == {spec.visible_dir, spec.runtime_dir}
    assert "--unshare-net" in argv and "--die-with-parent" in argv


def test_sandbox_mode_follows_the_options():
    assert sandbox_mode(GradingOptions(sandbox=False)) == "off"
    expected = "bubblewrap" if bubblewrap_available() else "off"
    assert sandbox_mode(GradingOptions()) == expected


@pytest.mark.skipif(not bubblewrap_available(), reason="needs bubblewrap")
def test_a_sandboxed_process_sees_no_solutions_and_no_network(tmp_path):
    (tmp_path / "w").mkdir()
    spec = SandboxSpec(str(tmp_path / "w"), str(tmp_path / "visible"), str(tmp_path / "run"),
                       readonly_paths=readonly_paths_for_python())  # fmt: skip
    (tmp_path / "run").mkdir()
    probe = (
        "import os, socket\n"
        f"print(os.path.exists({str(REPO / 'solutions')!r}), os.getcwd())\n"
        "open('made-here', 'w').write('ok')\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as e:\n    print('no network', e.errno)\n"
    )
    argv = [*bubblewrap_argv(spec, {"HOME": "/tmp"}), sys.executable, "-c", probe]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines()[0] == f"False {spec.visible_dir}"
    assert "no network" in out
    assert (tmp_path / "w" / "made-here").read_text() == "ok"  # the one writable folder
