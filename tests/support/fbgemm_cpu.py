"""Whether this CPU's fbgemm kernels compute the plain integer convolution (tests only)."""

from __future__ import annotations


def fbgemm_pair_sums_saturate() -> bool:
    """True where fbgemm runs its AVX2 (or scalar-dispatch) kernels: they add u8 x s8 pairs
    in saturating 16-bit lanes (vpmaddubsw, no VNNI), so with activations above 127 (what
    ``reduce_range`` guards against) the converted model's accumulators are not the integer
    convolution and its outputs say nothing about the imported layer."""
    import torch

    return torch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2")
