"""The bench's tables: input vectors with the expected output under two parameter sets,
and the two sets per channel (A = solved, B = the next channel's solved parameters)."""

from __future__ import annotations

import random

from exactbn.formats import SolvedLayer
from exactbn.generate import channel_points, expected_outputs

__all__ = ["Tables", "build_tables"]


def _field(v: int, w: int) -> int:
    return v & ((1 << w) - 1)


class Tables:
    def __init__(self, vec: list[int], par: list[int], wv: int, wp: int):
        self.vec, self.par, self.wv, self.wp = vec, par, wv, wp

    def write(self, vec_path, par_path) -> None:
        dv, dp = (self.wv + 3) // 4, (self.wp + 3) // 4
        with open(vec_path, "w") as f:
            f.writelines(f"{v:0{dv}x}\n" for v in self.vec)
        with open(par_path, "w") as f:
            f.writelines(f"{p:0{dp}x}\n" for p in self.par)


def build_tables(layer: SolvedLayer, cfg, *, seed: int = 1, random_per_channel: int = 64
                 ) -> Tables:
    """Every channel at its own and its B-set's transition points plus random inputs."""
    c_n = layer.channels
    wx, wq, wm, wb, wn = cfg.w_x, cfg.w_q, cfg.w_m, cfg.w_b, cfg.w_n
    wu = max(1, (c_n - 1).bit_length())
    rng = random.Random(seed)
    vec = []
    for c in range(c_n):
        p = (c + 1) % c_n
        xs = set(channel_points(layer, cfg, c)) | set(channel_points(layer, cfg, p))
        xs.update(rng.randint(cfg.x_min, cfg.x_max) for _ in range(random_per_channel))
        xs = sorted(xs)
        qa = expected_outputs(layer, cfg, c, xs)
        qb = expected_outputs(layer, cfg, p, xs)
        for x, a, b in zip(xs, qa, qb, strict=True):
            vec.append((((( _field(x, wx) << wu) | c) << wq | _field(a, wq)) << wq)
                       | _field(b, wq))
    par = []
    for c in range(c_n):
        p = (c + 1) % c_n
        a = (_field(layer.M[c], wm) << (wb + wn)) | (_field(layer.B[c], wb) << wn) | layer.N[c]
        b = (_field(layer.M[p], wm) << (wb + wn)) | (_field(layer.B[p], wb) << wn) | layer.N[p]
        par.append((a << (wm + wb + wn)) | b)
    return Tables(vec, par, wx + wu + 2 * wq, 2 * (wm + wb + wn))
