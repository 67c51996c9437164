"""The register-map files of an axil unit's kit, and the kit README's section on them.

``regmap_files(cfg, layers)``: ``NAME_regs.rdl`` (SystemRDL, from :mod:`.layout`), the
PeakRDL outputs ``NAME_regs.h`` (C header), ``NAME_regs.md`` (register document),
``NAME_regs.xml`` (IP-XACT), and ``NAME_params.h`` (parameter images + C programming
functions). Raises ToolError (exit 2) if PeakRDL is missing or fails: nothing is written.
"""

from __future__ import annotations

from .driver import LayerImage
from .layout import MAGIC, RegisterMap
from .params_h import params_h_text
from .rdl import peakrdl_files

__all__ = ["regmap_files", "regmap_file_names", "readme_section", "AXIL_MEANING",
           "layer_images", "threshold_regmap_files", "threshold_readme_section"]

AXIL_MEANING = {
    "s_axil_awvalid": "AXI4-Lite write address valid",
    "s_axil_awready": "write address ready (a register)",
    "s_axil_awaddr": "write byte address (register map: NAME_regs.rdl)",
    "s_axil_awprot": "protection type (ignored)",
    "s_axil_wvalid": "write data valid (AW and W in either order)",
    "s_axil_wready": "write data ready (a register)",
    "s_axil_wdata": "write data, 32 bits",
    "s_axil_wstrb": "byte strobes (COMMIT needs 0xF)",
    "s_axil_bvalid": "write response valid; for COMMIT only after the unit took the words",
    "s_axil_bready": "write response ready",
    "s_axil_bresp": "OKAY (00) or SLVERR (10)",
    "s_axil_arvalid": "read address valid",
    "s_axil_arready": "read address ready (a register)",
    "s_axil_araddr": "read byte address",
    "s_axil_arprot": "protection type (ignored)",
    "s_axil_rvalid": "read data valid",
    "s_axil_rready": "read data ready",
    "s_axil_rdata": "read data, 32 bits",
    "s_axil_rresp": "OKAY (00) or SLVERR (10, unmapped address)",
}


def regmap_file_names(name: str) -> list[tuple[str, str]]:
    """(file, FuseSoC file_type) of the register-map files."""
    return [(f"{name}_regs.rdl", "systemRDLSource"), (f"{name}_regs.xml", "user"),
            (f"{name}_regs.md", "user"), (f"{name}_regs.h", "cSource"),
            (f"{name}_params.h", "cSource")]


def layer_images(layer, cfg) -> list[LayerImage]:
    """The layers a unit's words belong to: one for a single-layer unit; for a shared unit
    (``layer.shared_layers`` = [(first channel address, layer), ...]) each layer with its
    table row, its words taken from the unit's store image (as the hardware holds them)."""
    shared = getattr(layer, "shared_layers", None)
    if not shared:
        return [LayerImage(layer.name, 0, tuple(cfg.M), tuple(cfg.B), tuple(cfg.N))]
    table = tuple(getattr(cfg, "layer_table", ()) or ())
    out = []
    for i, (base, lay) in enumerate(shared):
        sl = slice(base, base + lay.channels)
        row = table[i] if i < len(table) else None
        out.append(LayerImage(lay.name, base, tuple(cfg.M[sl]), tuple(cfg.B[sl]),
                              tuple(cfg.N[sl]), index=i if row else None,
                              qmin=row.qmin if row else None, qmax=row.qmax if row else None))
    return out


def regmap_files(cfg, layers: list[LayerImage]) -> dict[str, str]:
    rm = RegisterMap(cfg)
    files = peakrdl_files(rm)
    files[f"{cfg.name}_params.h"] = params_h_text(rm, layers)
    return files


def threshold_regmap_files(cfg) -> dict[str, str]:
    """The register-map files of an axil threshold unit (same names as :func:`regmap_files`)."""
    from .threshold_params_h import threshold_images, threshold_params_h_text

    rm = RegisterMap(cfg)
    files = peakrdl_files(rm)
    files[f"{cfg.name}_params.h"] = threshold_params_h_text(rm, threshold_images(cfg))
    return files


def threshold_readme_section(cfg) -> str:
    """The threshold kit README's section on programming the RAM store through AXI4-Lite."""
    rm = RegisterMap(cfg)
    n = cfg.name
    rows = "\n".join(f"| 0x{r.offset:03x} | `{r.name}` | {r.access} | {r.desc} |"
                     for r in rm.registers)
    return f"""
## Writing thresholds (AXI4-Lite, `s_axil_*`)

The threshold RAM is written through an AXI4-Lite slave (32-bit data, 12-bit byte addresses,
all outputs registered, AW and W in either order). One write of slot k of channel c: write the
stored word U_k ({cfg.w_t}-bit, {rm.t_words} word(s) `T0`.., low word first) and `k` to `INDEX`
(k = {cfg.slots}: the direction bit, T bit 0 = 1 means d = -1), then `c` to `COMMIT`. **The
write response to COMMIT comes only after the unit took the word: every beat accepted after
that response uses it.** A COMMIT to a channel >= {rm.channels} changes nothing, answers SLVERR
and sets the sticky `STATUS.CFG_ERROR`; `STATUS.DONE` counts completed commits.

| offset | register | access | meaning |
|---|---|---|---|
{rows}

Files: `{n}_regs.rdl` (SystemRDL), `{n}_regs.h` (C header, PeakRDL), `{n}_regs.md`, `{n}_regs.xml`
(IP-XACT), `{n}_params.h` (every channel's words as a C array; `{n}_check_id(base)` and
`{n}_program(base)`, which waits for `STATUS.DONE` after each COMMIT).
"""


def readme_section(cfg) -> str:
    """The kit README's "Programming the RAM store" section for an axil unit."""
    rm = RegisterMap(cfg)
    n = cfg.name
    rows = "\n".join(f"| 0x{r.offset:03x} | `{r.name}` | {r.access} | {r.desc} |"
                     for r in rm.registers)
    nstage = ", `N`" if rm.per_channel else ""
    return f"""
## Programming the RAM store (AXI4-Lite, `s_axil_*`)

The parameter RAM is written through an AXI4-Lite slave (32-bit data, {12}-bit byte
addresses, all outputs registered, AW and W accepted in either order). Program channel c:
write its `M` ({cfg.w_m}-bit two's complement, {rm.m_words} word(s), low word first), `B`
({cfg.w_b}-bit, {rm.b_words} word(s)){nstage} into the staging registers, then write `c` to
`COMMIT`. **The write response to COMMIT comes only after the unit took the words: every beat
accepted after that response uses them** (beats accepted before the COMMIT write use the old
ones; the stream pauses for a few cycles meanwhile). `STATUS.DONE` counts completed commits, so
a CPU whose stores are posted can wait for it. A COMMIT to a channel >= {rm.channels}, a COMMIT
with a byte strobe other than 0xF, writes to read-only and unmapped addresses and reads of
unmapped addresses answer SLVERR; the first also sets the sticky `STATUS.CFG_ERROR`
(cleared by `rst`). `rst` does not clear the RAM. `ID` reads 0x{MAGIC:08X} and the
geometry registers let a driver check that it talks to this unit.

| offset | register | access | meaning |
|---|---|---|---|
{rows}

Files: `{n}_regs.rdl` (SystemRDL, the source of these addresses), `{n}_regs.h` (C header,
PeakRDL), `{n}_regs.md` (register document, PeakRDL), `{n}_regs.xml` (IP-XACT for block
designers, PeakRDL), `{n}_params.h` (the solved parameters per layer as C arrays;
`{n}_check_id(base)` and `{n}_program_layer(base, &{n}_layers[i])`, which waits for
`STATUS.DONE` after each COMMIT). Compile with `cc -c` after `#include "{n}_params.h"`; define
`{n.upper()}_WR32`/`{n.upper()}_RD32` first to use your own bus accessors. The bench
`{n}_tb.v` programs the unit through this port.
"""
