"""The cost model of ``--unit auto``: LUT/FF/DSP/BRAM fractions of the device plus an Fmax
term (the shortfall against the requested clock), ``--cost`` parsing (one line, exit 2 on a
bad entry), and the reason in the issue's form ("layer conv3_bn: thresholds, 15 per channel,
0 DSP, 212 LUT vs 2 DSP, 187 LUT")."""

from __future__ import annotations

import re

import pytest

from exactbn.cost import DEFAULT_WEIGHTS, fmax_shortfall, measured_cost, parse_cost, pick_unit
from exactbn.formats import dump_solved, write_json_atomic

from .support import auto_layer, run_cli

REASON = re.compile(r"layer \S+: (thresholds, \d+ per channel|multiply-shift), \d+ DSP, \d+ "
                    r"(LUT|LC) \(.*\) vs (thresholds, \d+ per channel, )?\d+ DSP, \d+ (LUT|LC)")


def _measured(th_fmax=None, ms_fmax=None, placed=False):
    th = {"kind": "exact_threshold", "lut": 212, "ff": 150, "dsp": 0, "bram": 0,
          "config": {"thresholds_per_channel": 15, "mode": "binary"}}
    ms = {"kind": "exactbn", "lut": 187, "ff": 300, "dsp": 2, "bram": 0}
    if placed:
        th |= {"placed": True, "fmax_mhz": th_fmax}
        ms |= {"placed": True, "fmax_mhz": ms_fmax}
    return {"threshold": th, "multiply-shift": ms}


def test_parse_cost_keys_and_defaults():
    assert parse_cost(None) == DEFAULT_WEIGHTS and DEFAULT_WEIGHTS["fmax"] == 0
    w = parse_cost("dsp=4, BRAM=2,fmax=0.5")
    assert (w["dsp"], w["bram"], w["fmax"], w["lut"]) == (4, 2, 0.5, 1)


@pytest.mark.parametrize("text,msg", [
    ("luts=2", "expected k=v with k one of lut, ff, dsp, bram, fmax"),
    ("dsp", "expected k=v"),
    ("dsp=x", "dsp weight must be a number"),
    ("fmax=-1", "fmax weight must be in 0..1e6"),
    ("dsp=nan", "dsp weight must be in 0..1e6"),
    ("bram=inf", "bram weight must be in 0..1e6"),
    ("dsp=1,dsp=2", "dsp given twice"),
    ("dsp=1,,lut=2", "expected k=v"),
])
def test_parse_cost_refuses(text, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        parse_cost(text)


def test_fmax_term_is_the_shortfall_against_the_clock():
    e = {"lut": 0, "ff": 0, "dsp": 0, "bram": 0, "fmax_mhz": 80.0}
    assert fmax_shortfall(e, 100.0) == pytest.approx(0.25)
    assert fmax_shortfall(e, 60.0) == 0  # meets the clock: no term
    assert fmax_shortfall({**e, "fmax_mhz": None}, 60.0) == float("inf")  # did not place
    assert measured_cost(e, "ice40", parse_cost("fmax=2"), 100.0) == pytest.approx(0.5)
    assert measured_cost(e, "ice40", parse_cost(None), 100.0) == 0  # fmax weight 0: ignored


def test_pick_unit_reason_in_the_issues_form_and_fmax_decides():
    unit, reason, fig = pick_unit("conv3_bn", "ecp5", parse_cost("dsp=4"), _measured())
    assert unit == "threshold" and REASON.match(reason), reason
    assert reason.startswith("layer conv3_bn: thresholds, 15 per channel, 0 DSP, 212 LUT")
    assert " vs 2 DSP, 187 LUT" in reason
    unit, reason, _ = pick_unit("conv3_bn", "ecp5", parse_cost("lut=1000"), _measured())
    assert unit == "multiply-shift" and REASON.match(reason), reason
    # placed: the threshold unit is cheaper in area but misses 200 MHz by a third
    m = _measured(th_fmax=150.0, ms_fmax=250.0, placed=True)
    assert pick_unit("c", "ecp5", parse_cost(None), m)[0] == "threshold"
    unit, reason, fig = pick_unit("c", "ecp5", parse_cost("fmax=1"), m, 200.0)
    assert unit == "multiply-shift" and "150.0 MHz" in reason and "250.0 MHz" in reason
    assert "fmax=1 at 200 MHz" in reason and fig["threshold"]["fmax_mhz"] == 150.0
    assert pick_unit("c", "ecp5", parse_cost("fmax=1"), m, 140.0)[0] == "threshold"


@pytest.mark.parametrize("cmd,extra,msg", [
    ("generate", ["--cost", "luts=2"], "--cost: expected k=v with k one of"),
    ("generate", ["--cost", "fmax=x"], "--cost: fmax weight must be a number"),
    ("generate", ["--cost", "fmax=1", "--target", "generic"], "has no place and route"),
    ("synth", ["--cost", "dsp=1,dsp=2"], "--cost: dsp given twice"),
    ("synth", ["--cost", "fmax=1", "--target", "xilinx"], "has no place and route"),
    ("sim", ["--cost", "bram=inf"], "--cost: bram weight must be in 0..1e6"),
    ("prove", ["--cost", "ff"], "--cost: expected k=v"),
])
def test_bad_cost_is_one_line_exit_2(tmp_path, capsys, cmd, extra, msg):
    path = tmp_path / "solved.json"
    write_json_atomic(path, dump_solved([auto_layer("w1", 1, channels=2)]))
    out = tmp_path / "o"
    target = [] if "--target" in extra else ["--target", "ecp5"]
    assert run_cli([cmd, str(path), "--unit", "auto", *target, *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1, err
    assert not out.exists()
