"""A layer's certificates checked and read in bulk (numba), from their compact JSON bytes.

``scan_certificates`` re-encodes a certificate list with orjson (plain types only: any
subclass, dataclass or integer beyond 64 bits makes it give up) and scans the bytes once
against the one canonical shape the solver writes::

    null | {"points":[[x,level,"lower"|"upper"],...],"alpha_lo":null|[num,den],
            "alpha_hi":null|[num,den],"hw_rounding":"floor"|"half_up"|"half_even"|"half_away"}

(integers, den > 0, keys in this order). A list that scans accepts exactly what
``formats._plain_certificate`` accepts entry by entry; anything else (another key order, a
float, a bool, a missing key) returns None and the caller runs the per-entry checks, which
word the problem. The scan also yields verify's arrays (golden/fast_verify.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

__all__ = ["scan_certificates", "ROUNDING_NAMES", "VERIFY_POINTS", "encode_certificates",
           "CertificateTable"]

ROUNDING_NAMES = ("floor", "half_up", "half_even", "half_away")
VERIFY_POINTS = 8  # points per certificate verify's kernel reads (golden/fast_verify.py)
_BIG = 1 << 40  # verify's arrays take points and fractions below this only

_L_NULL = np.frombuffer(b"null", np.uint8)
_L_POINTS = np.frombuffer(b'{"points":[', np.uint8)
_L_ALO = np.frombuffer(b'],"alpha_lo":', np.uint8)
_L_AHI = np.frombuffer(b',"alpha_hi":', np.uint8)
_L_HW = np.frombuffer(b',"hw_rounding":"', np.uint8)
_L_LOWER = np.frombuffer(b'"lower"]', np.uint8)
_L_UPPER = np.frombuffer(b'"upper"]', np.uint8)
_L_ROUND = [np.frombuffer(n.encode() + b'"}', np.uint8) for n in ROUNDING_NAMES]
_L_R0, _L_R1, _L_R2, _L_R3 = _L_ROUND


@njit(cache=True, inline="always")
def _lit(buf, p, lit):
    """p after the literal ``lit`` at p, or -1."""
    n = lit.shape[0]
    if p + n > buf.shape[0]:
        return -1
    for k in range(n):
        if buf[p + k] != lit[k]:
            return -1
    return p + n


@njit(cache=True)
def _int(buf, p):
    """(p after a JSON integer at p or -1, value, big: 19 digits or more, negative)."""
    n = buf.shape[0]
    neg = False
    if p < n and buf[p] == 45:  # '-'
        neg = True
        p += 1
    q = p
    v = np.int64(0)
    while q < n and 48 <= buf[q] <= 57:
        if q - p < 18:
            v = v * 10 + (buf[q] - 48)
        q += 1
    nd = q - p
    if nd == 0 or (nd > 1 and buf[p] == 48):  # no digits, or a leading zero
        return -1, v, False, neg
    return q, -v if neg else v, nd > 18, neg


@njit(cache=True)
def _scan(buf, c, maxp, pts, npts, fal):
    """True when buf is the canonical JSON list of exactly c entries; fills the arrays
    (npts -1: null, not floor, more than maxp points or a number beyond 2^40)."""
    n = buf.shape[0]
    if n < 2 or buf[0] != 91 or buf[n - 1] != 93:  # '[' ... ']'
        return False
    p = 1
    for i in range(c):
        if i:
            if p >= n or buf[p] != 44:  # ','
                return False
            p += 1
        q = _lit(buf, p, _L_NULL)
        if q >= 0:
            npts[i] = -1
            p = q
            continue
        p = _lit(buf, p, _L_POINTS)
        if p < 0:
            return False
        usable = True
        k = 0
        if p < n and buf[p] == 91:  # '[': at least one point
            while True:
                if p >= n or buf[p] != 91:
                    return False
                p, x, bx, _ = _int(buf, p + 1)
                if p < 0 or p >= n or buf[p] != 44:
                    return False
                p, lv, bl, _ = _int(buf, p + 1)
                if p < 0 or p >= n or buf[p] != 44:
                    return False
                p += 1
                q = _lit(buf, p, _L_LOWER)
                kind = 0
                if q < 0:
                    q = _lit(buf, p, _L_UPPER)
                    kind = 1
                    if q < 0:
                        return False
                p = q
                if bx or bl or abs(x) >= _BIG or abs(lv) >= _BIG:
                    usable = False
                if k < maxp:
                    pts[i, k, 0] = x
                    pts[i, k, 1] = lv
                    pts[i, k, 2] = kind
                k += 1
                if p < n and buf[p] == 44:
                    p += 1
                    continue
                break
        if k > maxp:
            usable = False
        for j in range(2):
            p = _lit(buf, p, _L_ALO if j == 0 else _L_AHI)
            if p < 0:
                return False
            q = _lit(buf, p, _L_NULL)
            if q >= 0:
                p = q
                continue
            if p >= n or buf[p] != 91:
                return False
            p, num, bn, _ = _int(buf, p + 1)
            if p < 0 or p >= n or buf[p] != 44:
                return False
            p, den, bd, dneg = _int(buf, p + 1)
            if p < 0 or p >= n or buf[p] != 93 or dneg or (den == 0 and not bd):
                return False  # den > 0
            p += 1
            if bn or bd or abs(num) >= _BIG or den >= _BIG:
                usable = False
            else:
                fal[i, 2 * j] = num
                fal[i, 2 * j + 1] = den
        p = _lit(buf, p, _L_HW)
        if p < 0:
            return False
        floor = False
        q = _lit(buf, p, _L_R0)
        if q >= 0:
            floor = True
        else:
            q = _lit(buf, p, _L_R1)
            if q < 0:
                q = _lit(buf, p, _L_R2)
            if q < 0:
                q = _lit(buf, p, _L_R3)
            if q < 0:
                return False
        p = q
        npts[i] = k if (usable and floor) else -1
    return p == n - 1


def scan_certificates(certs: list, max_points: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(points (C, max_points, 3) [x, level, 0 lower / 1 upper], count per channel (-1: null,
    not floor, more than max_points points or a number at or beyond 2^40), alpha (C, 4)
    [num, den] x 2, 0 where null) when every entry has the canonical shape, else None."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        return None
    if not isinstance(certs, list):
        return None
    opts = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_PASSTHROUGH_DATETIME)
    try:
        data = orjson.dumps(certs, option=opts)
    except (TypeError, orjson.JSONEncodeError):
        return None
    c = len(certs)
    pts = np.zeros((c, max_points, 3), np.int64)
    npts = np.full(c, -1, np.int64)
    fal = np.zeros((c, 4), np.int64)
    if not _scan(np.frombuffer(data, np.uint8), c, max_points, pts, npts, fal):
        return None
    return pts, npts, fal


# ---------------------------------------------------------------------------------------------
# writing: the certificate list's JSON bytes straight from the fast solver's arrays
# ---------------------------------------------------------------------------------------------

_W_POINTS = np.frombuffer(b'{"points":[', np.uint8)
_W_ALO = np.frombuffer(b'],"alpha_lo":', np.uint8)
_W_AHI = np.frombuffer(b',"alpha_hi":', np.uint8)
_W_HW = np.frombuffer(b',"hw_rounding":"', np.uint8)
_W_KINDS = (np.frombuffer(b'"lower"]', np.uint8), np.frombuffer(b'"upper"]', np.uint8))
_W_SEP = np.frombuffer(b",\n    ", np.uint8)
_W_NULL = np.frombuffer(b"null", np.uint8)
_W_LOWER, _W_UPPER = _W_KINDS


@njit(cache=True, inline="always")
def _put(out, p, lit):
    for k in range(lit.shape[0]):
        out[p + k] = lit[k]
    return p + lit.shape[0]


@njit(cache=True)
def _put_int(out, p, v):
    """The decimal digits of an int64 (as Python's str/orjson write them)."""
    if v < 0:
        out[p] = 45  # '-'
        p += 1
        u = -v  # |v| < 2^63 (the arrays never hold int64's minimum)
    else:
        u = v
    n = 1
    t = u // 10
    while t > 0:
        n += 1
        t //= 10
    for k in range(n - 1, -1, -1):
        out[p + k] = 48 + u % 10
        u //= 10
    return p + n


@njit(cache=True)
def _gcd(x, y):
    x = abs(x)
    y = abs(y)
    while y:
        x, y = y, x % y
    return x


@njit(cache=True)
def _put_fraction(out, p, num, den):
    """[num, den] reduced (as fast._reduced), or null when den == 0."""
    if den == 0:
        return _put(out, p, _W_NULL)
    g = _gcd(num, den)
    out[p] = 91  # '['
    p = _put_int(out, p + 1, num // g)
    out[p] = 44  # ','
    p = _put_int(out, p + 1, den // g)
    out[p] = 93  # ']'
    return p + 1


@njit(cache=True)
def _encode(cert, flags, alpha, hw, out):
    """Bytes of the certificate entries (fast._certificate's dicts as orjson writes them),
    joined by ',\\n    '; returns the length written. Per channel the points are
    fast._certificate's: keyed by (x, kind), a later assignment wins, sorted by key."""
    c = cert.shape[0]
    px = np.empty(6, np.int64)
    pk = np.empty(6, np.int64)
    pl = np.empty(6, np.int64)
    p = 0
    for i in range(c):
        if i:
            p = _put(out, p, _W_SEP)
        f = flags[i]
        n = 0
        for s in range(6):
            if not (f & (1, 1, 2, 2, 4, 8)[s]):
                continue
            x = cert[i, 2 * s]
            kind = s & 1
            lv = cert[i, 2 * s + 1]
            j = 0
            while j < n and not (px[j] == x and pk[j] == kind):
                j += 1
            if j == n:
                px[n] = x
                pk[n] = kind
                n += 1
            pl[j] = lv
        for j in range(1, n):  # insertion sort by (x, kind): at most 6 points
            x, kind, lv = px[j], pk[j], pl[j]
            k = j - 1
            while k >= 0 and (px[k] > x or (px[k] == x and pk[k] > kind)):
                px[k + 1] = px[k]
                pk[k + 1] = pk[k]
                pl[k + 1] = pl[k]
                k -= 1
            px[k + 1] = x
            pk[k + 1] = kind
            pl[k + 1] = lv
        p = _put(out, p, _W_POINTS)
        for j in range(n):
            if j:
                out[p] = 44
                p += 1
            out[p] = 91
            p = _put_int(out, p + 1, px[j])
            out[p] = 44
            p = _put_int(out, p + 1, pl[j])
            out[p] = 44
            p = _put(out, p + 1, _W_LOWER if pk[j] == 0 else _W_UPPER)
        p = _put(out, p, _W_ALO)
        p = _put_fraction(out, p, alpha[i, 0], alpha[i, 1])
        p = _put(out, p, _W_AHI)
        p = _put_fraction(out, p, alpha[i, 2], alpha[i, 3])
        p = _put(out, p, _W_HW)
        p = _put(out, p, hw)
        out[p] = 34  # '"'
        out[p + 1] = 125  # '}'
        p += 2
    return p


def encode_certificates(cert: np.ndarray, flags: np.ndarray, alpha: np.ndarray,
                        hw_rounding: str = "floor") -> bytes:
    """The JSON entries of ``fast.certificates_of(res, all)`` (rows of the fast solver's
    ``cert``, ``cert_flags``, ``alpha``) joined by ',\\n    ', as formats.dumps_solved writes
    a certificate list: byte for byte, without building a dict per channel."""
    cert = np.ascontiguousarray(cert, np.int64)
    c = cert.shape[0]
    hw = np.frombuffer(hw_rounding.encode(), np.uint8)
    # per entry at most 6 points of 2 numbers, 2 fractions: 20 digits + sign per number
    out = np.empty(c * (6 * (2 * 21 + 12) + 2 * 45 + 64) + 16, np.uint8)
    n = _encode(cert, np.ascontiguousarray(flags, np.int64), np.ascontiguousarray(alpha,
                np.int64), hw, out)
    return out[:n].tobytes()


class CertificateTable(Sequence):
    """A layer's certificates kept as the fast solver's arrays (the solved file's list,
    built entry by entry only when read): ``formats.dumps_solved`` writes its
    ``json_entries()`` bytes, which equal the per-entry encoding of the dicts."""

    __slots__ = ("_cert", "_flags", "_alpha", "_hw", "_list")

    def __init__(self, cert: np.ndarray, flags: np.ndarray, alpha: np.ndarray,
                 hw_rounding: str = "floor"):
        self._cert, self._flags, self._alpha, self._hw = cert, flags, alpha, hw_rounding
        self._list = None

    def _entries(self) -> list:
        if self._list is None:
            from .fast import certificates_of

            res = {"cert": self._cert, "cert_flags": self._flags, "alpha": self._alpha}
            self._list = certificates_of(res, np.arange(self._cert.shape[0]), self._hw)
        return self._list

    def __len__(self) -> int:
        return self._cert.shape[0]

    def __getitem__(self, i):
        return self._entries()[i]

    def __iter__(self):
        return iter(self._entries())

    def __eq__(self, other) -> bool:
        if isinstance(other, CertificateTable):
            other = other._entries()
        return isinstance(other, list) and self._entries() == other

    __hash__ = None  # a sequence compared by value

    def __repr__(self) -> str:
        return f"CertificateTable({len(self)} entries)"

    def json_entries(self) -> bytes:
        return encode_certificates(self._cert, self._flags, self._alpha, self._hw)
