"""Synthetic BN-like layers for examples, property tests and benchmarks (seeded, no downloads)."""

from __future__ import annotations

import numpy as np

__all__ = ["random_affine", "example_layers"]


def random_affine(channels: int, seed: int = 0, log2_scale: float = -8.0, b_sigma: float = 30.0):
    """ResNet-like a, b: a = +-exp(gauss(ln 2^log2_scale, 1)), b = gauss(0, b_sigma)."""
    rng = np.random.default_rng(seed)
    mag = np.exp(rng.normal(np.log(2.0**log2_scale), 1.0, channels))
    sign = np.where(rng.random(channels) < 0.1, -1.0, 1.0)
    return (sign * mag).astype(np.float64), rng.normal(0.0, b_sigma, channels).astype(np.float64)


def example_layers() -> list[dict]:
    """The bundled example layers (exactbn/data/example_layers.json is written from this)."""
    rng = np.random.default_rng(2020)
    c = 16
    gamma = rng.normal(1.0, 0.3, c)
    beta = rng.normal(0.0, 0.5, c)
    mean = rng.normal(0.0, 2.0, c)
    var = rng.uniform(0.2, 4.0, c)
    conv_bn = {
        "name": "conv1_bn",
        "input": {"bits": 16, "signed": True, "scale": 2.0**-10, "zero_point": 0},
        "output": {"bits": 8, "signed": True, "scale": 0.05, "zero_point": 0,
                   "rounding": "half_even"},
        "bn": {"gamma": gamma.tolist(), "beta": beta.tolist(), "mean": mean.tolist(),
               "var": var.tolist(), "eps": 1e-5},
    }
    c2 = 8
    lo = (-rng.integers(2000, 9000, c2)).tolist()
    hi = rng.integers(2000, 9000, c2).tolist()
    relu_bn = {
        "name": "conv2_bn_relu",
        "input": {"bits": 16, "signed": True,
                  "scale": (2.0**-9 * rng.uniform(0.5, 2.0, c2)).tolist(), "zero_point": 0,
                  "range": [[int(a), int(b)] for a, b in zip(lo, hi, strict=True)]},
        "output": {"bits": 4, "signed": False, "scale": 0.25, "zero_point": 0,
                   "rounding": "half_up", "clip": [0, 15]},
        "bn": {"gamma": rng.normal(1.0, 0.3, c2).tolist(),
               "beta": rng.normal(0.5, 0.5, c2).tolist(),
               "mean": rng.normal(0.0, 1.0, c2).tolist(), "var": rng.uniform(0.2, 2.0, c2).tolist(),
               "eps": 1e-5},
    }
    tie = {
        "name": "tie_affine",
        "input": {"bits": 10, "signed": True},
        "output": {"bits": 8, "signed": True, "rounding": "half_even"},
        "affine": {"a": [0.25, -0.375, 0.0625, 1.5], "b": [0.5, 0.25, -3.5, 0.5]},
    }
    return [conv_bn, relu_bn, tie]
