"""The scoreboard: every output beat against golden's integer model (and the exact reference).

Pure NumPy, no simulator: the cocotb benches collect input and output beats and hand them
here whole. The integer model is golden's one definition; for exact channels of the solved
layer, inputs inside the certified range are also checked against the exact reference
(``golden.reference``), which catches a solver bug that the unit faithfully reproduces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from exactbn.golden import integer_model, reference

from exactbn.formats import SolvedLayer

from .spec import UnitPorts
from .stimulus import Frame

__all__ = ["Params", "Mismatch", "CheckResult", "lane_channels", "expected_outputs",
           "unpack_lanes", "check_stream"]


@dataclass
class Params:
    """Store content: integer M, B, N per channel (what the unit computes with)."""

    M: list[int]
    B: list[int]
    N: list[int]

    @classmethod
    def of(cls, layer: SolvedLayer) -> Params:
        return cls(list(layer.M), list(layer.B), list(layer.N))

    def to_json(self) -> dict:
        return {"M": self.M, "B": self.B, "N": self.N}


@dataclass
class Mismatch:
    """The first wrong thing seen: which beat and lane, and expected vs got."""

    what: str  # "data" | "reference" | "tuser" | "tlast" | "range flag" | "count"
    beat: int
    lane: int | None = None
    channel: int | None = None
    x: int | None = None
    expected: int | None = None
    got: int | None = None

    def __str__(self) -> str:
        if self.what == "count":
            return f"beat count: expected {self.expected} output beats, got {self.got}"
        if self.what in ("tuser", "tlast", "range flag"):
            return f"beat {self.beat}: {self.what} expected {self.expected}, got {self.got}"
        src = "exact reference" if self.what == "reference" else "integer model"
        return (f"beat {self.beat} lane {self.lane}: channel {self.channel}, x={self.x}, "
                f"expected {self.expected} ({src}), got {self.got}")


@dataclass
class CheckResult:
    beats: int = 0
    lane_results: int = 0  # lane outputs compared with the integer model
    reference_checked: int = 0  # of those, also compared with the exact reference
    mismatches: int = 0
    first: Mismatch | None = None

    def add(self, other: CheckResult) -> None:
        self.beats += other.beats
        self.lane_results += other.lane_results
        self.reference_checked += other.reference_checked
        self.mismatches += other.mismatches
        if self.first is None:
            self.first = other.first

    def to_json(self) -> dict:
        d = asdict(self)
        d["first"] = None if self.first is None else {**asdict(self.first),
                                                      "text": str(self.first)}
        return d


def lane_channels(tuser: np.ndarray, lanes: int, lane_mode: str) -> np.ndarray:
    """Channel index of every lane of every beat, shape (beats, lanes)."""
    tuser = np.asarray(tuser, dtype=np.int64)
    if lane_mode == "pixels":
        return np.repeat(tuser[:, None], lanes, axis=1)
    return tuser[:, None] * lanes + np.arange(lanes, dtype=np.int64)[None, :]


def expected_outputs(frame: Frame, params: Params, unit: UnitPorts) -> np.ndarray:
    """Golden's integer model for every lane; channels beyond C use M = B = N = 0.
    ``params`` with an ``expected`` method (the threshold bench's) computes its own."""
    if hasattr(params, "expected"):
        return params.expected(frame, unit)
    ch = lane_channels(frame.tuser, unit.lanes, unit.lane_mode)
    C = len(params.M)
    inside = ch < C
    idx = np.where(inside, ch, 0)
    dtype = object if max(map(abs, params.M + params.B)) >= (1 << 62) else np.int64
    M = np.where(inside, np.asarray(params.M, dtype=dtype)[idx], 0)
    B = np.where(inside, np.asarray(params.B, dtype=dtype)[idx], 0)
    N = np.where(inside, np.asarray(params.N, dtype=np.int64)[idx], 0)
    q = integer_model(M, B, N, frame.x, unit.qmin, unit.qmax, unit.hw_rounding)
    return layer_clip(q, frame.tuser, unit)


def layer_clip(q: np.ndarray, tuser, unit: UnitPorts) -> np.ndarray:
    """Shared unit: each beat clipped again to its layer's row (hw/layer_table.py; the row
    lies inside the union clip, so this is the layer's own integer model)."""
    if not unit.layer_table:
        return q
    lo, hi = _layer_rows(tuser, unit)
    return np.minimum(np.maximum(q, lo[:, None]), hi[:, None])


def _layer_rows(tuser, unit: UnitPorts) -> tuple[np.ndarray, np.ndarray]:
    idx = np.asarray(tuser, dtype=np.int64) >> unit.layer_shift
    rows = unit.layer_table
    lo = np.array([rows[i][0] if i < len(rows) else unit.qmin for i in idx], dtype=np.int64)
    hi = np.array([rows[i][1] if i < len(rows) else unit.qmax for i in idx], dtype=np.int64)
    return lo, hi


def unpack_lanes(raw: list[int], lanes: int, width: int, signed: bool) -> np.ndarray:
    """Split packed ``tdata`` words (lane 0 in the LSBs) into (beats, lanes) integers."""
    mask = (1 << width) - 1
    if lanes * width <= 64 and width < 64:
        arr = np.asarray(raw, dtype=np.uint64).reshape(-1)
        cols = [((arr >> np.uint64(i * width)) & np.uint64(mask)).astype(np.int64)
                for i in range(lanes)]
    else:
        arr = np.asarray(raw, dtype=object).reshape(-1)
        cols = [((arr >> (i * width)) & mask).astype(np.int64) for i in range(lanes)]
    out = np.stack(cols, axis=1) if cols else np.zeros((0, lanes), np.int64)
    if signed:
        out = out - ((out >> (width - 1)) & 1) * (1 << width)
    return out


def _range_flags(frame: Frame, unit: UnitPorts) -> np.ndarray:
    """Expected range flag per beat: some lane of a real channel lies outside its range."""
    ranges = np.asarray(unit.x_ranges, dtype=np.int64)
    C = len(ranges)
    ch = lane_channels(frame.tuser, unit.lanes, unit.lane_mode)
    idx = np.where(ch < C, ch, 0)
    out = (ch < C) & ((frame.x < ranges[idx, 0]) | (frame.x > ranges[idx, 1]))
    return out.any(axis=1).astype(np.int64)


def _first_lane_mismatch(what: str, exp: np.ndarray, got: np.ndarray, frame: Frame,
                         ch: np.ndarray, offset: int) -> tuple[int, Mismatch | None]:
    bad = exp != got
    n = int(bad.sum())
    if not n:
        return 0, None
    beat, lane = (int(v) for v in np.argwhere(bad)[0])
    return n, Mismatch(what, offset + beat, lane, int(ch[beat, lane]), int(frame.x[beat, lane]),
                       int(exp[beat, lane]), int(got[beat, lane]))


def check_stream(frame: Frame, out_data: list[int], out_tuser: list[int], out_tlast: list[int],
                 params: Params, unit: UnitPorts, layer: SolvedLayer | None = None,
                 offset: int = 0) -> CheckResult:
    """Compare the output beats of one stream with the accepted input beats, in order.

    ``layer`` enables the exact-reference check (only valid while the store holds the solved
    parameters): exact channels, inputs inside the channel's range.
    """
    res = CheckResult()
    n_in, n_out = len(frame), len(out_data)
    n = min(n_in, n_out)
    if n_in != n_out:
        res.mismatches += 1
        res.first = Mismatch("count", offset + n, expected=n_in, got=n_out)
    f = frame.take(slice(0, n))
    got = unpack_lanes(out_data[:n], unit.lanes, unit.w_q, unit.q_signed)
    exp = expected_outputs(f, params, unit)
    ch = lane_channels(f.tuser, unit.lanes, unit.lane_mode)
    res.beats, res.lane_results = n, n * unit.lanes
    firsts: list[Mismatch] = []
    k, m = _first_lane_mismatch("data", exp, got, f, ch, offset)
    res.mismatches += k
    if m:
        firsts.append(m)
    got_user = np.asarray(out_tuser[:n], dtype=np.int64)
    checks = [("tlast", f.tlast, out_tlast[:n])]
    if unit.range_check:
        w_user = unit.w_user
        checks.append(("range flag", _range_flags(f, unit), got_user >> w_user))
        got_user = got_user & ((1 << w_user) - 1)
    checks.insert(0, ("tuser", f.tuser, got_user))
    for what, e, g in checks:
        bad = np.nonzero(np.asarray(e, np.int64) != np.asarray(g, np.int64))[0]
        if len(bad):
            res.mismatches += len(bad)
            b = int(bad[0])
            firsts.append(Mismatch(what, offset + b, expected=int(e[b]), got=int(g[b])))
    if layer is not None and n:
        C = layer.channels
        ranges = np.asarray(layer.ranges(), dtype=np.int64)
        exact = np.asarray(layer.exact, dtype=bool)
        idx = np.where(ch < C, ch, 0)
        sel = (ch < C) & exact[idx] & (f.x >= ranges[idx, 0]) & (f.x <= ranges[idx, 1])
        if sel.any():
            ref = got.copy()
            rnd = [layer.output.rounding] * C
            if unit.layer_table:  # shared unit: each layer's own reference rounding
                per = unit.lanes if unit.lane_mode == "channels" else 1
                rows = unit.layer_table
                rnd = [rows[(c // per) >> unit.layer_shift][2]
                       if (c // per) >> unit.layer_shift < len(rows) else rnd[c]
                       for c in range(C)]
            for c in np.unique(idx[sel]):  # one channel at a time: its staircase once
                sc = sel & (idx == c)
                ref[sc] = reference(layer.a[c], layer.b[c], f.x[sc], rnd[c],
                                    layer.qmin, layer.qmax)
            ref = np.where(sel, layer_clip(ref, f.tuser, unit), ref)
            res.reference_checked = int(sel.sum())
            k, m = _first_lane_mismatch("reference", ref, got, f, ch, offset)
            res.mismatches += k
            if m:
                firsts.append(m)
    if firsts and res.first is None:
        res.first = min(firsts, key=lambda mm: mm.beat)
    elif firsts:
        res.first = min(firsts + [res.first], key=lambda mm: mm.beat)
    return res
