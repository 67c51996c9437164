"""Exact mismatch counting between two monotone staircases, without enumerating inputs.

Both the reference and the integer model are monotone step functions of x on [lo, hi], so
each is a short list of segments (x_start, x_end, level). Merging the two lists gives the
exact number of inputs where they differ, and the largest difference, in O(levels).
"""

from __future__ import annotations

from .constraints import bound_lower
from .staircase import staircase

__all__ = ["reference_segments", "model_segments", "compare_segments"]

Segment = tuple[int, int, int]


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def _unmirror(sign: int, segs: list[Segment]) -> list[Segment]:
    if sign > 0:
        return segs
    return sorted((-e, -s, t) for s, e, t in segs)


def reference_segments(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int, hi: int
                       ) -> list[Segment]:
    st = staircase(a, b, rounding, qmin, qmax, lo, hi)
    segs = list(zip(st.first, st.last, st.levels, strict=True))
    return _unmirror(st.sign, segs)


def model_segments(M: int, B: int, N: int, hw_rounding: str, qmin: int, qmax: int,
                   lo: int, hi: int) -> list[Segment]:
    """Segments of clip(R_hw((M*x + B) / 2^N)) on [lo, hi]."""
    from .model import integer_model  # the one definition, for the segment ends

    def at(x: int) -> int:
        return int(integer_model(M, B, N, x, qmin, qmax, hw_rounding))

    if M == 0:
        return [(lo, hi, at(lo))]
    sign = 1 if M > 0 else -1
    m = M * sign
    mlo, mhi = (lo, hi) if sign > 0 else (-hi, -lo)

    def at_mirrored(xm: int) -> int:
        return at(xm * sign)

    t_lo, t_hi = at_mirrored(mlo), at_mirrored(mhi)
    segs: list[Segment] = []
    start, level = mlo, t_lo
    for t in range(t_lo + 1, t_hi + 1):
        f = max(_ceil_div(bound_lower(t, N, hw_rounding) - B, m), mlo)
        if f > start:
            segs.append((start, f - 1, level))
            start = f
        level = t
    segs.append((start, mhi, level))
    return _unmirror(sign, segs)


def compare_segments(ref: list[Segment], mod: list[Segment]) -> tuple[int, int]:
    """(number of x where the levels differ, largest |difference|) over the common range."""
    i = j = 0
    count = worst = 0
    while i < len(ref) and j < len(mod):
        s = max(ref[i][0], mod[j][0])
        e = min(ref[i][1], mod[j][1])
        if s <= e and ref[i][2] != mod[j][2]:
            count += e - s + 1
            worst = max(worst, abs(ref[i][2] - mod[j][2]))
        if ref[i][1] < mod[j][1]:
            i += 1
        else:
            j += 1
    return count, worst
