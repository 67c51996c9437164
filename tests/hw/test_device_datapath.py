"""FPGA-family datapaths (ECP5 MULT18X18D instantiated, carry-chunked adders, staged
saturation) equal golden's integer model at every channel's transitions under random
valid/ready with long stalls (Amaranth simulator; the primitive as its Amaranth equivalent)."""

from __future__ import annotations

import pytest
from exactbn.hw.config import PIPELINE_PRESETS, Pipeline

from exactbn.generate import build_vectors, unit_config_from_solved

CONFIGS = [
    # layer, shift mode, unit options, valid/ready probabilities
    ("conv1_bn", "per-channel", dict(lanes=2, family="ecp5"), 0.8, 0.3),
    ("conv2_bn_relu", "per-channel", dict(lanes=3, family="ecp5", widths=(20, 30, 6),
                                          pipeline="mult=2,shift=2,out=1,chunk=5"), 0.7, 0.4),
    ("tie_affine", "shared", dict(lanes=1, family="ecp5", store="ram",
                                  pipeline="mult=2,shift=0,round=1,out=2,dspin=1,chunk=7"),
     0.9, 0.2),
    ("conv1_bn", "per-channel", dict(lanes=2, family="ecp5", param_memory="block",
                                     pipeline="ecp5,flow=stall"), 0.8, 0.3),  # DP16KD ROM
    ("conv1_bn", "per-channel", dict(lanes=2, family="ice40",
                                     pipeline="mult=2,shift=8,round=1,out=2,dspin=1,chunk=6"),
     0.7, 0.3),
    ("conv1_bn", "per-channel", dict(lanes=2, widths=(26, None, None), dsp_width=9,
                                     pipeline="mult=2,shift=3,out=2,chunk=6"), 0.6, 0.5),
]


@pytest.mark.parametrize("name,shift_mode,opts,p_valid,p_ready", CONFIGS,
                         ids=[f"{c[0]}-{c[2].get('family', 'generic')}-{i}"
                              for i, c in enumerate(CONFIGS)])
def test_family_datapath_matches_integer_model(solved, stream_check, name, shift_mode, opts,
                                               p_valid, p_ready):
    layer = solved(name, shift_mode)
    cfg = unit_config_from_solved(layer, **opts)
    vectors = build_vectors(layer, cfg, seed=3)
    # long stalls: a sink that is mostly not ready
    bad, res = stream_check(cfg, vectors, p_valid=p_valid, p_ready=p_ready, seed=11)
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"


def test_ecp5_latency_counts_the_dsp_registers(solved):
    layer = solved("conv1_bn")
    gen = unit_config_from_solved(layer, pipeline="default")
    ecp5 = unit_config_from_solved(layer, pipeline="default", family="ecp5")
    assert ecp5.stages["mult"] == gen.stages["mult"] + 2  # A/B, pipeline, output registers
    chunked = unit_config_from_solved(layer, pipeline="mult=2,chunk=8", family="ecp5")
    assert chunked.w_m > 18  # two partial products + B: one 3:2 level, then the chunks
    # the low 8 bits hold only B and the low product (the high one sits at bit 17): that
    # chunk is added beside the 3:2 level, one stage less
    assert chunked.stages["mult"] == 3 + 1 + -(-chunked.w_s // 8) - 1
    wide = unit_config_from_solved(layer, pipeline="mult=2,chunk=20", family="ecp5")
    assert wide.stages["mult"] == 3 + 1 + -(-wide.w_s // 20)  # 20 > 17: no low chunk first
    # preg=1: a fabric register after each instantiated product; nothing where none is
    preg = unit_config_from_solved(layer, pipeline="default,preg=1", family="ecp5")
    assert preg.stages["mult"] == ecp5.stages["mult"] + 1
    assert unit_config_from_solved(layer, pipeline="default,preg=1").latency == gen.latency
    assert Pipeline.parse(preg.pipeline.spec()) == preg.pipeline


def test_target_preset_is_the_default(solved):
    layer = solved("conv1_bn")
    assert unit_config_from_solved(layer, family="ecp5").pipeline == PIPELINE_PRESETS["ecp5"]
    assert unit_config_from_solved(layer).pipeline == Pipeline()
    assert Pipeline.parse(PIPELINE_PRESETS["ecp5"].spec()) == PIPELINE_PRESETS["ecp5"]


def test_banked_parameter_read_matches_integer_model(stream_check):
    """40 channels: the two-step ROM read (banks of 16 words, the last one partial) that the
    FPGA presets use with dspin, under long stalls."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "formal"))
    from formal_layers import small_layer

    rng = __import__("random").Random(4)
    c = 40
    M = tuple(rng.choice([-1, 1]) * rng.randrange(1, 120) for _ in range(c))
    B = tuple(rng.randrange(-500, 500) for _ in range(c))
    N = tuple(rng.randrange(0, 8) for _ in range(c))
    layer = small_layer("floor", M=M, B=B, N=N)
    for opts in (dict(lanes=1), dict(lanes=2, lane_mode="pixels")):
        cfg = unit_config_from_solved(layer, family="ecp5", **opts)
        assert cfg.param_read_split and cfg.groups > 16
        bad, _ = stream_check(cfg, build_vectors(layer, cfg, seed=2), p_valid=0.8,
                              p_ready=0.3, seed=5)
        assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"


def test_block_parameter_memory_is_dp16kd_with_output_register(solved):
    """ECP5, --param-memory block, two-step read: the ROM is DP16KD blocks with REGMODE_A
    OUTREG (no bank split, no fabric register after it); else the inferred memory."""
    from exactbn.hw import to_verilog
    from exactbn.hw.primitives import sim_model_files, uses_dp16kd

    layer = solved("conv1_bn")
    cfg = unit_config_from_solved(layer, family="ecp5", param_memory="block", lanes=2)
    assert uses_dp16kd(cfg)
    v = to_verilog(cfg)
    w_word = cfg.w_m + cfg.w_b + cfg.w_d
    assert v.count("DP16KD #(") == 2 * -(-w_word // 18), v.count("DP16KD #(")
    assert v.count('.REGMODE_A("OUTREG")') == v.count("DP16KD #(")
    assert "module DP16KD " in sim_model_files(cfg)["exactbn_ecp5_models.v"]
    assert not uses_dp16kd(unit_config_from_solved(layer, family="ecp5", lanes=2))
