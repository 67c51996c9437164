"""UnitConfig and Pipeline: validation names the argument/channel, presets and key=value
pipeline specs, the latency formula, derived widths."""

from __future__ import annotations

import pytest
from exactbn.hw import PIPELINE_PRESETS, Pipeline, UnitConfig

from exactbn.cli.unit_options import parse_widths

BASE = dict(w_x=8, x_signed=True, w_m=6, w_b=8, w_n=3, w_q=4, q_signed=True, qmin=-8,
            qmax=7, M=[3, -5, 1], B=[10, -100, 0], N=[1, 5, 2])


def test_pipeline_presets_and_specs():
    assert Pipeline.parse("default") == Pipeline() == Pipeline.parse("mult=2,shift=1,round=1,out=1")
    assert Pipeline.parse("shallow") == Pipeline(0, 0, 0, 0)
    assert Pipeline.parse("out=0") == Pipeline(mult=2, shift=1, round=1, out=0)
    for p in PIPELINE_PRESETS.values():
        assert Pipeline.parse(p.spec()) == p
    for bad in ("mult=3", "fast", "mult=1,mult=2", "shift=-1", "out=1,"):
        with pytest.raises(ValueError):
            Pipeline.parse(bad)


def test_latency_formula():
    cfg = UnitConfig(**BASE, pipeline=Pipeline(2, 5, 1, 1))
    assert cfg.shift_levels == 3  # N in 1..5: d in 0..4
    assert cfg.latency == 1 + 2 + 3 + 0 + 1  # floor: no rounding register
    cfg = UnitConfig(**BASE, pipeline=Pipeline(1, 1, 1, 0), hw_rounding="half_even")
    assert cfg.latency == 1 + 1 + 1 + 1 + 0
    shared = UnitConfig(**{**BASE, "w_n": 0, "N": [4, 4, 4]}, shift_mode="shared")
    assert shared.shift_levels == 0 and shared.latency == 1 + 2 + 0 + 0 + 1


def test_derived_widths():
    cfg = UnitConfig(**BASE, lanes=2)
    assert cfg.groups == 2 and cfg.w_user == 1 and cfg.w_addr == 2
    assert cfg.w_t == 5  # qmin - 1 = -9 needs 5 bits
    lo, hi = cfg.sum_bounds()
    assert (lo, hi) == (min(-5 * 127 - 100, 3 * -128 + 10), max(-5 * -128 - 100, 3 * 127 + 10))
    assert UnitConfig(**BASE, lanes=2, lane_mode="pixels").w_user == 2


@pytest.mark.parametrize("change,needle", [
    (dict(M=[3, -500, 1]), "channel 1: M = -500 needs 10 bits"),
    (dict(B=[10, -100, 200]), "channel 2: B = 200"),
    (dict(N=[1, 9, 2]), "channel 1: N = 9"),
    (dict(qmax=8), "clip [-8, 8]"),
    (dict(lanes=0), "lanes must be in 1..256"),
    (dict(M=[], B=[], N=[]), "channels must be in"),
    (dict(N=[1, 2]), "one entry per channel"),
])
def test_validation_names_what_is_wrong(change, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        UnitConfig(**{**BASE, **change})


def test_parse_widths():
    assert parse_widths("24,,auto") == (24, None, None)
    assert parse_widths(None) is None
    from exactbn.cli.main import UsageError

    for bad in ("1,2", "a,b,c", "1,2,3,4", "-1,2,3"):
        with pytest.raises(UsageError):
            parse_widths(bad)
