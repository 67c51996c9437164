"""The harness's Verilog integer model equals golden's integer_model (the one definition).

Simulated under Icarus on extremes, exact ties (both signs) and random inputs, for every
hw_rounding, with and without the unit's split product, signed and unsigned outputs.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from exactbn.golden import integer_model
from exactbn.sim.formal.spec import SpecShape

sys.path.insert(0, str(Path(__file__).parent))
from formal_specsim import simulate_spec  # noqa: E402

ROUNDINGS = ("floor", "half_up", "half_even", "half_away")


def _vectors(sh: SpecShape, seed: int) -> list[tuple[int, int, int, int]]:
    rng = random.Random(seed)
    xlo, xhi = -(1 << (sh.w_xs - 1)), (1 << (sh.w_xs - 1)) - 1
    mlo, mhi = -(1 << (sh.w_m - 1)), (1 << (sh.w_m - 1)) - 1
    blo, bhi = -(1 << (sh.w_b - 1)), (1 << (sh.w_b - 1)) - 1
    nmax = (1 << sh.w_n) - 1
    vecs = []
    for x in (xlo, xhi, 0, -1, 1):
        for m in (mlo, mhi, 0, -1, 1):
            for b in (blo, bhi, 0):
                for n in (0, 1, nmax // 2, nmax):
                    vecs.append((x, m, b, n))
    for _ in range(300):  # exact ties: m*x + b = (2k + 1) * 2^(n-1), both signs
        n = rng.randint(1, min(nmax, sh.w_b - 2))
        x, m = rng.randint(xlo, xhi), rng.randint(mlo, mhi)
        k = rng.randint(-4, 4) + ((m * x) >> n)
        b = (2 * k + 1) * (1 << (n - 1)) - m * x
        if blo <= b <= bhi:
            vecs.append((x, m, b, n))
    for _ in range(300):
        vecs.append((rng.randint(xlo, xhi), rng.randint(mlo, mhi), rng.randint(blo, bhi),
                     rng.randint(0, nmax)))
    return vecs


SHAPES = [
    # (w_xs, w_m, w_b, w_n, w_q, qmin, qmax, split, dsp_width)
    (9, 8, 12, 4, 4, -8, 7, False, 18),
    (17, 20, 24, 5, 8, -128, 127, True, 18),
    (17, 12, 20, 5, 4, 0, 15, True, 8),
    (6, 5, 40, 6, 8, -100, 90, False, 18),
]


@pytest.mark.formal
@pytest.mark.parametrize("hw_rounding", ROUNDINGS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"x{s[0]}m{s[1]}b{s[2]}split{s[7]}")
def test_spec_module_equals_integer_model(shape, hw_rounding):
    w_xs, w_m, w_b, w_n, w_q, qmin, qmax, split, dsp = shape
    sh = SpecShape(w_xs, w_m, w_b, w_n, w_q, qmin, qmax, hw_rounding, split, dsp)
    vecs = _vectors(sh, seed=hash((shape, hw_rounding)) & 0xFFFF)
    got = simulate_spec(sh, vecs)
    x, m, b, n = (np.array([v[i] for v in vecs], dtype=object) for i in range(4))
    want = integer_model(m, b, n, x, qmin, qmax, hw_rounding)
    mask = (1 << w_q) - 1
    bad = [(v, g, int(w)) for v, g, w in zip(vecs, got, want, strict=True) if g != int(w) & mask]
    assert not bad, f"{len(bad)} of {len(vecs)} differ, first (x, m, b, n), got, want: {bad[0]}"


@pytest.mark.formal
def test_spec_comparison_detects_a_wrong_tie_rule():
    """The check above can fail: half_up's rendering differs from half_even's golden on ties."""
    sh = SpecShape(9, 8, 12, 4, 4, -8, 7, "half_up", False, 18)
    vecs = [(x, 1, 0, 1) for x in range(-7, 8)]  # x / 2: a tie at every odd x
    got = simulate_spec(sh, vecs)
    x = np.array([v[0] for v in vecs], dtype=object)
    want = integer_model(1, 0, 1, x, -8, 7, "half_even")
    assert any(g != int(w) & 15 for g, w in zip(got, want, strict=True))
