"""``generate --all-layers`` with ``--unit threshold|auto``: one exact unit per layer, auto
picking per layer with its reason; ``--shared-unit`` refuses both clearly."""

from __future__ import annotations

import json

import pytest

from exactbn.cli.main import main
from exactbn.formats import dump_solved, write_json_atomic

from .support import auto_layer as _layer


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.json"
    write_json_atomic(path, dump_solved([_layer("bin_bn", 1), _layer("wide_bn", 8)]))
    return path


def _rc(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)


def test_all_layers_threshold(two_layers, tmp_path):
    out = tmp_path / "b"
    assert _rc(["generate", str(two_layers), "--unit", "threshold", "--all-layers", "-q",
                "-o", str(out)]) == 0
    net = json.loads((out / "network.json").read_text())
    assert [(u["layer"], u["unit"]) for u in net["units"]] == [("bin_bn", "threshold"),
                                                             ("wide_bn", "threshold")]
    man = json.loads((out / net["units"][1]["manifest"]).read_text())
    assert man["unit"] == "threshold" and len(man["thresholds"][0]) == 255


@pytest.mark.slow  # synthesizes 4 designs: ~40 s under load
def test_all_layers_auto_picks_per_layer(two_layers, tmp_path, capsys):
    """1-bit layer: one comparison beats a DSP; 8-bit: 255 thresholds per channel need block
    RAM, the multiplier one DSP (ECP5, default weights)."""
    out = tmp_path / "a"
    assert _rc(["generate", str(two_layers), "--unit", "auto", "--target", "ecp5",
                "--all-layers", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "--unit auto: threshold: layer bin_bn: thresholds, 1 per channel" in text
    assert "--unit auto: multiply-shift: layer wide_bn: multiply-shift," in text
    net = json.loads((out / "network.json").read_text())
    assert [u["unit"] for u in net["units"]] == ["threshold", "multiply-shift"]
    assert net["units"][0]["choice"].startswith("layer bin_bn: thresholds")
    assert "0 DSP" in net["units"][0]["choice"]
    assert "layer wide_bn: multiply-shift" in (out / "README.md").read_text()
    assert "unit" not in json.loads((out / net["units"][1]["manifest"]).read_text())  # M, B, N


@pytest.mark.parametrize("unit", ["threshold", "auto"])
def test_shared_unit_refuses_thresholds(two_layers, tmp_path, unit, capsys):
    extra = ["--target", "ecp5"] if unit == "auto" else []
    assert _rc(["generate", str(two_layers), "--unit", unit, *extra, "--shared-unit",
                "-o", str(tmp_path / "s")]) == 2
    assert "--shared-unit is one multiply-shift unit" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
