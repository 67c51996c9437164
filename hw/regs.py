"""Enabled register chains shared by the unit and the baseline designs."""

from __future__ import annotations

from amaranth import Module, Signal

__all__ = ["delay"]


def delay(m: Module, en, sig, n: int, name: str, reset: bool = False):
    """``sig`` delayed by ``n`` register stages that load when ``en`` is high.

    The registers are named ``{name}_d0 .. {name}_d{n-1}`` (the formal harness refers to
    them); only ``reset=True`` chains (valid bits) are cleared by reset.
    """
    for k in range(n):
        r = Signal.like(sig, name=f"{name}_d{k}", reset_less=not reset)
        with m.If(en):
            m.d.sync += r.eq(sig)
        sig = r
    return sig
