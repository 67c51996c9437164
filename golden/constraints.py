"""Integer constraints of the integer model against a staircase.

For a staircase mirrored so that it rises (x' = sign*x), the integer model with M > 0 matches
the reference on the whole range iff, at every lower point (x, l) and upper point (x, u),

    M*x + B >= L(l, N)        (the output reaches level l at the first x of l)
    M*x + B <= U(u, N)        (the output stays below u at the last x of level u - 1)

where, with h = 2^(N-1) for a rounding stage and N >= 1 (else h = 0 and ties go up):

    L(l, N) = l*2^N - h + (0 if a tie at l - 1/2 goes up to l else 1)
    U(u, N) = u*2^N - h - (1 if a tie at u - 1/2 goes up to u else 0)

Only the upper convex hull of the (x, L) points and the lower hull of the (x, U) points can
bind; the feasible M at a given N form an integer interval read off hull-vertex pairs.
"""

from __future__ import annotations

from fractions import Fraction

from .staircase import tie_goes_up

__all__ = [
    "bound_lower",
    "bound_upper",
    "upper_hull",
    "lower_hull",
    "m_interval",
    "b_interval",
    "slope_interval",
]

Point = tuple[int, int]


def _tie_up(hw_rounding: str, n: int, level: int) -> bool:
    return True if (hw_rounding == "floor" or n == 0) else tie_goes_up(hw_rounding, level)


def _half(hw_rounding: str, n: int) -> int:
    return 0 if (hw_rounding == "floor" or n == 0) else 1 << (n - 1)


def bound_lower(level: int, n: int, hw_rounding: str) -> int:
    """Smallest M*x + B whose model output is >= level (before clipping)."""
    return (level << n) - _half(hw_rounding, n) + (0 if _tie_up(hw_rounding, n, level) else 1)


def bound_upper(level: int, n: int, hw_rounding: str) -> int:
    """Largest M*x + B whose model output is < level (before clipping)."""
    return (level << n) - _half(hw_rounding, n) - (1 if _tie_up(hw_rounding, n, level) else 0)


def _cross(o: Point, a: Point, b: Point) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def upper_hull(points: list[Point]) -> list[Point]:
    """Vertices of the upper convex hull, by increasing x (input sorted by x)."""
    hull: list[Point] = []
    for p in points:
        if hull and hull[-1][0] == p[0]:  # same x: keep the higher
            if hull[-1][1] >= p[1]:
                continue
            hull.pop()
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def lower_hull(points: list[Point]) -> list[Point]:
    """Vertices of the lower convex hull, by increasing x (input sorted by x)."""
    hull: list[Point] = []
    for p in points:
        if hull and hull[-1][0] == p[0]:
            if hull[-1][1] <= p[1]:
                continue
            hull.pop()
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
            hull.pop()
        hull.append(p)
    return hull


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


def m_interval(lows: list[Point], ups: list[Point]):
    """Integer M with max_i(L_i - M x_i) <= min_j(U_j - M x_j), as (m_lo, m_hi, witnesses).

    ``lows``/``ups`` are (x, bound) points already scaled to N. m_lo / m_hi are None when
    unbounded; returns None when no M works. Witnesses are the hull-vertex pairs that set
    m_lo and m_hi.
    """
    hl, hu = upper_hull(lows), lower_hull(ups)
    m_lo = m_hi = None
    w_lo = w_hi = None
    for xi, li in hl:
        for xj, uj in hu:
            dx = xi - xj
            if dx > 0:
                v = _ceil_div(li - uj, dx)
                if m_lo is None or v > m_lo:
                    m_lo, w_lo = v, ((xi, li), (xj, uj))
            elif dx < 0:
                v = (uj - li) // (-dx)
                if m_hi is None or v < m_hi:
                    m_hi, w_hi = v, ((xi, li), (xj, uj))
            elif li > uj:
                return None
    if m_lo is not None and m_hi is not None and m_lo > m_hi:
        return None
    return m_lo, m_hi, (w_lo, w_hi)


def b_interval(lows: list[Point], ups: list[Point], m: int):
    """(b_lo, b_hi, x_lo_bind, x_hi_bind): the admissible B for this M (None = unbounded)."""
    b_lo = b_hi = None
    bind_lo = bind_hi = None
    for x, L in lows:
        v = L - m * x
        if b_lo is None or v > b_lo:
            b_lo, bind_lo = v, (x, L)
    for x, U in ups:
        v = U - m * x
        if b_hi is None or v < b_hi:
            b_hi, bind_hi = v, (x, U)
    return b_lo, b_hi, bind_lo, bind_hi


def slope_interval(lows: list[Point], ups: list[Point]):
    """Real slopes alpha with alpha*(x_i - x_j) vs l_i - u_j over hull pairs (unscaled levels).

    Returns (alpha_lo, alpha_hi, pair_lo, pair_hi, equal_x_ok): the supremum of the lower
    bounds and the infimum of the upper bounds as Fractions (None = unbounded), the pairs
    that set them, and whether every equal-x pair has l_i < u_j.
    """
    hl, hu = upper_hull(lows), lower_hull(ups)
    lo = hi = None
    p_lo = p_hi = None
    ok = True
    for xi, li in hl:
        for xj, uj in hu:
            dx = xi - xj
            if dx > 0:
                v = Fraction(li - uj, dx)
                if lo is None or v > lo:
                    lo, p_lo = v, ((xi, li), (xj, uj))
            elif dx < 0:
                v = Fraction(uj - li, -dx)
                if hi is None or v < hi:
                    hi, p_hi = v, ((xi, li), (xj, uj))
            elif li >= uj:
                ok = False
    return lo, hi, p_lo, p_hi, ok
