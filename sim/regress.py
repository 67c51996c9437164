"""The regression for one solved layer: generate the unit, run every scenario, summarise.

This is what ``exactbn sim`` and the tests call: ``simulate_layer(layer, config, ...)``
turns a solved layer and a unit configuration into Verilog (``exactbn.hw.to_verilog``) and
runs the cocotb bench on it with the layer as the scoreboard's truth.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from exactbn.formats import SolvedLayer

from .runner import RunResult, run_bench
from .spec import SCENARIOS, BenchSpec, UnitPorts

__all__ = ["simulate_layer", "unit_config"]


def unit_config(layer: SolvedLayer, **options):
    """An ``exactbn.hw.UnitConfig`` for ``layer`` (the generator's rules, via exactbn.generate).

    ``options``: lanes, lane_mode, store, pipeline (a Pipeline or its text), name,
    range_check, widths ``(W_M, W_B, W_N)`` overrides (None entries auto-sized).
    """
    try:
        from exactbn.generate import unit_config_from_solved
    except ImportError:
        unit_config_from_solved = None
    if unit_config_from_solved is not None:
        return unit_config_from_solved(layer, **options)
    return _config_from_solved(layer, **options)


def _config_from_solved(layer: SolvedLayer, lanes: int = 1, lane_mode: str = "channels",
                        store: str = "rom", pipeline=None, name: str = "exactbn_bn",
                        range_check: bool = False, widths: tuple | None = None, **_ignored):
    """Used only while exactbn.generate is absent: widths straight from the solved file."""
    from exactbn.hw import Pipeline, UnitConfig

    if isinstance(pipeline, str):
        pipeline = Pipeline.parse(pipeline)
    w_m, w_b, w_n = widths or (None, None, None)
    w = {"M": w_m or layer.widths.M, "B": w_b or layer.widths.B,
         "N": layer.widths.N if w_n is None else w_n}
    return UnitConfig(
        w_x=layer.input.bits, x_signed=layer.input.signed, w_m=w["M"], w_b=w["B"],
        w_n=w["N"] if layer.shift_mode == "per-channel" else 0, w_q=layer.output.bits,
        q_signed=layer.output.signed, qmin=layer.qmin, qmax=layer.qmax, M=layer.M, B=layer.B,
        N=layer.N, lanes=lanes, lane_mode=lane_mode, shift_mode=layer.shift_mode,
        hw_rounding=layer.hw_rounding, store=store, pipeline=pipeline or Pipeline(), name=name,
        range_check=range_check, x_ranges=layer.ranges() if range_check else (),
    )


def simulate_layer(layer: SolvedLayer, config, simulator: str = "verilator",
                   vectors: int = 2000, waves: bool = False, seed: int = 1,
                   run_dir: str | Path | None = None, scenarios: list[str] | None = None,
                   exhaustive_max_bits: int = 10, max_beats: int | None = None,
                   verilog: str | None = None) -> RunResult:
    """Run the bench scenarios for ``layer`` on a unit built from ``config``.

    The store is scored against the layer's own M, B, N (and, for exact channels inside
    their range, the exact reference). ``verilog`` replaces the generated text (e.g. a
    user's edited copy with the same ports).
    """
    from exactbn.hw import to_verilog

    text = verilog if verilog is not None else to_verilog(config)
    spec = BenchSpec(layer=layer.to_json(), unit=UnitPorts.from_config(config), seed=seed,
                     vectors=vectors, exhaustive_max_bits=exhaustive_max_bits,
                     scenarios=list(scenarios or SCENARIOS), max_beats_per_scenario=max_beats)
    if run_dir is None:
        run_dir = tempfile.mkdtemp(prefix=f"exactbn-sim-{layer.name}-")
    return run_bench(spec, text, simulator, Path(run_dir), waves=waves)
