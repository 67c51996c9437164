"""The generate flow: a solved layer + unit options -> hw config -> Verilog and integration kit.

This is where the solved-file world (exactbn.formats, golden's integer model for expected
vectors) meets hw/ (which only sees plain parameters). ``unit_config_from_solved`` is the
one place that turns a :class:`~exactbn.formats.SolvedLayer` into a
:class:`~exactbn.hw.UnitConfig`.
"""

from __future__ import annotations

from exactbn.formats import FormatError, SolvedLayer, twos_width, unsigned_width
from exactbn.hw.config import LANE_MODES, MAX_CHANNELS, MAX_LANES, STORES, Pipeline, UnitConfig

__all__ = ["unit_config_from_solved", "inexact_summary"]


def inexact_summary(layer: SolvedLayer) -> tuple[list[int], int]:
    """Channels without an exact solution and the total count of differing outputs."""
    bad = [c for c, e in enumerate(layer.exact) if not e]
    return bad, sum(layer.mismatches[c] for c in bad)


def unit_config_from_solved(
    layer: SolvedLayer,
    *,
    lanes: int = 1,
    lane_mode: str = "channels",
    store: str = "rom",
    pipeline: Pipeline | str | None = None,
    widths: tuple[int | None, int | None, int | None] | None = None,
    name: str = "exactbn_bn",
    range_check: bool = False,
    allow_inexact: bool = False,
    dsp_width: int = 18,
    file: str | None = None,
) -> UnitConfig:
    """A :class:`UnitConfig` for ``layer``; shift mode and hw rounding come from the file.

    ``widths`` = (W_M, W_B, W_N) overrides (None entries are auto-sized from the widest
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
    if pipeline is None:
        pipeline = Pipeline()
    elif isinstance(pipeline, str):
        try:
            pipeline = Pipeline.parse(pipeline)
        except ValueError as e:
            raise FormatError(str(e), **where) from None
    bad, diff = inexact_summary(layer)
    if bad and not allow_inexact:
        raise FormatError(
            f"{len(bad)} channel(s) have no exact solution ({', '.join(map(str, bad[:8]))}"
            f"{', ...' if len(bad) > 8 else ''}); {diff} input value(s) would give a different "
            "output; pass --allow-inexact to generate anyway", **where)
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
    out = layer.output
    try:
        return UnitConfig(
            w_x=layer.input.bits, x_signed=layer.input.signed,
            w_m=w_m, w_b=w_b, w_n=w_n,
            w_q=out.bits, q_signed=out.signed, qmin=out.qmin, qmax=out.qmax,
            M=layer.M, B=layer.B, N=layer.N,
            lanes=lanes, lane_mode=lane_mode, shift_mode=layer.shift_mode,
            hw_rounding=layer.hw_rounding, store=store, pipeline=pipeline, name=name,
            range_check=range_check, x_ranges=layer.ranges() if range_check else (),
            dsp_width=dsp_width,
        )
    except (TypeError, ValueError) as e:
        raise FormatError(str(e), **where) from None
