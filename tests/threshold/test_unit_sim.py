"""The threshold unit in Amaranth's simulator: every channel at every threshold and its
neighbours, both search kinds, lane modes, stalls, RAM writes mid-stream, range check."""

from __future__ import annotations

import pytest
from exactbn.hw.threshold_config import ThresholdConfig
from exactbn.hw.threshold_simulate import simulate_threshold

from .support import beats_for, channel_set, expect, make_config

CASES = [  # (w_q, q_signed, search, lanes, lane_mode, param_memory)
    (1, False, "auto", 1, "channels", "auto"),
    (2, True, "parallel", 2, "channels", "auto"),
    (2, False, "binary", 1, "channels", "auto"),
    (4, False, "binary", 3, "channels", "auto"),
    (4, True, "binary", 2, "pixels", "auto"),
    (3, True, "parallel", 1, "channels", "auto"),
    # block RAM levels: level 0 read with the parameter read, the others registered twice
    (4, False, "binary", 3, "channels", "block"),
    (3, True, "binary", 1, "channels", "block"),
    (1, False, "auto", 2, "channels", "block"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"w{c[0]}-{c[2]}-L{c[3]}-{c[4]}-{c[5]}"
                                             for c in CASES])
def test_every_threshold_and_neighbours(case):
    w_q, q_signed, search, lanes, lane_mode, memory = case
    chans = channel_set(w_q, True, seed=w_q)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=w_q, q_signed=q_signed, search=search,
                      lanes=lanes, lane_mode=lane_mode, param_memory=memory)
    levels = range(cfg.n_levels if cfg.mode == "binary" else 1)
    waits = [cfg.level_wait(j) for j in levels]  # 0: level 0 read with the parameter read
    assert waits == ([1] * len(levels) if memory == "auto" else [0] + [2] * (len(levels) - 1))
    beats, want = beats_for(cfg, chans)
    res = simulate_threshold(cfg, [("stream", beats), ("drain",)], p_valid=0.7, p_ready=0.6,
                             seed=3)
    assert [o[0] for o in res.outputs] == want
    assert [(o[1], o[2]) for o in res.outputs] == [(b[1], b[2]) for b in beats]


def test_latency_and_full_rate():
    chans = channel_set(4, False, seed=1, channels=3)
    cfg = make_config(chans, w_x=7, x_signed=False, w_q=4, q_signed=False, search="binary")
    assert cfg.mode == "binary" and cfg.latency == 1 + (3 + 4) + 1  # 4 levels, read 1 each
    beats, _ = beats_for(cfg, chans)
    res = simulate_threshold(cfg, [("stream", beats), ("drain",)])
    assert res.outputs[0][3] - res.accepted[0][3] == cfg.latency
    assert res.outputs[-1][3] - res.outputs[0][3] == len(beats) - 1  # one beat per clock


def _writes(old: ThresholdConfig, ch: int, new: ThresholdConfig):
    neg, u = new.stored(ch)
    slots = [("write", ch, k, v) for k, v in enumerate(u)][::-1]  # the top path first
    return slots + [("write", ch, old.slots, neg)]


@pytest.mark.parametrize("search,lanes,mode,memory", [("binary", 2, "channels", "auto"),
                                                      ("parallel", 1, "channels", "auto"),
                                                      ("binary", 3, "channels", "auto"),
                                                      ("binary", 2, "pixels", "auto"),
                                                      ("binary", 2, "channels", "block"),
                                                      ("parallel", 1, "channels", "block")])
def test_ram_writes_mid_stream(search, lanes, mode, memory):
    w_q = 4 if search == "binary" else 2
    chans = channel_set(w_q, True, seed=5, channels=4)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=w_q, q_signed=False, search=search,
                      lanes=lanes, store="ram", lane_mode=mode, param_memory=memory)
    # the last channel (the last beats before the writes, at its highest inputs) becomes a
    # constant qmin: its beats still in flight must keep the old thresholds at every level
    last = len(chans) - 1
    a, b, r = chans[last]
    assert a > 0
    chans2 = list(chans)
    chans2[last] = (a, -5000.0, r)
    cfg2 = make_config(chans2, w_x=8, x_signed=True, w_q=w_q, q_signed=False, search=search,
                       lanes=lanes, lane_mode=mode)
    before, want_before = beats_for(cfg, chans)
    after, want_after = beats_for(cfg2, chans2, seed=1)
    program = [("stream", before)] + _writes(cfg, last, cfg2) + [("write", 4, 0, 0),
                                                                ("stream", after), ("drain",)]
    res = simulate_threshold(cfg, program, p_valid=0.8, p_ready=0.5, seed=2)
    assert [o[0] for o in res.outputs] == want_before + want_after
    assert res.cfg_error == 1  # the write to channel 4 (= C) changed nothing


def test_range_check_flags_out_of_range_beats():
    chans = channel_set(2, True, seed=2, channels=2)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=2, q_signed=False, range_check=True)
    (lo0, hi0), (lo1, _) = chans[0][2], chans[1][2]
    beats = [([lo0, lo1], 0, 0), ([hi0 + 1, lo1], 0, 1), ([lo0, lo1 - 1], 0, 0)]
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=2, q_signed=False, range_check=True,
                      lanes=2)
    res = simulate_threshold(cfg, [("stream", beats), ("drain",)])
    flags = [o[1] >> cfg.w_user for o in res.outputs]
    assert flags == [0, 1, 1] and res.range_error == 1
    assert res.outputs[0][0] == [expect(chans, 0, lo0, cfg), expect(chans, 1, lo1, cfg)]


def test_bad_configs_refused():
    chans = channel_set(2, True, seed=2, channels=2)
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=2, q_signed=False)
    with pytest.raises(ValueError, match="non-decreasing"):
        ThresholdConfig(w_x=8, x_signed=True, w_q=2, q_signed=False, qmin=0, qmax=3,
                        directions=[1], thresholds=[[3, 2, 4]])
    with pytest.raises(ValueError, match="qmax - qmin"):
        ThresholdConfig(w_x=8, x_signed=True, w_q=2, q_signed=False, qmin=0, qmax=3,
                        directions=[1], thresholds=[[3, 4]])
    with pytest.raises(ValueError, match="direction"):
        ThresholdConfig(w_x=8, x_signed=True, w_q=2, q_signed=False, qmin=0, qmax=3,
                        directions=[0], thresholds=[[1, 2, 3]])
    assert cfg.w_t <= 9


@pytest.mark.parametrize("search", ["binary", "parallel"])
def test_one_direction_no_padding_needs_no_direction_memory(search):
    chans = [(0.3, 0.5, (-30, 20)), (0.7, -1.0, (-10, 40)), (0.0, 1.0, (-5, 5)),
             (2.5, 0.25, (-64, 63))]
    cfg = make_config(chans, w_x=8, x_signed=True, w_q=2, q_signed=True, search=search)
    assert cfg.fixed_direction == 1 and not cfg.has_pad
    beats, want = beats_for(cfg, chans)
    res = simulate_threshold(cfg, [("stream", beats), ("drain",)], p_valid=0.8, p_ready=0.7)
    assert [o[0] for o in res.outputs] == want
