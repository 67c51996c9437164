"""cocotb benches on the generated Verilog (Verilator and Icarus): the configuration matrix.

The small matrix runs in ``make test`` (four Verilator builds, cached under build/sim and
sped up by ccache, and five Icarus runs): on each simulator it covers every hw_rounding with
exact ties and negative sums, both shift modes, L in {1, 4} (with padding lanes), both lane
modes, ROM and RAM stores, signed and unsigned inputs and three pipeline presets. The full
product is marked ``slow`` (make sweep).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.layers import example_layer, tie_layer
from exactbn.sim.regress import simulate_layer, unit_config
from exactbn.sim.spec import SCENARIOS

pytestmark = pytest.mark.sim


@dataclass(frozen=True)
class Case:
    layer: str  # an example layer ("conv1_bn", "tie_affine", ...) or "ties_<rounding>"
    simulator: str
    lanes: int = 1
    lane_mode: str = "channels"
    store: str = "rom"
    pipeline: str = "default"
    shift_mode: str = "per-channel"
    x_signed: bool = True
    range_check: bool = False
    vectors: int = 200

    @property
    def id(self) -> str:
        return (f"{self.simulator}-{self.layer}-{self.shift_mode}-L{self.lanes}{self.lane_mode[0]}"
                f"-{self.store}-{self.pipeline}{'' if self.x_signed else '-unsigned'}"
                f"{'-rangecheck' if self.range_check else ''}")

    def solved(self):
        if self.layer.startswith("ties_"):
            w_x = 8 if self.x_signed else 9
            return tie_layer(self.layer[5:], w_x=w_x, x_signed=self.x_signed,
                             shift_mode=self.shift_mode)
        return example_layer(self.layer, self.shift_mode)


SMALL = [
    Case("conv1_bn", "verilator", lanes=4, store="ram"),
    Case("ties_half_even", "verilator", pipeline="deep"),
    Case("ties_half_up", "verilator", lanes=4, lane_mode="pixels", store="ram",
         shift_mode="shared", pipeline="shallow"),
    Case("ties_half_away", "verilator", lanes=4, store="ram", x_signed=False),
    Case("ties_half_even", "icarus", lanes=4, shift_mode="shared", pipeline="deep"),
    Case("tie_affine", "icarus", lanes=4, store="ram"),  # the solver's own tie layer
    Case("conv2_bn_relu", "icarus", lanes=2, lane_mode="pixels", pipeline="shallow",
         range_check=True),
    Case("ties_half_up", "icarus", lanes=4, store="ram", x_signed=False),
    Case("ties_half_away", "icarus", shift_mode="shared", store="ram", pipeline="shallow"),
    Case("ties_floor", "icarus", lanes=4, lane_mode="pixels", shift_mode="shared"),
]

def _full_matrix() -> list[Case]:
    """Every layer x simulator, crossed with lane/store/shift shapes; pipelines rotate."""
    shapes = [(1, "channels"), (4, "channels"), (4, "pixels")]
    pipes = ("shallow", "default", "deep")
    out = []
    for sim in ("verilator", "icarus"):
        for layer in ("conv1_bn", "tie_affine", "ties_floor", "ties_half_up",
                      "ties_half_even", "ties_half_away"):
            # Unsigned inputs on Icarus only: a Verilator build costs ~25 s each.
            signs = (True, False) if layer.startswith("ties_") and sim == "icarus" else (True,)
            combos = itertools.product(shapes, ("rom", "ram"), ("per-channel", "shared"), signs)
            for k, ((lanes, mode), store, shift, signed) in enumerate(combos):
                out.append(Case(layer, sim, lanes=lanes, lane_mode=mode, store=store,
                                pipeline=pipes[k % 3], shift_mode=shift, x_signed=signed))
    return out


FULL = _full_matrix()


def _run(case: Case, tmp_path: Path):
    layer = case.solved()
    cfg = unit_config(layer, lanes=case.lanes, lane_mode=case.lane_mode, store=case.store,
                      pipeline=case.pipeline, range_check=case.range_check)
    res = simulate_layer(layer, cfg, case.simulator, vectors=case.vectors, run_dir=tmp_path)
    detail = f"{res.summary()}; failures: {res.failures}; first: {res.first_mismatch}; " \
             f"waves: {res.wave_path}"
    assert res.passed, detail
    assert res.lane_results > 0 and res.reference_checked > 0, detail
    assert set(res.scenarios) == set(SCENARIOS), detail
    if case.store == "ram":
        live = res.scenarios["reprogram_live"]
        assert live["applicable"] and live["cfg_writes"] > 0 and live["segments"] > 1, detail
    return res


@pytest.mark.parametrize("case", SMALL, ids=[c.id for c in SMALL])
def test_unit_matches_golden(case, tmp_path):
    res = _run(case, tmp_path)
    layer = case.solved()
    if layer.input.bits <= 10:  # every input of every channel, in each scenario
        per_scenario = res.scenarios["full_rate"]["lane_results"]
        assert per_scenario >= layer.channels * (1 << layer.input.bits)


@pytest.mark.slow
@pytest.mark.parametrize("case", FULL, ids=[c.id for c in FULL])
def test_unit_matches_golden_full_matrix(case, tmp_path):
    _run(case, tmp_path)


def test_bench_catches_a_unit_off_in_one_channel(tmp_path):
    """A unit generated with channel 2's offset off by 2^(N-1), scored against the true layer."""
    layer = tie_layer("half_even")
    cfg = unit_config(layer, lanes=4)
    wrong = replace(cfg, B=tuple(b + (1 << (layer.N[2] - 1)) * (c == 2)
                                 for c, b in enumerate(cfg.B)))
    res = simulate_layer(layer, cfg, "icarus", run_dir=tmp_path, scenarios=["full_rate"],
                         verilog=to_verilog(wrong))
    assert not res.passed and res.mismatches > 0
    assert "channel 2" in res.first_mismatch and "integer model" in res.first_mismatch
    assert res.wave_path and Path(res.wave_path).stat().st_size > 0
