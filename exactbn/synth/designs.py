"""The designs of one synthesis run: the exactbn unit and the baselines at the same widths.

Everything is built from one :class:`~exactbn.formats.SolvedLayer` and the shared unit
options: the unit through ``exactbn.generate.unit_config_from_solved``; the baselines from
the layer's exact affine maps (a, b) with golden's TFLite-style parameters
(``tflite_params``) and FINN-style thresholds (``thresholds_for_channel``). Each design is
written as RTLIL (Amaranth's own netlist, source locations kept for the critical-path
report; ``to_verilog`` is the same netlist passed through Yosys's Verilog writer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exactbn.formats import SolvedLayer

from .flow import DesignSource
from .targets import Target

__all__ = ["KINDS", "build_designs", "unit_config", "baseline_params"]

KINDS = ("exactbn", "ceiling", "tflite", "threshold", "exact_threshold", "ceiling_inferred",
         "exactbn_nostall")
DEFAULT_KINDS = KINDS[:4]  # exact_threshold: exactbn's threshold unit (--designs or --unit)
# ceiling_inferred: the bare multiplier as Yosys infers it (the DSP's registers off);
# exactbn_nostall: the unit with m_axis_tready tied high (no stall enable), measurement only.


def unit_config(layer: SolvedLayer, target: Target, file: str | None = None, **unit_opts):
    """The unit's :class:`~exactbn.hw.UnitConfig` for this target (its DSP operand width)."""
    from exactbn.generate import unit_config_from_solved
    from exactbn.hw.config import family_of_target

    opts = dict(unit_opts)
    opts.setdefault("family", family_of_target(target.name))  # its DSP primitives
    opts.setdefault("dsp_width", min(target.dsp_a, target.dsp_b))
    return unit_config_from_solved(layer, file=file, **opts)


def primitive_synth(target: Target, family: str, instantiated: bool) -> str | None:
    """The Yosys synth command for a design whose DSPs are all instantiated primitives, where
    it must differ from the target's (None = the target's). iCE40: ``synth_ice40`` without
    ``-dsp``, because Yosys's ice40_dsp pass (run by ``-dsp``) rewrites the register
    parameters of every SB_MAC16 it finds, instantiated ones included (A_REG, the product
    and pipeline registers, the output select are reset to its own inference), which would
    turn the unit's registers off and change its latency."""
    if instantiated and family == "ice40" and target.name == "ice40":
        return " ".join(w for w in target.yosys_synth.split() if w != "-dsp")
    return None


def baseline_params(layer: SolvedLayer) -> dict[str, Any]:
    """TFLite-style (bias, m_q31, shift) and threshold (direction, T) per channel, from golden."""
    from exactbn.golden.baselines import tflite_params, thresholds_for_channel

    out = layer.output
    tfl = [tflite_params(float(a), float(b), out.zero_point)
           for a, b in zip(layer.a, layer.b, strict=True)]
    dirs, ts = [], []
    for a, b, (lo, hi) in zip(layer.a, layer.b, layer.ranges(), strict=True):
        d, t = thresholds_for_channel(float(a), float(b), out.rounding, out.qmin, out.qmax,
                                      lo, hi)
        dirs.append(d)
        ts.append(t)
    return {"tflite": tfl, "directions": dirs, "thresholds": ts}


def _write(component, name: str, path: Path) -> Path:
    from amaranth.back import rtlil  # here, not at import: `exactbn --help` reads KINDS only

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rtlil.convert(component, name=name))
    return path


def build_designs(layer: SolvedLayer, target: Target, srcdir: Path, *,
                  kinds: tuple[str, ...] = DEFAULT_KINDS, tag: str = "", group: str | None = None,
                  file: str | None = None, **unit_opts) -> list[DesignSource]:
    """DesignSources (RTLIL written into ``srcdir``) for the requested kinds.

    ``tag`` suffixes the design names (several configurations in one run); ``group`` is
    recorded in each config so that reports can pair the unit with its baselines.
    Raises FormatError (from the unit's configuration) on options the layer cannot take.
    """
    from exactbn.hw import BatchNormUnit
    from exactbn.hw.baselines import (
        BaselinePipeline,
        CeilingMultiplier,
        TfliteRequantizer,
        ThresholdUnit,
    )
    from exactbn.hw.multiplier import uses_primitive

    cfg = unit_config(layer, target, file=file, **unit_opts)
    s = cfg.summary()
    grp = group or tag or "default"
    common = {
        "layer": layer.name, "group": grp, "channels": cfg.channels, "lanes": cfg.lanes,
        "pipeline": cfg.pipeline.spec(), "shift_mode": cfg.shift_mode,
        "hw_rounding": cfg.hw_rounding, "store": cfg.store, "w_x": cfg.w_x,
        "x_signed": cfg.x_signed, "w_q": cfg.w_q, "q_signed": cfg.q_signed,
        "qmin": cfg.qmin, "qmax": cfg.qmax, "param_memory": cfg.param_memory,
    }
    sfx = f"_{tag}" if tag else ""
    designs: list[DesignSource] = []
    if "exactbn" in kinds:
        top = cfg.name
        designs.append(DesignSource(
            f"exactbn{sfx}", "exactbn", top,
            [_write(BatchNormUnit(cfg), top, srcdir / f"exactbn{sfx}.il")],
            config={**common, **s, "group": grp},
            param_bits_per_channel=cfg.w_m + cfg.w_b + cfg.w_n,
            notes=[f"ROM word {cfg.w_m + cfg.w_b + cfg.w_d} bits (M, B and the shift offset "
                   f"N - {cfg.n_min}); parameter bits per channel reported as W_M + W_B + W_N"],
        ))
    if "exactbn_nostall" in kinds:
        designs.append(_nostall(cfg, srcdir, sfx, common, grp))
    bpipe = BaselinePipeline.of(cfg.pipeline)
    if "ceiling" in kinds and uses_primitive(cfg.family, 2):
        designs.append(_dsp_ceiling(cfg, srcdir, sfx, common))
    if "ceiling_inferred" in kinds or ("ceiling" in kinds
                                       and not uses_primitive(cfg.family, 2)):
        kind = "ceiling" if "ceiling" in kinds and not uses_primitive(cfg.family, 2) \
            else "ceiling_inferred"
        from exactbn.hw import asic_multiplier as am

        # the unit's own multiplier form (pipeline tree/cpa, e.g. asic-small), so the period
        # ratio compares like with like: the ceiling reads FORM when built and elaborated
        form, saved = (cfg.pipeline.csa_form() if cfg.family == "asic" else None), am.FORM
        try:
            am.FORM = form or saved
            ceil = CeilingMultiplier(cfg.w_x, cfg.w_m, cfg.lanes, cfg.x_signed, target.dsp_a,
                                     target.dsp_b, stages=2,
                                     csa_tree=am.ASIC_TREE if cfg.family == "asic" else 0)
            ceil_il = _write(ceil, "ceiling_mul", srcdir / f"{kind}{sfx}.il")
        finally:
            am.FORM = saved
        designs.append(DesignSource(
            f"{kind}{sfx}", kind, "ceiling_mul",
            [ceil_il],
            config={**common, "pipeline_baseline": "in,pp,tree,out registers",
                    "w_m": cfg.w_m, "latency": ceil.latency,
                    "dsp_operands": [target.dsp_a, target.dsp_b],
                    "partial_products_per_lane": ceil.dsp_per_lane},
            param_bits_per_channel=None,
            notes=["bare W_X x W_M multiplier, the unit's own carry-save form "
                   "(hw/asic_multiplier.py): registered inputs, a register inside the 3:2 "
                   "tree, one before the final add, registered outputs"] if ceil.csa_tree else
                  ["bare W_X x W_M multiplier: registered inputs, partial products registered "
                   "at the DSP outputs, registered adder tree and outputs; the DSP cells are "
                   "inferred by Yosys (their internal registers off)"],
        ))
    if "tflite" in kinds or "threshold" in kinds:
        bp = baseline_params(layer)
    if "tflite" in kinds:
        tf = TfliteRequantizer(
            w_x=cfg.w_x, x_signed=cfg.x_signed, w_q=cfg.w_q, q_signed=cfg.q_signed,
            qmin=cfg.qmin, qmax=cfg.qmax, zero_point=layer.output.zero_point,
            bias=[p[0] for p in bp["tflite"]], m_q31=[p[1] for p in bp["tflite"]],
            shift=[p[2] for p in bp["tflite"]], lanes=cfg.lanes, pipeline=bpipe,
            dsp_a=target.dsp_a, dsp_b=target.dsp_b, param_memory=cfg.param_memory,
            # ECP5's registered MULT18X18D; on iCE40 the product stays inferred: 32 x 32 as
            # signed 16 x 16 SB_MAC16 products takes 9 blocks, one more than the UP5K has
            family="ecp5" if cfg.family == "ecp5" else "generic")
        designs.append(DesignSource(
            f"tflite{sfx}", "tflite", "tflite_requant",
            [_write(tf, "tflite_requant", srcdir / f"tflite{sfx}.il")],
            config={**common, "pipeline_baseline": bpipe.spec(), "latency": tf.latency,
                    "w_right_shift": tf.w_r, "w_left_shift": tf.w_l,
                    "int32_min_multiplier": tf.has_ovf},
            param_bits_per_channel=tf.param_bits_per_channel,
            notes=[f"ROM word: int32 bias + int32 m_q31 + {tf.w_r}-bit right shift"
                   + (f" + {tf.w_l}-bit left shift" if tf.w_l else "")
                   + " (a deployed .tflite file stores the shift as int32: 96 bits/channel)"],
        ))
    if "threshold" in kinds:
        th = ThresholdUnit(
            w_x=cfg.w_x, x_signed=cfg.x_signed, w_q=cfg.w_q, q_signed=cfg.q_signed,
            qmin=cfg.qmin, qmax=cfg.qmax, directions=bp["directions"],
            thresholds=bp["thresholds"], x_ranges=layer.ranges(), lanes=cfg.lanes,
            pipeline=bpipe, param_memory=cfg.param_memory)
        designs.append(DesignSource(
            f"threshold{sfx}", "threshold", "threshold_unit",
            [_write(th, "threshold_unit", srcdir / f"threshold{sfx}.il")],
            config={**common, "pipeline_baseline": bpipe.spec(), "latency": th.latency,
                    "levels": th.n_levels, "thresholds_per_channel": th.thresholds_per_channel,
                    "w_threshold": th.w_t, "deep_search": th.deep},
            param_bits_per_channel=th.param_bits_per_channel,
            notes=[f"{th.thresholds_per_channel} thresholds x {th.w_t} bits + 1 direction bit "
                   "per channel, one memory per search level"],
        ))
    if "exact_threshold" in kinds:
        from exactbn.hw.threshold_config import stages_for

        th_opts = {"stages": stages_for(target.name), **unit_opts}  # the family's preset
        designs.append(_exact_threshold(layer, srcdir, sfx, common, grp, file, th_opts))
    for d in designs:
        inst = (uses_primitive(cfg.family, cfg.pipeline.mult) if d.kind in (
            "exactbn", "exactbn_nostall") else d.kind == "ceiling" and uses_primitive(
            cfg.family, 2))
        if synth := primitive_synth(target, cfg.family, inst):
            d.yosys_synth = synth
            d.notes.append(f"synthesized with `{synth}` (no -dsp: Yosys's ice40_dsp pass "
                           "would rewrite the instantiated SB_MAC16's register parameters)")
    return designs


def _exact_threshold(layer, srcdir: Path, sfx: str, common: dict, grp: str, file, unit_opts
                     ) -> DesignSource:
    """exactbn's exact threshold unit (thresholds re-derived from a, b and the spec)."""
    from exactbn.hw.threshold_unit import ThresholdUnit as ExactThresholdUnit
    from exactbn.threshold_generate import threshold_config_from_solved

    keep = ("lanes", "lane_mode", "store", "pipeline", "range_check", "param_memory", "search",
            "stages", "cfg_bus")
    tc = threshold_config_from_solved(layer, file=file, name="exact_threshold",
                                      **{k: v for k, v in unit_opts.items() if k in keep})
    s = tc.summary()
    return DesignSource(
        f"exact_threshold{sfx}", "exact_threshold", "exact_threshold",
        [_write(ExactThresholdUnit(tc), "exact_threshold", srcdir / f"exact_threshold{sfx}.il")],
        config={**common, **s, "group": grp},
        param_bits_per_channel=tc.slots * tc.w_t + 1,
        notes=[f"{tc.mode} search: {tc.slots} slots x {tc.w_t} bits + direction bit per "
               f"channel, {tc.qmax - tc.qmin} thresholds, latency {tc.latency}"])


def _dsp_ceiling(cfg, srcdir: Path, sfx: str, common: dict) -> DesignSource:
    """The ceiling on a family with a DSP primitive: the registered-DSP multiplier."""
    from exactbn.hw.baselines.dsp_ceiling import RegisteredDspMultiplier

    ceil = RegisteredDspMultiplier(cfg.w_x, cfg.w_m, cfg.lanes, cfg.x_signed, cfg.family,
                                   cfg.pipeline.chunk, cfg.dsp_width)
    return DesignSource(
        f"ceiling{sfx}", "ceiling", "ceiling_mul",
        [_write(ceil, "ceiling_mul", srcdir / f"ceiling{sfx}.il")],
        config={**common, "pipeline_baseline": f"in registers, {cfg.family} DSP with every "
                f"register on, chunk={cfg.pipeline.chunk}", "w_m": cfg.w_m,
                "latency": ceil.latency, "family": cfg.family},
        param_bits_per_channel=None,
        notes=[f"bare W_X x W_M multiplier: registered inputs, the {cfg.family} DSP primitive "
               "instantiated with its registers on, the unit's carry-save/chunked combine; no "
               "stall enable (the best registered-DSP multiplier of these widths)"])


def _nostall(cfg, srcdir: Path, sfx: str, common: dict, grp: str) -> DesignSource:
    """The unit with ``m_axis_tready`` tied high: what the stall enable costs (not a unit
    anyone should use: it cannot be stalled)."""
    from amaranth import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from exactbn.hw import BatchNormUnit, port_list

    ports = [p for p in port_list(cfg)[2:] if p[0] != "m_axis_tready"]

    class NoStall(wiring.Component):
        def __init__(self):
            super().__init__({n: (In if d == "input" else Out)(w) for n, d, w in ports})

        def elaborate(self, platform):
            m = Module()
            m.submodules.u = u = BatchNormUnit(cfg)
            m.d.comb += u.m_axis_tready.eq(1)
            for n, d, _ in ports:
                a, b = (getattr(u, n), getattr(self, n)) if d == "input" else \
                    (getattr(self, n), getattr(u, n))
                m.d.comb += a.eq(b)
            return m

    top = f"{cfg.name}_nostall"
    return DesignSource(
        f"exactbn_nostall{sfx}", "exactbn_nostall", top,
        [_write(NoStall(), top, srcdir / f"exactbn_nostall{sfx}.il")],
        config={**common, **cfg.summary(), "group": grp},
        param_bits_per_channel=cfg.w_m + cfg.w_b + cfg.w_n,
        notes=["the unit with m_axis_tready tied high: no stall enable (measures what the "
               "global stall enable costs; not usable as a unit)"])
