"""The threshold unit's ``compact`` stages (the iCE40 preset): block-RAM levels addressed from
the previous comparison, LUT4-table ROMs, narrow words with the x_max clamp. Every channel at
every threshold and its neighbours in Amaranth's simulator against golden's integers, RAM
writes mid-stream, the proof; planted bugs (a threshold off by one, the clamp left out) fail.
"""

from __future__ import annotations

import dataclasses

import pytest
from exactbn.hw import threshold_config
from exactbn.hw.threshold_config import ThresholdConfig, stages_for
from exactbn.hw.threshold_simulate import simulate_threshold

from .support import beats_for, channel_set, make_config


def _full_range(chans, w_x: int = 8):
    """Channels over the whole signed input range (so x_max + 1 is stored: the clamp)."""
    lo, hi = -(1 << (w_x - 1)), (1 << (w_x - 1)) - 1
    return [(a * 0.3, b, (lo, hi)) for a, b, _ in chans]


def _reads(cfg: ThresholdConfig) -> list[str]:
    return [cfg.level_read(j) for j in range(cfg.n_levels if cfg.mode == "binary" else 1)]


def _run(cfg, chans):
    beats, want = beats_for(cfg, chans)
    res = simulate_threshold(cfg, [("stream", beats), ("drain",)], p_valid=0.7, p_ready=0.6,
                             seed=3)
    return [o[0] for o in res.outputs], want, res, beats


CASES = [  # (w_q, search, lanes, lane_mode, logic_max_bits, full range, reads)
    (4, "binary", 2, "channels", 40, True, ["reg", "comb", "comb", "comb"]),
    (3, "binary", 1, "pixels", 1024, True, ["reg", "reg", "reg"]),
    (2, "parallel", 1, "channels", 1024, True, ["reg"]),
    (3, "binary", 3, "channels", 8, False, ["sync", "comb", "comb"]),
]


@pytest.mark.parametrize("case", CASES, ids=[f"w{c[0]}-{c[1]}-L{c[2]}-{c[3]}-{c[4]}"
                                             for c in CASES])
def test_every_threshold_and_neighbours(case, monkeypatch):
    w_q, search, lanes, mode, logic_max, full, reads = case
    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", logic_max)
    chans = channel_set(w_q, True, seed=w_q)
    if full:
        chans = _full_range(chans)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=w_q, q_signed=False, search=search,
                      lanes=lanes, lane_mode=mode, stages="compact")
    fast = dataclasses.replace(cfg, stages="fast")
    assert _reads(cfg) == reads and cfg.t_clamp == full
    assert cfg.w_t == fast.w_t - int(full) and cfg.latency <= fast.latency
    got, want, res, beats = _run(cfg, chans)
    assert got == want
    assert [(o[1], o[2]) for o in res.outputs] == [(b[1], b[2]) for b in beats]


def test_ram_writes_mid_stream(monkeypatch):
    """RAM store (no clamp, memories): writes wait for beats still searching comb levels."""
    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", 16)
    chans = channel_set(4, True, seed=5, channels=4)
    kw = dict(w_x=8, x_signed=True, w_q=4, q_signed=False, lanes=2, stages="compact")
    cfg = make_config(chans, store="ram", **kw)
    assert _reads(cfg) == ["reg", "comb", "comb", "comb"] and not cfg.t_clamp
    last = len(chans) - 1
    a, _, r = chans[last]
    chans2 = [*chans[:last], (a, -5000.0, r)]  # becomes a constant qmin
    cfg2 = make_config(chans2, **kw)
    before, want_before = beats_for(cfg, chans)
    after, want_after = beats_for(cfg2, chans2, seed=1)
    neg, u = cfg2.stored(last)
    writes = [("write", last, k, v) for k, v in enumerate(u)][::-1] + [
        ("write", last, cfg.slots, neg)]
    res = simulate_threshold(cfg, [("stream", before), *writes, ("stream", after), ("drain",)],
                             p_valid=0.8, p_ready=0.5, seed=2)
    assert [o[0] for o in res.outputs] == want_before + want_after


def test_planted_bugs_fail(monkeypatch):
    """A threshold off by one, and narrow words without the x_max clamp, both mismatch."""
    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", 40)
    chans = _full_range(channel_set(4, True, seed=4))
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=4, q_signed=False, lanes=2,
                      stages="compact")
    ts = [list(t) for t in cfg.thresholds]
    ch = next(c for c, t in enumerate(ts) if cfg.x_min < t[3] < cfg.x_max)
    ts[ch][3] += 1
    bad = dataclasses.replace(cfg, thresholds=ts)
    got, want, _, _ = _run(bad, chans)
    assert got != want
    monkeypatch.setattr(ThresholdConfig, "t_clamp", property(lambda self: False))
    monkeypatch.setattr(ThresholdConfig, "encode", lambda self, v: self.encode_raw(v))
    noclamp = dataclasses.replace(cfg)
    assert noclamp.w_t == cfg.w_t
    got, want, _, _ = _run(noclamp, chans)
    assert got != want


@pytest.mark.formal  # two SymbiYosys proofs, ~25 s under load
def test_proof_passes_and_planted_off_by_one_fails(tmp_path, monkeypatch):
    from exactbn.hw.threshold_unit import threshold_verilog
    from exactbn.sim.formal.threshold_harness import prove_threshold

    monkeypatch.setattr(threshold_config, "COMPACT_LOGIC_MAX_BITS", 16)
    chans = _full_range(channel_set(2, True, seed=7, channels=3), w_x=6)
    cfg = make_config(chans, w_x=6, x_signed=True, w_q=2, q_signed=False, lanes=2,
                      stages="compact", name="exactbn_cp")
    assert _reads(cfg) == ["reg", "comb"] and cfg.t_clamp

    def prove(c, out):
        return prove_threshold(cfg, cfg.directions, cfg.thresholds, cfg.x_ranges,
                               threshold_verilog(c), tmp_path / out, tasks=("datapath",))

    assert prove(cfg, "good")["datapath"].status == "PASS"
    ts = [list(t) for t in cfg.thresholds]
    ch = next(c for c, t in enumerate(ts) if cfg.x_min < t[0] < cfg.x_max)
    ts[ch][0] += 1
    assert prove(dataclasses.replace(cfg, thresholds=ts), "bad")["datapath"].status == "FAIL"


def test_ice40_preset():
    assert stages_for("ice40") == "compact"
    assert stages_for("ecp5") == stages_for(None) == "fast"


def test_ice40_cell_estimate():
    """A flip-flop shares a cell only with a LUT4 that drives nothing else."""
    from exactbn.cost import ice40_cells

    lut = {"I0": "input", "I1": "input", "I2": "input", "I3": "input", "O": "output"}
    ff = {"C": "input", "D": "input", "Q": "output"}

    def cell(kind, dirs, **conns):
        return {"type": kind, "port_directions": dirs, "connections": conns}

    cells = {
        "l1": cell("SB_LUT4", lut, I0=[2], I1=[3], I2=[3], I3=[3], O=[10]),
        "f1": cell("SB_DFF", ff, C=[1], D=[10], Q=[11]),  # packs with l1
        "l2": cell("SB_LUT4", lut, I0=[11], I1=[3], I2=[3], I3=[3], O=[12]),
        "f2": cell("SB_DFF", ff, C=[1], D=[12], Q=[13]),  # l2 also drives port y: apart
        "f3": cell("SB_DFF", ff, C=[1], D=[2], Q=[14]),  # from a port: a cell of its own
    }
    ports = {"clk": {"direction": "input", "bits": [1]}, "a": {"direction": "input",
                                                            "bits": [2, 3]},
             "y": {"direction": "output", "bits": [12, 13, 14]}}
    net = {"modules": {"t": {"attributes": {"top": "1"}, "cells": cells, "ports": ports}}}
    assert ice40_cells(net) == 2 + 3 - 1
    ports["y"]["bits"] = [13, 14]  # l2 now drives f2 alone
    assert ice40_cells(net) == 2 + 3 - 2
