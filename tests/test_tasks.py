"""tasks.py: the package fingerprint that keeps the book's execution cache fresh."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tasks(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "cnncourse" / "explorers" / "__pycache__").mkdir(parents=True)
    (tmp_path / "cnncourse" / "nn.py").write_text("x = 1\n")
    (tmp_path / "cnncourse" / "explorers" / "conv.js").write_text("let x = 1;\n")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def test_an_edit_of_any_package_file_changes_the_fingerprint(tasks, tmp_path):
    before = tasks.package_fingerprint()
    (tmp_path / "cnncourse" / "explorers" / "conv.js").write_text("let x = 2;\n")
    assert tasks.package_fingerprint() != before


def test_bytecode_caches_do_not_change_the_fingerprint(tasks, tmp_path):
    before = tasks.package_fingerprint()
    (tmp_path / "cnncourse" / "explorers" / "__pycache__" / "nn.cpython-311.pyc").write_bytes(b"1")
    assert tasks.package_fingerprint() == before
