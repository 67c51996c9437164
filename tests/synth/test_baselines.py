"""The baselines' arithmetic against golden's bit-exact models (Amaranth simulator).

TFLite-style requantizer vs ``golden.baselines.tflite_requantize``; threshold unit vs
``golden.baselines.threshold_model`` with ``thresholds_for_channel``; the ceiling multiplier
vs Python's product. Inputs: every level transition of the model being matched (and its
neighbours), the range ends, and random values, through random valid/ready gaps.
"""

from __future__ import annotations

import random
from importlib.resources import files

import numpy as np
import pytest
from amaranth.sim import Simulator
from exactbn.golden.baselines import (
    INT32_MAX,
    INT32_MIN,
    tflite_params,
    tflite_requantize,
    threshold_model,
    thresholds_for_channel,
)
from exactbn.golden.solver import layer_affine
from exactbn.hw.baselines import CeilingMultiplier, TfliteRequantizer, ThresholdUnit

from exactbn.formats import load_layers, select_layer

EXAMPLES = files("exactbn.data") / "example_layers.json"


def _layer(name: str):
    return select_layer(load_layers(EXAMPLES), name)


def _pack(values, width):
    mask = (1 << width) - 1
    return sum((int(v) & mask) << (i * width) for i, v in enumerate(values))


def _unpack(word, width, lanes, signed):
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out


def run_stream(dut, beats, w_x, w_q, q_signed, seed=0, p_valid=0.8, p_ready=0.8):
    """Push ``beats`` (lists of (x per lane, g)) through a stream baseline; return the
    outputs (q per lane, g) in arrival order, checking that none is lost or duplicated."""
    rng = random.Random(seed)
    lanes = dut.lanes
    out = []

    async def source(ctx):
        for xs, g in beats:
            while rng.random() > p_valid:
                ctx.set(dut.s_axis_tvalid, 0)
                await ctx.tick()
            ctx.set(dut.s_axis_tvalid, 1)
            ctx.set(dut.s_axis_tdata, _pack(xs, w_x))
            ctx.set(dut.s_axis_tuser, g)
            ctx.set(dut.s_axis_tlast, g & 1)
            while True:
                accepted = ctx.get(dut.s_axis_tready)  # handshake in this cycle
                await ctx.tick()
                if accepted:
                    break
        ctx.set(dut.s_axis_tvalid, 0)

    async def sink(ctx):
        idle = 0
        while len(out) < len(beats) and idle < 200 + 10 * dut.latency:
            ready = rng.random() < p_ready
            ctx.set(dut.m_axis_tready, ready)
            valid = ctx.get(dut.m_axis_tvalid)
            data, user = ctx.get(dut.m_axis_tdata), ctx.get(dut.m_axis_tuser)
            await ctx.tick()
            if valid and ready:
                out.append((_unpack(data, w_q, lanes, q_signed), user))
                idle = 0
            else:
                idle += 1
        for _ in range(3 * dut.latency + 5):  # nothing more may come out
            ctx.set(dut.m_axis_tready, 1)
            assert not (ctx.get(dut.m_axis_tvalid) and len(out) >= len(beats)), "extra beat"
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert len(out) == len(beats), f"{len(out)} of {len(beats)} beats came out"
    return out


def _beats_for(per_channel_x: dict[int, list[int]], lanes: int, channels: int, seed: int):
    """Beats covering every (channel, x) pair asked for; lanes without a request get a random
    x from the same channel's list."""
    rng = random.Random(seed)
    groups = -(-channels // lanes)
    beats = []
    for g in range(groups):
        chans = [g * lanes + i for i in range(lanes)]
        n = max(len(per_channel_x.get(c, [])) for c in chans)
        for k in range(n):
            xs = []
            for c in chans:
                lst = per_channel_x.get(c) or [0]
                xs.append(lst[k] if k < len(lst) else rng.choice(lst))
            beats.append((xs, g))
    rng.shuffle(beats)
    return beats


def _transitions(fn, lo: int, hi: int) -> list[int]:
    """Every x in [lo, hi] where fn (vectorised) changes, with neighbours, plus the ends."""
    x = np.arange(lo, hi + 1, dtype=np.int64)
    y = fn(x)
    idx = np.nonzero(np.diff(y))[0]
    pts = set(int(v) for v in np.concatenate([x[idx], x[idx + 1]]))
    pts |= {p + d for p in list(pts) for d in (-1, 1)} | {lo, hi, lo + 1, hi - 1, 0}
    return sorted(p for p in pts if lo <= p <= hi)


# ----------------------------------------------------------------------------- TFLite


def _tflite_case(layer_name: str):
    layer = _layer(layer_name)
    a, b = layer_affine(layer)
    params = [tflite_params(float(ai), float(bi), layer.output.zero_point) for ai, bi in
              zip(a, b, strict=True)]
    return layer, params


def _check_tflite(dut, params, layer_like, ranges, seed, n_random=8):
    c = len(params)
    zp, qmin, qmax = layer_like
    rng = random.Random(seed)
    want_x = {}
    for ch, (bias, mq, sh) in enumerate(params):
        lo, hi = ranges[ch]
        pts = _transitions(lambda x, bias=bias, mq=mq, sh=sh: tflite_requantize(
            x, bias, mq, sh, zp, qmin, qmax), lo, hi)
        want_x[ch] = pts + [rng.randint(lo, hi) for _ in range(n_random)]
    beats = _beats_for(want_x, dut.lanes, c, seed)
    out = run_stream(dut, beats, dut.w_x, dut.w_q, dut.q_signed, seed=seed)
    for (xs, g), (qs, user) in zip(beats, out, strict=True):
        assert user == g
        for lane, (x, q) in enumerate(zip(xs, qs, strict=True)):
            ch = g * dut.lanes + lane
            if ch >= c:
                continue
            bias, mq, sh = params[ch]
            want = int(tflite_requantize(x, bias, mq, sh, zp, qmin, qmax))
            assert q == want, f"channel {ch} x={x}: got {q}, golden {want} ({params[ch]})"


@pytest.mark.parametrize("pipeline,lanes", [("default", 2), ("shallow", 1), ("deep", 3)])
def test_tflite_requantizer_matches_golden_on_bundled_layer(pipeline, lanes):
    layer, params = _tflite_case("conv2_bn_relu")
    out = layer.output
    dut = TfliteRequantizer(
        w_x=layer.input.bits, x_signed=layer.input.signed, w_q=out.bits, q_signed=out.signed,
        qmin=out.qmin, qmax=out.qmax, zero_point=out.zero_point,
        bias=[p[0] for p in params], m_q31=[p[1] for p in params], shift=[p[2] for p in params],
        lanes=lanes, pipeline=pipeline)
    _check_tflite(dut, params, (out.zero_point, out.qmin, out.qmax),
                  layer.input.ranges(layer.channels), seed=lanes)


def test_tflite_requantizer_edge_parameters_match_golden():
    """Bias wrapping the int32 accumulator, m_q31 = INT32_MIN (SRDHM saturation), left
    shifts, shift 0, negative multipliers, a zero point, full int16 inputs."""
    params = [
        (INT32_MAX - 5, 1 << 30, -3),          # acc + bias wraps past INT32_MAX
        (INT32_MIN, INT32_MIN, 0),             # acc = INT32_MIN with m = INT32_MIN: saturates
        (12345, (1 << 31) - 1, 5),             # left shift before the multiply (wraps)
        (-777, -(1 << 30) - 12345, -7),        # negative multiplier
        (0, 1518500250, -31),                  # largest right shift
        (-32768, 1 << 30, 0),                  # shift 0: no rounding
    ]
    zp, qmin, qmax = -3, -128, 127
    dut = TfliteRequantizer(
        w_x=16, x_signed=True, w_q=8, q_signed=True, qmin=qmin, qmax=qmax, zero_point=zp,
        bias=[p[0] for p in params], m_q31=[p[1] for p in params],
        shift=[p[2] for p in params], lanes=2, pipeline="default")
    assert dut.has_ovf and dut.w_l == 3 and dut.w_r == 5
    _check_tflite(dut, params, (zp, qmin, qmax), [(-32768, 32767)] * len(params), seed=7,
                  n_random=64)


@pytest.mark.parametrize("pipeline,family,param_memory", [
    pytest.param("mult=2,shift=5,out=1,chunk=7", "generic", "auto", marks=pytest.mark.slow),
    ("mult=2,shift=8,out=1,chunk=13,flow=credit", "ecp5", "auto"),  # the ecp5 preset's (~40 s)
    # DP16KD with its output register (the unit's block ROM), one stage more
    pytest.param("mult=2,shift=8,out=1,chunk=13,flow=credit", "ecp5", "block",
                 marks=pytest.mark.slow),
    pytest.param("mult=2,shift=2,out=1,chunk=5", "ice40", "auto", marks=pytest.mark.slow),
])
def test_chunked_tflite_requantizer_edge_parameters_match_golden(pipeline, family,
                                                                 param_memory):
    """The FPGA-preset TFLite-style lane (every wide add in registered carry chunks, the
    family's DSP primitive as its simulation equivalent) on the same edge parameters."""
    params = [
        (INT32_MAX - 5, 1 << 30, -3), (INT32_MIN, INT32_MIN, 0), (12345, (1 << 31) - 1, 5),
        (-777, -(1 << 30) - 12345, -7), (0, 1518500250, -31), (-32768, 1 << 30, 0),
        (99, -(1 << 31) + 1, -1),
    ]
    zp, qmin, qmax = -3, -128, 127
    dut = TfliteRequantizer(
        w_x=16, x_signed=True, w_q=8, q_signed=True, qmin=qmin, qmax=qmax, zero_point=zp,
        bias=[p[0] for p in params], m_q31=[p[1] for p in params],
        shift=[p[2] for p in params], lanes=2, pipeline=pipeline, family=family, sim=True,
        param_memory=param_memory)
    assert dut.pipeline.chunk and dut.latency > 12
    assert dut.stage_counts["param"] == (2 if param_memory == "block" else 1)
    _check_tflite(dut, params, (zp, qmin, qmax), [(-32768, 32767)] * len(params), seed=3,
                  n_random=16)


# ----------------------------------------------------------------------------- thresholds


def _threshold_dut(layer, a, b, lanes, pipeline, x_ranges=None):
    out = layer.output
    ranges = x_ranges or layer.input.ranges(len(a))
    dirs, ts = [], []
    for ai, bi, (lo, hi) in zip(a, b, ranges, strict=True):
        d, t = thresholds_for_channel(float(ai), float(bi), out.rounding, out.qmin, out.qmax,
                                      lo, hi)
        dirs.append(d)
        ts.append(t)
    dut = ThresholdUnit(w_x=layer.input.bits, x_signed=layer.input.signed, w_q=out.bits,
                        q_signed=out.signed, qmin=out.qmin, qmax=out.qmax, directions=dirs,
                        thresholds=ts, x_ranges=ranges, lanes=lanes, pipeline=pipeline)
    return dut, dirs, ts, ranges


def _check_threshold(dut, dirs, ts, ranges, qmin, seed):
    want_x = {}
    for ch, (d, t) in enumerate(zip(dirs, ts, strict=True)):
        lo, hi = ranges[ch]
        pts = {lo, hi}
        for v in t:  # each threshold is a level transition: check it and its neighbours
            for xx in (v - 1, v, v + 1) if d > 0 else (-v - 1, -v, -v + 1):
                if lo <= xx <= hi:
                    pts.add(xx)
        want_x[ch] = sorted(pts)
    beats = _beats_for(want_x, dut.lanes, len(ts), seed)
    out = run_stream(dut, beats, dut.w_x, dut.w_q, dut.q_signed, seed=seed)
    for (xs, g), (qs, user) in zip(beats, out, strict=True):
        assert user == g
        for lane, (x, q) in enumerate(zip(xs, qs, strict=True)):
            ch = g * dut.lanes + lane
            if ch >= len(ts):
                continue
            want = int(threshold_model(ts[ch], x, qmin, dirs[ch]))
            assert q == want, f"channel {ch} x={x}: got {q}, golden {want}"


@pytest.mark.parametrize("pipeline,lanes", [("default", 3), ("deep", 1), ("shallow", 2)])
def test_threshold_unit_matches_golden_uint4(pipeline, lanes):
    layer = _layer("conv2_bn_relu")
    a, b = layer_affine(layer)
    dut, dirs, ts, ranges = _threshold_dut(layer, a, b, lanes, pipeline)
    assert dut.thresholds_per_channel == 15
    _check_threshold(dut, dirs, ts, ranges, layer.output.qmin, seed=lanes)


def test_threshold_unit_matches_golden_int8_with_negative_slopes():
    """255 thresholds (8 levels), channels of both directions, and clip narrower than the
    full output (padded thresholds)."""
    layer = _layer("conv1_bn")
    a, b = layer_affine(layer)
    a, b = list(a[:4]), list(b[:4])
    a[1], b[1] = -a[1], -b[1]  # a decreasing staircase
    a[2] *= 0.05  # few levels reached in range: thresholds past the range end
    dut, dirs, ts, ranges = _threshold_dut(layer, a, b, 2, "default")
    assert dirs[1] == -1 and dut.n_levels == 8
    _check_threshold(dut, dirs, ts, ranges, layer.output.qmin, seed=3)


# ----------------------------------------------------------------------------- ceiling


@pytest.mark.parametrize("w_x,w_m,x_signed,dsp,stages,csa", [
    (16, 23, True, (18, 18), 2, 0), (16, 20, False, (16, 16), 2, 0),
    (33, 32, True, (25, 18), 2, 0), (8, 9, True, (18, 18), 1, 0), (12, 7, False, (18, 18), 0, 0),
    (16, 15, False, (18, 18), 2, 2)])  # csa: the ASIC carry-save form (hw/asic_multiplier.py)
def test_ceiling_multiplier_is_exact(w_x, w_m, x_signed, dsp, stages, csa):
    lanes = 2
    dut = CeilingMultiplier(w_x, w_m, lanes, x_signed, dsp[0], dsp[1], stages, csa_tree=csa)
    rng = random.Random(w_x * w_m)
    x_lo, x_hi = (-(1 << (w_x - 1)), (1 << (w_x - 1)) - 1) if x_signed else (0, (1 << w_x) - 1)
    m_lo, m_hi = -(1 << (w_m - 1)), (1 << (w_m - 1)) - 1
    edges_x, edges_m = [x_lo, x_hi, 0, 1, -1 if x_signed else 2], [m_lo, m_hi, 0, 1, -1]
    vecs = [([x1, x2], [m1, m2]) for x1 in edges_x for m1 in edges_m
            for x2, m2 in [(rng.randint(x_lo, x_hi), rng.randint(m_lo, m_hi))]]
    vecs += [([rng.randint(x_lo, x_hi) for _ in range(lanes)],
              [rng.randint(m_lo, m_hi) for _ in range(lanes)]) for _ in range(100)]
    got = []

    async def bench(ctx):
        for k in range(len(vecs) + dut.latency):
            if k < len(vecs):
                ctx.set(dut.x, _pack(vecs[k][0], w_x))
                ctx.set(dut.m, _pack(vecs[k][1], w_m))
            await ctx.tick()
            if k + 1 >= dut.latency:
                got.append(_unpack(ctx.get(dut.p), dut.w_p, lanes, True))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for (xs, ms), ps in zip(vecs, got, strict=False):
        assert ps == [x * m for x, m in zip(xs, ms, strict=True)], (xs, ms, ps)
    assert len(got) >= len(vecs)


def test_tflite_ecp5_block_rom_is_dp16kd_with_output_register():
    """On ECP5 with ``param_memory`` block the TFLite-style ROM is the unit's: DP16KD blocks
    with REGMODE_A = OUTREG (a registered read, as the unit's block ROM), not Yosys's own
    DP16KD mapping (output register off); one stage more than the LUT ROM."""
    from amaranth.back import rtlil

    kw = dict(w_x=16, x_signed=True, w_q=8, q_signed=True, qmin=-128, qmax=127, zero_point=0,
              bias=[5, -7, 9], m_q31=[1 << 30, 3 << 28, -(1 << 29)], shift=[-3, -1, 0],
              lanes=1, pipeline="mult=2,shift=8,out=1,chunk=13,flow=credit", family="ecp5")
    lut = TfliteRequantizer(**kw)
    blk = TfliteRequantizer(**kw, param_memory="block")
    assert blk.latency == lut.latency + 1
    text = rtlil.convert(blk, name="tflite_requant")
    assert text.count("cell \\DP16KD") == -(-blk.w_word // 18)
    assert 'parameter \\REGMODE_A "OUTREG"' in text
