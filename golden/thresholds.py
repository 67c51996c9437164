"""Exact integer thresholds for the threshold unit, derived from the certified staircase.

A channel's output is ``qmin + #{k : T_k <= d*x}`` (``d`` = +1 or -1, the direction; ``T``
has ``qmax - qmin`` entries, non-decreasing), the arithmetic of ``threshold_model`` in
golden/baselines.py. ``T_k`` is the first ``x' = d*x`` of the channel's range at which the
output reaches ``qmin + 1 + k``: levels below the range's lowest level get ``lo'`` (always
met), levels above its highest get ``hi' + 1`` (never met), so every threshold lies in
``[lo', hi' + 1]`` and needs no more bits than the input range.

:func:`threshold_problems` checks any threshold list against the staircase with no trust
in how it was made: a count of ``x' >= T_k`` is monotone in x, so it equals the
reference on the whole range iff it does at both ends of every output level's interval.
"""

from __future__ import annotations

from exactbn.formats import SolvedLayer

from .staircase import staircase

__all__ = ["channel_thresholds", "count_output", "threshold_problems", "layer_thresholds",
           "layer_threshold_problems"]


def channel_thresholds(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int,
                       hi: int) -> tuple[int, list[int]]:
    """``(direction, T)`` of one channel on ``[lo, hi]`` (integers only, from the staircase)."""
    st = staircase(a, b, rounding, qmin, qmax, lo, hi)
    out = []
    for t in range(qmin + 1, qmax + 1):
        if t <= st.levels[0]:
            out.append(st.lo)
        elif t > st.levels[-1]:
            out.append(st.hi + 1)
        else:  # the first present level >= t starts where the output first reaches t
            out.append(next(f for lv, f in zip(st.levels, st.first, strict=True) if lv >= t))
    return st.sign, out


def count_output(direction: int, thresholds: list[int], qmin: int, x: int) -> int:
    """``qmin + #{k : T_k <= direction*x}`` for one input (the unit's arithmetic)."""
    xs = direction * x
    return qmin + sum(1 for t in thresholds if t <= xs)


def threshold_problems(a: float, b: float, rounding: str, qmin: int, qmax: int, lo: int,
                       hi: int, direction: int, thresholds: list[int]) -> str | None:
    """None if the thresholds give the exact output for every x in [lo, hi], else why not."""
    if direction not in (1, -1):
        return f"direction {direction!r} is not 1 or -1"
    if len(thresholds) != qmax - qmin:
        return f"{len(thresholds)} thresholds, expected qmax - qmin = {qmax - qmin}"
    st = staircase(a, b, rounding, qmin, qmax, lo, hi)
    for level, f, e in zip(st.levels, st.first, st.last, strict=True):
        for xm in (f, e):
            x = st.sign * xm
            got = count_output(direction, thresholds, qmin, x)
            if got != level:
                return f"x = {x}: thresholds give {got}, exact output is {level}"
    return None


def layer_thresholds(layer: SolvedLayer) -> tuple[list[int], list[list[int]]]:
    """Directions and thresholds of every channel of a solved layer, from a, b and its spec."""
    rounding, qmin, qmax = layer.output.rounding, layer.qmin, layer.qmax
    dirs, ts = [], []
    for a, b, (lo, hi) in zip(layer.a, layer.b, layer.ranges(), strict=True):
        d, t = channel_thresholds(a, b, rounding, qmin, qmax, lo, hi)
        dirs.append(d)
        ts.append(t)
    return dirs, ts


def layer_threshold_problems(layer: SolvedLayer, directions: list[int],
                             thresholds: list[list[int]]) -> list[tuple[int, str]]:
    """``(channel, why)`` for every channel whose thresholds are not exact on its range."""
    if len(directions) != layer.channels or len(thresholds) != layer.channels:
        return [(-1, f"{len(thresholds)} threshold lists for {layer.channels} channels")]
    out = []
    for c, ((lo, hi), d, t) in enumerate(zip(layer.ranges(), directions, thresholds,
                                             strict=True)):
        why = threshold_problems(layer.a[c], layer.b[c], layer.output.rounding, layer.qmin,
                                 layer.qmax, lo, hi, d, t)
        if why:
            out.append((c, why))
    return out
