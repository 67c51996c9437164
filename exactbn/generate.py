"""The generate flow: a solved layer + unit options -> hw config -> Verilog and integration kit.

This is where the solved-file world (exactbn.formats, golden's integer model for expected
vectors) meets hw/ (which only sees plain parameters). ``unit_config_from_solved`` is the
one place that turns a :class:`~exactbn.formats.SolvedLayer` into a
:class:`~exactbn.hw.UnitConfig`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from exactbn.formats import FormatError, SolvedLayer, twos_width, unsigned_width
from exactbn.hw.config import (
    FAMILIES,
    LANE_MODES,
    MAX_CHANNELS,
    MAX_LANES,
    STORES,
    Pipeline,
    UnitConfig,
    family_preset,
)

__all__ = [
    "unit_config_from_solved",
    "inexact_summary",
    "channel_points",
    "expected_outputs",
    "build_vectors",
    "manifest",
    "kit_files",
    "write_dir_atomic",
    "generate",
]


def inexact_summary(layer: SolvedLayer, file: str | None = None) -> tuple[list[int], int]:
    """Channels that are not exact and the total count of differing input values, both
    re-derived from a, b and the output spec (golden/recheck.py), never from the file's
    ``exact``/``mismatches`` flags. FormatError when the re-check cannot be done."""
    from exactbn.golden.recheck import TooManyLevels, layer_exactness

    try:
        if getattr(layer, "shared_layers", None):  # shared unit: each layer, its own spec
            from exactbn.shared import merged_exactness

            ex = merged_exactness(layer)
        else:
            ex = layer_exactness(layer)
    except TooManyLevels as e:
        raise FormatError(f"exactness cannot be re-checked: {e}", file=file,
                          layer=layer.name) from None
    return ex.inexact_channels, ex.differing_inputs


def unit_config_from_solved(
    layer: SolvedLayer,
    *,
    lanes: int = 1,
    lane_mode: str = "channels",
    store: str = "rom",
    pipeline: Pipeline | str | None = None,
    widths: tuple[int | None, int | None, int | None] | None = None,
    name: str | None = "exactbn_bn",
    range_check: bool = False,
    allow_inexact: bool = False,
    dsp_width: int = 18,
    param_memory: str = "auto",
    family: str = "generic",
    cfg_bus: str = "raw",
    file: str | None = None,
) -> UnitConfig:
    """A :class:`UnitConfig` for ``layer``; shift mode and hw rounding come from the file.

    ``name`` None = :func:`exactbn.hw.names.default_unit_name` of the layer (the CLI's
    default). ``widths`` = (W_M, W_B, W_N) overrides (None entries are auto-sized from the widest
    parameter). Raises :class:`FormatError` naming the layer/channel/field on anything that
    does not fit (too-small widths, inexact channels without ``allow_inexact``, bad options).
    """
    where = {"file": file, "layer": layer.name}
    c = layer.channels
    if not isinstance(lanes, int) or not 1 <= lanes <= MAX_LANES:
        raise FormatError(f"--lanes must be in 1..{MAX_LANES}, got {lanes!r}", **where)
    if c > MAX_CHANNELS:
        raise FormatError(f"{c} channels; at most {MAX_CHANNELS} are supported", **where)
    if lane_mode not in LANE_MODES:
        raise FormatError(f"--lane-mode must be one of {', '.join(LANE_MODES)}, got {lane_mode!r}",
                          **where)
    if store not in STORES:
        raise FormatError(f"--store must be one of {', '.join(STORES)}, got {store!r}", **where)
    if family not in FAMILIES:
        raise FormatError(f"--target family must be one of {', '.join(FAMILIES)}, got "
                          f"{family!r}", **where)
    if family == "ecp5":
        dsp_width = 18  # MULT18X18D ports
    if pipeline is None:  # a target's fastest preset, plain default without one
        pipeline = family_preset(family)
    elif isinstance(pipeline, str):
        try:
            pipeline = Pipeline.parse(pipeline)
        except ValueError as e:
            raise FormatError(str(e), **where) from None
    bad, diff = inexact_summary(layer, file)
    if bad and not allow_inexact:
        claimed = [ch for ch in bad if layer.exact[ch]]
        raise FormatError(
            f"{len(bad)} channel(s) are not exact ({', '.join(map(str, bad[:8]))}"
            f"{', ...' if len(bad) > 8 else ''}): {diff} input value(s) give a different output "
            "than the exact BN (re-derived from a, b and the output spec"
            f"{f'; the file calls {len(claimed)} of them exact' if claimed else ''}); pass "
            "--allow-inexact to build the unit anyway", channel=bad[0] if len(bad) == 1 else None,
            **where)
    shared = layer.shift_mode == "shared"
    need_m, need_b = twos_width(*layer.M), twos_width(*layer.B)
    need_n = 0 if shared else unsigned_width(*layer.N)
    w_m, w_b, w_n = widths if widths is not None else (None, None, None)
    w_m = need_m if w_m is None else w_m
    w_b = need_b if w_b is None else w_b
    if w_n is None:
        w_n = need_n if not shared else 0
        if store == "ram" and not shared:
            w_n = max(w_n, 1)
    elif shared and w_n != 0:
        raise FormatError(f"the shift is shared (N = {layer.N[0]}); the N width must be 0, "
                          f"got {w_n}", field="widths.N", **where)
    for fld, given, vals in (("M", w_m, layer.M), ("B", w_b, layer.B)):
        if given < 1:
            raise FormatError(f"width must be >= 1, got {given}", field=f"widths.{fld}", **where)
        for ch, v in enumerate(vals):
            if twos_width(v) > given:
                raise FormatError(f"{fld} = {v} needs {twos_width(v)} bits, width given is "
                                  f"{given}", channel=ch, field=fld, **where)
    if not shared:
        for ch, v in enumerate(layer.N):
            if unsigned_width(v) > w_n:
                raise FormatError(f"N = {v} needs {unsigned_width(v)} bits, width given is "
                                  f"{w_n}", channel=ch, field="N", **where)
    if name is None:
        from exactbn.hw.names import default_unit_name

        name = default_unit_name(layer.name)
    out = layer.output
    table = {}
    if getattr(layer, "shared_table", None):  # shared unit: the per-layer table (shared.py)
        shift, rows = layer.shared_table
        if store == "ram" or any((e.qmin, e.qmax) != (out.qmin, out.qmax) for e in rows):
            table = {"layer_table": rows, "layer_shift": shift}
    try:
        return UnitConfig(**table,
            w_x=layer.input.bits, x_signed=layer.input.signed,
            w_m=w_m, w_b=w_b, w_n=w_n,
            w_q=out.bits, q_signed=out.signed, qmin=out.qmin, qmax=out.qmax,
            M=layer.M, B=layer.B, N=layer.N,
            lanes=lanes, lane_mode=lane_mode, shift_mode=layer.shift_mode,
            hw_rounding=layer.hw_rounding, store=store, pipeline=pipeline, name=name,
            range_check=range_check, x_ranges=layer.ranges() if range_check else (),
            dsp_width=dsp_width, family=family,
            param_memory=param_memory, cfg_bus=cfg_bus,
        )
    except (TypeError, ValueError) as e:
        raise FormatError(str(e), **where) from None


# ----------------------------------------------------------------------------- vectors


def channel_points(layer: SolvedLayer, cfg: UnitConfig, channel: int, extra_random: int = 4,
                   seed: int = 0) -> list[int]:
    """Test inputs of one channel: every level transition (and neighbours) in its certified
    range, the range ends, the input type's extremes, 0, and a few random values."""
    import random

    from exactbn.golden.verify import transition_points

    pts = set(transition_points(layer, channel))
    lo, hi = layer.ranges()[channel]
    pts.update((lo, hi, cfg.x_min, cfg.x_max, cfg.x_min + 1, cfg.x_max - 1))
    if cfg.x_min <= 0 <= cfg.x_max:
        pts.add(0)
    rng = random.Random(seed * 7919 + channel)
    pts.update(rng.randint(cfg.x_min, cfg.x_max) for _ in range(extra_random))
    return sorted(p for p in pts if cfg.x_min <= p <= cfg.x_max)


def expected_outputs(layer: SolvedLayer, cfg: UnitConfig, channel: int | None, xs) -> list[int]:
    """Golden's integer model for ``xs`` on ``channel`` (None = a padding channel)."""
    import numpy as np

    from exactbn.golden.model import integer_model

    if channel is None:
        m = b = n = 0
    else:
        m, b, n = layer.M[channel], layer.B[channel], layer.N[channel]
    q = integer_model(m, b, n, np.asarray(list(xs), dtype=object), cfg.qmin, cfg.qmax,
                      layer.hw_rounding)
    return [int(v) for v in np.asarray(q).ravel()]


def build_vectors(layer: SolvedLayer, cfg: UnitConfig, seed: int = 0):
    """Beats covering every channel at its transition points and extremes, with expected
    outputs from golden's integer model; plus one beat on a padding tuser when one exists."""
    from exactbn.hw.kit import Vector
    from exactbn.hw.layer_table import layer_bounds

    c_count, lanes = cfg.channels, cfg.lanes
    ranges = layer.ranges()
    points = [channel_points(layer, cfg, c, seed=seed) for c in range(c_count)]
    exp = [dict(zip(p, expected_outputs(layer, cfg, c, p), strict=True))
           for c, p in enumerate(points)]
    pad_q = expected_outputs(layer, cfg, None, [0])[0]

    def flag(chs, xs) -> int:
        if not cfg.range_check:
            return 0
        return int(any(c is not None and not ranges[c][0] <= x <= ranges[c][1]
                       for c, x in zip(chs, xs, strict=True)))

    w_user = cfg.w_user  # once: UnitConfig's widths are recomputed on every call
    bounds: dict[int, tuple[int, int]] = {}

    def beat(user: int, chs: list, xs: list, last: int) -> Vector:
        qs = [exp[c][x] if c is not None else pad_q for c, x in zip(chs, xs, strict=True)]
        if user not in bounds:  # shared unit: the beat's layer clip (inside qmin/qmax)
            bounds[user] = layer_bounds(cfg, user)
        lo, hi = bounds[user]
        qs = [min(max(q, lo), hi) for q in qs]
        uo = user | (flag(chs, xs) << w_user)
        return Vector(tuple(xs), user, last, tuple(qs), uo)

    vecs = []
    if cfg.lane_mode == "channels":
        for g in range(cfg.groups):
            chs = [g * lanes + i if g * lanes + i < c_count else None for i in range(lanes)]
            lists = [points[c] if c is not None else [0] for c in chs]
            n = max(len(v) for v in lists)
            for k in range(n):
                xs = [lst[k % len(lst)] for lst in lists]
                vecs.append(beat(g, chs, xs, int(k == n - 1)))
        pad_user = (1 << cfg.w_user) - 1
        if pad_user >= cfg.groups:
            vecs.append(beat(pad_user, [None] * lanes, [cfg.x_max] * lanes, 1))
    else:
        for c in range(c_count):
            p = points[c]
            n = -(-len(p) // lanes)
            for k in range(n):
                xs = [p[(k * lanes + i) % len(p)] for i in range(lanes)]
                vecs.append(beat(c, [c] * lanes, xs, int(k == n - 1)))
        pad_user = (1 << cfg.w_user) - 1
        if pad_user >= c_count:
            vecs.append(beat(pad_user, [None] * lanes, [cfg.x_min] * lanes, 1))
    return vecs


def vectors_hex_text(layer: SolvedLayer, cfg: UnitConfig, seed: int = 0) -> tuple[str, int]:
    """``(kit.vectors_hex(cfg, build_vectors(layer, cfg, seed)), beat count)``, the same text,
    built with numpy arrays for a channels-mode unit whose vector line fits 63 bits (a
    512-channel layer has ~500,000 beats: 4.6 CPU s as Vector objects, ~0.5 s here); any
    other unit takes the Vector path."""
    from exactbn.hw import kit
    from exactbn.hw.kit import vector_width

    lanes, w_x, w_q, w_user = cfg.lanes, cfg.w_x, cfg.w_q, cfg.w_user
    if cfg.lane_mode != "channels" or cfg.layer_table or vector_width(cfg) > 63:
        vecs = build_vectors(layer, cfg, seed=seed)
        return kit.vectors_hex(cfg, vecs), len(vecs)
    import numpy as np

    c_count, ranges = cfg.channels, layer.ranges()
    points = [channel_points(layer, cfg, c, seed=seed) for c in range(c_count)]
    qs_of = [expected_outputs(layer, cfg, c, p) for c, p in enumerate(points)]
    pad_q = expected_outputs(layer, cfg, None, [0])[0]
    o_user = lanes * w_x
    o_last = o_user + w_user
    o_q = o_last + 1
    o_uo = o_q + lanes * w_q
    o_elast = o_uo + cfg.w_user_out
    mx, mq = np.uint64((1 << w_x) - 1), np.uint64((1 << w_q) - 1)
    lo, hi = cfg.qmin, cfg.qmax  # no layer table: layer_bounds is the unit's clip
    words = []
    for g in range(cfg.groups):
        chs = [g * lanes + i if g * lanes + i < c_count else None for i in range(lanes)]
        n = max(len(points[c]) if c is not None else 1 for c in chs)
        word = np.zeros(n, dtype=np.uint64)
        flag = np.zeros(n, dtype=bool)
        for i, c in enumerate(chs):
            x = np.resize(np.asarray(points[c] if c is not None else [0], dtype=np.int64), n)
            q = np.resize(np.asarray(qs_of[c] if c is not None else [pad_q], dtype=np.int64), n)
            q = np.clip(q, lo, hi)
            if cfg.range_check and c is not None:
                flag |= (x < ranges[c][0]) | (x > ranges[c][1])
            word |= (x.astype(np.uint64) & mx) << np.uint64(i * w_x)
            word |= (q.astype(np.uint64) & mq) << np.uint64(o_q + i * w_q)
        uo = np.full(n, g, dtype=np.uint64) | (flag.astype(np.uint64) << np.uint64(w_user))
        word |= np.uint64(g) << np.uint64(o_user)
        word |= uo << np.uint64(o_uo)
        word[-1] |= np.uint64((1 << o_last) | (1 << o_elast))
        words.append(word)
    digits = -(-vector_width(cfg) // 4)
    fmt = f"{{:0{digits}x}}".format
    lines = [fmt(w) for w in np.concatenate(words).tolist()]
    pad_user = (1 << w_user) - 1
    if pad_user >= cfg.groups:  # build_vectors' padding beat, through the Vector path
        from exactbn.hw.kit import Vector
        from exactbn.hw.layer_table import layer_bounds

        plo, phi = layer_bounds(cfg, pad_user)
        pq = min(max(pad_q, plo), phi)
        lines.append(kit.vectors_hex(cfg, [Vector((cfg.x_max,) * lanes, pad_user, 1,
                                                  (pq,) * lanes, pad_user)]).strip())
    return "\n".join(lines) + "\n", len(lines)


# ----------------------------------------------------------------------------- kit

_MEANING = {
    "clk": "clock (rising edge)",
    "rst": "synchronous reset, active high: discards beats in flight (not the parameter store)",
    "s_axis_tvalid": "input beat valid",
    "s_axis_tready": "input ready (a register: no combinational path from m_axis_tready)",
    "s_axis_tdata": "L lanes of W_X-bit x, lane 0 in the LSBs",
    "s_axis_tuser": "channel group g (channels mode: lane i = channel g*L+i) or channel c "
                    "(pixels mode)",
    "s_axis_tlast": "travels with the beat",
    "m_axis_tvalid": "output beat valid",
    "m_axis_tready": "output ready",
    "m_axis_tdata": "L lanes of W_Q-bit q, lane 0 in the LSBs",
    "m_axis_tuser": "the input beat's tuser",
    "m_axis_tlast": "the input beat's tlast",
    "cfg_valid": "parameter write valid (pauses the stream)",
    "cfg_ready": "parameter write accepted",
    "cfg_addr": "channel to write (>= C: ignored, sets cfg_error)",
    "cfg_m": "M, two's complement",
    "cfg_b": "B, two's complement",
    "cfg_n": "N (shift), unsigned",
    "cfg_error": "sticky: a write to cfg_addr >= C was accepted; cleared by rst",
    "tbl_valid": "shared unit: layer-table write request (lowers s_axis_tready like cfg_valid)",
    "tbl_ready": "shared unit: layer-table write accepted when valid & ready (as cfg_ready)",
    "tbl_addr": "shared unit: layer index of the table row to write",
    "tbl_qmin": "shared unit: the layer's output clip low end, in the output lane's type",
    "tbl_qmax": "shared unit: the layer's output clip high end, in the output lane's type",
    "tbl_error": "sticky: a table write with tbl_addr >= layers or tbl_qmin > tbl_qmax; "
                 "cleared by rst",
    "range_error": "sticky: an input beat had x outside its channel's certified range; "
                   "cleared by rst",
}


def manifest(layer: SolvedLayer, cfg: UnitConfig, *, solved_path: str | None,
             solved_sha256: str | None, freq_mhz: float, n_vectors: int,
             files: list[str]) -> dict:
    """The NAME.json manifest: ports, parameters, widths, latency, hash, exactness."""
    from exactbn.hw import port_list
    from exactbn.hw.kit import LINT_WAIVERS

    bad, diff = inexact_summary(layer)
    ports = []
    for name, direction, width in port_list(cfg):
        meaning = _MEANING.get(name)
        if meaning is None:  # --cfg-bus axil ports
            from exactbn.regmap.kit import AXIL_MEANING

            meaning = AXIL_MEANING[name]
        if name == "m_axis_tuser" and cfg.range_check:
            meaning += f"; bit {cfg.w_user} = this beat had an input outside its range"
        ports.append({"name": name, "direction": direction, "width": width, "meaning": meaning})
    d = {
        "format": "exactbn-unit",
        "version": 1,
        "name": cfg.name,
        "layer": layer.name,
        "solved_file": solved_path,
        "solved_sha256": solved_sha256,
        "ports": ports,
        "parameters": cfg.summary(),
        "widths": {"x": cfg.w_x, "M": cfg.w_m, "B": cfg.w_b, "N": cfg.w_n, "q": cfg.w_q,
                   "tuser": cfg.w_user, "m_tuser": cfg.w_user_out, "cfg_addr": cfg.w_addr,
                   "sum": cfg.w_s, "shifted": cfg.w_t, "n_min": cfg.n_min,
                   "n_max": cfg.n_max},
        "latency": cfg.latency,
        "latency_formula": "1 + dspin + mult + min(shift, levels) "
                           "+ (round if hw_rounding != floor) + out",
        "channels": cfg.channels,
        "M": list(cfg.M), "B": list(cfg.B), "N": list(cfg.N),
        "exactness": {
            "exact": not bad,
            "exact_channels": cfg.channels - len(bad),
            "inexact_channels": bad,
            "differing_outputs": diff,
            "checked_by": "exactbn re-check: exact count of inputs in [lo, hi] where the "
                          "integer model differs from the exact BN, from a, b and the output spec",
            "hw_rounding": layer.hw_rounding,
            "ranges": [list(r) for r in layer.ranges()],
        },
        "range_flag": ({"port": "m_axis_tuser", "bit": cfg.w_user} if cfg.range_check else None),
        "freq_mhz": freq_mhz,
        "vectors": n_vectors,
        "lint_waivers": LINT_WAIVERS,
        "files": sorted(files),
    }
    return d


def _render_svg(source: dict) -> str | None:
    try:
        import yowasp_wavedrom
    except ImportError:
        return None
    try:
        return yowasp_wavedrom.render(source)
    except Exception:  # a renderer failure must not block the kit; the JSON stays
        return None


def kit_verilog_name(cfg: UnitConfig) -> str:
    """The file name of the unit's Verilog in its kit (``NAME.v``); generate --all-layers
    and sim/prove --bundle build the kit's path from it (never from a name read back)."""
    return f"{cfg.name}.v"


def kit_files(layer: SolvedLayer, cfg: UnitConfig, *, solved_path: str | None = None,
              solved_sha256: str | None = None, freq_mhz: float = 100.0,
              seed: int = 1) -> dict[str, str]:
    """Every file of the integration kit, name -> text (nothing written)."""
    import json

    from exactbn.hw import kit, to_verilog

    n = cfg.name
    vectors_hex, n_vectors = vectors_hex_text(layer, cfg, seed=seed)
    files: dict[str, str] = {
        kit_verilog_name(cfg): to_verilog(cfg),
        f"{n}_tb.v": kit.testbench_v(cfg, n_vectors, seed=seed),
        f"{n}_vectors.hex": vectors_hex,
        f"{n}_inst.v": kit.inst_v(cfg),
        f"{n}.sdc": kit.sdc(cfg, freq_mhz),
        f"{n}.xdc": kit.xdc(cfg, freq_mhz),
        f"{n}.core": kit.fusesoc_core(cfg),
    }
    files.update(kit.param_hex(cfg))
    from exactbn.hw.primitives import sim_model_files

    files.update(sim_model_files(cfg))  # behavioural models of instantiated primitives
    if cfg.cfg_bus == "axil":  # NAME_regs.rdl/.h/.md/.xml, NAME_params.h (exactbn/regmap)
        from exactbn.regmap.kit import layer_images, regmap_files

        files.update(regmap_files(cfg, layer_images(layer, cfg)))
    diagrams: dict[str, str | None] = {}
    for key, src in kit.wavedrom_sources(cfg).items():
        files[f"{n}_{key}.json"] = json.dumps(src, indent=1) + "\n"
        svg = _render_svg(src)
        if svg is not None:
            files[f"{n}_{key}.svg"] = svg
            diagrams[key] = f"{n}_{key}.svg"
    names = list(files) + [f"{n}.json", "README.md"]
    man = manifest(layer, cfg, solved_path=solved_path, solved_sha256=solved_sha256,
                   freq_mhz=freq_mhz, n_vectors=n_vectors, files=names)
    files[f"{n}.json"] = json.dumps(man, indent=1) + "\n"
    files["README.md"] = kit.readme_md(cfg, man, diagrams)
    return files


def write_dir_atomic(outdir: str | os.PathLike, files: dict[str, str]) -> None:
    """Write ``files`` into ``outdir`` so that it appears complete or not at all: a temp
    directory beside it, then a rename. An existing directory is replaced only if exactbn
    wrote it (its marker file) or it is empty; a user's other files are never deleted."""
    from exactbn.formats import OUTPUT_MARKER, check_replaceable_dir

    out = check_replaceable_dir(outdir)
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:64]}.", suffix=".tmp", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        for name, text in {**files, OUTPUT_MARKER: "written by exactbn generate\n"}.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # bundles: <layer>/file
            (tmp / name).write_text(text)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name[:64]}.", suffix=".old",
                                        dir=out.parent))
            os.rename(out, old / "d")
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
        tmp = None
    except OSError as e:
        raise FormatError(f"cannot write: {e.strerror or e}", file=str(outdir)) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def load_kit_layer(solved_path, outdir: str, layer_name: str | None) -> SolvedLayer:
    """The solved layer a kit is built from, once ``outdir`` is known to be a directory that
    may be (re)written (FormatError otherwise; nothing written)."""
    from exactbn.formats import check_output_path, check_replaceable_dir, load_solved, select_layer

    check_output_path(outdir, [solved_path], is_dir=True, replaced=True)
    check_replaceable_dir(outdir)
    return select_layer(load_solved(solved_path), layer_name, file=str(solved_path))


def generate(solved_path: str, outdir: str, *, layer_name: str | None = None,
             freq_mhz: float = 100.0, seed: int = 1, **options) -> tuple[UnitConfig, dict]:
    """Read a solved file, build the unit and write the kit into ``outdir`` atomically.

    Returns the config and the manifest. Any bad input raises FormatError before anything
    is written."""
    import json

    from exactbn.formats import file_sha256

    layer = load_kit_layer(solved_path, outdir, layer_name)
    options.setdefault("name", None)  # a kit's default name comes from its layer
    cfg = unit_config_from_solved(layer, file=str(solved_path), **options)
    files = kit_files(layer, cfg, solved_path=str(solved_path),
                      solved_sha256=file_sha256(solved_path), freq_mhz=freq_mhz, seed=seed)
    write_dir_atomic(outdir, files)
    return cfg, json.loads(files[f"{cfg.name}.json"])
