"""``prove_unit``: the three SymbiYosys proofs of one unit, with a one-line failure summary.

Plain data in (a :class:`~exactbn.formats.SolvedLayer`, an :class:`exactbn.hw.UnitConfig`,
the Verilog text), plain data out (:class:`ProofResult`). The CLI and the benchmarks render it.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .harness import TASKS, ModelParams, StateReg, default_stall_bound, render_harness
from .runner import (
    TaskResult,
    list_state,
    remove_workdir,
    run_task,
    stop_children_on_signals,
)
from .vcd import read_vcd

__all__ = ["ProofResult", "prove_unit", "model_from_layer", "default_depth"]


@dataclass
class ProofResult:
    """``status``: PASS (every task proven), FAIL (a counterexample), UNPROVEN or ERROR."""

    status: str
    tasks: list[TaskResult] = field(default_factory=list)
    summary: str = ""
    vcd: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def model_from_layer(layer) -> ModelParams:
    """The solved file's parameters, which the proof compares the unit against."""
    return ModelParams(tuple(layer.M), tuple(layer.B), tuple(layer.N), layer.qmin, layer.qmax,
                       layer.hw_rounding)


_EXTRA_DEPTH = {"stream": 3, "hold": 4}


def default_depth(cfg, task: str = "hold", stall_bound: int | None = None) -> int:
    """k for k-induction per task. datapath: (latency + 1) * (stall_bound + 1): with the
    output stalled at most ``stall_bound`` cycles in a row, every pipeline stage and the skid
    buffer are overwritten within the window; stream: latency + 3; hold: latency + 4 (the
    base case must reach a stall with two different beats in flight, which is what a register
    ignoring the stall needs to show itself)."""
    if task == "datapath":
        s = default_stall_bound(cfg) if stall_bound is None else stall_bound
        return (cfg.latency + 1) * (s + 1)
    return cfg.latency + _EXTRA_DEPTH[task]


def _lane(v: int | None, lane: int, w: int, signed: bool) -> int | None:
    if v is None:
        return None
    u = (v >> (lane * w)) & ((1 << w) - 1)
    return u - (1 << w) if signed and u >> (w - 1) else u


def _summarize(res: TaskResult, cfg, regs: list[StateReg] | None) -> str:
    text = res.failed_text or "an assertion"
    tag = re.search(r"// @(\w+)(?: (\d+))?", text)
    step = res.failed_step
    if res.vcd is None or step is None:
        return f"{res.task}: {text}"
    vals = read_vcd(res.vcd)
    at = min(2 * step, len(next(iter(vals.values()))) - 1) if vals else 0

    def get(name):
        seq = vals.get(name)
        return None if seq is None else seq[at]

    lat = cfg.latency
    L = cfg.lanes
    stalls = vals.get("stall")
    n_stall = sum(1 for v in (stalls or [])[:at:2] if v)
    stalled = f", after {n_stall} output stall cycle(s)" if stalls is not None else ""
    if tag and tag.group(1) == "data":
        got, want = get("m_axis_tdata"), get(f"rq{lat - 1}")
        g, xs = get(f"rg{lat - 1}"), get(f"rx{lat - 1}")
        for lane in range(L):
            a = _lane(got, lane, cfg.w_q, cfg.q_signed)
            b = _lane(want, lane, cfg.w_q, cfg.q_signed)
            if a != b:
                ch = g if cfg.lane_mode == "pixels" else (g or 0) * L + lane
                x = _lane(xs, lane, cfg.w_x, cfg.x_signed)
                return (f"datapath: channel {ch}, x = {x}: expected {b}, got {a} "
                        f"(lane {lane}, step {step}{stalled})")
    if tag and tag.group(1) in ("opm", "opx"):
        lane = int(tag.group(2))
        k0 = cfg.stages["dspin"]  # the operands are compared after the dspin registers
        g = get(f"rg{k0}")
        ch = g if cfg.lane_mode == "pixels" else (g or 0) * L + lane
        if tag.group(1) == "opm":
            got = _lane(get(f"opm{lane}"), 0, cfg.w_m, True)
            want = _lane(get(f"rM{lane}_{k0}"), 0, cfg.w_m, True)
            return (f"datapath: channel {ch}: the unit multiplies by M = {got}, the model's M "
                    f"is {want} (parameter word wrong; step {step})")
        x = _lane(get(f"rx{k0}"), lane, cfg.w_x, cfg.x_signed)
        return f"datapath: channel {ch}, x = {x}: the multiplier's x operand differs (step {step})"
    m = re.search(r"assert\(hr(\d+)", text)
    if res.task == "hold" and m and regs:
        name = regs[int(m.group(1))].label
        return (f"hold: register {name} changed while the output stalled with no handshake, "
                f"cfg write or reset (it ignores the stall; step {step})")
    prop = text.split("assert(", 1)[-1].rsplit(");", 1)[0] if "assert(" in text else text
    return f"{res.task}: violated {prop} (step {step})"


Progress = Callable[[str, str, float], None]  # (task, "running" or its status, seconds)


def prove_unit(layer, cfg, verilog: str, outdir: str | Path, depth: int | None = None,
               tasks: tuple[str, ...] = TASKS, keep: bool = False,
               timeout_s: float = 1800, stall_bound: int = 0,
               progress: Progress | None = None, split: int | None = None) -> ProofResult:
    """Prove ``verilog`` (a unit with ``cfg``'s ports and structure) against ``layer``.

    Runs ``hold``, ``stream``, ``stall`` and ``datapath`` (see harness.py, miter.py); stops
    at the first task that does not pass. ``progress(task, state, seconds)`` is called when a
    task starts, about once a second while it runs ("running") and with its status at the
    end. ``stall_bound`` > 0 runs the datapath task with output stalls of up to that many
    cycles (the older, slow proof). ``split``: parts of a RAM datapath proof (per N values).
    The counterexample VCD of a failure is copied to ``outdir/cex_<task>.vcd``. Work
    directories are created under ``outdir`` (marked, and only those are ever deleted);
    the tool processes are ended on every exit path, signals included.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    from exactbn.hw.primitives import with_sim_models

    verilog = with_sim_models(cfg, verilog)  # models of instantiated primitives (ECP5)
    with stop_children_on_signals():
        return _prove(layer, cfg, verilog, out, depth, tasks, keep, timeout_s, stall_bound,
                      progress, split)


def _jobs(cfg, model, tasks, split):
    for task in tasks:
        if task == "datapath":
            for part in datapath_parts(cfg, model, split):
                yield task, part
        else:
            yield task, None


def _prove(layer, cfg, verilog: str, out: Path, depth: int | None, tasks: tuple[str, ...],
           keep: bool, timeout_s: float, stall_bound: int) -> ProofResult:
    model = model_from_layer(layer)
    result = ProofResult("PASS")
    for task in tasks:
        regs = None
        netlist = None
        if task == "hold":
            try:
                netlist, regs = list_state(verilog, cfg.name, out / "state")
            except ValueError as e:
                result.status, result.summary = "ERROR", f"hold: {e}"
                break
        h = render_harness(task, cfg, model, regs, stall_bound=stall_bound)
        h.dut_rtlil = netlist
        k = depth or default_depth(cfg, task, stall_bound)
        r = run_task(h, verilog, out / task, k, timeout_s=timeout_s)
        result.tasks.append(r)
        result.seconds += r.seconds
        if r.status != "PASS":
            result.status = r.status
            if r.status == "FAIL":
                result.summary = _summarize(r, cfg, regs)
                if r.vcd:
                    dst = out / f"cex_{task}.vcd"
                    shutil.copyfile(r.vcd, dst)
                    result.vcd = str(dst)
            elif r.status == "TIMEOUT":
                result.summary = f"{task}: no answer within {timeout_s:.0f} s"
            elif r.status == "UNPROVEN":
                result.summary = (f"{task}: k-induction did not close at depth {k} "
                                  "(no counterexample from reset; try a larger --depth)")
            else:
                result.summary = f"{task}: {r.status}: " + " | ".join(r.log_tail[-3:])
            break
    if not keep and result.status == "PASS":
        for r in result.tasks:
            remove_workdir(Path(r.workdir))
        remove_workdir(out / "state")
    return result
