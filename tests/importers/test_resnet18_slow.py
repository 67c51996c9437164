"""ResNet-18 (torchvision architecture) through PT2E and onnxruntime: every layer imported,
solved exactly and agreeing with the framework's integer outputs (bench/bench_resnet18.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("torchao")
pytest.importorskip("onnxruntime")


@pytest.mark.slow
@pytest.mark.parametrize("front", ["pt2e", "onnx"])
def test_resnet18_imports_every_layer_and_agrees(front, tmp_path):
    from bench import bench_resnet18 as br

    model = br.build_model()
    run = (br.run_pt2e if front == "pt2e" else br.run_onnx)(model, tmp_path, 1)
    fig = br._figures(front, run, 20, 4)
    assert fig["layers_imported"] == 21 and not fig["skipped"]
    assert fig["channels"] == fig["exact_channels"] == 4810
    assert fig["model_vs_exact"] == 0 and fig["acc_outside_range"] == 0
    assert set(fig["classified"]) <= {"float32 near-tie", "exact tie"}
    assert fig["outputs_compared"] > 500_000
