"""SystemRDL text of a unit's register map, and the PeakRDL outputs generated from it.

``rdl_text(regmap)`` writes ``NAME_regs.rdl`` from :class:`~.layout.RegisterMap` (the same
offsets ``hw/axil.py`` decodes); ``peakrdl_files(regmap)`` compiles it with
systemrdl-compiler and runs PeakRDL's C header, Markdown and IP-XACT exporters. Any failure
(a missing package, a compile error) raises :class:`exactbn.toolchain.ToolError` before a file
is written: the kit is written whole or not at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .layout import Register, RegisterMap

__all__ = ["rdl_text", "peakrdl_files", "addrmap_name"]


def addrmap_name(regmap: RegisterMap) -> str:
    return f"{regmap.name}_regs"


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _reg(r: Register) -> str:
    lines = [f'  reg {{\n    name = "{r.name}";\n    desc = "{_q(r.desc)}";']
    for f in r.fields:
        if r.value is not None:
            props, init = "sw = r; hw = na;", f" = 0x{(r.value & f.mask) >> f.lsb:x}"
        elif r.access == "r":
            props, init = "sw = r; hw = w;", ""
        else:
            props = "sw = rw; hw = r;" + (" swmod;" if r.name == "COMMIT" else "")
            init = " = 0x0"
        lines.append(f'    field {{ {props} desc = "{_q(f.desc)}"; }} '
                     f"{f.name}[{f.lsb + f.width - 1}:{f.lsb}]{init};")
    lines.append(f"  }} {r.name} @ 0x{r.offset:02x};")
    return "\n".join(lines)


def rdl_text(regmap: RegisterMap) -> str:
    """``NAME_regs.rdl``: one addrmap, 32-bit registers, the offsets of the layout module."""
    body = "\n".join(_reg(r) for r in regmap.registers)
    return (f"// Register map of {regmap.name} (--cfg-bus axil), written by exactbn generate.\n"
            "// The AXI4-Lite slave in the Verilog decodes exactly these offsets; the C header,\n"
            f"// {regmap.name}_regs.md and {regmap.name}_regs.xml are generated from this file "
            "by PeakRDL.\n"
            f"addrmap {addrmap_name(regmap)} {{\n"
            f'  name = "{regmap.name} register map";\n'
            f'  desc = "{_q(_summary(regmap))}";\n'
            "  default regwidth = 32;\n  default accesswidth = 32;\n"
            f"{body}\n}};\n")


def _summary(regmap: RegisterMap) -> str:
    if regmap.threshold:
        return (f"Programs the {regmap.channels}-channel threshold RAM: write T and INDEX "
                "into the staging registers, then the channel address into COMMIT. The write "
                "response to COMMIT comes after the unit took the word: every beat accepted "
                "after it uses it. STATUS.DONE counts completed commits.")
    n = ", N" if regmap.per_channel else ""
    return (f"Programs the {regmap.channels}-channel parameter RAM: write M, B{n} into the "
            "staging registers, then the channel address into COMMIT. The write response to "
            "COMMIT comes after the unit took the words: every beat accepted after it uses "
            "them. STATUS.DONE counts completed commits.")


def peakrdl_files(regmap: RegisterMap) -> dict[str, str]:
    """``NAME_regs.{rdl,h,md,xml}`` texts (ToolError if PeakRDL is missing or fails)."""
    from exactbn.toolchain import ToolError

    stem = addrmap_name(regmap)
    rdl = rdl_text(regmap)
    try:
        from peakrdl_cheader.exporter import CHeaderExporter
        from peakrdl_ipxact import IPXACTExporter
        from peakrdl_markdown import MarkdownExporter
        from systemrdl import RDLCompileError, RDLCompiler
    except ImportError as e:
        raise ToolError(f"--cfg-bus axil: the register map needs PeakRDL ({e.name} is not "
                        "installed; pip install -e '.[regmap]' or make setup)") from None
    out: dict[str, str] = {f"{stem}.rdl": rdl}
    with tempfile.TemporaryDirectory(prefix="exactbn-rdl-") as tmp:
        src = Path(tmp) / f"{stem}.rdl"
        src.write_text(rdl)
        step = "compile"
        try:
            rdlc = RDLCompiler()
            rdlc.compile_file(str(src))
            root = rdlc.elaborate(top_def_name=stem)
            step = "c-header"
            CHeaderExporter().export(root, str(Path(tmp) / f"{stem}.h"))
            step = "markdown"
            MarkdownExporter().export(root.top, str(Path(tmp) / f"{stem}.md"),
                                      input_files=[f"{stem}.rdl"])
            step = "ip-xact"
            IPXACTExporter().export(root, str(Path(tmp) / f"{stem}.xml"))
        except (RDLCompileError, Exception) as e:  # noqa: BLE001 - any tool failure: exit 2
            raise ToolError(f"--cfg-bus axil: PeakRDL {step} failed on {stem}.rdl "
                            f"({type(e).__name__}: {str(e)[:200]})") from None
        for ext in ("h", "md", "xml"):
            out[f"{stem}.{ext}"] = (Path(tmp) / f"{stem}.{ext}").read_text()
    return out
