"""Threshold-unit configs built from exact golden thresholds, and the beats that probe them."""

from __future__ import annotations

import random

from exactbn.golden.reference import reference
from exactbn.golden.thresholds import channel_thresholds
from exactbn.hw.threshold_config import ThresholdConfig


def channel_set(bits: int, signed: bool, seed: int, channels: int = 5):
    """(a, b, (lo, hi)) per channel: a positive, a negative, a constant, a saturated, random."""
    rng = random.Random(seed)
    base = [(0.37, 1.5), (-0.41, 0.75), (0.0, 1.25), (9.0, -2.0), (1e-4, 0.4)]
    out = []
    for c in range(channels):
        a, b = base[c] if c < len(base) else (rng.choice([-1, 1]) * rng.uniform(0.05, 2),
                                              rng.uniform(-4, 4))
        lo = rng.randint(-40, -5) if signed else rng.randint(0, 10)
        out.append((a, b, (lo, lo + rng.randint(10, 60))))
    return out


def make_config(chans, *, w_x: int, x_signed: bool, w_q: int, q_signed: bool,
                rounding: str = "half_even", **kw) -> ThresholdConfig:
    qmin, qmax = ((-(1 << (w_q - 1)), (1 << (w_q - 1)) - 1) if q_signed else (0, (1 << w_q) - 1))
    dirs, ts = [], []
    for a, b, (lo, hi) in chans:
        d, t = channel_thresholds(a, b, rounding, qmin, qmax, lo, hi)
        dirs.append(d)
        ts.append(t)
    return ThresholdConfig(w_x=w_x, x_signed=x_signed, w_q=w_q, q_signed=q_signed, qmin=qmin,
                           qmax=qmax, directions=dirs, thresholds=ts,
                           x_ranges=[r for _, _, r in chans], **kw)


def probe_points(cfg: ThresholdConfig, ch: int) -> list[int]:
    """Every threshold of the channel and its neighbours (as x), and the range ends."""
    lo, hi = cfg.channel_range(ch)
    d = cfg.directions[ch]
    xs = {lo, hi}
    for t in cfg.thresholds[ch]:
        for v in (t - 1, t, t + 1):
            xs.add(d * v)
    return sorted(x for x in xs if lo <= x <= hi)


def expect(chans, ch: int, x: int, cfg: ThresholdConfig, rounding: str = "half_even") -> int:
    a, b, _ = chans[ch]
    return int(reference(a, b, [x], rounding, cfg.qmin, cfg.qmax)[0])


def beats_for(cfg: ThresholdConfig, chans, seed: int = 0):
    """Beats covering every channel's probe points, and the expected q per lane."""
    rng = random.Random(seed)
    beats, want = [], []
    lanes = cfg.lanes
    if cfg.lane_mode == "pixels":
        for ch in range(cfg.channels):
            pts = probe_points(cfg, ch)
            for i in range(0, len(pts), lanes):
                xs = (pts[i:i + lanes] + [pts[0]] * lanes)[:lanes]
                beats.append((xs, ch, rng.randint(0, 1)))
                want.append([expect(chans, ch, x, cfg) for x in xs])
        return beats, want
    for g in range(cfg.groups):
        chs = [g * lanes + i for i in range(lanes)]
        pts = {c: probe_points(cfg, c) if c < cfg.channels else [0] for c in chs}
        n = max(len(p) for p in pts.values())
        for k in range(n):
            xs = [pts[c][k % len(pts[c])] for c in chs]
            beats.append((xs, g, rng.randint(0, 1)))
            want.append([expect(chans, c, x, cfg) if c < cfg.channels else cfg.qmin
                         for c, x in zip(chs, xs, strict=True)])
    return beats, want


# A 5-channel layer of 7-bit inputs (every input simulated): a positive and a negative
# slope, a constant channel, a saturated channel, a near-constant one, per-channel ranges.
KIT_LAYER = {"name": "thr", "input": {"bits": 7, "signed": True,
                                      "range": [[-60, 50], [-64, 63], [-20, 20], [0, 40],
                                                [-64, 63]]},
             "output": {"bits": 2, "signed": False, "rounding": "half_even"},
             "affine": {"a": [0.05, -0.07, 0.0, 3.0, 0.011], "b": [1.2, 1.5, 2.25, -40.0, 0.5]}}


def auto_layer(name: str, bits: int, channels: int = 4):
    """A solved layer over the full 10-bit input range whose outputs span every level of a
    ``bits``-bit output: cheaper with thresholds at 1 bit, with a multiplier at 8 (ECP5)."""
    from exactbn.golden.solver import solve_layer

    from exactbn.formats import parse_layers

    a = [(1 << bits) / 1024 * (1 + 0.1 * c) * (-1 if c % 3 == 1 else 1) for c in range(channels)]
    b = [(1 << bits) / 2 + 0.1 * c for c in range(channels)]
    spec = {"name": name, "input": {"bits": 10, "signed": True},
            "output": {"bits": bits, "signed": False, "rounding": "half_even"},
            "affine": {"a": a, "b": b}}
    (layer,) = parse_layers({"layers": [spec]})
    return solve_layer(layer)


def run_cli(argv) -> int:
    """``exactbn ARGV``'s exit status (argparse's SystemExit included)."""
    from exactbn.cli.main import main

    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code)
