"""``exactbn sim --unit threshold``: the cocotb regression (Verilator/Icarus) on the
threshold unit's Verilog, with sim/benches/threshold_bench.py as the bench.

The bench gets the unit's stored words (``neg``, ``U`` per channel, from a
:class:`ThresholdConfig` built from thresholds re-derived from a, b and the spec) and scores
every lane with the unit's search over them, and with the exact reference while the solved
thresholds are loaded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from exactbn.formats import SolvedLayer, safe_name
from exactbn.hw.threshold_config import ThresholdConfig

__all__ = ["threshold_ports", "simulate_threshold_layer", "reprogram_target"]


def threshold_ports(cfg: ThresholdConfig):
    """The bench's :class:`exactbn.sim.spec.UnitPorts` of a threshold unit (M/B/N unused)."""
    from exactbn.sim.spec import UnitPorts

    stored = [cfg.stored(c) for c in range(cfg.channels)]
    u_min, u_max = ((-(1 << (cfg.w_t - 1)), (1 << (cfg.w_t - 1)) - 1) if cfg.t_signed
                    else (0, (1 << cfg.w_t) - 1))
    return UnitPorts(
        toplevel=cfg.name, lanes=cfg.lanes, lane_mode=cfg.lane_mode, store=cfg.store,
        shift_mode="per-channel", hw_rounding="floor", w_x=cfg.w_x, x_signed=cfg.x_signed,
        w_q=cfg.w_q, q_signed=cfg.q_signed, qmin=cfg.qmin, qmax=cfg.qmax, w_m=0, w_b=0, w_n=0,
        latency=cfg.latency, range_check=cfg.range_check,
        x_ranges=[list(r) for r in cfg.x_ranges] or None, w_user=cfg.w_user,
        thresholds={"mode": cfg.mode, "levels": cfg.n_levels, "slots": cfg.slots,
                    "w_t": cfg.w_t, "u_min": u_min, "u_max": u_max,
                    "neg": [n for n, _ in stored], "U": [u for _, u in stored]})


def reprogram_target(layer: SolvedLayer, cfg: ThresholdConfig) -> dict:
    """New exact words for the same unit, for the AXI4-Lite bench's ``axil_thresholds_new``:
    a copy of the layer with modified a, b (even channels: the staircase moved by ``s``
    inputs, ``b' = b + a*s``; odd channels: mirrored on their range, ``a' = -a``,
    ``b' = b + a*(lo + hi)``, so their direction flips), its thresholds derived by
    golden.thresholds from a', b' and the spec and checked at both ends of every level.
    Returns ``{"a", "b", "neg", "U", "what"}`` (the stored words per channel)."""
    from dataclasses import replace

    from exactbn.golden.thresholds import layer_threshold_problems, layer_thresholds

    a, b = [], []
    for c, (lo, hi) in enumerate(layer.ranges()):
        ac, bc = float(layer.a[c]), float(layer.b[c])
        if c % 2:
            a.append(-ac)
            b.append(bc + ac * (lo + hi))
        else:
            a.append(ac)
            b.append(bc + ac * max(1, (hi - lo) // 5))
    new = replace(layer, a=a, b=b)
    directions, thresholds = layer_thresholds(new)
    if problems := layer_threshold_problems(new, directions, thresholds):
        raise ValueError(f"reprogram target: channel {problems[0][0]}: {problems[0][1]}")
    ncfg = replace(cfg, directions=directions, thresholds=thresholds)
    if (ncfg.w_t, ncfg.t_signed, ncfg.slots) != (cfg.w_t, cfg.t_signed, cfg.slots):
        raise ValueError("reprogram target does not fit the unit's threshold words")
    stored = [ncfg.stored(c) for c in range(cfg.channels)]
    return {"a": a, "b": b, "neg": [n for n, _ in stored], "U": [u for _, u in stored],
            "what": "the same layer with modified a, b (even channels shifted, odd mirrored)"}


def simulate_threshold_layer(layer: SolvedLayer, cfg: ThresholdConfig,
                             simulator: str = "verilator", *, vectors: int = 2000,
                             waves: bool = False, seed: int = 1, run_dir=None,
                             scenarios: list[str] | None = None, verilog: str | None = None,
                             cache_root=None):
    """Run the threshold bench's scenarios; a :class:`exactbn.sim.runner.RunResult`.
    ``verilog`` replaces the generated text (same ports)."""
    from exactbn.hw.threshold_unit import threshold_verilog
    from exactbn.sim.runner import run_bench
    from exactbn.sim.spec import SCENARIOS, BenchSpec

    text = verilog if verilog is not None else threshold_verilog(cfg)
    spec = BenchSpec(layer=layer.to_json(), unit=threshold_ports(cfg), seed=seed,
                     vectors=vectors, scenarios=list(scenarios or SCENARIOS))
    if run_dir is None:
        run_dir = tempfile.mkdtemp(prefix=f"exactbn-sim-{safe_name(layer.name)}-")
    return run_bench(spec, text, simulator, Path(run_dir).resolve(), waves=waves,
                     cache_root=Path(cache_root).resolve() if cache_root is not None else None)
