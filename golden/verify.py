"""Independent re-checks of solved parameters (DESIGN.md section 6).

``verify_layer`` does not trust the certificate: it recomputes every level transition from
a and b, checks the integer model at each constraint point (which, with the model monotone
in the same direction, covers every x in the range), re-derives minimality of N (and of |M|,
|B|) from the exact constraints, checks the certificate's points and interval against them,
and recounts the mismatches of inexact channels exactly. ``exhaustive_check`` compares the
two on every input for ranges up to 2^24.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from exactbn.formats import Layer, SolvedLayer

from .model import integer_model
from .reference import reference
from .segments import compare_segments, model_segments, reference_segments
from .solver import Budget, layer_affine, solve_channel
from .staircase import staircase

__all__ = ["ChannelCheck", "LayerCheck", "transition_points", "verify_layer",
           "exhaustive_check", "EXHAUSTIVE_LIMIT"]

EXHAUSTIVE_LIMIT = 1 << 24


def transition_points(solved: SolvedLayer, channel: int, neighbours: int = 1) -> list[int]:
    """Every first and last x of every output level of a channel, with neighbours, in range.

    This is what tests mean by "every transition point" (not only the binding ones).
    """
    lo, hi = solved.ranges()[channel]
    st = staircase(solved.a[channel], solved.b[channel], solved.output.rounding,
                   solved.qmin, solved.qmax, lo, hi)
    pts: set[int] = {lo, hi}
    for f, e in zip(st.first, st.last, strict=True):
        for x in (f * st.sign, e * st.sign):
            for d in range(-neighbours, neighbours + 1):
                pts.add(x + d)
    return sorted(p for p in pts if lo <= p <= hi)


@dataclass
class ChannelCheck:
    channel: int
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class LayerCheck:
    layer: str
    channels: list[ChannelCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.channels)

    def failures(self) -> list[ChannelCheck]:
        return [c for c in self.channels if not c.ok]


def _frac(pair) -> Fraction | None:
    return None if pair is None else Fraction(pair[0], pair[1])


def _check_certificate(cert, st, sign, problems: list[str]) -> None:
    if cert is None:
        problems.append("exact channel without a certificate")
        return
    firsts = {f * st.sign: t for f, t in zip(st.first, st.levels, strict=True)}
    lasts = {e * st.sign: t for e, t in zip(st.last, st.levels, strict=True)}
    for x, level, kind in cert.get("points", []):
        table = firsts if kind == "lower" else lasts
        if table.get(x) != level:
            problems.append(f"certificate point {[x, level, kind]} is not a {kind} transition")


def _check_channel(layer_a, layer_b, solved: SolvedLayer, c: int, fresh) -> ChannelCheck:
    problems: list[str] = []
    a, b = solved.a[c], solved.b[c]
    if layer_a is not None and (float(layer_a[c]) != a or float(layer_b[c]) != b):
        problems.append(f"a, b = {a!r}, {b!r} differ from the layer file's "
                        f"{float(layer_a[c])!r}, {float(layer_b[c])!r}")
        return ChannelCheck(c, False, problems)
    lo, hi = solved.ranges()[c]
    out = solved.output
    M, B, N = solved.M[c], solved.B[c], solved.N[c]
    hw = solved.hw_rounding
    count, _ = compare_segments(
        reference_segments(a, b, out.rounding, out.qmin, out.qmax, lo, hi),
        model_segments(M, B, N, hw, out.qmin, out.qmax, lo, hi),
    )
    if count != solved.mismatches[c]:
        problems.append(f"{count} mismatching inputs, the file says {solved.mismatches[c]}")
    if solved.exact[c] != (count == 0):
        problems.append(f"marked exact={solved.exact[c]} but {count} inputs differ")
    if solved.exact[c] and count == 0:
        st = staircase(a, b, out.rounding, out.qmin, out.qmax, lo, hi)
        _check_certificate(solved.certificate[c], st, st.sign, problems)
        # Minimality, re-derived from the exact constraints (N, then |M|, then |B|).
        if solved.shift_mode == "per-channel" and fresh.get(c) is not None:
            ref_sol = fresh[c]
            if ref_sol.exact and (N, abs(M), abs(B)) > (ref_sol.N, abs(ref_sol.M), abs(ref_sol.B)):
                problems.append(
                    f"not minimal: (N, |M|, |B|) = ({N}, {abs(M)}, {abs(B)}), exact "
                    f"({ref_sol.N}, {abs(ref_sol.M)}, {abs(ref_sol.B)}) exists")
            if ref_sol.N < N and ref_sol.exact:
                pass  # already reported above
            cert = solved.certificate[c] or {}
            if hw == "floor" and "alpha_lo" in cert:
                lo_a, hi_a = _frac(cert.get("alpha_lo")), _frac(cert.get("alpha_hi"))
                if lo_a is not None and hi_a is not None and N > 0:
                    s = 1 << (N - 1)
                    # minimality of N from the interval: no multiple of 2^-(N-1) inside it
                    # (interval in the original x: for a < 0 both ends are negative)
                    m_in = (lo_a.numerator * s) // lo_a.denominator + 1
                    if Fraction(m_in, s) < hi_a:
                        problems.append(f"certificate interval admits N = {N - 1}")
    return ChannelCheck(c, not problems, problems)


def verify_layer(solved: SolvedLayer, layer: Layer | None = None) -> LayerCheck:
    """Re-check every channel of a solved layer (against the layer file when given)."""
    layer_a = layer_b = None
    if layer is not None:
        layer_a, layer_b = layer_affine(layer)
        if len(layer_a) != solved.channels:
            return LayerCheck(solved.name, [ChannelCheck(0, False, [
                f"layer file has {len(layer_a)} channels, solved file {solved.channels}"])])
    fresh = {}
    out = solved.output
    budget = None
    if "budget" in solved.extra and solved.extra["budget"]:
        bd = solved.extra["budget"]
        budget = Budget(bd.get("M"), bd.get("B"), bd.get("N"))
    for c in range(solved.channels):
        lo, hi = solved.ranges()[c]
        fresh[c] = solve_channel(solved.a[c], solved.b[c], out.rounding, out.qmin, out.qmax,
                                 lo, hi, hw_rounding=solved.hw_rounding, budget=budget,
                                 approximate=False)
    return LayerCheck(solved.name, [_check_channel(layer_a, layer_b, solved, c, fresh)
                                    for c in range(solved.channels)])


def exhaustive_check(solved: SolvedLayer, channel: int, chunk: int = 1 << 20) -> int:
    """Mismatching inputs of one channel, counted on every x of its range (<= 2^24 inputs)."""
    lo, hi = solved.ranges()[channel]
    if hi - lo + 1 > EXHAUSTIVE_LIMIT:
        raise ValueError(f"range has {hi - lo + 1} inputs, more than 2^24")
    out = solved.output
    bad = 0
    for start in range(lo, hi + 1, chunk):
        xs = np.arange(start, min(start + chunk, hi + 1), dtype=np.int64)
        ref = reference(solved.a[channel], solved.b[channel], xs, out.rounding, out.qmin,
                        out.qmax)
        got = integer_model(solved.M[channel], solved.B[channel], solved.N[channel], xs,
                            out.qmin, out.qmax, solved.hw_rounding)
        bad += int((ref != got).sum())
    return bad
