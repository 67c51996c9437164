"""Shared fixture: a solved file with two small layers (names need a safe_name change)."""

from __future__ import annotations

import json

import pytest

from exactbn.cli.main import main

LAYERS = {"layers": [
    {"name": "bn.a", "input": {"bits": 6, "signed": True, "scale": 0.01},
     "output": {"bits": 4, "signed": True, "scale": 0.1},
     "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}},
    {"name": "bn_b", "input": {"bits": 5, "signed": False, "scale": 0.02},
     "output": {"bits": 4, "signed": True, "scale": 0.05},
     "affine": {"a": [0.7, 0.11, 0.4], "b": [0.0, 0.3, -0.2]}},
]}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "layers.json").write_text(json.dumps(LAYERS))
    assert main(["solve", "layers.json", "-o", "s.json", "--no-summary"]) == 0
    return tmp_path
