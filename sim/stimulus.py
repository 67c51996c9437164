"""Stimulus for the benches: which inputs each channel gets, and how they are packed in beats.

Per channel (``channel_inputs``): every input when W_X is small; otherwise every level
transition point of the exact staircase (first/last x of every level and their neighbours),
the integer model's saturation boundaries over the whole W_X range, exact ties of the
hardware rounding stage (positive and negative sums), the extremes, and random inputs.
Pure NumPy and golden; no simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from exactbn.golden import integer_model

from exactbn.formats import SolvedLayer

from .spec import UnitPorts

__all__ = [
    "Frame",
    "transition_points",
    "saturation_points",
    "tie_points",
    "channel_inputs",
    "pack_beats",
    "concat_frames",
]


@dataclass
class Frame:
    """Beats of one stream: ``x[beat, lane]`` inputs, ``tuser[beat]``, ``tlast[beat]``."""

    x: np.ndarray
    tuser: np.ndarray
    tlast: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, index) -> Frame:
        return Frame(self.x[index], self.tuser[index], self.tlast[index])


def concat_frames(frames: list[Frame]) -> Frame:
    return Frame(
        np.concatenate([f.x for f in frames]),
        np.concatenate([f.tuser for f in frames]),
        np.concatenate([f.tlast for f in frames]),
    )


def transition_points(layer: SolvedLayer, channel: int) -> list[int]:
    """Every first/last x of every level of the exact staircase and their neighbours."""
    from exactbn.golden.verify import transition_points as golden_transition_points

    return [int(v) for v in golden_transition_points(layer, channel)]


def _first_true(pred, lo: int, hi: int) -> int | None:
    """Smallest x in [lo, hi] with pred(x) for a monotone (False..True) predicate."""
    if not pred(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def saturation_points(m: int, b: int, n: int, qmin: int, qmax: int, hw_rounding: str,
                      x_min: int, x_max: int) -> list[int]:
    """Where the integer model leaves qmin and reaches qmax over [x_min, x_max], +-1."""
    if m == 0:
        return []
    sign = 1 if m > 0 else -1

    def q(x: int) -> int:
        return int(integer_model(m, b, n, x, qmin, qmax, hw_rounding))

    # q(sign * t) is non-decreasing in t over t in [t_lo, t_hi].
    t_lo, t_hi = (x_min, x_max) if sign > 0 else (-x_max, -x_min)
    out = []
    for pred in (lambda t: q(sign * t) > qmin, lambda t: q(sign * t) >= qmax):
        t = _first_true(pred, t_lo, t_hi)
        if t is not None:
            out += [sign * (t - 1), sign * t, sign * (t + 1)]
    return sorted({x for x in out if x_min <= x <= x_max})


def tie_points(m: int, b: int, n: int, x_min: int, x_max: int, rng: np.random.Generator,
               count: int = 8) -> list[int]:
    """Inputs x where ``(m*x + b) / 2^n`` is exactly halfway between two integers.

    Spread over the range (both ends, around 0 and random), so that ties with negative and
    positive sums are both hit where they exist.
    """
    if n < 1 or m == 0:
        return []
    k = (m & -m).bit_length() - 1  # trailing zeros of m
    mod = 1 << n
    r = ((1 << (n - 1)) - b) % mod
    if k >= n:
        return [x_min, x_max, min(max(0, x_min), x_max)] if r == 0 else []
    if r % (1 << k):
        return []
    step = 1 << (n - k)
    x0 = ((r >> k) * pow((m >> k) % step, -1, step)) % step
    anchors = [x_min, x_max, 0, -1, 1] + [int(v) for v in rng.integers(x_min, x_max + 1, count)]
    out = set()
    for a in anchors:
        j = (a - x0) // step
        for jj in (j - 1, j, j + 1):
            x = x0 + jj * step
            if x_min <= x <= x_max:
                out.add(x)
    return sorted(out)


def channel_inputs(layer: SolvedLayer, channel: int, unit: UnitPorts, params: dict,
                   rng: np.random.Generator, n_random: int, exhaustive_max_bits: int
                   ) -> np.ndarray:
    """The inputs one channel gets (int64, unique, unordered), for the parameters ``params``.

    ``params`` holds this channel's integer ``M``, ``B``, ``N`` (the store content the unit
    runs with); the exact-staircase points come from the solved layer.
    """
    x_min, x_max = unit.x_min, unit.x_max
    if unit.w_x <= exhaustive_max_bits:
        return np.arange(x_min, x_max + 1, dtype=np.int64)
    m, b, n = params["M"], params["B"], params["N"]
    lo, hi = layer.ranges()[channel]
    pts: set[int] = set(transition_points(layer, channel))
    pts.update(saturation_points(m, b, n, unit.qmin, unit.qmax, unit.hw_rounding, x_min, x_max))
    pts.update(tie_points(m, b, n, x_min, x_max, rng))
    pts.update(v for v in (x_min, x_min + 1, x_max - 1, x_max, lo, hi, -1, 0, 1)
               if x_min <= v <= x_max)
    rand_full = rng.integers(x_min, x_max + 1, n_random // 2, dtype=np.int64)
    rand_in = rng.integers(lo, hi + 1, n_random - n_random // 2, dtype=np.int64)
    return np.unique(np.concatenate([np.fromiter(pts, np.int64, len(pts)), rand_full, rand_in]))


def pack_beats(per_channel: list[np.ndarray], unit: UnitPorts, w_user: int,
               rng: np.random.Generator, pad_beats: int = 4) -> Frame:
    """Pack per-channel inputs into beats, shuffled, with random ``tlast`` (last beat set).

    Channels mode: beat ``tuser = g`` carries channel ``g*L + i`` in lane i; pixels mode: all
    lanes carry channel ``tuser``. Lanes with fewer inputs than their beat count reuse their
    own inputs; padding lanes, groups or channels beyond C (as far as the tuser width reaches)
    get random inputs: the unit must treat them as M = B = N = 0.
    """
    lanes, C = unit.lanes, len(per_channel)
    x_min, x_max = unit.x_min, unit.x_max
    xs, users = [], []

    def fill(vals: np.ndarray, n: int) -> np.ndarray:
        if len(vals) >= n:
            return vals[:n]
        return np.concatenate([vals, rng.choice(vals, n - len(vals))])

    def rand(n: int) -> np.ndarray:
        return rng.integers(x_min, x_max + 1, n, dtype=np.int64)

    max_user = (1 << w_user) - 1
    if unit.lane_mode == "channels":
        groups = -(-C // lanes)
        for g in range(groups):
            chans = [g * lanes + i for i in range(lanes)]
            n = max(len(per_channel[c]) for c in chans if c < C)
            cols = [fill(rng.permutation(per_channel[c]), n) if c < C else rand(n)
                    for c in chans]
            xs.append(np.stack(cols, axis=1))
            users.append(np.full(n, g, dtype=np.int64))
        pad_users = range(groups, max_user + 1)
    else:
        for c in range(C):
            vals = rng.permutation(per_channel[c])
            n = -(-len(vals) // lanes)
            xs.append(fill(vals, n * lanes).reshape(n, lanes))
            users.append(np.full(n, c, dtype=np.int64))
        pad_users = range(C, max_user + 1)
    pad = [u for u in (list(pad_users)[:2] + list(pad_users)[-2:])]
    for u in sorted(set(pad)):
        xs.append(rand(pad_beats * lanes).reshape(pad_beats, lanes))
        users.append(np.full(pad_beats, u, dtype=np.int64))
    x = np.concatenate(xs)
    tuser = np.concatenate(users)
    order = rng.permutation(len(x))
    tlast = rng.random(len(x)) < 1 / 16
    tlast[-1] = True
    return Frame(x[order], tuser[order], tlast)
