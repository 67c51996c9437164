"""Back-pressure by credits (``flow=credit``, hw/fifo.py): free-running pipeline, output FIFO,
registered credit-counted ``s_axis_tready``. Random valid/ready with long stalls, full rate,
the FIFO bound, cfg writes with beats in flight, reset mid-stream."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from exactbn.hw import Pipeline, UnitConfig, to_verilog
from exactbn.hw.fifo import fifo_depth
from exactbn.hw.simulate import simulate

sys.path.insert(0, str(Path(__file__).parent))
from test_ram_store import _beats as ram_beats  # noqa: E402
from test_ram_store import _expect, _params, ram_cfg  # noqa: E402
from test_stream import _beats, _comb_cone, _fields  # noqa: E402


def _expected(beats, lanes=2):
    return [(xs if g * lanes + 1 < 5 else [xs[0], 0], g, last) for xs, g, last in beats]


def _bursty_ready(n: int, seed: int) -> list[int]:
    """Sink ready in runs: long stalls (up to 60 cycles) between bursts."""
    rng = random.Random(seed)
    out: list[int] = []
    while len(out) < n:
        out += [0] * rng.randrange(1, 60) + [1] * rng.randrange(1, 12)
    return out[:n]


@pytest.mark.parametrize("pipeline", ["shallow,flow=credit", "default,flow=credit", "ecp5"])
def test_long_stalls_nothing_lost_duplicated_or_reordered(pipeline):
    cfg = UnitConfig(**_fields(2, pipeline, "rom", "channels"))
    assert cfg.pipeline.flow == "credit"
    beats = _beats(250, 2, cfg.groups, seed=7)
    trace: list = []
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=0.8, p_ready=0.7, seed=2,
                   ready_pattern=_bursty_ready(2000, 3), trace=trace)
    assert [(q, u, last) for q, u, last, _ in res.outputs] == _expected(beats)
    # beats accepted and not yet out never exceed the FIFO (depth words + head)
    limit = fifo_depth(cfg.latency) + 1
    n_in = n_out = peak = 0
    for t in trace:
        n_in += t["s_valid"] and t["s_ready"]
        n_out += t["m_valid"] and t["m_ready"]
        peak = max(peak, n_in - n_out)
    assert peak == limit  # the long stalls fill it exactly


@pytest.mark.parametrize("pipeline", ["shallow,flow=credit", "deep,flow=credit", "ecp5"])
def test_full_rate_and_latency_one_more_than_stall(pipeline):
    cfg = UnitConfig(**_fields(1, pipeline, "rom", "channels"))
    stall = UnitConfig(**_fields(1, pipeline.replace("credit", "stall") if "flow" in pipeline
                                 else pipeline + ",flow=stall", "rom", "channels"))
    assert cfg.latency == stall.latency + 1
    beats = _beats(200, 1, cfg.groups, seed=1)
    res = simulate(cfg, [("stream", beats), ("drain",)])
    assert res.stalls_s_ready == 0
    ins = [c for *_, c in res.accepted]
    outs = [c for *_, c in res.outputs]
    assert ins == list(range(ins[0], ins[0] + len(beats)))
    assert outs == list(range(outs[0], outs[0] + len(beats)))
    assert outs[0] - ins[0] == cfg.latency


def test_reset_mid_stream_with_full_fifo():
    cfg = UnitConfig(**_fields(1, "deep,flow=credit", "ram", "channels"))
    old = [([k], 0, 0) for k in range(40)]
    new = [([200 + k], 1, k % 2) for k in range(30)]
    res = simulate(cfg, [("stream", old), ("reset", 2), ("stream", new), ("drain",)],
                   p_valid=0.9, p_ready=0.2, seed=3)
    reset_cycle = max(cycle for xs, _, _, cycle in res.accepted if xs[0] < 200) + 3
    before = [o for o in res.outputs if o[3] <= reset_cycle]
    after = [o for o in res.outputs if o[3] > reset_cycle]
    assert [o[0] for o in before] == [[k] for k in range(len(before))]
    assert len(before) < len(old)
    assert [(o[0], o[1], o[2]) for o in after] == [(xs, g, last) for xs, g, last in new]


@pytest.mark.parametrize("lanes,lane_mode", [(1, "channels"), (3, "channels"), (2, "pixels")])
def test_cfg_write_with_beats_in_flight_and_stalled_output(lanes, lane_mode):
    """Beats accepted before the write sit in the pipeline/FIFO (sink mostly stalled) while
    the write lands; they keep the old words, every beat accepted after it gets the new."""
    cfg = ram_cfg(lanes, lane_mode, pipeline="deep,flow=credit")
    old = _params(cfg)
    new = dict(old)
    rng = random.Random(11)
    writes = []
    for ch in rng.sample(range(cfg.channels), 5):
        new[ch] = (rng.randrange(-2048, 2048), rng.randrange(-30000, 30000), rng.randrange(16))
        writes.append(("write", ch, *new[ch]))
    before, after = ram_beats(cfg, 50, 1), ram_beats(cfg, 50, 2)
    res = simulate(cfg, [("stream", before), *writes, ("stream", after), ("drain",)],
                   p_valid=1.0, p_ready=0.15, seed=lanes)
    got = [o[0] for o in res.outputs]
    assert got[:50] == [_expect(cfg, old, b) for b in before]
    assert got[50:] == [_expect(cfg, new, b) for b in after]


def test_ecp5_preset_fifo_is_one_lut_ram_bank():
    """The ``ecp5`` preset on the device bench's int8 layer (C = 64, 38-bit sum): latency 15,
    so a 16-word FIFO, one DPR16X4 bank without a bank mux (chunk=8 gives 17: 32 words)."""
    from bench.bench_device import device_layer
    from bench.bench_synth import standard_layers
    from exactbn.synth.designs import unit_config
    from exactbn.synth.targets import resolve_target

    layer = device_layer("ecp5", standard_layers())
    for lanes in (1, 4):
        cfg = unit_config(layer, resolve_target("ecp5"), lanes=lanes)
        assert cfg.pipeline == Pipeline.parse("ecp5") and cfg.w_s == 38
        assert cfg.latency == 15 and fifo_depth(cfg.latency) == 16


def test_flow_knob_parses_and_round_trips():
    p = Pipeline.parse("ecp5,flow=stall")
    assert p.flow == "stall" and p.chunk == 13 and Pipeline.parse(p.spec()) == p
    assert Pipeline.parse("ecp5").flow == "credit"
    assert Pipeline.parse(Pipeline.parse("ecp5").spec()) == Pipeline.parse("ecp5")
    for bad in ("flow=1", "mult=credit", "flow=fast"):
        with pytest.raises(ValueError):
            Pipeline.parse(bad)


@pytest.mark.parametrize("store", ["rom", "ram"])
def test_no_combinational_path_from_m_ready_to_s_ready(yosys, tmp_path, store):
    cfg = UnitConfig(**{**_fields(2, "deep,flow=credit", store, "channels"), "name": "dut"})
    cone = _comb_cone(yosys, tmp_path, to_verilog(cfg), "dut", "m_axis_tready")
    assert "core.oskid.o__ready" in cone  # it reaches the output skid...
    assert "s_axis_tready" not in cone and "core.credit.ready_r" not in cone  # ...not ready
    if store == "ram":
        assert "cfg_ready" not in cone
    # and no datapath register's enable: the cone stays within the FIFO's control
    assert not [n for n in cone if n.startswith(("core.mul", "core.shift", "core.sat"))]
