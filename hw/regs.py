"""Enabled register chains and carry-chunked adders shared by the unit and the baselines."""

from __future__ import annotations

from amaranth import Cat, Const, Module, Signal, signed

__all__ = ["delay", "chunked_add", "csa_reduce", "add_stages", "add_carry_in"]


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


def add_stages(n_terms: int, width: int, chunk: int) -> int:
    """Register stages of :func:`csa_reduce` + :func:`chunked_add` for ``n_terms`` operands
    of ``width`` bits (``chunk`` 0: one registered adder, 1 stage)."""
    if not chunk:
        return 1
    levels = 0
    while n_terms > 2:
        n_terms -= n_terms // 3
        levels += 1
    return levels + -(-width // chunk)


def csa_reduce(m: Module, en, terms: list, width: int, name: str) -> list:
    """3:2 carry-save levels (each registered) until at most two ``width``-bit terms are
    left; the sum of the terms is kept modulo 2^width."""
    level = 0
    while len(terms) > 2:
        nxt = []
        for k in range(0, len(terms) - len(terms) % 3, 3):
            a, b, c = terms[k:k + 3]
            s = Signal(width, name=f"{name}_s{level}_{k // 3}", reset_less=True)
            cy = Signal(width, name=f"{name}_c{level}_{k // 3}", reset_less=True)
            with m.If(en):
                m.d.sync += [s.eq(a ^ b ^ c),
                             cy.eq(Cat(Const(0, 1), ((a & b) | (a & c) | (b & c))[:width - 1]))]
            nxt += [s, cy]
        for k, t in enumerate(terms[len(terms) - len(terms) % 3:]):
            nxt.append(delay(m, en, t, 1, f"{name}_p{level}_{k}"))
        terms = nxt
        level += 1
    return terms


def add_carry_in(a, b, c):
    """``a + b + c`` (``len(a) + 1`` bits; ``c`` one bit) as one two-operand add whose
    lowest bit pair is ``(1, c)``: the carry enters the chain as a LUT input (on ECP5 a carry
    from a register into CCU2C's CIN costs nextpnr an extra CCU2C and a route)."""
    n = max(len(a), len(b))
    return (Cat(Const(1, 1), a.as_unsigned()) + Cat(c, b.as_unsigned()))[1:n + 2]


def chunked_add(m: Module, en, a, b, width: int, chunk: int, name: str):
    """``(a + b) mod 2^width`` (signed result) through ceil(width / chunk) registered carry
    chunks: chunk j adds its bits of a and b (delayed j stages: skewed in) with the carry
    registered by chunk j-1, and its sum waits for the later chunks (de-skewed out). Latency
    ceil(width / chunk) enabled cycles; no carry chain is longer than ``chunk`` bits."""
    n = -(-width // chunk)
    carry = 0
    outs = []
    for j in range(n):
        lo, hi = j * chunk, min(width, (j + 1) * chunk)
        aj = delay(m, en, a[lo:hi], j, f"{name}_a{j}")
        bj = delay(m, en, b[lo:hi], j, f"{name}_b{j}")
        s = Signal(hi - lo + 1, name=f"{name}_k{j}", reset_less=True)
        with m.If(en):
            m.d.sync += s.eq(aj + bj + carry)
        carry = s[-1]
        outs.append(delay(m, en, s[:hi - lo], n - 1 - j, f"{name}_o{j}"))
    out = Signal(signed(width), name=f"{name}_sum")
    m.d.comb += out.eq(Cat(*outs))
    return out
