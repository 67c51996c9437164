"""Drive a :class:`ThresholdUnit` in Amaranth's simulator (random valid/ready, writes, resets).

:func:`exactbn.hw.simulate.simulate` with the threshold unit and its write step:
``("stream", beats)``, ``("drain",)``, ``("idle", k)``, ``("reset", k)`` and
``("write", addr, index, value)`` (held until its handshake). Comparing the outputs with a
model is the caller's job.
"""

from __future__ import annotations

from .simulate import SimResult, simulate
from .threshold_config import ThresholdConfig
from .threshold_unit import ThresholdUnit

__all__ = ["simulate_threshold"]


def simulate_threshold(cfg: ThresholdConfig, program: list[tuple], *, p_valid: float = 1.0,
                       p_ready: float = 1.0, seed: int = 0,
                       max_cycles: int = 2_000_000) -> SimResult:
    """Run ``program`` on a fresh unit; see :func:`exactbn.hw.simulate.simulate`."""
    mask = (1 << cfg.w_t) - 1

    def set_cfg(ctx, dut, write) -> None:
        addr, index, value = write
        ctx.set(dut.cfg_addr, addr)
        ctx.set(dut.cfg_index, index)
        ctx.set(dut.cfg_value, value & mask)

    return simulate(cfg, program, p_valid=p_valid, p_ready=p_ready, seed=seed,
                    max_cycles=max_cycles, dut=ThresholdUnit(cfg), set_cfg=set_cfg)
