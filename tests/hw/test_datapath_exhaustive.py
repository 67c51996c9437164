"""Every input of small units against golden's integer model: every hardware rounding
(exact ties, negative values), per-channel and shared shifts, N = 0, saturation at both ends,
and the split multiplier (a tiny DSP width forces partial products on both operands)."""

from __future__ import annotations

import numpy as np
import pytest
from exactbn.golden.model import integer_model
from exactbn.hw import Pipeline, UnitConfig
from exactbn.hw.simulate import simulate

# a = M/2^N; ties wherever (M*x + B) mod 2^N == 2^(N-1), on both signs of x.
M_PC = [1, -3, 37, 0, 5]
B_PC = [2, 4, -100, 7, 1 << 9]
N_PC = [2, 3, 6, 0, 1]
M_SH = [1, -3, 37, 6]
B_SH = [2, 4, -100, -8]


def _exhaustive(cfg: UnitConfig, seed: int) -> None:
    c = cfg.channels
    xs = list(range(cfg.x_min, cfg.x_max + 1))
    beats = []
    for k in range(len(xs)):
        beats.append(([xs[(k + 37 * i) % len(xs)] for i in range(cfg.lanes)], 0, 0))
        beats.append(([xs[(k + 11 * i) % len(xs)] for i in range(cfg.lanes)], 1, 1))
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=0.9, p_ready=0.8, seed=seed)
    assert len(res.outputs) == len(beats)
    for (lane_x, g, _), (q, user, _, _) in zip(beats, res.outputs, strict=True):
        assert user == g
        for i, x in enumerate(lane_x):
            ch = g * cfg.lanes + i
            m, b, n = (cfg.M[ch], cfg.B[ch], cfg.N[ch]) if ch < c else (0, 0, 0)
            exp = int(integer_model(m, b, n, np.int64(x), cfg.qmin, cfg.qmax, cfg.hw_rounding))
            assert q[i] == exp, (cfg.hw_rounding, ch, x, exp, q[i])


@pytest.mark.parametrize("hw_rounding", ["floor", "half_up", "half_even", "half_away"])
@pytest.mark.parametrize("shift_mode", ["per-channel", "shared"])
def test_every_input_every_rounding(hw_rounding, shift_mode):
    per = shift_mode == "per-channel"
    cfg = UnitConfig(
        w_x=8, x_signed=True, w_m=7, w_b=11, w_n=3 if per else 0, w_q=5, q_signed=True,
        qmin=-13, qmax=15, M=M_PC if per else M_SH, B=B_PC if per else B_SH,
        N=N_PC if per else [3] * 4, lanes=3, hw_rounding=hw_rounding, shift_mode=shift_mode,
        pipeline=Pipeline(mult=2, shift=2, round=1, out=1), dsp_width=4)
    _exhaustive(cfg, seed=len(hw_rounding))


@pytest.mark.parametrize("mult", [0, 1, 2])
def test_split_multiplier_unsigned_input_ram_shift_range(mult):
    cfg = UnitConfig(
        w_x=7, x_signed=False, w_m=13, w_b=9, w_n=3, w_q=4, q_signed=False, qmin=1, qmax=14,
        M=[-4096, 4095, 300], B=[255, -256, 3], N=[7, 0, 5], lanes=2, store="ram",
        hw_rounding="half_away", pipeline=Pipeline(mult=mult, shift=1, round=0, out=0),
        dsp_width=5)
    _exhaustive(cfg, seed=mult)
