"""``--unit auto``: the cheaper exact unit by Yosys counts and --cost weights; each kind wins
on a layer (or weighting) where it is cheaper; misuse of --target/--cost is exit 2."""

from __future__ import annotations

import json

import pytest

from exactbn.cli.main import main
from exactbn.cost import measure_units, measured_cost, parse_cost, pick_unit
from exactbn.formats import dump_solved, write_json_atomic

from .support import auto_layer
from .test_cost import REASON


def _layer(bits: int, channels: int = 4):
    return auto_layer(f"w{bits}", bits, channels)


@pytest.fixture(scope="module")
def measured_w8():
    layer = _layer(8)
    return layer, measure_units(layer, "ecp5")


@pytest.mark.synth
def test_each_kind_wins_where_it_is_cheaper(measured_w8):
    layer, m = measured_w8
    assert set(m) == {"threshold", "multiply-shift"}
    assert m["multiply-shift"]["dsp"] >= 1 and m["threshold"]["dsp"] == 0
    # default weights: this 8-bit layer is multiply-shift's (a 1-bit one is the threshold
    # unit's: test_generate_auto_writes_the_choice)
    assert pick_unit(layer.name, "ecp5", parse_cost(None), m)[0] == "multiply-shift"
    # DSPs made scarce: thresholds; LUTs made scarce (8-bit output: 255 thresholds per
    # channel cost LUTs, the multiplier a DSP): multiply-shift
    unit, reason, fig = pick_unit(layer.name, "ecp5", parse_cost("dsp=1000"), m)
    assert unit == "threshold" and reason.startswith("layer w8: thresholds, 255 per channel")
    unit, reason, fig = pick_unit(layer.name, "ecp5", parse_cost("lut=1000,ff=1000"), m)
    assert unit == "multiply-shift" and "DSP" in reason
    assert fig["multiply-shift"]["cost"] < fig["threshold"]["cost"]
    assert fig["threshold"]["cost"] == pytest.approx(
        measured_cost(m["threshold"], "ecp5", parse_cost("lut=1000,ff=1000")))


@pytest.mark.synth
def test_generate_auto_writes_the_choice(tmp_path, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([_layer(1)]))
    out = tmp_path / "kit"
    assert main(["generate", str(path), "--unit", "auto", "--target", "ecp5", "-o", str(out)]) == 0
    choice = json.loads((out / "unit_choice.json").read_text())
    assert choice["unit"] == "threshold"  # 1-bit output: one comparison beats a multiplier
    text = capsys.readouterr().out
    assert "--unit auto: threshold: layer w1: thresholds, 1 per channel" in text
    # the issue's form: "layer conv3_bn: thresholds, 15 per channel, 0 DSP, 212 LUT vs 2 DSP,
    # 187 LUT" (the rest of the figures in brackets), printed and in unit_choice.json
    assert REASON.search(text) and REASON.match(choice["reason"]), choice["reason"]
    assert (out / "exactbn_w1.json").exists()


@pytest.mark.parametrize("args,msg", [
    (["--unit", "auto"], "--unit auto needs --target"),
    (["--cost", "dsp=2"], "it needs --unit auto"),  # --target alone picks the primitives
    (["--unit", "auto", "--target", "ecp5", "--cost", "dsp=x"], "--cost: dsp weight"),
    (["--unit", "auto", "--target", "ecp5", "--cost", "luts=2"], "--cost: expected k=v"),
])
def test_auto_misuse_exit_2(tmp_path, args, msg, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([_layer(1, channels=2)]))
    try:
        rc = main(["generate", str(path), "-o", str(tmp_path / "kit"), *args])
    except SystemExit as e:
        rc = e.code
    assert rc == 2 and msg in capsys.readouterr().err
    assert not (tmp_path / "kit").exists()


@pytest.mark.synth
def test_synth_auto_synthesizes_the_pick(tmp_path, capsys):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([_layer(1, channels=2)]))
    out = tmp_path / "rep"
    assert main(["synth", str(path), "--unit", "auto", "--target", "ecp5", "--seeds", "1",
                 "--designs", "exactbn", "-o", str(out)]) == 0
    assert "--unit auto: threshold: layer w1" in capsys.readouterr().err
    rep = json.loads((out / "report.json").read_text())
    assert [d["kind"] for d in rep["designs"]] == ["exact_threshold"]
    assert REASON.match(rep["meta"]["unit_choice"]), rep["meta"]  # why, in the report too
    assert "- unit_choice: `layer w1: thresholds, 1 per channel, 0 DSP" in \
        (out / "report.md").read_text()


@pytest.mark.synth
def test_generate_auto_on_ice40_writes_the_stages_it_measured(tmp_path):
    """auto measures the threshold unit with the family's stages (compact on iCE40); the kit
    it writes must be that unit, not the default fast one."""
    from exactbn.hw.threshold_config import stages_for

    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([_layer(1)]))
    out = tmp_path / "kit"
    assert main(["generate", str(path), "--unit", "auto", "--target", "ice40", "-q",
                 "-o", str(out)]) == 0
    assert json.loads((out / "unit_choice.json").read_text())["unit"] == "threshold"
    text = (out / "exactbn_w1.json").read_text()
    assert stages_for("ice40") == "compact" and '"stages": "compact"' in text


@pytest.mark.parametrize("freq,want", [(None, None), ("150", 150.0)])
def test_generate_auto_judges_fmax_at_the_clock_synth_uses(tmp_path, monkeypatch, freq, want):
    """Without --freq, auto's fmax weight is judged at the target's default clock (as synth,
    sim and prove judge it), not at the kit's 100 MHz constraint; the choice file says the
    units were placed when fmax is weighed."""
    import exactbn.cost as cost

    seen = {}

    def fake_choose(layer, family, weights, **kw):
        seen["freq"] = kw.get("freq_mhz")
        return "multiply-shift", f"layer {layer.name}: multiply-shift (stub)", {}

    monkeypatch.setattr(cost, "choose_unit", fake_choose)
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([_layer(1, channels=2)]))
    out = tmp_path / "kit"
    extra = [] if freq is None else ["--freq", freq]
    assert main(["generate", str(path), "--unit", "auto", "--target", "ecp5", "--cost",
                 "fmax=1", "-o", str(out), "-q", *extra]) == 0
    assert seen["freq"] == want
    choice = json.loads((out / "unit_choice.json").read_text())
    assert "nextpnr" in choice["measured_by"]
    sdc = next(out.glob("*.sdc")).read_text()
    assert ("10.000" if freq is None else "6.667") in sdc  # the kit's clock: 100 MHz default
