"""The unit top with ``--cfg-bus axil``: the RAM store's ``cfg_*`` handshake behind an
AXI4-Lite slave (:mod:`.axil`), so the top has ``s_axil_*`` ports instead of ``cfg_*``.

:class:`~.unit.BatchNormUnit` stays the one top level; it calls :func:`connect_axil` when
``cfg.cfg_bus == "axil"`` and :func:`axil_unit_ports` lists the ports it then has.
"""

from __future__ import annotations

from amaranth import Module

from .axil import AxiLiteSlave, axil_port_list

__all__ = ["axil_unit_ports", "connect_axil"]


def axil_unit_ports(cfg) -> list[tuple[str, str, int]]:
    """The programming port of an axil unit (in place of ``cfg_*``)."""
    return axil_port_list()


def connect_axil(m: Module, unit, core) -> None:
    """Put the AXI4-Lite slave between ``unit``'s ``s_axil_*`` ports and ``core``'s cfg port."""
    m.submodules.axil = slave = AxiLiteSlave(unit.cfg)
    for name, direction, _ in axil_port_list():
        top, inner = getattr(unit, name), getattr(slave, name[len("s_axil_"):])
        m.d.comb += (inner.eq(top) if direction == "input" else top.eq(inner))
    m.d.comb += [
        core.cfg_valid.eq(slave.cfg_valid), slave.cfg_ready.eq(core.cfg_ready),
        core.cfg_addr.eq(slave.cfg_addr), core.cfg_m.eq(slave.cfg_m),
        core.cfg_b.eq(slave.cfg_b), slave.cfg_error.eq(core.cfg_error),
    ]
    if unit.cfg.shift_mode == "per-channel":
        m.d.comb += core.cfg_n.eq(slave.cfg_n)
