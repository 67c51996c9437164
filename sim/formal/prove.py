"""``prove_unit``: the three SymbiYosys proofs of one unit, with a one-line failure summary.

Plain data in (a :class:`~exactbn.formats.SolvedLayer`, an :class:`exactbn.hw.UnitConfig`,
the Verilog text), plain data out (:class:`ProofResult`). The CLI and the benchmarks render it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .harness import TASKS, ModelParams, StateReg, render_harness
from .harness import _spec_shape as spec_shape
from .miter import ce_copy, free_memories, is_fifo_word, render_credit, render_stall
from .products import cut_products
from .runner import (
    TaskResult,
    list_state,
    remove_workdir,
    run_task,
    stop_children_on_signals,
)
from .vcd import read_vcd

__all__ = ["ProofResult", "prove_unit", "model_from_layer", "default_depth", "diagnostic_depth",
           "datapath_parts"]


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


QUICK_DEPTH = 3  # hold, stall: their induction closes in 2 steps
_EXTRA_DEPTH = {"stream": 3, "hold": 4, "datapath": 2}


def diagnostic_depth(cfg) -> int:
    """Depth of the rerun of a hold or stall task that did not close at :data:`QUICK_DEPTH`:
    latency + 4, deep enough for the base case to reach a stall with two different beats in
    flight (what a register ignoring the stall needs to show itself)."""
    return cfg.latency + 4


def default_depth(cfg, task: str = "hold", stall_bound: int | None = None) -> int:
    """k for k-induction per task. datapath: latency + 2 (the output never stalls: every
    stage and the skid buffer are overwritten within the window); with a stall bound S > 0,
    (latency + 1) * (S + 1). stall and hold: 3 whatever the latency (the step is local: in
    the stall task every flip-flop is tied to the copy); when that does not close, prove
    reruns the task at :func:`diagnostic_depth` to find the counterexample. stream:
    latency + 3."""
    if task == "datapath" and stall_bound:
        return (cfg.latency + 1) * (stall_bound + 1)
    if task in ("stall", "hold"):
        return QUICK_DEPTH
    return cfg.latency + _EXTRA_DEPTH[task]


def datapath_parts(cfg, model: ModelParams, split: int | None = None
                   ) -> list[tuple[int, ...] | None]:
    """How the datapath task is split: ``[None]`` (one run) unless the unit has a RAM store
    with a per-channel shift, where any N of the w_n-bit field can be written: then the N
    values in ``split`` parts (default: 1 part up to 8 values, else 4), whose union is every
    value 0..2^w_n - 1, so the parts together assert every lane of every beat."""
    if cfg.store != "ram" or cfg.shift_mode != "per-channel" or not cfg.w_d:
        return [None]
    values = list(range(cfg.n_min, cfg.n_min + (1 << cfg.w_d)))
    parts = split if split else (1 if len(values) <= 8 else 4)
    if parts <= 1:
        return [None]
    size = -(-len(values) // parts)
    return [tuple(values[i:i + size]) for i in range(0, len(values), size)]


def _part_name(n_values: tuple[int, ...] | None) -> str:
    if n_values is None:
        return "datapath"
    return f"datapath N={n_values[0]}..{n_values[-1]}"


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
    if tag and tag.group(1) == "flag":
        g, xs = get(f"rg{lat - 1}"), get(f"rx{lat - 1}")
        want, user = get(f"rf{lat - 1}"), get("m_axis_tuser")
        got = None if user is None else (user >> cfg.w_user) & 1
        chans = ([g] * L if cfg.lane_mode == "pixels" else
                 [(g or 0) * L + lane for lane in range(L)])
        xv = [_lane(xs, lane, cfg.w_x, cfg.x_signed) for lane in range(L)]
        where = ", ".join(f"channel {c}, x = {x}" for c, x in zip(chans, xv, strict=True))
        return (f"datapath: {where}: range flag expected {want}, got {got} (out of the "
                f"channel's input range; step {step})")
    if tag and tag.group(1) == "ppop":  # products.render_lane_sum's operand check
        return (f"datapath: lane {tag.group(2)}: a partial product of the unit's multiplier "
                f"does not multiply the model's slices of x and M (step {step})")
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
    t = re.search(r"assert\(memw_t(\d+) ==", text)
    if res.task == "stall" and t:  # a shared unit's table word (miter._shadow_table)
        return (f"stall: layer table row {t.group(1)} (that layer's qmin, qmax) differs from "
                f"the generated row as the accepted tbl writes change it (step {step})")
    m = re.search(r"assert\(fa(\d+) ==", text)
    if res.task == "stall" and m and regs:
        name = regs[int(m.group(1))].label
        return (f"stall: register {name} differs from the same unit clocked only when the "
                f"pipeline moves (it changes while the output stalls; step {step}{stalled})")
    if res.task == "stall" and tag and tag.group(1) in ("data", "valid", "user", "last",
                                                        "range_error"):
        return (f"stall: m_axis_t{tag.group(1)} differs from the same unit without stalls "
                f"(step {step}{stalled})" if tag.group(1) != "range_error" else
                f"stall: range_error differs from the same unit without stalls (step {step})")
    m = re.search(r"assert\(hr(\d+)", text)
    if res.task == "hold" and m and regs:
        name = regs[int(m.group(1))].label
        return (f"hold: register {name} changed while the output stalled with no handshake, "
                f"cfg write or reset (it ignores the stall; step {step})")
    prop = text.split("assert(", 1)[-1].rsplit(");", 1)[0] if "assert(" in text else text
    return f"{res.task}: violated {prop} (step {step})"


# With flow=credit the hold task does not apply (the pipeline runs during a stall) and the
# stall task's queue model asserts what the stream task does (miter.render_credit).
CREDIT_SUBSUMED = ("hold", "stream")
Progress = Callable[[str, str, float], None]  # (task, "running" or its status, seconds)


def prove_unit(layer, cfg, verilog: str, outdir: str | Path, depth: int | None = None,
               tasks: tuple[str, ...] = TASKS, keep: bool = False,
               timeout_s: float = 1800, stall_bound: int = 0,
               progress: Progress | None = None, split: int | None = None,
               models: tuple[str | Path, ...] = ()) -> ProofResult:
    """Prove ``verilog`` (a unit with ``cfg``'s ports and structure) against ``layer``.

    Runs ``hold``, ``stream``, ``stall`` and ``datapath`` (see harness.py, miter.py); stops
    at the first task that does not pass. ``progress(task, state, seconds)`` is called when a
    task starts, about once a second while it runs ("running") and with its status at the
    end. ``stall_bound`` > 0 runs the datapath task with output stalls of up to that many
    cycles (the older, slow proof). ``split``: parts of a RAM datapath proof (per N values).
    ``models``: extra Verilog files read with the unit (behavioural primitive models).
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
                      progress, split, tuple(models))


def _jobs(cfg, model, tasks, split):
    for task in tasks:
        if task == "datapath":
            for part in datapath_parts(cfg, model, split):
                yield task, part
        else:
            yield task, None


def _prove(layer, cfg, verilog: str, out: Path, depth: int | None, tasks: tuple[str, ...],
           keep: bool, timeout_s: float, stall_bound: int, progress: Progress | None,
           split: int | None, models: tuple = ()) -> ProofResult:
    model = model_from_layer(layer)
    ranges = layer.ranges() if cfg.range_check else None
    credit = getattr(getattr(cfg, "pipeline", None), "flow", "stall") == "credit"
    if credit:  # the datapath moves during a stall by design: the stall task covers it
        kept = tuple(t for t in tasks if t not in CREDIT_SUBSUMED)
        if len(kept) < len(tasks) and "stall" not in kept:
            kept += ("stall",)  # a subsumed task asked for alone runs what subsumes it
        tasks = kept
    if not tasks:  # nothing proven is never PASS
        return ProofResult("ERROR", summary="no proof task to run")
    result = ProofResult("PASS")
    netlist, regs = None, None
    if tasks:  # every task reads the flattened netlist (models included)
        try:
            netlist, regs = list_state(verilog, cfg.name, out / "state", models=models)
        except ValueError as e:
            result.status, result.summary = "ERROR", f"state: {e}"
            return result
    # the parameter memory words' register wires (the output FIFO's words are plain state)
    memory = {r.wire for r in regs or [] if r.memory and not is_fifo_word(r)}
    for task, part in _jobs(cfg, model, tasks, split):
        name = _part_name(part) if task == "datapath" else task
        try:
            if task == "stall":
                # ROM: nothing shared; B's words are its own (constant) flip-flops, tied to
                # A's as helper invariants like every other register.
                shared = memory if cfg.store == "ram" else set()
                text, taps, mems = ce_copy(netlist, cfg.name, shared)
                render = render_credit if credit else render_stall
                h = render(cfg, model, "exactbn_formal", regs, taps, mems)
                h.dut_rtlil = text
            elif task == "datapath" and cfg.store == "ram":
                text, mems = free_memories(netlist, cfg.name, memory)
                text, prods = cut_products(text, cfg.name, cfg, spec_shape(cfg, model))
                by_wire = {r.wire: r for r in regs}
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, n_values=part,
                                   memory=[(by_wire[wire], wd) for wire, wd in mems],
                                   products=prods)
                h.dut_rtlil = text
            elif task == "datapath":
                text, prods = cut_products(netlist, cfg.name, cfg, spec_shape(cfg, model))
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, n_values=part, products=prods)
                h.dut_rtlil = text
            else:
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, n_values=part)
                h.dut_rtlil = netlist
        except ValueError as e:
            result.status, result.summary = "ERROR", f"{task}: {e}"
            break
        k = depth or default_depth(cfg, task, stall_bound)
        tick = None
        if progress is not None:
            progress(name, "running", 0.0)
            tick = lambda t, _n=name: progress(_n, "running", t)  # noqa: E731
        work = out / name.replace(" ", "_").replace("=", "")
        r = run_task(h, verilog, work, k, timeout_s=timeout_s, tick=tick)
        if r.status == "UNPROVEN" and depth is None and task in ("hold", "stall"):
            k = diagnostic_depth(cfg)  # a deeper base case finds the counterexample, if any
            first = r.seconds
            r = run_task(h, verilog, work, k, timeout_s=timeout_s, tick=tick)
            r.seconds += first
        r.task = name
        if progress is not None:
            progress(name, r.status, r.seconds)
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
                result.summary = f"{name}: no answer within {timeout_s:.0f} s"
            elif r.status == "UNPROVEN":
                result.summary = (f"{name}: k-induction did not close at depth {k} "
                                  "(no counterexample from reset; try a larger --depth)")
            else:
                result.summary = f"{name}: {r.status}: " + " | ".join(r.log_tail[-3:])
            break
    if not keep and result.status == "PASS":
        for r in result.tasks:
            remove_workdir(Path(r.workdir))
        remove_workdir(out / "state")
    return result
