"""Smoke test: a hand-made configuration streams correctly against golden's integer model."""

import random

import numpy as np
from exactbn.golden.model import integer_model
from exactbn.hw import Pipeline, UnitConfig, to_verilog
from exactbn.hw.simulate import simulate

M = [300000, -5000, 7, 123456]
B = [1 << 20, -3, 1000, -(1 << 25)]
N = [26, 20, 3, 23]


def test_hand_config_streams_integer_model_and_verilog_has_exact_ports():
    cfg = UnitConfig(w_x=16, x_signed=True, w_m=20, w_b=30, w_n=5, w_q=8, q_signed=True,
                     qmin=-128, qmax=127, M=M, B=B, N=N, lanes=2,
                     pipeline=Pipeline.parse("default"))
    rng = random.Random(3)
    beats = [([rng.randrange(-32768, 32768) for _ in range(2)], rng.randrange(2), i % 5 == 0)
             for i in range(200)]
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=0.8, p_ready=0.7, seed=1)
    assert [(o[1], o[2]) for o in res.outputs] == [(u, int(last)) for _, u, last in beats]
    for (xs, g, _), (q, _, _, _) in zip(beats, res.outputs, strict=True):
        for lane, x in enumerate(xs):
            c = g * 2 + lane
            exp = int(integer_model(M[c], B[c], N[c], np.int64(x), -128, 127))
            assert q[lane] == exp, (c, x)
    text = to_verilog(cfg)
    for port in ("clk", "rst", "s_axis_tvalid", "s_axis_tready", "s_axis_tdata", "s_axis_tuser",
                 "s_axis_tlast", "m_axis_tvalid", "m_axis_tready", "m_axis_tdata",
                 "m_axis_tuser", "m_axis_tlast"):
        assert f"  input {port};" in text or f" {port};" in text
    assert "module exactbn_bn(" in text
