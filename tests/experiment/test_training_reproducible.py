"""models/train_digits.py reproduces the shipped digits files bit for bit (slow: make sweep)."""

from __future__ import annotations

from importlib import resources

import pytest


@pytest.mark.slow
def test_training_script_reproduces_the_shipped_model(tmp_path):
    pytest.importorskip("torch")  # the training script is the one place torch is needed
    from models.train_digits import main

    assert main(["--out", str(tmp_path)]) == 0
    shipped = resources.files("exactbn.data")
    for name in ("digits_model.json", "digits_qdq.onnx"):
        assert (tmp_path / name).read_bytes() == shipped.joinpath(name).read_bytes(), name
