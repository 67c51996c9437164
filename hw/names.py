"""Module names of generated units: what is refused, and the default derived from a layer.

A unit's name becomes a Verilog module name, the name of the kit's files (NAME.v, NAME.core,
...) and part of its FuseSoC core name (``exactbn:bn:NAME``). It must be a plain Verilog
identifier, at most :data:`MAX_NAME` characters, and no keyword of Verilog-2005 (IEEE
1364-2005) or SystemVerilog-2017 (IEEE 1800-2017): ``module`` would turn the kit's bench and
instantiation template into syntax errors.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MAX_NAME", "VERILOG_KEYWORDS", "name_problem", "default_unit_name"]

MAX_NAME = 64  # characters: a module name that also names the kit's files

# IEEE 1800-2017 Annex B (reserved keywords); it contains every IEEE 1364-2005 keyword.
VERILOG_KEYWORDS = frozenset("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle
checker class clocking cmos config const constraint context continue cover covergroup
coverpoint cross deassign default defparam design disable dist do edge else end endcase
endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface
endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable
endtask enum event eventually expect export extends extern final first_match for force
foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone
ignore_bins illegal_bins implements implies import incdir include initial inout input inside
instance int integer interconnect interface intersect join join_any join_none large let
liblist library local localparam logic longint macromodule matches medium modport module nand
negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package
packed parameter pmos posedge primitive priority program property protected pull0 pull1
pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence
rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran
rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence
shortint shortreal showcancelled signed small soft solve specify specparam static string
strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged
task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand
trior trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var
vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire with within
wor xnor xor
""".split())

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a unit (one phrase), or None when it can."""
    if not isinstance(name, str):
        return f"must be a string, got {type(name).__name__}"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; at most {MAX_NAME}"
    if not _IDENT.fullmatch(name):
        return f"must be a Verilog identifier (letters, digits, _; not starting with a digit), " \
               f"got {name!r}"
    if name in VERILOG_KEYWORDS:
        return f"{name!r} is a Verilog/SystemVerilog keyword; pick another name"
    return None


def default_unit_name(layer_name: str) -> str:
    """``exactbn_<layer>``: the layer name as a Verilog identifier (other characters become
    ``_``), bounded to :data:`MAX_NAME`; when the layer name had to be changed or cut, 8 hex
    digits of its SHA-256 keep distinct layers (``a/b``, ``a.b``) apart."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", layer_name)
    name = f"exactbn_{clean}"
    if clean == layer_name and len(name) <= MAX_NAME:
        return name
    tag = hashlib.sha256(layer_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name[:MAX_NAME - 9]}_{tag}"
