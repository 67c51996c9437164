"""Stream behaviour: scoreboard under random valid/ready, full rate, latency as documented,
reset in the middle of a stream, and no combinational path m_axis_tready -> s_axis_tready."""

from __future__ import annotations

import random

import pytest
from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from exactbn.hw import Pipeline, UnitConfig, to_verilog
from exactbn.hw.simulate import simulate


def _fields(lanes, pipeline, store, lane_mode):
    """q = x (M=1, B=0, N=0 on every channel of 5): outputs name their beats."""
    return dict(w_x=8, x_signed=False, w_m=2, w_b=1, w_n=1, w_q=8, q_signed=False, qmin=0,
                qmax=255, M=[1] * 5, B=[0] * 5, N=[0] * 5, lanes=lanes,
                pipeline=Pipeline.parse(pipeline), store=store, lane_mode=lane_mode)


def _beats(n, lanes, groups, seed):
    rng = random.Random(seed)
    return [([(k + i) % 256 for i in range(lanes)], rng.randrange(groups), int(k % 3 == 0))
            for k in range(n)]


@pytest.mark.parametrize("pipeline", ["shallow", "default", "deep"])
@pytest.mark.parametrize("p_valid,p_ready", [(0.5, 0.5), (1.0, 0.3), (0.3, 1.0)])
def test_scoreboard_nothing_lost_duplicated_or_reordered(pipeline, p_valid, p_ready):
    cfg = UnitConfig(**_fields(2, pipeline, "rom", "channels"))
    beats = _beats(300, 2, cfg.groups, seed=len(pipeline))
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=p_valid, p_ready=p_ready,
                   seed=int(p_ready * 10))
    got = [(q, u, last) for q, u, last, _ in res.outputs]
    exp = [(xs if g * 2 + 1 < 5 else [xs[0], 0], g, last) for xs, g, last in beats]
    assert got == exp


@pytest.mark.parametrize("pipeline", ["shallow", "default", "deep", "mult=1,shift=2,out=0"])
def test_full_rate_and_documented_latency(pipeline):
    cfg = UnitConfig(**_fields(1, pipeline, "rom", "channels"))
    beats = _beats(200, 1, cfg.groups, seed=1)
    res = simulate(cfg, [("stream", beats), ("drain",)])
    assert res.stalls_s_ready == 0
    ins = [c for *_, c in res.accepted]
    outs = [c for *_, c in res.outputs]
    assert ins == list(range(ins[0], ins[0] + len(beats)))  # one beat per clock in
    assert outs == list(range(outs[0], outs[0] + len(beats)))  # and out
    assert outs[0] - ins[0] == cfg.latency
    assert res.cycles <= len(beats) + cfg.latency + 2


@pytest.mark.parametrize("store", ["rom", "ram"])
def test_reset_mid_stream_discards_in_flight_and_restarts_clean(store):
    cfg = UnitConfig(**_fields(1, "deep", store, "channels"))
    old = [([k], 0, 0) for k in range(40)]
    new = [([200 + k], 1, k % 2) for k in range(30)]
    res = simulate(cfg, [("stream", old), ("reset", 2), ("stream", new), ("drain",)],
                   p_valid=0.9, p_ready=0.4, seed=3)
    # the reset cycle: 2 idle cycles after the last old beat was accepted, then rst
    reset_cycle = max(cycle for xs, _, _, cycle in res.accepted if xs[0] < 200) + 3
    before = [o for o in res.outputs if o[3] <= reset_cycle]
    after = [o for o in res.outputs if o[3] > reset_cycle]
    assert [o[0] for o in before] == [[k] for k in range(len(before))]
    assert len(before) < len(old)  # some beats really were in flight
    assert [(o[0], o[1], o[2]) for o in after] == [(xs, g, last) for xs, g, last in new]


def _comb_cone(yosys, tmp_path, text: str, top: str, src: str) -> list[str]:
    """Every net reached combinationally from ``src`` (all flip-flops cut)."""
    (tmp_path / "d.v").write_text(text)
    yosys(f"read_verilog d.v; hierarchy -top {top}; proc; flatten; opt_clean; memory -nomap; "
          f"delete t:$*dff* t:$*latch*; select -set cone w:{src} %coe*; "
          f"tee -q -o cone.txt select -list @cone", tmp_path)
    return [ln.split("/", 1)[1] for ln in (tmp_path / "cone.txt").read_text().split()
            if "/" in ln]


class _CombReady(wiring.Component):
    """A deliberately bad stage: s_axis_tready = m_axis_tready (to show the check can fail)."""

    def __init__(self):
        super().__init__({"s_axis_tready": Out(1), "m_axis_tready": In(1), "x": In(1)})

    def elaborate(self, platform):
        m = Module()
        r = Signal()
        m.d.sync += r.eq(self.x)
        m.d.comb += self.s_axis_tready.eq(self.m_axis_tready & r)
        return m


@pytest.mark.parametrize("opts", [dict(store="rom", pipeline="shallow"),
                                  dict(store="ram", pipeline="default", lanes=3)])
def test_no_combinational_path_from_m_ready_to_s_ready(yosys, tmp_path, opts):
    f = _fields(opts.get("lanes", 1), opts["pipeline"], opts["store"], "channels")
    cfg = UnitConfig(**{**f, "name": "dut"})
    cone = _comb_cone(yosys, tmp_path, to_verilog(cfg), "dut", "m_axis_tready")
    assert "core.skid.o__ready" in cone  # it does reach the pipeline's stall logic...
    assert "s_axis_tready" not in cone  # ...but not the input's ready
    if cfg.store == "ram":
        assert "cfg_ready" not in cone
    bad = verilog.convert(_CombReady(), name="bad", emit_src=False)
    assert "s_axis_tready" in _comb_cone(yosys, tmp_path, bad, "bad", "m_axis_tready")
