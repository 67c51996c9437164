"""What a cocotb bench needs to know about one run: the unit's ports and the stimulus plan.

A :class:`BenchSpec` is written as JSON into the run directory and read back inside the
simulator process (cocotb test modules take no arguments), so everything here is plain data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from exactbn.formats import SolvedLayer, parse_solved

__all__ = ["UnitPorts", "BenchSpec", "SCENARIOS", "ENV_SPEC", "PROFILES", "QUICK_BEATS"]

# Environment variable that carries the spec file's path into the simulator process.
ENV_SPEC = "EXACTBN_BENCH_SPEC"

# Scenarios, in the order the bench runs them (cocotb test names without the "test_" prefix).
SCENARIOS = ("full_rate", "random_gaps", "backpressure", "reset_mid_stream", "reprogram",
             "reprogram_live")

# Stimulus profiles (the multiply-shift bench): "full" drives the structured set plus
# ``vectors`` random inputs per channel in both full_rate and random_gaps; "quick" (sim
# --all-layers) drives it once, in full_rate, and every other scenario on at most
# QUICK_BEATS beats drawn from the same per-channel inputs (computed once per run).
PROFILES = ("full", "quick")
QUICK_BEATS = 2000


@dataclass
class UnitPorts:
    """The facts about a generated unit that a bench relies on (ports and their meaning).

    ``params`` is the store's initial content ``{"M": [...], "B": [...], "N": [...]}`` as
    integers, one entry per channel (the ROM image, or what the bench programs into a RAM).
    """

    toplevel: str
    lanes: int
    lane_mode: str  # "channels" | "pixels"
    store: str  # "rom" | "ram"
    shift_mode: str  # "per-channel" | "shared"
    hw_rounding: str
    w_x: int
    x_signed: bool
    w_q: int
    q_signed: bool
    qmin: int
    qmax: int
    w_m: int
    w_b: int
    w_n: int
    n_max: int = 0  # largest N the store holds (RAM: what reprogramming may write)
    latency: int | None = None
    range_check: bool = False  # m_axis_tuser then carries the beat's range flag on top
    x_ranges: list | None = None  # per-channel (lo, hi) the range check flags against
    w_user: int = 0  # s_axis_tuser bits (0: read from the port)
    # shared unit: per-layer [qmin, qmax, reference rounding]; layer = tuser >> layer_shift
    layer_table: list | None = None
    layer_shift: int = 0
    # threshold unit (hw/threshold_unit.py): search, levels, w_t, stored words per channel
    thresholds: dict | None = None

    @classmethod
    def from_config(cls, config) -> UnitPorts:
        """The ports of a unit built from an ``exactbn.hw.UnitConfig`` (duck-typed)."""
        return cls(
            toplevel=config.name, lanes=config.lanes, lane_mode=config.lane_mode,
            store=config.store, shift_mode=config.shift_mode, hw_rounding=config.hw_rounding,
            w_x=config.w_x, x_signed=config.x_signed, w_q=config.w_q, q_signed=config.q_signed,
            qmin=config.qmin, qmax=config.qmax, w_m=config.w_m, w_b=config.w_b, w_n=config.w_n,
            n_max=config.n_max, latency=config.latency, range_check=config.range_check,
            x_ranges=[list(r) for r in config.x_ranges] or None, w_user=config.w_user,
            layer_table=[[e.qmin, e.qmax, e.rounding] for e in config.layer_table] or None,
            layer_shift=config.layer_shift,
        )

    def __post_init__(self) -> None:
        if self.lanes < 1:
            raise ValueError(f"lanes must be >= 1, got {self.lanes}")
        if self.lane_mode not in ("channels", "pixels"):
            raise ValueError(f"lane_mode must be 'channels' or 'pixels', got {self.lane_mode!r}")
        if self.store not in ("rom", "ram"):
            raise ValueError(f"store must be 'rom' or 'ram', got {self.store!r}")

    @property
    def x_min(self) -> int:
        return -(1 << (self.w_x - 1)) if self.x_signed else 0

    @property
    def x_max(self) -> int:
        return (1 << (self.w_x - 1)) - 1 if self.x_signed else (1 << self.w_x) - 1


@dataclass
class BenchSpec:
    """One bench run: the solved layer (the scoreboard's truth), the unit, the stimulus plan."""

    layer: dict  # SolvedLayer.to_json() of the layer the unit was generated from
    unit: UnitPorts
    seed: int = 1
    vectors: int = 2000  # random lane inputs per channel on top of the structured ones
    exhaustive_max_bits: int = 10  # W_X up to this: every input of every channel
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    result_path: str = "results.json"
    max_beats_per_scenario: int | None = None  # None: the whole structured set every time
    idle_cycles: int = 0  # for the clock_only benchmark baseline
    profile: str = "full"  # see PROFILES

    def solved(self) -> SolvedLayer:
        return parse_solved({"layers": [self.layer]})[0]

    def to_json(self) -> dict:
        d = asdict(self)
        return d

    @classmethod
    def from_json(cls, obj: dict) -> BenchSpec:
        obj = dict(obj)
        obj["unit"] = UnitPorts(**obj["unit"])
        return cls(**obj)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def read(cls, path: str | Path) -> BenchSpec:
        return cls.from_json(json.loads(Path(path).read_text()))
