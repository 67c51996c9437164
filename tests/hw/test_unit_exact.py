"""The unit equals golden's integer model at every level transition of every channel of the
solved example layers, at the input extremes and on random inputs, in several configurations
(Amaranth simulator). Expected values: exactbn.generate.build_vectors (golden's model)."""

from __future__ import annotations

import pytest

from exactbn.generate import build_vectors, unit_config_from_solved

CONFIGS = [
    # layer, shift mode, unit options, valid/ready probabilities
    ("conv1_bn", "per-channel", dict(lanes=1, pipeline="default"), 1.0, 1.0),
    ("conv1_bn", "per-channel", dict(lanes=3, pipeline="shallow"), 0.7, 0.6),
    ("conv1_bn", "shared", dict(lanes=4, pipeline="deep"), 0.9, 0.8),
    ("conv2_bn_relu", "per-channel", dict(lanes=2, lane_mode="pixels", pipeline="deep",
                                          range_check=True), 0.8, 0.7),
    ("conv2_bn_relu", "shared", dict(lanes=3, store="ram", pipeline="mult=1,shift=0,out=0"),
     1.0, 0.5),
    ("conv2_bn_relu", "per-channel", dict(lanes=5, widths=(20, 30, 6), dsp_width=9,
                                          pipeline="mult=2,shift=3,out=1"), 0.8, 0.8),
    ("tie_affine", "per-channel", dict(lanes=1, pipeline="mult=2,shift=1,round=1,out=0"),
     0.6, 0.9),
    ("tie_affine", "shared", dict(lanes=3, lane_mode="pixels", store="ram",
                                  pipeline="shallow"), 1.0, 1.0),
]


@pytest.mark.parametrize("name,shift_mode,opts,p_valid,p_ready", CONFIGS,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CONFIGS)])
def test_every_transition_point_matches_integer_model(solved, stream_check, name, shift_mode,
                                                      opts, p_valid, p_ready):
    layer = solved(name, shift_mode)
    cfg = unit_config_from_solved(layer, **opts)
    vectors = build_vectors(layer, cfg, seed=len(opts))
    bad, res = stream_check(cfg, vectors, p_valid=p_valid, p_ready=p_ready, seed=7)
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"
    if name == "tie_affine":
        assert cfg.hw_rounding == "half_even"  # the tie layer needs the rounding stage


def test_range_flag_marks_out_of_range_beats(solved, stream_check):
    layer = solved("conv2_bn_relu")
    cfg = unit_config_from_solved(layer, lanes=1, range_check=True)
    vectors = build_vectors(layer, cfg)
    flagged = [v for v in vectors if v.user_out >> cfg.w_user]
    assert flagged and len(flagged) < len(vectors)  # extremes lie outside certified ranges
    bad, res = stream_check(cfg, vectors)
    assert not bad
    assert res.range_error == 1
    inside = [v for v in vectors if not v.user_out >> cfg.w_user]
    bad, res = stream_check(cfg, inside[:200])
    assert not bad and res.range_error == 0
