"""BN + output quantization collapsed to one affine map in the integer domain.

a = gamma*s_in / (s_out*sqrt(var + eps)), b = (beta - gamma*mean/sqrt(var + eps))/s_out + z_out
- a*z_in, computed once in float64 in this order; from then on a and b are exact binary
rationals and q = clip(R(a*x + b), qmin, qmax) is decided exactly (golden/reference.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["affine_from_bn"]


def affine_from_bn(gamma, beta, mean, var, eps, s_in, z_in, s_out, z_out):
    """Per-channel float64 ``a, b`` such that the BN output level is ``R(a*x + b)``.

    The one documented order of float64 operations (every importer and test uses this)::

        inv   = 1 / sqrt(var + eps)
        g     = gamma * inv
        a     = g * s_in / s_out
        b     = (beta - g * mean) / s_out + z_out - a * z_in

    From here on ``a`` and ``b`` are exact binary rationals: the reference is the exact
    value of ``clip(R(a*x + b))`` for these two numbers, never a float evaluation of it.
    """
    f = np.float64
    gamma, beta, mean, var = (np.asarray(v, dtype=f) for v in (gamma, beta, mean, var))
    s_in, z_in = np.asarray(s_in, dtype=f), np.asarray(z_in, dtype=f)
    s_out, z_out = np.asarray(s_out, dtype=f), np.asarray(z_out, dtype=f)
    inv = f(1.0) / np.sqrt(var + f(eps))
    g = gamma * inv
    a = g * s_in / s_out
    b = (beta - g * mean) / s_out + z_out - a * z_in
    return np.asarray(a, dtype=f), np.asarray(b, dtype=f)
