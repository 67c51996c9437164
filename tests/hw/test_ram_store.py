"""RAM store (hw/README.md): writes take effect for every beat accepted after the
write's handshake; reset does not clear the store; cfg_addr >= C changes nothing and sets the
sticky cfg_error (cleared by reset); per-channel shifts get cfg_n, shared shifts do not."""

from __future__ import annotations

import random

import numpy as np
import pytest
from exactbn.golden.model import integer_model
from exactbn.hw import Pipeline, UnitConfig, port_list
from exactbn.hw.simulate import simulate

C = 7


def ram_cfg(lanes: int, lane_mode: str = "channels", shift_mode: str = "per-channel",
            pipeline: str = "default") -> UnitConfig:
    rng = random.Random(lanes)
    per = shift_mode == "per-channel"
    return UnitConfig(
        w_x=10, x_signed=True, w_m=12, w_b=16, w_n=4 if per else 0, w_q=8, q_signed=True,
        qmin=-100, qmax=120, M=[rng.randrange(-2048, 2048) for _ in range(C)],
        B=[rng.randrange(-30000, 30000) for _ in range(C)],
        N=[rng.randrange(0, 16) for _ in range(C)] if per else [9] * C,
        lanes=lanes, lane_mode=lane_mode, shift_mode=shift_mode, store="ram",
        hw_rounding="half_even", pipeline=Pipeline.parse(pipeline))


def _beats(cfg: UnitConfig, n: int, seed: int):
    rng = random.Random(seed)
    groups = cfg.groups
    return [([rng.randrange(cfg.x_min, cfg.x_max + 1) for _ in range(cfg.lanes)],
             rng.randrange(groups), 0) for _ in range(n)]


def _expect(cfg: UnitConfig, params: dict, beat) -> list[int]:
    xs, g, _ = beat
    out = []
    for i, x in enumerate(xs):
        ch = g * cfg.lanes + i if cfg.lane_mode == "channels" else g
        m, b, n = params.get(ch, (0, 0, 0))
        out.append(int(integer_model(m, b, n, np.int64(x), cfg.qmin, cfg.qmax, cfg.hw_rounding)))
    return out


def _params(cfg: UnitConfig) -> dict:
    return {c: (cfg.M[c], cfg.B[c], cfg.N[c]) for c in range(cfg.channels)}


@pytest.mark.parametrize("lanes,lane_mode,shift_mode", [
    (1, "channels", "per-channel"), (3, "channels", "per-channel"), (4, "channels", "shared"),
    (2, "pixels", "per-channel"),
])
def test_writes_apply_to_beats_accepted_after_the_handshake(lanes, lane_mode, shift_mode):
    cfg = ram_cfg(lanes, lane_mode, shift_mode)
    old = _params(cfg)
    new = dict(old)
    rng = random.Random(5)
    writes = []
    for ch in rng.sample(range(C), 4):
        n = rng.randrange(0, 16) if shift_mode == "per-channel" else 9
        new[ch] = (rng.randrange(-2048, 2048), rng.randrange(-30000, 30000), n)
        writes.append(("write", ch, *new[ch]))
    before, after = _beats(cfg, 60, 1), _beats(cfg, 60, 2)
    res = simulate(cfg, [("stream", before), *writes, ("stream", after), ("drain",)],
                   p_valid=0.9, p_ready=0.5, seed=lanes)
    got = [o[0] for o in res.outputs]
    assert got[:60] == [_expect(cfg, old, b) for b in before]
    assert got[60:] == [_expect(cfg, new, b) for b in after]
    assert res.cfg_error == 0


def test_out_of_range_address_changes_nothing_sets_sticky_error_reset_keeps_store():
    cfg = ram_cfg(3)
    assert (1 << cfg.w_addr) > C  # every bad address below is expressible
    new = _params(cfg)
    new[2] = (1000, -5, 3)
    beats = _beats(cfg, 40, 3)
    res = simulate(cfg, [("write", C, 1, 1, 1), ("write", (1 << cfg.w_addr) - 1, 7, 7, 7),
                         ("write", 2, *new[2]), ("stream", beats), ("drain",)], p_ready=0.7)
    assert res.cfg_error == 1
    assert [o[0] for o in res.outputs] == [_expect(cfg, new, b) for b in beats]
    # reset clears cfg_error but not the store
    res = simulate(cfg, [("write", C, 1, 1, 1), ("write", 2, *new[2]), ("reset", 1),
                         ("stream", beats), ("drain",)], p_ready=0.7)
    assert res.cfg_error == 0
    assert [o[0] for o in res.outputs] == [_expect(cfg, new, b) for b in beats]


def test_cfg_ports_follow_shift_mode():
    per = {n for n, _, _ in port_list(ram_cfg(1))}
    shared = {n for n, _, _ in port_list(ram_cfg(1, shift_mode="shared"))}
    assert {"cfg_valid", "cfg_ready", "cfg_addr", "cfg_m", "cfg_b", "cfg_n", "cfg_error"} <= per
    assert "cfg_n" not in shared and "cfg_m" in shared
    rom = UnitConfig(**{**ram_cfg(1).__dict__, "store": "rom"})
    assert not any(n.startswith("cfg_") for n, _, _ in port_list(rom))


def test_back_to_back_writes_one_per_clock():
    cfg = ram_cfg(1)
    writes = [("write", c, c + 1, -c, c % 16) for c in range(C)]
    res = simulate(cfg, [("idle", 2), *writes, ("idle", 1)])
    # 2 idle + one cycle for ready to fall + one write per clock + 1 idle + final step
    assert res.cycles <= 2 + 1 + C + 1 + 1 + 1
    beats = [([x], c, 0) for c in range(C) for x in (-512, -1, 0, 1, 511)]
    res = simulate(cfg, [*writes, ("stream", beats), ("drain",)])
    params = {c: (c + 1, -c, c % 16) for c in range(C)}
    assert [o[0] for o in res.outputs] == [_expect(cfg, params, b) for b in beats]
