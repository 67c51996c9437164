"""``prove_unit``: the three SymbiYosys proofs of one unit, with a one-line failure summary.

Plain data in (a :class:`~exactbn.formats.SolvedLayer`, an :class:`exactbn.hw.UnitConfig`,
the Verilog text), plain data out (:class:`ProofResult`). The CLI and the benchmarks render it.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .harness import TASKS, WORD_MODES, ModelParams, StateReg, arith_cut_nets, render_harness
from .harness import _spec_shape as spec_shape
from .miter import (
    credit_copy,
    free_memories,
    free_netlist_products,
    is_fifo_word,
    render_credit,
    render_stall,
    shared_state,
    stall_parts,
    unchecked_words,
)
from .products import cut_nets, cut_products
from .runner import (
    TaskResult,
    list_state,
    remove_workdir,
    run_task,
    stop_children,
    stop_children_on_signals,
)
from .vcd import read_vcd

__all__ = ["ProofResult", "prove_unit", "model_from_layer", "default_depth", "diagnostic_depth",
           "datapath_parts", "check_cover", "lane_parts", "n_parts"]


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


# (lanes, N values) or (lanes, N values, mode); None: all lanes / every N / the whole proof
# (mode "words" or "arith": the two halves of a ROM datapath proof, harness._datapath)
Part = tuple


# Lanes per part of a ROM unit with 8 lanes or more (conv1_bn L = 8, stall + datapath, tools'
# CPU s at load 9-12: one lane a part 40.0, two 26.4, four 27.6, all eight in one 40.8: a
# part's fixed cost, sby and Yosys, is ~2 s, its solver time grows faster than its lanes).
# A RAM store keeps one lane a part (two: 120 CPU s against 49, its free shift per lane).
ROM_LANES_PER_PART = 2


def lane_parts(cfg) -> list[tuple[int, ...] | None]:
    """The lanes of each datapath and stall part: one part per lane for a RAM store with
    more than one lane (its words are free, so every lane's shift is any N: the lanes'
    solver problems are independent and each alone is much smaller), and
    :data:`ROM_LANES_PER_PART` lanes a part for a ROM unit of 8 lanes or more; else
    ``[None]`` (every lane in one run)."""
    if cfg.lanes > 1 and (cfg.store == "ram" or cfg.lanes >= 8):
        size = 1 if cfg.store == "ram" else ROM_LANES_PER_PART
        return [tuple(range(i, min(i + size, cfg.lanes))) for i in range(0, cfg.lanes, size)]
    return [None]


def n_parts(cfg, split: int | None = None) -> list[tuple[int, ...] | None]:
    """The shift values of each datapath part: ``[None]`` (one run) unless the unit has a RAM
    store with a per-channel shift, where any N of the w_n-bit field can be written, and
    ``split`` > 1: then the N values in ``split`` parts whose union is every value
    n_min .. n_min + 2^w_d - 1. The default is one part: with one lane a part (the lane
    split), every N together costs less than the sum of the N parts (conv1_bn, N over
    0..31: 18-21 s a lane, against 12-15 s for each quarter of the field)."""
    if cfg.store != "ram" or cfg.shift_mode != "per-channel" or not cfg.w_d:
        return [None]
    values = list(range(cfg.n_min, cfg.n_min + (1 << cfg.w_d)))
    parts = split or 1
    if parts <= 1:
        return [None]
    size = -(-len(values) // parts)
    return [tuple(values[i:i + size]) for i in range(0, len(values), size)]


# Words per lane memory above which a ROM unit's datapath is proven in two halves: the whole
# proof's cost grows with them (ResNet-18, 64 words: 498 s to over 1800 s; split: 52 s at
# load 16), while a few words proven whole cost less than the halves (conv1_bn, 16 words,
# L = 2: 27.5 s whole, 71.6 s split at load 20).
WORD_SPLIT_MIN_WORDS = 16


def word_split(cfg, words: bool | None = None) -> bool:
    """A ROM unit whose products are the netlist's ``$mul`` cells (cut, products.py) and with
    more than :data:`WORD_SPLIT_MIN_WORDS` words per lane memory is proven in two halves
    (harness._datapath's ``mode``): the words it reads ("words") and its arithmetic for any
    word within the solved words' extremes ("arith"); ``words`` True/False forces it (when
    it applies). Units whose multipliers are instantiated primitives or gates (ecp5, ice40,
    asic) keep the whole proof: there the arith half would prove a multiplier of a free M."""
    from exactbn.hw.multiplier import uses_primitive

    family = getattr(cfg, "family", "generic")
    if cfg.store != "rom" or family == "asic" or uses_primitive(family, cfg.pipeline.mult):
        return False
    return cfg.groups > WORD_SPLIT_MIN_WORDS if words is None else words


def datapath_parts(cfg, model: ModelParams, split: int | None = None,
                   words: bool | None = None) -> list[Part]:
    """How the datapath task is split: every lane part (:func:`lane_parts`) with every N
    part (:func:`n_parts`), so the parts together assert every lane of every beat for every
    N; a ROM unit with many words (:func:`word_split`; ``words`` forces it) as one "words"
    part and the lane parts in "arith" mode (:func:`check_cover` re-checks the cover before
    anything is claimed)."""
    if word_split(cfg, words):
        return [(None, None, "words")] + [(lanes, None, "arith") for lanes in lane_parts(cfg)]
    return [(lanes, ns) for lanes in lane_parts(cfg) for ns in n_parts(cfg, split)]


def _mode(part: Part | None) -> str | None:
    return part[2] if part is not None and len(part) > 2 else None


def check_cover(cfg, parts: list[Part]) -> str | None:
    """None when the parts assert every (lane, N) pair (every N of the unit's field) and,
    where a part proves a lane's arithmetic for any word ("arith"), some part asserts the
    words that lane reads ("words", or a whole part); else what is missing: prove calls
    that ERROR, never PASS."""
    if not parts:
        return "the datapath task has no part"
    lo, hi = cfg.n_min, cfg.n_max
    if cfg.store == "ram" and cfg.shift_mode == "per-channel" and cfg.w_d:
        hi = cfg.n_min + (1 << cfg.w_d) - 1
    need = {(lane, n) for lane in range(cfg.lanes) for n in range(lo, hi + 1)}
    have, words, arith = set(), set(), set()
    for part in parts:
        lanes, ns, mode = part[0], part[1], _mode(part)
        if mode not in (None, *WORD_MODES):
            return f"unknown datapath part mode {mode!r}"
        if mode is not None and (cfg.store != "rom" or ns is not None):
            return "a words/arith datapath part is for a ROM store, with every N"
        part_lanes = set(range(cfg.lanes) if lanes is None else lanes)
        if mode != "arith":
            words |= part_lanes
        if mode == "words":
            continue
        if mode == "arith":
            arith |= part_lanes
        for lane in part_lanes:
            have.update((lane, n) for n in (range(lo, hi + 1) if ns is None else ns))
    missing = sorted(need - have)
    if missing:
        lane, n = missing[0]
        return (f"the datapath parts leave {len(missing)} (lane, N) pair(s) unasserted "
                f"(lane {lane}, N = {n})")
    if unread := sorted(arith - words):
        return (f"lane {unread[0]}'s arithmetic is proven for any word, but no part asserts "
                "the words it reads (a words part)")
    return None


def _part_name(part: Part | None) -> str:
    lanes, ns = (part[0], part[1]) if part is not None else (None, None)
    name = "datapath"
    if _mode(part):
        name += f" {_mode(part)}"
    if lanes is not None:
        name += " lane " + ",".join(str(v) for v in lanes)
    if ns is not None:
        name += f" N={ns[0]}..{ns[-1]}"
    return name


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
        for lane in ([int(tag.group(2))] if tag.group(2) else range(L)):
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
    if tag and tag.group(1) == "opb":  # the words part (harness._datapath mode "words")
        lane = int(tag.group(2))
        k0 = cfg.stages["dspin"]
        g = get(f"rg{k0}")
        ch = g if cfg.lane_mode == "pixels" else (g or 0) * L + lane
        got = _lane(get(f"opb{lane}"), 0, cfg.w_b, True)
        want = _lane(get(f"rB{lane}_{k0}"), 0, cfg.w_b, True)
        return (f"datapath: channel {ch}: the unit adds B = {got}, the model's B is {want} "
                f"(parameter word wrong; step {step})")
    if tag and tag.group(1) == "opd":
        lane = int(tag.group(2))
        ks = cfg.stages["dspin"] + cfg.stages["mult"]
        g = get(f"rg{ks}")
        ch = g if cfg.lane_mode == "pixels" else (g or 0) * L + lane
        d = get(f"opd{lane}")
        want = get(f"rN{lane}_{ks}")
        got = None if d is None else d + cfg.n_min
        return (f"datapath: channel {ch}: the unit shifts by N = {got}, the model's N is "
                f"{want} (parameter word wrong; step {step})")
    t = re.search(r"assert\(memw_t(\d+) ==", text)
    stall = res.task.startswith("stall")
    if stall and t:  # a shared unit's table word (miter._shadow_table)
        return (f"stall: layer table row {t.group(1)} (that layer's qmin, qmax) differs from "
                f"the generated row as the accepted tbl writes change it (step {step})")
    m = re.search(r"assert\(fa(\d+)(?:\[\d+:\d+\])? ==", text)
    if stall and m and regs:
        name = regs[int(m.group(1))].label
        return (f"stall: register {name} differs from the same unit clocked only when the "
                f"pipeline moves (it changes while the output stalls; step {step}{stalled})")
    if stall and tag and tag.group(1) in ("data", "valid", "user", "last",
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
               models: tuple[str | Path, ...] = (),
               parts: list[Part] | None = None, jobs: int | None = None) -> ProofResult:
    """Prove ``verilog`` (a unit with ``cfg``'s ports and structure) against ``layer``.

    Runs ``hold``, ``stream``, ``stall`` and ``datapath`` (see harness.py, miter.py); stops
    at the first task that does not pass. ``progress(task, state, seconds)`` is called when a
    task starts, about once a second while it runs ("running") and with its status at the
    end. ``stall_bound`` > 0 runs the datapath task with output stalls of up to that many
    cycles (the older, slow proof). ``split``: parts of a RAM datapath proof (per N values);
    ``parts``: the datapath parts as ``[(lanes, N values)]`` (default
    :func:`datapath_parts`; parts that leave a lane or an N unasserted are ERROR).
    ``jobs``: tasks run at the same time (default: up to the CPU count, at most 4), started
    in the order above; the result is the sequential one (the first task that does not pass
    decides, the tasks after it are cancelled or ignored).
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
                      progress, split, tuple(models), parts, jobs)


def _jobs(tasks, parts):
    for task in tasks:
        if task == "datapath":
            for part in parts:
                yield task, part
        else:
            yield task, None


def _prove(layer, cfg, verilog: str, out: Path, depth: int | None, tasks: tuple[str, ...],
           keep: bool, timeout_s: float, stall_bound: int, progress: Progress | None,
           split: int | None, models: tuple = (), parts: list[Part] | None = None,
           jobs: int | None = None) -> ProofResult:
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
            netlist, regs = list_state(verilog, cfg.name, out / "state", models=models,
                                       structural_memories=True)
        except ValueError as e:
            result.status, result.summary = "ERROR", f"state: {e}"
            return result
    # the parameter memory words' register wires (the output FIFO's words are plain state)
    memory = {r.wire for r in regs or [] if r.memory and not is_fifo_word(r)}
    if cfg.store == "ram" and (gap := _ram_words_not_memory(cfg, regs or [], memory)):
        result.status, result.summary = "ERROR", f"state: {gap}"
        return result
    parts = datapath_parts(cfg, model, split) if parts is None else parts
    if "datapath" in tasks and (gap := check_cover(cfg, parts)):
        result.status, result.summary = "ERROR", f"datapath: {gap}"
        return result
    jobs_list = []
    for task, part in _jobs(tasks, parts):
        name = _part_name(part) if task == "datapath" else task
        lanes, n_values = (part[0], part[1]) if part is not None else (None, None)
        mode = _mode(part)
        try:
            if task == "stall":
                # ROM: nothing shared; B's words are its own (constant) flip-flops, tied to
                # A's as helper invariants like every other register.
                shared = memory if cfg.store == "ram" else set()
                # credit: B reads A's datapath flip-flops (found by structure, ties asserted)
                sh = shared_state(netlist, cfg.name, regs, shared) if credit else set()
                text, taps, mems, shs = credit_copy(netlist, cfg.name, shared, sh)
                if credit:
                    h = render_credit(cfg, model, "exactbn_formal", regs, taps, mems, shs)
                elif lane_parts(cfg) != [None]:  # one part per lane's cone, and the rest
                    hs = []
                    for sp in stall_parts(netlist, cfg, regs, lane_parts(cfg)):
                        h = render_stall(cfg, model, "exactbn_formal", regs, taps, mems, sp)
                        h.dut_rtlil = text
                        hs.append(h)
                        jobs_list.append((task, sp.name, h))
                    if label := unchecked_words(hs, regs, mems):
                        raise ValueError(f"memory word {label!r} is not one the stall proof "
                                         "checks against the cfg writes: an edited unit "
                                         "must keep the generated store")
                    continue
                else:
                    h = render_stall(cfg, model, "exactbn_formal", regs, taps, mems)
                h.dut_rtlil = text
            elif task == "datapath" and cfg.store == "ram":
                text, mems = free_memories(netlist, cfg.name, memory)
                text, prods = cut_products(text, cfg.name, cfg, spec_shape(cfg, model))
                by_wire = {r.wire: r for r in regs}
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, n_values=n_values,
                                   memory=[(by_wire[wire], wd) for wire, wd in mems],
                                   products=prods, lanes=lanes)
                h.dut_rtlil = text
            elif task == "datapath" and mode == "words":  # no data: no products needed
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, lanes=lanes, mode=mode)
                h.dut_rtlil = netlist
            elif task == "datapath":
                text, prods = cut_products(netlist, cfg.name, cfg, spec_shape(cfg, model))
                cut = None
                if mode == "arith":  # the words' operands read free values (products.py)
                    text, cut = cut_nets(text, cfg.name, arith_cut_nets(cfg, lanes))
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges, n_values=n_values, products=prods,
                                   lanes=lanes, mode=mode, cut_ports=cut)
                h.dut_rtlil = text
            else:
                h = render_harness(task, cfg, model, regs, stall_bound=stall_bound,
                                   ranges=ranges)
                # hold: true for every value a product takes (miter.free_products)
                h.dut_rtlil = (free_netlist_products(netlist, cfg.name) if task == "hold"
                               else netlist)
        except ValueError as e:
            result.status, result.summary = "ERROR", f"{task}: {e}"
            return result
        jobs_list.append((task, name, h))
    lock = threading.Lock()

    def report(name: str, state: str, secs: float) -> None:
        if progress is not None:
            with lock:
                progress(name, state, secs)

    def run(task: str, name: str, h) -> tuple[TaskResult, int]:
        k = depth or default_depth(cfg, task, stall_bound)
        report(name, "running", 0.0)
        tick = lambda t: report(name, "running", t)  # noqa: E731
        work = out / name.replace(" ", "_").replace("=", "").replace(",", "_")
        r = run_task(h, verilog, work, k, timeout_s=timeout_s, tick=tick)
        if r.status == "UNPROVEN" and depth is None and task in ("hold", "stall"):
            k = diagnostic_depth(cfg)  # a deeper base case finds the counterexample, if any
            first = r.seconds
            r = run_task(h, verilog, work, k, timeout_s=timeout_s, tick=tick)
            r.seconds += first
        r.task = name
        report(name, r.status, r.seconds)
        return r, k

    # Tasks run ``jobs`` at a time, started in order; a task that does not pass cancels
    # those not yet started, and the results are read in order up to the first one that
    # did not pass (what the sequential run reported).
    n_jobs = max(1, jobs if jobs else min(len(jobs_list), os.cpu_count() or 1, 4))
    pool = ThreadPoolExecutor(max_workers=n_jobs)
    try:
        futs = [pool.submit(run, task, name, h) for task, name, h in jobs_list]

        def stop_rest(f) -> None:
            if f.cancelled() or f.exception() is not None or f.result()[0].status != "PASS":
                for g in futs:
                    g.cancel()

        for f in futs:
            f.add_done_callback(stop_rest)
        outcomes = []
        for (task, name, _), f in zip(jobs_list, futs, strict=True):
            if f.cancelled():
                break
            outcomes.append((task, name, *f.result()))
            if outcomes[-1][2].status != "PASS":
                break
    except BaseException:  # a signal or an error: nothing new starts, every tool ends
        pool.shutdown(wait=False, cancel_futures=True)
        stop_children()
        raise
    if len(outcomes) < len(jobs_list):  # a task did not pass: the later ones are not needed
        pool.shutdown(wait=False, cancel_futures=True)
        stop_children()
    pool.shutdown(wait=True, cancel_futures=True)
    for task, name, r, k in outcomes:
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
    if len(result.tasks) < len(jobs_list) and result.status == "PASS":
        result.status, result.summary = "ERROR", "a proof task did not run"
    if not keep and result.status == "PASS":
        for r in result.tasks:
            remove_workdir(Path(r.workdir))
        remove_workdir(out / "state")
    return result


def _ram_words_not_memory(cfg, regs, memory: set[str]) -> str | None:
    """A RAM store's words must be the netlist's memory words (Yosys ``$memory`` cells, found
    by structure): every word the store images name (``core.store.memK[G]``) must be one.
    Otherwise (e.g. words edited into plain registers that the
    cfg writes never reach) the proofs would compare against constants: say which word."""
    from exactbn.hw.store import store_images

    by_label = {r.label: r.wire for r in regs}
    for k, img in enumerate(store_images(cfg)):
        for g in range(len(img)):
            label = f"core.store.mem{k}[{g}]"
            wire = by_label.get(label)
            if wire is None or wire not in memory:
                return (f"the RAM store's word {label!r} is not a memory word of the netlist: "
                        "an edited unit must keep the generated store")
    return None
