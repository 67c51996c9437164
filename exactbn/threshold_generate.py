"""The generate flow of the threshold unit: solved layer -> exact thresholds -> kit.

Thresholds are derived here from a, b and the output spec (golden/thresholds.py, integers
from the staircase), never read from a file, and checked again against the staircase at
both ends of every output level before anything is written. The unit is exact on every
channel's range by construction, also where no (M, B, N) is exact.
"""

from __future__ import annotations

from exactbn.formats import FormatError, SolvedLayer
from exactbn.hw.threshold_config import ThresholdConfig

MAX_THRESHOLDS = 4095  # 12 output bits: 2^12 - 1 slots per channel

__all__ = ["MAX_THRESHOLDS", "threshold_config_from_solved", "threshold_vectors",
           "threshold_kit_files", "generate_threshold", "wavedrom_sources"]


def threshold_config_from_solved(layer: SolvedLayer, *, lanes: int = 1,
                                 lane_mode: str = "channels", store: str = "rom",
                                 pipeline=None, widths=None, name: str | None = None,
                                 range_check: bool = False, allow_inexact: bool = False,
                                 param_memory: str = "auto", search: str = "auto",
                                 cfg_bus: str = "raw", stages: str = "fast",
                                 file: str | None = None) -> ThresholdConfig:
    """A :class:`ThresholdConfig` for ``layer`` (FormatError naming file/layer/field)."""
    from exactbn.golden.thresholds import layer_threshold_problems, layer_thresholds
    from exactbn.hw.config import Pipeline

    where = {"file": file, "layer": layer.name}
    del allow_inexact  # the threshold unit is exact on every channel's range
    if widths is not None and any(w is not None for w in widths):
        raise FormatError("--widths sets M, B, N widths; the threshold unit has none (its "
                          "threshold width follows the input range)", field="widths", **where)
    if layer.qmin >= layer.qmax:
        raise FormatError(f"clip [{layer.qmin}, {layer.qmax}] has a single level: nothing to "
                          "threshold", field="output.clip", **where)
    if layer.qmax - layer.qmin > MAX_THRESHOLDS:
        raise FormatError(f"{layer.qmax - layer.qmin} thresholds per channel; the threshold "
                          f"unit takes at most {MAX_THRESHOLDS} (use --unit multiply-shift)",
                          field="output.clip", **where)
    out_reg = 1
    if pipeline is not None:
        try:
            p = Pipeline.parse(pipeline) if isinstance(pipeline, str) else pipeline
        except ValueError as e:
            raise FormatError(str(e), **where) from None
        out_reg = p.out
    directions, thresholds = layer_thresholds(layer)
    problems = layer_threshold_problems(layer, directions, thresholds)
    if problems:  # cannot happen unless the derivation is wrong: refuse, never write it
        ch, why = problems[0]
        raise FormatError(f"derived thresholds are not exact: {why}", channel=ch,
                          field="thresholds", **where)
    if name is None:
        from exactbn.hw.names import default_unit_name

        name = default_unit_name(layer.name)
    try:
        return ThresholdConfig(
            w_x=layer.input.bits, x_signed=layer.input.signed, w_q=layer.output.bits,
            q_signed=layer.output.signed, qmin=layer.qmin, qmax=layer.qmax,
            directions=directions, thresholds=thresholds, lanes=lanes, lane_mode=lane_mode,
            store=store, search=search, out_reg=out_reg, name=name, range_check=range_check,
            x_ranges=layer.ranges(), param_memory=param_memory, cfg_bus=cfg_bus, stages=stages)
    except (TypeError, ValueError) as e:
        raise FormatError(str(e), **where) from None


def threshold_vectors(layer: SolvedLayer, cfg: ThresholdConfig, seed: int = 1):
    """Beats: every channel at every threshold and its neighbours, range ends, input extremes,
    a few random values; expected outputs from the exact reference (in range) or the unit's
    count arithmetic (outside the range, where the range flag is set)."""
    import random

    from exactbn.golden.reference import reference
    from exactbn.hw.kit import Vector

    rng = random.Random(seed)
    ranges = layer.ranges()
    rounding = layer.output.rounding

    def points(ch: int) -> list[int]:
        lo, hi = ranges[ch]
        d = cfg.directions[ch]
        pts = {lo, hi, cfg.x_min, cfg.x_max, rng.randint(lo, hi), rng.randint(lo, hi)}
        pts.update(d * t + e for t in set(cfg.thresholds[ch]) for e in (-1, 0, 1))
        return sorted(p for p in pts if cfg.x_min <= p <= cfg.x_max)

    def q(ch: int | None, x: int) -> int:
        if ch is None:
            return cfg.qmin  # padding channels output qmin
        lo, hi = ranges[ch]
        if lo <= x <= hi:
            return int(reference(layer.a[ch], layer.b[ch], [x], rounding, cfg.qmin,
                                 cfg.qmax)[0])
        neg, u = cfg.stored(ch)  # outside the range: what the unit computes (flagged)
        count = sum(1 for v in u if (x >= v) != bool(neg))
        return cfg.qmin + min(count, cfg.qmax - cfg.qmin)

    def beat(user: int, chs: list, xs: list, last: int) -> Vector:
        flag = any(c is not None and not ranges[c][0] <= x <= ranges[c][1]
                   for c, x in zip(chs, xs, strict=True))
        uo = user | (int(flag and cfg.range_check) << cfg.w_user)
        return Vector(tuple(xs), user, last, tuple(q(c, x) for c, x in zip(chs, xs,
                                                                          strict=True)), uo)

    vecs = []
    lanes = cfg.lanes
    if cfg.lane_mode == "channels":
        for g in range(cfg.groups):
            chs = [g * lanes + i if g * lanes + i < cfg.channels else None for i in range(lanes)]
            lists = [points(c) if c is not None else [0] for c in chs]
            n = max(len(v) for v in lists)
            for k in range(n):
                vecs.append(beat(g, chs, [v[k % len(v)] for v in lists], int(k == n - 1)))
    else:
        for c in range(cfg.channels):
            p = points(c)
            n = -(-len(p) // lanes)
            for k in range(n):
                xs = [p[(k * lanes + i) % len(p)] for i in range(lanes)]
                vecs.append(beat(c, [c] * lanes, xs, int(k == n - 1)))
    pad_user = (1 << cfg.w_user) - 1
    if pad_user >= cfg.groups:
        vecs.append(beat(pad_user, [None] * lanes, [cfg.x_max] * lanes, 1))
    return vecs


def _manifest(layer: SolvedLayer, cfg: ThresholdConfig, *, solved_path, solved_sha256,
              freq_mhz: float, n_vectors: int, files: list[str]) -> dict:
    from exactbn.generate import _MEANING
    from exactbn.hw.kit import LINT_WAIVERS
    from exactbn.hw.threshold_unit import threshold_port_list

    meaning = dict(_MEANING)
    meaning.update({
        "cfg_valid": "threshold write valid (pauses the stream; waits for beats still "
                     "searching)",
        "cfg_addr": "channel to write (>= C: ignored, sets cfg_error)",
        "cfg_index": f"slot k (0..{cfg.slots - 1}), or {cfg.slots} = the direction bit",
        "cfg_value": "stored threshold U_k (two's complement): T_k for direction +1, 1 - T_k "
                     "for -1; for the direction: bit 0 = 1 means -1",
    })
    if cfg.cfg_bus == "axil":
        from exactbn.regmap.kit import AXIL_MEANING

        meaning.update({k: v.replace("NAME", cfg.name) for k, v in AXIL_MEANING.items()})
    ports = []
    for name, direction, width in threshold_port_list(cfg):
        text = meaning[name]
        if name == "m_axis_tuser" and cfg.range_check:
            text += f"; bit {cfg.w_user} = this beat had an input outside its range"
        ports.append({"name": name, "direction": direction, "width": width, "meaning": text})
    return {
        "format": "exactbn-unit", "version": 1, "unit": "threshold", "name": cfg.name,
        "layer": layer.name, "solved_file": solved_path, "solved_sha256": solved_sha256,
        "ports": ports, "parameters": cfg.summary(),
        "widths": {"x": cfg.w_x, "threshold": cfg.w_t, "q": cfg.w_q, "tuser": cfg.w_user,
                   "m_tuser": cfg.w_user_out, "cfg_addr": cfg.w_addr,
                   "cfg_index": cfg.w_index},
        "latency": cfg.latency,
        "latency_formula": "1 + (levels - 1 for a binary search, 0 parallel) + out",
        "channels": cfg.channels,
        "directions": list(cfg.directions),
        "thresholds": [list(t) for t in cfg.thresholds],
        "exactness": {
            "exact": True, "exact_channels": cfg.channels, "inexact_channels": [],
            "differing_outputs": 0,
            "checked_by": "exactbn: thresholds derived from a, b and the output spec (exact "
                          "staircase, integers) and re-checked at both ends of every output "
                          "level of every channel's range",
            "ranges": [list(r) for r in layer.ranges()],
        },
        "range_flag": ({"port": "m_axis_tuser", "bit": cfg.w_user} if cfg.range_check else None),
        "freq_mhz": freq_mhz, "vectors": n_vectors, "lint_waivers": LINT_WAIVERS,
        "files": sorted(files),
    }


def wavedrom_sources(cfg: ThresholdConfig) -> dict[str, dict]:
    """WaveDrom JSON of one handshake and of a stall, traced from the threshold unit itself in
    Amaranth's simulator (its real latency and ready behaviour; every beat comes out once)."""
    from dataclasses import replace

    from exactbn.hw.kit import wavedrom_from_trace
    from exactbn.hw.simulate import simulate
    from exactbn.hw.threshold_unit import ThresholdUnit

    raw = replace(cfg, cfg_bus="raw")  # the stream timing is the same behind an AXI4-Lite port
    lat = cfg.latency
    xs = [cfg.channel_range(0)[0]] * cfg.lanes
    hs: list[dict] = []
    res = simulate(raw, [("idle", 1), ("stream", [(xs, 0, 1)]), ("idle", lat + 1)],
                   dut=ThresholdUnit(raw), trace=hs)
    st: list[dict] = []
    n_beats = min(lat + 5, 26)  # one letter a beat
    beats = [(xs, 0, int(k == n_beats - 1)) for k in range(n_beats)]
    res2 = simulate(raw, [("idle", 1), ("stream", beats), ("drain",), ("idle", 1)],
                    ready_pattern=[1] * (lat + 3) + [0] * 3 + [1] * 2 + [0] + [1] * 3,
                    dut=ThresholdUnit(raw), trace=st)
    if len(res.outputs) != 1 or len(res2.outputs) != n_beats:
        raise RuntimeError("threshold unit timing trace lost or duplicated a beat")
    return {
        "handshake": wavedrom_from_trace(
            hs, f"one beat: its result is valid {lat} cycle(s) after the input handshake"),
        "stall": wavedrom_from_trace(
            st, "a stall: m_axis_tready low holds the output; s_axis_tready is a register "
                "(no combinational path from m_axis_tready); nothing is lost or duplicated"),
    }


def _readme(cfg: ThresholdConfig, man: dict, waves: dict[str, dict] | None = None,
            diagrams: dict[str, str] | None = None) -> str:
    import json

    n = cfg.name
    timing = "".join((f"![{k}]({diagrams[k]})\n\n" if diagrams and k in diagrams else "")
                     + f"```wavedrom\n{json.dumps(src)}\n```\n\n"
                     for k, src in (waves or {}).items())
    timing = f"\n## Timing\n\n{timing}" if timing else ""
    ram = ""
    if cfg.cfg_bus == "axil":
        from exactbn.regmap.kit import threshold_readme_section

        ram = threshold_readme_section(cfg)
    elif cfg.store == "ram":
        ram = (f"\n## Writing thresholds (RAM store)\n\nOne write per `cfg_valid & cfg_ready` "
               f"handshake: `cfg_addr` = channel, `cfg_index` = slot k (0..{cfg.slots - 1}) "
               f"with `cfg_value` = U_k ({cfg.w_t}-bit two's complement: T_k for direction +1, "
               f"1 - T_k for direction -1), or `cfg_index` = {cfg.slots} with `cfg_value[0]` "
               "= 1 for direction -1. A write waits until no accepted beat is still "
               "searching, so every beat uses the thresholds of one moment. "
               f"`{n}_thresholds.hex` lists the solved writes ({{channel, index, value}} "
               "per line).\n")
    rows = "\n".join(f"| `{p['name']}` | {p['direction']} | {p['width']} | {p['meaning']} |"
                     for p in man["ports"])
    return f"""# {n}: exact threshold unit for layer {man['layer']}

Per lane: `q = {cfg.qmin} + #{{k : T_k <= d*x}}` over the channel's {cfg.qmax - cfg.qmin}
thresholds, exact on every input of the channel's range (thresholds from the exact
staircase, re-checked by exactbn). {cfg.mode} search, {cfg.n_levels} level(s),
{cfg.slots} slot(s) per channel of {cfg.w_t} bits; C = {cfg.channels}, L = {cfg.lanes}
({cfg.lane_mode} mode), {cfg.store} store; latency {cfg.latency} cycles, one beat per clock.

| port | dir | width | meaning |
|---|---|---|---|
{rows}
{timing}{ram}
## Files

`{n}.v` (the unit), `{n}.json` (manifest, with every threshold), `{n}_tb.v` +
`{n}_vectors.hex` (self-checking bench: `iverilog -o tb {n}_tb.v {n}.v && vvp tb`),
`{n}_inst.v`, `{n}.sdc`/`.xdc`, `{n}.core` (FuseSoC), `{n}_thr*.hex` (memory images),
`{n}_handshake.json`/`{n}_stall.json` (WaveDrom, with `.svg` renderings where available).
"""


def threshold_kit_files(layer: SolvedLayer, cfg: ThresholdConfig, *, solved_path=None,
                        solved_sha256=None, freq_mhz: float = 100.0,
                        seed: int = 1) -> dict[str, str]:
    """Every file of the threshold unit's kit, name -> text (nothing written)."""
    import json

    from exactbn.hw import kit, threshold_kit
    from exactbn.hw.threshold_unit import threshold_verilog

    n = cfg.name
    vectors = threshold_vectors(layer, cfg, seed=seed)
    files = {
        f"{n}.v": threshold_verilog(cfg),
        f"{n}_tb.v": threshold_kit.testbench_v(cfg, len(vectors), seed=seed),
        f"{n}_vectors.hex": kit.vectors_hex(cfg, vectors),
        f"{n}_inst.v": threshold_kit.inst_v(cfg),
        f"{n}.sdc": kit.sdc(cfg, freq_mhz),
        f"{n}.xdc": kit.xdc(cfg, freq_mhz),
        f"{n}.core": threshold_kit.fusesoc_core(cfg),
        f"{n}_thresholds.hex": threshold_kit.thresholds_hex(cfg),
    }
    files.update(threshold_kit.memory_hex(cfg))
    if cfg.cfg_bus == "axil":  # NAME_regs.rdl/.h/.md/.xml, NAME_params.h (exactbn/regmap)
        from exactbn.regmap.kit import threshold_regmap_files

        files.update(threshold_regmap_files(cfg))
    from exactbn.generate import _render_svg

    waves = wavedrom_sources(cfg)
    diagrams: dict[str, str] = {}
    for key, src in waves.items():
        files[f"{n}_{key}.json"] = json.dumps(src, indent=1) + "\n"
        svg = _render_svg(src)
        if svg is not None:
            files[f"{n}_{key}.svg"] = svg
            diagrams[key] = f"{n}_{key}.svg"
    names = list(files) + [f"{n}.json", "README.md"]
    man = _manifest(layer, cfg, solved_path=solved_path, solved_sha256=solved_sha256,
                    freq_mhz=freq_mhz, n_vectors=len(vectors), files=names)
    files[f"{n}.json"] = json.dumps(man, indent=1) + "\n"
    files["README.md"] = _readme(cfg, man, waves, diagrams)
    return files


def generate_threshold(solved_path: str, outdir: str, *, layer_name: str | None = None,
                       freq_mhz: float = 100.0, seed: int = 1,
                       **options) -> tuple[ThresholdConfig, dict]:
    """Read a solved file, build the threshold unit and write its kit atomically."""
    import json

    from exactbn.formats import file_sha256
    from exactbn.generate import load_kit_layer, write_dir_atomic

    layer = load_kit_layer(solved_path, outdir, layer_name)
    options.setdefault("name", None)
    cfg = threshold_config_from_solved(layer, file=str(solved_path), **options)
    files = threshold_kit_files(layer, cfg, solved_path=str(solved_path),
                                solved_sha256=file_sha256(solved_path), freq_mhz=freq_mhz,
                                seed=seed)
    write_dir_atomic(outdir, files)
    return cfg, json.loads(files[f"{cfg.name}.json"])
