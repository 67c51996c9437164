"""FPGA primitives the unit instantiates by name (``UnitConfig.family``), their
simulation-only Amaranth equivalents and the behavioural Verilog models exactbn ships for them.

- ``ecp5``: Lattice MULT18X18D with REG_INPUTA/B, REG_PIPELINE and REG_OUTPUT on (CLK0, CE0
  = the pipeline enable). Yosys ships no simulation model of it that fits, so
  :data:`ecp5.MULT18X18D_MODEL` is exactbn's own behavioural model of exactly that
  configuration (the kit ships it beside the unit; sim and prove read it). With
  ``param_memory`` block and the two-step parameter read, the ROM is DP16KD blocks with
  REGMODE_A = OUTREG (:data:`ecp5.DP16KD_MODEL`, exactbn's model of that configuration).
- ``ice40``: Lattice SB_MAC16 as a 16 x 16 signed multiplier with A_REG/B_REG, the 8 x 8
  product registers, PIPELINE_16x16_MULT_REG1/2 and the output registers on (one CE = the
  pipeline enable). :data:`ice40.SB_MAC16_MODEL` is exactbn's model of exactly that
  configuration, checked against Yosys's SB_MAC16 simulation model in a test.
"""

from __future__ import annotations

from .ecp5 import DP16KD_MODEL, MULT18X18D_MODEL, Mult18x18d, mult18x18d
from .ice40 import SB_MAC16_MODEL, Mac16, sb_mac16

__all__ = ["FAMILIES", "DP16KD_MODEL", "uses_dp16kd", "MULT18X18D_MODEL", "Mult18x18d",
           "mult18x18d", "SB_MAC16_MODEL", "Mac16", "sb_mac16", "sim_models",
           "sim_model_files", "to_sim_verilog", "with_sim_models"]

# Primitive families of the datapath: generic = plain Amaranth arithmetic (Yosys infers).
FAMILIES = ("generic", "ecp5", "ice40", "xilinx")


def uses_dp16kd(cfg) -> bool:
    """The parameter ROM is instantiated DP16KD blocks with their output register (ECP5,
    ``param_memory`` block, the two-step read of ``param_read_split``, every address the
    tuser can carry inside one block's 1024 words); else Yosys infers the memory."""
    from ..store import block_layout  # a wider tuser: DP16KDs packed (hw/store.py)
    from .ecp5 import DP16KD_DEPTH

    return (cfg.family == "ecp5" and cfg.store == "rom" and cfg.param_memory == "block"
            and cfg.param_read_split and ((1 << cfg.w_user) <= DP16KD_DEPTH
                                          or block_layout(cfg) is not None))


def sim_model_files(cfg) -> dict[str, str]:
    """Behavioural Verilog models the unit's Verilog needs in simulation and proofs, file
    name -> text (empty when the unit instantiates no primitive without a vendor model)."""
    from ..multiplier import uses_primitive

    if cfg.family == "ecp5":
        text = (MULT18X18D_MODEL if uses_primitive(cfg.family, cfg.pipeline.mult) else "")
        text += DP16KD_MODEL if uses_dp16kd(cfg) else ""
        return {"exactbn_ecp5_models.v": text} if text else {}
    if not uses_primitive(cfg.family, cfg.pipeline.mult):
        return {}
    if cfg.family == "ice40":
        return {"exactbn_ice40_models.v": SB_MAC16_MODEL}
    return {}


def sim_models(cfg) -> str:
    """The text of every :func:`sim_model_files` file, concatenated ("" when none)."""
    return "".join(sim_model_files(cfg).values())


def to_sim_verilog(cfg) -> str:
    """The unit's Verilog followed by the primitive models it needs: what a simulator or a
    proof reads (synthesis reads the unit alone, the vendor cells come from the tool)."""
    from ..unit import to_verilog

    return to_verilog(cfg) + sim_models(cfg)


def with_sim_models(cfg, verilog: str) -> str:
    """``verilog`` (the unit's text, generated or a user's copy) followed by the models it
    needs that it does not define itself."""
    extra = [text for text in sim_model_files(cfg).values()
             if _module_name(text) and f"module {_module_name(text)} " not in verilog]
    return verilog + "".join(extra)


def _module_name(text: str) -> str | None:
    import re

    m = re.search(r"^module (\w+) ", text, re.MULTILINE)
    return m.group(1) if m else None
