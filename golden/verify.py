"""Independent re-checks of solved parameters.

``verify_layer`` trusts nothing in the solved file but a, b, the input and output spec and
the integer parameters:

- against the layer file (when given) it compares the whole input and output spec and a, b,
  and names the first field that differs;
- per channel it counts the inputs where the integer model differs from the exact reference
  (golden/recheck.py, the one re-check every command runs) and compares that with the
  file's ``exact`` and ``mismatches``;
- it checks each certificate against the channel's own staircase, M and N: every point is a
  real lower/upper transition of its level, the slope interval's ends equal the interval
  recomputed with exact fractions, the certificate's points alone prove that interval, M/2^N
  lies in it, and (folded form) no shift below N fits in it;
- it re-solves each channel with the file's own settings (hw_rounding, shift, budget) for
  minimality, and fails a channel marked inexact when exact parameters exist.

Not re-derived: an inexact channel's certified lower bound on its mismatches
(``mismatches_lower_bound``, budget mode). The reader only refuses a bound above the
channel's mismatch count (which is recounted here); the layer's ``notes`` say so.

Layers of 64 channels or more in the folded form (no budget) are first cleared by
golden/fast_verify.py, the same checks in numba; a channel it cannot clear gets the checks
below, which word the problem. A pass there is a pass here.

``exhaustive_check`` compares the two on every input for ranges up to 2^24.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from exactbn.formats import Layer, SolvedLayer

from .constraints import slope_interval
from .model import integer_model
from .recheck import TooManyLevels, layer_exactness, reference_levels
from .reference import reference
from .solver import Budget, layer_affine, solve_channel
from .staircase import Staircase, staircase

__all__ = ["ChannelCheck", "LayerCheck", "transition_points", "spec_difference",
           "certificate_problems", "verify_layer", "exhaustive_check", "EXHAUSTIVE_LIMIT"]

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


@dataclass(slots=True)
class ChannelCheck:
    channel: int
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class LayerCheck:
    layer: str
    channels: list[ChannelCheck]
    problems: list[str] = field(default_factory=list)  # layer-wide (spec differs, ...)
    notes: list[str] = field(default_factory=list)  # what was NOT re-derived (not failures)

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.channels)

    def failures(self) -> list[ChannelCheck]:
        return [c for c in self.channels if not c.ok]


# ----------------------------------------------------------------------------- spec


def _first_diff(fld: str, mine, theirs) -> str | None:
    if isinstance(mine, list):
        if len(mine) != len(theirs):
            return f"{fld} has {len(mine)} entries in the solved file, {len(theirs)} in the layer"
        if mine == theirs:  # the usual case, in C (finite values: no NaN to compare)
            return None
        for c, (x, y) in enumerate(zip(mine, theirs, strict=True)):
            if x != y:
                return f"{fld} of channel {c} is {x!r} in the solved file, {y!r} in the layer file"
        return None
    if mine != theirs:
        return f"{fld} is {mine!r} in the solved file, {theirs!r} in the layer file"
    return None


def spec_difference(solved: SolvedLayer, layer: Layer) -> str | None:
    """The first field where the solved layer was not made from ``layer``: the channel count,
    the whole input spec (bits, signed, scale, zero point, range), the whole output spec
    (bits, signed, scale, zero point, rounding, clip), then a and b. None if all agree."""
    c = solved.channels
    if layer.channels != c:
        return f"the layer file has {layer.channels} channels, the solved file {c}"
    si, li, so, lo = solved.input, layer.input, solved.output, layer.output
    a, b = layer_affine(layer)
    if (si.to_json() == li.to_json() and so.to_json() == lo.to_json()  # all equal: decided
            and np.array_equal(np.asarray(solved.a, np.float64), np.asarray(a, np.float64))
            and np.array_equal(np.asarray(solved.b, np.float64), np.asarray(b, np.float64))):
        return None  # (equal raw specs are equal channel by channel; else the checks below)
    fields = [
        ("input.bits", si.bits, li.bits), ("input.signed", si.signed, li.signed),
        ("input.scale", si.scales(c), li.scales(c)),
        ("input.zero_point", si.zero_points(c), li.zero_points(c)),
        ("input.range", [list(r) for r in si.ranges(c)], [list(r) for r in li.ranges(c)]),
        ("output.bits", so.bits, lo.bits), ("output.signed", so.signed, lo.signed),
        ("output.scale", so.scale, lo.scale), ("output.zero_point", so.zero_point, lo.zero_point),
        ("output.rounding", so.rounding, lo.rounding), ("output.clip", so.clip, lo.clip),
        ("a", [float(v) for v in solved.a], [float(v) for v in a]),
        ("b", [float(v) for v in solved.b], [float(v) for v in b]),
    ]
    for fld, mine, theirs in fields:
        d = _first_diff(fld, mine, theirs)
        if d is not None:
            return d
    return None


# ----------------------------------------------------------------------------- certificates


def _frac(pair) -> Fraction | None:
    return None if pair is None else Fraction(pair[0], pair[1])


def _show(v: Fraction | None) -> str:
    return "unbounded" if v is None else str(v)


def _original(lo: Fraction | None, hi: Fraction | None, sign: int):
    """A slope interval of the mirrored x' = sign*x, in the original x."""
    if sign > 0:
        return lo, hi
    return (None if hi is None else -hi), (None if lo is None else -lo)


def certificate_problems(solved: SolvedLayer, c: int, st: Staircase) -> list[str]:
    """What is wrong with channel ``c``'s certificate, re-derived from its staircase, M, N."""
    cert = solved.certificate[c]
    if cert is None:
        return ["exact channel without a certificate"]
    problems: list[str] = []
    if cert.get("hw_rounding", solved.hw_rounding) != solved.hw_rounding:
        problems.append(f"certificate is for hw_rounding {cert['hw_rounding']!r}, the layer has "
                        f"{solved.hw_rounding!r}")
    qmin, qmax, sign = solved.qmin, solved.qmax, st.sign
    lows, ups = st.lower_points(qmin), st.upper_points(qmax)
    low_set, up_set = set(lows), set(ups)
    c_lows, c_ups = set(), set()
    for x, level, kind in cert["points"]:
        xm = x * sign
        if kind == "lower" and (xm, level) in low_set:
            c_lows.add((xm, level))
        elif kind == "upper" and (xm, level + 1) in up_set:
            c_ups.add((xm, level + 1))
        else:
            problems.append(f"certificate point {[x, level, kind]} is not a {kind} transition "
                            f"of level {level}")
    t_lo, t_hi, *_ = slope_interval(lows, ups)
    true_lo, true_hi = _original(t_lo, t_hi, sign)
    f_lo, f_hi = _frac(cert["alpha_lo"]), _frac(cert["alpha_hi"])
    if (f_lo, f_hi) != (true_lo, true_hi):
        problems.append(f"certificate slope interval ({_show(f_lo)}, {_show(f_hi)}) is not the "
                        f"recomputed ({_show(true_lo)}, {_show(true_hi)})")
    p_lo, p_hi, *_ = slope_interval(sorted(c_lows), sorted(c_ups))
    got_lo, got_hi = _original(p_lo, p_hi, sign)
    if (got_lo, got_hi) != (true_lo, true_hi):
        problems.append(f"the certificate's points prove only ({_show(got_lo)}, {_show(got_hi)}),"
                        f" not the slope interval ({_show(true_lo)}, {_show(true_hi)})")
    m, n = solved.M[c], solved.N[c]
    alpha = Fraction(m, 1 << n)
    strict = solved.hw_rounding == "floor"
    below = true_lo is not None and (alpha <= true_lo if strict else alpha < true_lo)
    above = true_hi is not None and (alpha >= true_hi if strict else alpha > true_hi)
    if len(st.levels) > 1 and (below or above):
        problems.append(f"M/2^N = {alpha} lies outside the slope interval ({_show(true_lo)}, "
                        f"{_show(true_hi)})")
    return problems


def _interval_admits_smaller_n(lo: Fraction | None, hi: Fraction | None, n: int) -> bool:
    """Folded form: whether a multiple of 2^-(n-1) lies strictly inside (lo, hi)."""
    if n == 0:
        return False
    if lo is None or hi is None:
        return True  # unbounded: N = 0 works
    s = 1 << (n - 1)
    m = (lo.numerator * s) // lo.denominator + 1
    return Fraction(m, s) < hi


# ----------------------------------------------------------------------------- channels


def _budget(solved: SolvedLayer) -> Budget | None:
    bd = solved.extra.get("budget")
    return Budget(bd.get("M"), bd.get("B"), bd.get("N")) if bd else None


def _settings(solved: SolvedLayer, budget: Budget | None) -> str:
    s = f"hw_rounding {solved.hw_rounding}, {solved.shift_mode} shift"
    if solved.shift_mode == "shared":
        s += f" N = {solved.N[0]}"
    if budget is not None:
        s += f", budget M={budget.w_m} B={budget.w_b} N={budget.n_max}"
    return s


def _check_channel(solved: SolvedLayer, c: int, count: int, budget: Budget | None
                   ) -> ChannelCheck:
    problems: list[str] = []
    a, b = solved.a[c], solved.b[c]
    lo, hi = solved.ranges()[c]
    out = solved.output
    M, B, N = solved.M[c], solved.B[c], solved.N[c]
    if count != solved.mismatches[c]:
        problems.append(f"{count} mismatching inputs, the file says {solved.mismatches[c]}")
    if solved.exact[c] != (count == 0):
        problems.append(f"marked exact={solved.exact[c]} but {count} inputs differ")
    shared = solved.shift_mode == "shared"
    fresh = solve_channel(a, b, out.rounding, out.qmin, out.qmax, lo, hi,
                          hw_rounding=solved.hw_rounding, n_fixed=N if shared else None,
                          budget=budget, approximate=False)
    if count == 0:
        st = staircase(a, b, out.rounding, out.qmin, out.qmax, lo, hi)
        problems += certificate_problems(solved, c, st)
        if not shared and fresh.exact:
            if (N, abs(M), abs(B)) > (fresh.N, abs(fresh.M), abs(fresh.B)):
                problems.append(
                    f"not minimal: (N, |M|, |B|) = ({N}, {abs(M)}, {abs(B)}), exact "
                    f"({fresh.N}, {abs(fresh.M)}, {abs(fresh.B)}) exists")
            cert = solved.certificate[c]
            if (solved.hw_rounding == "floor" and budget is None and cert is not None
                    and len(st.levels) > 1 and _interval_admits_smaller_n(
                        _frac(cert["alpha_lo"]), _frac(cert["alpha_hi"]), N)):
                problems.append(f"certificate interval admits N = {N - 1}")
    elif fresh.exact:
        problems.append(
            f"marked inexact ({count} inputs differ) but exact parameters exist with this "
            f"file's settings ({_settings(solved, budget)}): M = {fresh.M}, B = {fresh.B}, "
            f"N = {fresh.N}")
    return ChannelCheck(c, not problems, problems)


FAST_MIN_CHANNELS = 64  # layers this wide are cleared by golden/fast_verify.py first


def _fast_checks(solved: SolvedLayer):
    """(count, ok) from the numba checks when they decide every count, else None."""
    if solved.channels < FAST_MIN_CHANNELS:
        return None
    from .fast_verify import verify_arrays

    r = verify_arrays(solved)
    if r is None or (r[0] < 0).any():
        return None
    return r


def _notes(solved: SolvedLayer) -> list[str]:
    """What verify takes from the file without re-deriving it."""
    lower = solved.extra.get("mismatches_lower_bound")
    n = sum(1 for v, m in zip(lower or [], solved.mismatches, strict=False)
            if v is not None and m > 0)
    if not n:
        return []
    return [f"the certified lower bound on the mismatches of {n} inexact channel(s) "
            "(mismatches_lower_bound) is the file's, not re-derived (only checked to be at "
            "most the recounted mismatches)"]


def verify_layer(solved: SolvedLayer, layer: Layer | None = None) -> LayerCheck:
    """Re-check every channel of a solved layer (against the layer file when given)."""
    check = _verify_layer(solved, layer)
    check.notes = _notes(solved)
    return check


def _verify_layer(solved: SolvedLayer, layer: Layer | None = None) -> LayerCheck:
    if layer is not None:
        diff = spec_difference(solved, layer)
        if diff is not None:
            return LayerCheck(solved.name, [], [f"not made from this layer file: {diff}"])
    budget = _budget(solved)
    fast = _fast_checks(solved)
    if fast is not None:
        count, ok = fast
        return LayerCheck(solved.name, [
            ChannelCheck(c, True) if good else _check_channel(solved, c, cnt, budget)
            for c, (cnt, good) in enumerate(zip(count.tolist(), ok.tolist(), strict=True))])
    try:
        counts = layer_exactness(solved).mismatches
    except TooManyLevels as e:
        return LayerCheck(solved.name, [], [f"exactness cannot be re-checked: {e}"])
    return LayerCheck(solved.name, [_check_channel(solved, c, counts[c], budget)
                                    for c in range(solved.channels)])


def exhaustive_check(solved: SolvedLayer, channel: int, chunk: int = 1 << 20) -> int:
    """Mismatching inputs of one channel, counted on every x of its range (<= 2^24 inputs)."""
    lo, hi = solved.ranges()[channel]
    if hi - lo + 1 > EXHAUSTIVE_LIMIT:
        raise ValueError(f"range has {hi - lo + 1} inputs, more than 2^24")
    out = solved.output
    # The reference stays within the levels present on [lo, hi]: clipping there gives the
    # same values and costs those levels, not 2^bits of them (32-bit outputs).
    levels = reference_levels(solved.a[channel], solved.b[channel], out.rounding, out.qmin,
                              out.qmax, lo, hi)[2]
    t_min, t_max = int(levels.min()), int(levels.max())
    bad = 0
    for start in range(lo, hi + 1, chunk):
        xs = np.arange(start, min(start + chunk, hi + 1), dtype=np.int64)
        ref = reference(solved.a[channel], solved.b[channel], xs, out.rounding, t_min, t_max)
        got = integer_model(solved.M[channel], solved.B[channel], solved.N[channel], xs,
                            out.qmin, out.qmax, solved.hw_rounding)
        bad += int((ref != got).sum())
    return bad


def _fast_inputs(solved: SolvedLayer, scanned=None):
    """verify_arrays' arrays of a layer (golden/fast_verify.py), or None when the layer is
    not for the kernel (then verify_layer decides it alone). ``scanned``: the reader's bulk
    scan of this layer's certificate list (formats.load_solved(scans=...)), if it has one."""
    if (solved.channels < FAST_MIN_CHANNELS or solved.hw_rounding != "floor"
            or solved.extra.get("budget")):
        return None  # (before numba is imported: narrow files never load it)
    from .fast_verify import MAX_POINTS, _certificate_arrays, _int64_or_none, scan_certificates

    out = solved.output
    rng = solved.input.range
    if rng and not isinstance(rng[0], list):
        lo = _int64_or_none([rng[0]] * solved.channels)
        hi = _int64_or_none([rng[1]] * solved.channels)
    else:
        lo = _int64_or_none([r[0] for r in solved.ranges()])
        hi = _int64_or_none([r[1] for r in solved.ranges()])
    M, B, N = (_int64_or_none(list(v)) for v in (solved.M, solved.B, solved.N))
    if any(v is None for v in (lo, hi, M, B, N)) or max(abs(out.qmin), abs(out.qmax)) >= (1 << 31):
        return None
    if max(int(np.abs(lo).max()), int(np.abs(hi).max())) > (1 << 31) or (lo > hi).any():
        return None
    if scanned is None or scanned[0].shape[1] != MAX_POINTS:
        scanned = scan_certificates(solved.certificate, MAX_POINTS)  # bulk; else per entry
    pts, npts, fal = scanned if scanned is not None else _certificate_arrays(
        solved.certificate)
    return {"a": np.asarray(solved.a, np.float64), "b": np.asarray(solved.b, np.float64),
            "lo": lo, "hi": hi, "M": M, "B": B, "N": N, "pts": pts, "npts": npts, "fal": fal}


def _fast_checks_many(solved: list[SolvedLayer], scans: dict | None = None) -> list:
    """``_fast_checks`` of many layers, with one fresh solve and one check kernel call per
    output spec (golden/fast_verify.py's kernels, the same per-channel answers)."""
    res: list = [None] * len(solved)
    groups: dict = {}
    for k, sl in enumerate(solved):
        arrs = _fast_inputs(sl, None if scans is None else scans.get(sl.name))
        if arrs is not None:
            out = sl.output
            key = (out.rounding, out.qmin, out.qmax, sl.shift_mode == "shared")
            groups.setdefault(key, []).append((k, arrs))
    if groups:
        from .fast import ROUNDING_CODES, solve_fast
        from .fast_verify import _kernel
    for (rounding, qmin, qmax, shared), items in groups.items():
        cat = {n: np.concatenate([it[1][n] for it in items]) for n in items[0][1]}
        fresh = solve_fast(cat["a"], cat["b"], cat["lo"], cat["hi"], rounding, qmin, qmax,
                           n_fixed=cat["N"] if shared else None)
        c = cat["a"].shape[0]
        count = np.zeros(c, np.int64)
        ok = np.zeros(c, np.bool_)
        _kernel(cat["a"], cat["b"], cat["lo"], cat["hi"], ROUNDING_CODES[rounding],
                np.int64(qmin), np.int64(qmax), cat["M"], cat["B"], cat["N"], shared,
                cat["pts"], cat["npts"], cat["fal"], fresh["alpha"],
                fresh["status"].astype(np.int64), fresh["M"], fresh["B"], fresh["N"], 1 << 17,
                count, ok)
        start = 0
        for k, arrs in items:
            sl = solved[k]
            n = arrs["a"].shape[0]
            cnt, good = count[start:start + n], ok[start:start + n]
            start += n
            # the file's own flags against the count (verify.py words the problem)
            mism = np.array(sl.mismatches, dtype=object)
            exact = np.array(sl.exact, dtype=bool)
            decided = cnt >= 0
            good = good & decided & (mism == cnt).astype(bool) & (exact == (cnt == 0))
            if not (cnt < 0).any():
                res[k] = (cnt, good)
    return res


def verify_layers(solved: list[SolvedLayer], layers: list[Layer | None],
                  cert_scans: dict | None = None) -> list[LayerCheck]:
    """``verify_layer`` of many layers (the kernels run once for all the wide folded-form
    layers, golden/fast_verify.py); the same LayerCheck per layer. ``cert_scans``: the
    certificate scans ``formats.load_solved(path, scans=...)`` kept while reading these
    layers (only for layers unchanged since: the scan stands for the list's bytes)."""
    diffs = [None if lay is None else spec_difference(sl, lay)
             for sl, lay in zip(solved, layers, strict=True)]
    fast = _fast_checks_many([sl if d is None else _NOT_FAST for sl, d in
                              zip(solved, diffs, strict=True)], cert_scans)
    checks = []
    for sl, lay, diff, f in zip(solved, layers, diffs, fast, strict=True):
        if diff is not None:
            checks.append(LayerCheck(sl.name, [], [f"not made from this layer file: {diff}"]))
        elif f is None:
            checks.append(verify_layer(sl, lay))
        else:
            budget = _budget(sl)
            count, ok = f
            checks.append(LayerCheck(sl.name, [
                ChannelCheck(c, True) if good else _check_channel(sl, c, cnt, budget)
                for c, (cnt, good) in enumerate(zip(count.tolist(), ok.tolist(), strict=True))]))
        checks[-1].notes = _notes(sl)
    return checks


class _NotFast:
    """A stand-in the batch skips (a layer whose spec differs is not checked further)."""

    name = None
    channels = 0
    hw_rounding = None
    extra: dict = {}


_NOT_FAST = _NotFast()
