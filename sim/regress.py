"""The regression for one solved layer: generate the unit, run every scenario, summarise.

This is what ``exactbn sim`` and the tests call: ``simulate_layer(layer, config, ...)``
turns a solved layer and a unit configuration into Verilog (``exactbn.hw.to_verilog``) and
runs the cocotb bench on it with the layer as the scoreboard's truth.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from exactbn.formats import SolvedLayer, safe_name

from .runner import RunResult, run_bench
from .spec import PROFILES, SCENARIOS, BenchSpec, UnitPorts

__all__ = ["simulate_layer", "unit_config"]


def unit_config(layer: SolvedLayer, **options):
    """An ``exactbn.hw.UnitConfig`` for ``layer``, by the generator's own rules.

    ``options`` as for :func:`exactbn.generate.unit_config_from_solved`: lanes, lane_mode,
    store, pipeline (a Pipeline or its text), widths ``(W_M, W_B, W_N)``, name, range_check,
    allow_inexact.
    """
    from exactbn.generate import unit_config_from_solved

    return unit_config_from_solved(layer, **options)


def simulate_layer(layer: SolvedLayer, config, simulator: str = "verilator",
                   vectors: int = 2000, waves: bool = False, seed: int = 1,
                   run_dir: str | Path | None = None, scenarios: list[str] | None = None,
                   exhaustive_max_bits: int = 10, max_beats: int | None = None,
                   verilog: str | None = None, cache_root: str | Path | None = None,
                   profile: str = "full") -> RunResult:
    """Run the bench scenarios for ``layer`` on a unit built from ``config``.

    The store is scored against the layer's own M, B, N (and, for exact channels inside
    their range, the exact reference). ``verilog`` replaces the generated text (e.g. a
    user's edited copy with the same ports). ``cache_root``: where simulator builds are
    cached (default :func:`exactbn.sim.runner.default_cache_root`). ``profile``: "full"
    (full_rate and random_gaps each drive the structured set + ``vectors`` random inputs per
    channel) or "quick" (full_rate drives them once; the other scenarios at most
    :data:`exactbn.sim.spec.QUICK_BEATS` beats of them each).
    """
    from exactbn.hw import to_verilog
    from exactbn.hw.primitives import with_sim_models

    # the unit, then the behavioural models of the primitives it instantiates (ECP5)
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    text = with_sim_models(config, verilog if verilog is not None else to_verilog(config))
    spec = BenchSpec(layer=layer.to_json(), unit=UnitPorts.from_config(config), seed=seed,
                     vectors=vectors, exhaustive_max_bits=exhaustive_max_bits,
                     scenarios=list(scenarios or SCENARIOS), max_beats_per_scenario=max_beats,
                     profile=profile)
    if run_dir is None:
        run_dir = tempfile.mkdtemp(prefix=f"exactbn-sim-{safe_name(layer.name)}-")
    # The runner changes directory before the bench reads its spec: keep the path absolute.
    return run_bench(spec, text, simulator, Path(run_dir).resolve(), waves=waves,
                     cache_root=Path(cache_root).resolve() if cache_root is not None else None)
