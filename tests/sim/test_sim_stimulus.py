"""Stimulus and scoreboard of the cocotb benches, without a simulator."""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden import integer_model
from exactbn.golden.verify import transition_points as golden_tp
from exactbn.sim.layers import example_layer, tie_layer
from exactbn.sim.scoreboard import Params, check_stream, expected_outputs, unpack_lanes
from exactbn.sim.spec import BenchSpec, UnitPorts
from exactbn.sim.stimulus import (
    channel_inputs,
    pack_beats,
    saturation_points,
    tie_points,
)


def ports(layer, lanes=1, lane_mode="channels", store="rom") -> UnitPorts:
    return UnitPorts(
        toplevel="exactbn_bn", lanes=lanes, lane_mode=lane_mode, store=store,
        shift_mode=layer.shift_mode, hw_rounding=layer.hw_rounding, w_x=layer.input.bits,
        x_signed=layer.input.signed, w_q=layer.output.bits, q_signed=layer.output.signed,
        qmin=layer.qmin, qmax=layer.qmax, w_m=layer.widths.M, w_b=layer.widths.B,
        w_n=layer.widths.N, n_max=layer.widths.n_max,
    )


def test_channel_inputs_hold_every_transition_point_and_extreme():
    layer = example_layer("conv2_bn_relu")
    unit = ports(layer)
    rng = np.random.default_rng(0)
    for c in range(layer.channels):
        xs = set(channel_inputs(layer, c, unit, {"M": layer.M[c], "B": layer.B[c],
                                                  "N": layer.N[c]}, rng, 50, 10).tolist())
        assert set(golden_tp(layer, c)) <= xs
        assert {unit.x_min, unit.x_max, *layer.ranges()[c]} <= xs


def test_small_width_is_exhaustive():
    layer = tie_layer("half_even", w_x=8)
    unit = ports(layer)
    xs = channel_inputs(layer, 0, unit, {"M": 1, "B": 2, "N": 2}, np.random.default_rng(0),
                        10, 10)
    assert xs.tolist() == list(range(-128, 128))


@pytest.mark.parametrize("m,b,n", [(3, 1, 4), (-5, 7, 3), (12, -3, 5), (1, 0, 1), (6, 5, 3)])
def test_tie_points_are_exact_ties_with_both_signs(m, b, n):
    xs = tie_points(m, b, n, -1000, 1000, np.random.default_rng(1))
    s = [m * x + b for x in xs]
    if (m & -m).bit_length() - 1 >= n or ((1 << (n - 1)) - b) % (m & -m):
        assert xs == [] or all(v % (1 << n) == 1 << (n - 1) for v in s)
        return
    assert xs and all(v % (1 << n) == 1 << (n - 1) for v in s)
    assert any(v < 0 for v in s) and any(v > 0 for v in s)


def test_saturation_points_bracket_both_clip_edges():
    m, b, n, qmin, qmax = 37, -1000, 6, -8, 7
    pts = saturation_points(m, b, n, qmin, qmax, "half_even", -4096, 4095)
    q = integer_model(m, b, n, np.array(pts), qmin, qmax, "half_even")
    assert qmin in q and qmax in q and (q > qmin).any() and (q < qmax).any()
    assert len(pts) == 6


@pytest.mark.parametrize("lane_mode", ["channels", "pixels"])
def test_pack_beats_puts_every_input_in_its_channels_lane(lane_mode):
    layer = tie_layer("half_up", w_x=6)
    unit = ports(layer, lanes=4, lane_mode=lane_mode)
    per = [np.arange(c * 3, c * 3 + 5, dtype=np.int64) for c in range(layer.channels)]
    frame = pack_beats(per, unit, 3, np.random.default_rng(2))
    from exactbn.sim.scoreboard import lane_channels
    ch = lane_channels(frame.tuser, 4, lane_mode)
    for c in range(layer.channels):
        assert set(frame.x[ch == c].tolist()) == set(per[c].tolist())
    assert (ch >= layer.channels).any()  # padding lanes / groups are exercised too
    assert frame.tlast[-1]


def _outputs(frame, params, unit):
    exp = expected_outputs(frame, params, unit)
    mask = (1 << unit.w_q) - 1
    return [sum((int(v) & mask) << (i * unit.w_q) for i, v in enumerate(row)) for row in exp]


def _frame(layer, unit):
    rng = np.random.default_rng(3)
    per = [channel_inputs(layer, c, unit, {"M": layer.M[c], "B": layer.B[c], "N": layer.N[c]},
                          rng, 20, 10) for c in range(layer.channels)]
    return pack_beats(per, unit, 2, rng)


def test_scoreboard_accepts_the_model_and_names_the_first_wrong_lane():
    layer = tie_layer("half_away")
    unit = ports(layer, lanes=4)
    frame = _frame(layer, unit)
    params = Params.of(layer)
    data = _outputs(frame, params, unit)
    ok = check_stream(frame, data, frame.tuser.tolist(), frame.tlast.tolist(), params, unit, layer)
    assert ok.mismatches == 0 and ok.lane_results == 4 * len(frame) and ok.reference_checked
    bad = list(data)
    bad[7] ^= 1 << (2 * unit.w_q)  # lane 2 of beat 7
    res = check_stream(frame, bad, frame.tuser.tolist(), frame.tlast.tolist(), params, unit)
    assert res.mismatches == 1 and res.first.beat == 7 and res.first.lane == 2
    assert f"x={frame.x[7, 2]}" in str(res.first)
    lost = check_stream(frame, data[:-1], frame.tuser.tolist()[:-1], frame.tlast.tolist()[:-1],
                        params, unit)
    assert lost.first.what == "count"
    users = frame.tuser.tolist()
    users[3] ^= 1
    res = check_stream(frame, data, users, frame.tlast.tolist(), params, unit)
    assert res.first.what == "tuser"


def test_reference_check_catches_a_solver_error_the_unit_reproduces():
    layer = tie_layer("half_even")
    unit = ports(layer)
    frame = _frame(layer, unit)
    wrong = Params.of(layer)
    wrong.B[1] += 1
    data = _outputs(frame, wrong, unit)  # a unit faithful to wrong parameters
    res = check_stream(frame, data, frame.tuser.tolist(), frame.tlast.tolist(), wrong, unit, layer)
    assert res.first.what == "reference" and res.first.channel == 1


def test_unpack_handles_wide_words_and_sign():
    raw = [(0xF << 60) | 0x1, 0x7 << 60]
    got = unpack_lanes(raw, 16, 4, True)
    assert got[0, 0] == 1 and got[0, 15] == -1 and got[1, 15] == 7


def test_spec_round_trips_through_json(tmp_path):
    layer = example_layer("conv2_bn_relu")
    spec = BenchSpec(layer=layer.to_json(), unit=ports(layer, 4, store="ram"), seed=9)
    spec.write(tmp_path / "s.json")
    back = BenchSpec.read(tmp_path / "s.json")
    assert back.unit == spec.unit and back.solved().M == layer.M


def test_scoreboard_checks_the_range_flag_above_tuser():
    layer = example_layer("conv2_bn_relu")
    unit = ports(layer, lanes=2)
    unit.range_check, unit.w_user = True, 2
    unit.x_ranges = [list(r) for r in layer.ranges()]
    frame = _frame(layer, unit)
    params = Params.of(layer)
    data = _outputs(frame, params, unit)
    lo = np.asarray(layer.ranges())[:, 0]
    hi = np.asarray(layer.ranges())[:, 1]
    ch = frame.tuser[:, None] * 2 + np.arange(2)
    inside = ch < layer.channels
    idx = np.where(inside, ch, 0)
    flags = (inside & ((frame.x < lo[idx]) | (frame.x > hi[idx]))).any(axis=1)
    assert flags.any() and not flags.all()
    users = [int(u) | (int(f) << 2) for u, f in zip(frame.tuser, flags, strict=True)]
    ok = check_stream(frame, data, users, frame.tlast.tolist(), params, unit)
    assert ok.mismatches == 0
    users[int(np.argmax(flags))] &= 3  # drop one flag
    res = check_stream(frame, data, users, frame.tlast.tolist(), params, unit)
    assert res.first.what == "range flag"
