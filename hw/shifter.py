"""Narrow arithmetic right shifter with the rounding and saturation side bits.

Computes, for ``t = s >> N`` (floor) with ``N = n_min + d``:
``t`` in ``w_t`` bits (what saturation needs), ``ov`` (t does not fit ``w_t`` bits),
``neg`` (s < 0), ``half`` (bit N-1 of s, the top shifted-out bit) and ``sticky`` (OR of the
bits below it). Only shifts n_min..n_max exist: the constant part is wiring, the variable
part ``d`` a log shifter of ``bit_length(n_max - n_min)`` levels, largest shift first, that
drops every top bit it will never need (folding it into ``ov``). A constant shift (shared
mode) has no levels. ``stages`` registers are spread over the levels (the last one after
the final level).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Shifter"]


def _uniform(v):
    """All bits of ``v`` equal (v is 0 or all ones)."""
    return ~v.any() | v.all()


class Shifter(wiring.Component):
    """See module docstring; ``d`` must stay within ``0..n_max - n_min``."""

    def __init__(self, w_s: int, n_min: int, n_max: int, w_t: int, stages: int):
        if not 0 <= n_min <= n_max:
            raise ValueError(f"need 0 <= n_min <= n_max, got {n_min}, {n_max}")
        self.w_s, self.n_min, self.n_max, self.w_t = w_s, n_min, n_max, w_t
        self.levels = (n_max - n_min).bit_length()
        self.stages = min(stages, self.levels)
        super().__init__({
            "en": In(1),
            "s": In(signed(w_s)),
            "d": In(unsigned(max(self.levels, 1))),
            "t": Out(signed(w_t)),
            "ov": Out(1),
            "neg": Out(1),
            "half": Out(1),
            "sticky": Out(1),
        })

    def _keep(self, rest: int) -> int:
        """Bits of D (guard + t) to keep while shifts up to ``rest`` may still come."""
        return 1 + self.w_t + min(rest, self.n_max - self.n_min)

    def elaborate(self, platform):
        m = Module()
        n0 = self.n_min
        s = self.s
        # Sign-extend so that bits up to n0 exist.
        ext = max(self.w_s, n0 + 1) - self.w_s
        if ext:
            s = Cat(s, s[-1].replicate(ext)).as_signed()
        guard = s[n0 - 1] if n0 >= 1 else 0
        sticky = s[:n0 - 1].any() if n0 >= 2 else 0
        D = Cat(guard, s[n0:]).as_signed()  # bit 0 = guard (next bit to shift out)
        ov = 0
        neg = self.s[-1]
        d = self.d

        def trim(D, ov, keep):
            if len(D) > keep:
                ov = ov | ~_uniform(D[keep - 1:])
                D = D[:keep].as_signed()
            return D, ov

        D, ov = trim(D, ov, self._keep(self.n_max - self.n_min))
        # Registers go after levels evenly spread; the last stage after the final level.
        reg_after = {((k + 1) * self.levels) // self.stages - 1 for k in range(self.stages)}
        # A trim's overflow test is taken from the stage's input (``base``, a register when
        # a stage precedes) at each combination of the stage's shift bits so far, then
        # picked by those bits: not through the level muxes. Equal to testing the trimmed,
        # shifted value: a trim that drops bits unequal to the sign sets ov, and one that
        # does not leaves the value (and so every later test) unchanged.
        base, picks = D, []  # picks: (shift bit, amount) of the stage's levels so far

        def lost_sign(keep):
            """~uniform(bits keep-1.. of base shifted by the picked amounts)."""
            def at(i, off):
                if i == len(picks):
                    lo = keep - 1 + off
                    return 0 if lo >= len(base) - 1 else ~_uniform(base[lo:])
                bit, sh = picks[i]
                return Mux(bit, at(i + 1, off + sh), at(i + 1, off))
            return at(0, 0)

        # Largest shift first: it drops the most bits early, so later levels are narrower.
        for i, k in enumerate(reversed(range(self.levels))):
            sh = 1 << k
            if len(D) > sh:
                shifted = D[sh:].as_signed()
            else:
                shifted = D[-1:].as_signed()
            lost = D[:min(sh, len(D))].any()
            D_new = Signal(signed(len(D)), name=f"D{k}")
            m.d.comb += D_new.eq(Mux(d[k], shifted, D))
            sticky = sticky | (d[k] & lost)
            picks.append((d[k], sh))
            keep = self._keep((1 << k) - 1)
            if len(D_new) > keep:
                ov = ov | lost_sign(keep)
                D = D_new[:keep].as_signed()
            else:
                D = D_new
            if i in reg_after:
                D_r = Signal(signed(len(D)), name=f"D{k}_r", reset_less=True)
                st_r, ov_r, neg_r = (Signal(name=f"{n}{k}_r", reset_less=True)
                                      for n in ("sticky", "ov", "neg"))
                d_r = Signal(len(d), name=f"d{k}_r", reset_less=True)
                with m.If(self.en):
                    m.d.sync += [D_r.eq(D), st_r.eq(sticky), ov_r.eq(ov), neg_r.eq(neg),
                                 d_r.eq(d)]
                D, sticky, ov, neg, d = D_r, st_r, ov_r, neg_r, d_r
                base, picks = D, []
        m.d.comb += [
            self.half.eq(D[0]),
            self.t.eq(D[1:].as_signed() if len(D) > 1 else D[0:1].as_signed()),
            self.sticky.eq(sticky),
            self.ov.eq(ov),
            self.neg.eq(neg),
        ]
        return m
