"""Planted AXI4-Lite slaves for the register-map proofs: one slave with two registers'
offsets swapped, and a pass-through wrapper a planted bug overrides one port of."""

from __future__ import annotations

import dataclasses

from amaranth import Module
from amaranth.lib import wiring
from exactbn.hw.axil import AxiLiteSlave


def swapped_offsets(cfg, first: str, second: str) -> AxiLiteSlave:
    """The slave decoding register ``first`` at ``second``'s offset and ``second`` at
    ``first``'s (the documented map unchanged)."""
    s = AxiLiteSlave(cfg)
    rm = s.regmap
    a, b = rm.offset(first), rm.offset(second)
    rm.registers = [dataclasses.replace(r, offset={a: b, b: a}.get(r.offset, r.offset))
                    for r in rm.registers]
    rm._by_name = {r.name: r for r in rm.registers}
    return s


class PassThrough(wiring.Component):
    """The slave under ``inner`` with every port wired through, except the outputs named in
    ``own`` (the subclass drives those in :meth:`plant`)."""

    own: tuple[str, ...] = ()

    def __init__(self, cfg):
        self.cfg, self.inner = cfg, AxiLiteSlave(cfg)
        super().__init__(dict(self.inner.signature.members))

    def plant(self, m: Module, s: AxiLiteSlave) -> None:
        """Drive the ports in ``own`` (and may override inputs of ``s``)."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = s = self.inner
        for name, member in self.signature.members.items():
            if member.flow == wiring.In:
                m.d.comb += getattr(s, name).eq(getattr(self, name))
            elif name not in self.own:
                m.d.comb += getattr(self, name).eq(getattr(s, name))
        self.plant(m, s)
        return m
