"""The shared multi-layer unit: ONE datapath serving several layers, beat by beat.

Built from the same BatchNormCore as a single-layer unit: the layers' channels are laid out
in one parameter memory, layer after layer, each layer's block padded to a power of two of
groups, so that the beat's ``s_axis_tuser`` is ``{layer index, group}``:

    s_axis_tuser[0 +: K]      group g within the layer (channels mode; channel c in pixels mode)
    s_axis_tuser[K +: W_LAY]  layer index l (the order of --layers, or of the solved file)

with ``K = bits(G_max - 1)`` (``G_max`` = the largest layer's ceil(C/L), or C in pixels mode).
The layer index travels in tuser, not on a separate port, because it belongs to the beat:
it moves through the skid buffer and the pipeline with it, comes back on ``m_axis_tuser`` so
a consumer can route results, and beats of different layers interleave freely. Memory word
``l * 2^K + g`` (``cfg_addr`` = ``(l * 2^K) * L + channel`` in channels mode, ``l * 2^K +
c`` in pixels mode) holds layer l's words. Padding words have M = B = 0 and compute
``clip(0, qmin, qmax)`` like any padding channel. That is the logical layout (tuser,
``cfg_addr``, the images and proofs); a split ROM (the FPGA presets) stores it packed, each
distinct word row once, the padding as one zero row (hw/store.py ``packed_rom``), so the
padding costs no ROM words and no second bank. With ``--param-memory block`` on ECP5 a tuser
wider than one DP16KD's 1024 words (ResNet-18: 5 layer + 7 group bits) is stored packed in
DP16KDs (hw/store.py ``block_layout``): each layer's block at a base aligned to its size, the
word address ``base[layer] | group`` (a 2^(layer bits) table ORed with the group bits, no
carry) registered once per lane and DP16KD bank before the DP16KDs' own address register (a
third read cycle: latency + 1, in the kit manifest's stages and latency), anything past a
layer's block reading a zero word; ResNet-18 at L = 4: 1204 words per lane = 2 DP16KDs deep.

Shifts are raised where that is free (:func:`_lift_shifts`): a word ``(M, B, N)`` below the
union's largest feasible floor becomes ``(M * 2^k, B * 2^k, N + k)``, the same value for
every x, within the union's W_M, W_B and W_S, so the shared shifter spans fewer shifts than
the union of the layers' ranges (exactness is re-derived from the raised words).

The datapath is sized once for every layer: x as a signed integer when any layer's input is
signed (an unsigned layer's x is sent zero-extended), W_X wide enough for every layer, the
widest W_M and W_B, the union of shift ranges. The merged layer (:func:`merge_layers`) holds
every layer's a, b, M, B, N and range per memory word, so every check that works on one layer
(re-derived exactness, the cocotb scoreboard, the proof, the kit's bench) works on the shared
unit per layer. The per-layer constants this version takes from the datapath itself must be
the same in every layer (one error names the first layer that differs): output bits,
signedness, clip and rounding, and the hardware rounding mode.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from exactbn.formats import FormatError, InputSpec, OutputSpec, SolvedLayer, Widths, twos_width
from exactbn.hw.layer_table import LayerEntry

__all__ = ["SharedLayout", "merge_layers", "shared_unit_layer", "layout_json"]


class SharedLayout:
    """Where each layer sits: ``base`` memory word, channels, groups, tuser field widths."""

    def __init__(self, layers: list[SolvedLayer], lanes: int, lane_mode: str):
        self.names = [lay.name for lay in layers]
        self.channels = [lay.channels for lay in layers]
        per = 1 if lane_mode == "pixels" else lanes
        self.lanes, self.lane_mode = lanes, lane_mode
        self.groups = [-(-c // per) for c in self.channels]
        self.k = max(0, (max(self.groups) - 1).bit_length())
        self.stride_words = 1 << self.k  # memory words per layer block (per lane)
        self.stride_channels = self.stride_words * per
        self.w_layer = max(1, (len(layers) - 1).bit_length())

    def channel_base(self, index: int) -> int:
        return index * self.stride_channels


FOLDABLE = ("floor", "half_up")  # floor(s / 2^N) with B + 2^(N-1) is half_up, exactly


def _base_rounding(layers: list[SolvedLayer], file: str | None) -> str:
    """The datapath's hardware rounding: the layers' own when they agree; floor when they mix
    floor and half_up (half_up layers are served with ``B + 2^(N-1)``, the same function of
    every integer s: ``floor((s + 2^(N-1)) / 2^N) == half_up(s / 2^N)``); other mixes are
    refused (one located error)."""
    modes = {lay.hw_rounding for lay in layers}
    if len(modes) == 1:
        return layers[0].hw_rounding
    if modes <= set(FOLDABLE):
        return "floor"
    first = layers[0]
    for lay in layers[1:]:
        if lay.hw_rounding != first.hw_rounding:
            raise FormatError(
                f"--shared-unit: hw_rounding is {lay.hw_rounding!r} here but "
                f"{first.hw_rounding!r} in layer {first.name!r}; a shared unit serves layers "
                "whose hardware rounding is the same, or a mix of floor and half_up (re-solve "
                "with one --hw-rounding, or use the per-layer bundle, --all-layers)",
                file=file, layer=lay.name, field="hw_rounding")
    raise AssertionError("unreachable")


def _words(lay: SolvedLayer, base: str) -> tuple[list[int], list[int], list[int]]:
    """The layer's (M, B, N) as the shared datapath (hw rounding ``base``) computes them."""
    if lay.hw_rounding == base:
        return list(lay.M), list(lay.B), list(lay.N)
    assert lay.hw_rounding == "half_up" and base == "floor"
    return list(lay.M), [b + ((1 << n) >> 1) for b, n in zip(lay.B, lay.N, strict=True)], \
        list(lay.N)


def _lift_shifts(words: list[tuple[list[int], list[int], list[int]]], x_lo: int, x_hi: int
                 ) -> list[tuple[list[int], list[int], list[int]]]:
    """The words with every shift below a floor ``n_lo`` raised to it: ``(M, B, N)`` ->
    ``(M * 2^k, B * 2^k, N + k)``, the same rational ``(M*x + B) / 2^N`` for every x, so the
    same output under any rounding. ``n_lo`` is the largest floor whose raised words still
    fit the union's W_M, W_B and W_S (the sum over the union's x range): the unit's widths
    do not grow, its shift range narrows (fewer shifter levels, a narrower overflow check,
    a shorter shift field). The caller re-derives exactness from the raised words."""
    ms = [m for lm, _, _ in words for m in lm]
    bs = [b for _, lb, _ in words for b in lb]
    ns = [n for _, _, ln in words for n in ln]
    if not ns:
        return words
    w_m, w_b = twos_width(*ms), twos_width(*bs)
    sums = [m * x + b for m, b in zip(ms, bs, strict=True) for x in (x_lo, x_hi)]
    w_s = twos_width(0, *sums)

    def fits(n_lo: int) -> bool:
        for m, b, n in zip(ms, bs, ns, strict=True):
            if n < n_lo:
                k = n_lo - n
                if (twos_width(m << k) > w_m or twos_width(b << k) > w_b
                        or twos_width(*((m * x + b) << k for x in (x_lo, x_hi))) > w_s):
                    return False
        return True

    n_lo = next(n for n in range(max(ns), min(ns) - 1, -1) if fits(n))  # min(ns) always fits
    out = []
    for lm, lb, ln in words:
        ks = [max(0, n_lo - n) for n in ln]
        out.append(([m << k for m, k in zip(lm, ks, strict=True)],
                    [b << k for b, k in zip(lb, ks, strict=True)],
                    [n + k for n, k in zip(ln, ks, strict=True)]))
    return out


def union_output(layers: list[SolvedLayer]) -> OutputSpec:
    """The output lane of the shared unit: signed when any layer's output is signed, wide
    enough for every layer's type (an unsigned layer's q zero-extended, a signed one's
    sign-extended), clip = the union of the layers' clips."""
    signed = any(lay.output.signed for lay in layers)
    bits = max(lay.output.bits + (1 if signed and not lay.output.signed else 0)
               for lay in layers)
    o0 = layers[0].output
    return OutputSpec(bits=bits, signed=signed, scale=o0.scale, zero_point=o0.zero_point,
                      rounding=o0.rounding,
                      clip=[min(lay.qmin for lay in layers), max(lay.qmax for lay in layers)])


def layer_table(layers: list[SolvedLayer]) -> tuple[LayerEntry, ...]:
    """One row per layer: its clip (hardware) and its own number types (documentation)."""
    return tuple(LayerEntry(qmin=lay.qmin, qmax=lay.qmax, q_bits=lay.output.bits,
                            q_signed=lay.output.signed, x_bits=lay.input.bits,
                            x_signed=lay.input.signed, hw_rounding=lay.hw_rounding,
                            rounding=lay.output.rounding)
                 for lay in layers)


def merge_layers(layers: list[SolvedLayer], *, lanes: int = 1, lane_mode: str = "channels",
                 name: str = "shared", file: str | None = None
                 ) -> tuple[SolvedLayer, SharedLayout]:
    """One SolvedLayer holding every layer's words at their shared-unit addresses.

    Its output spec is the union lane (:func:`union_output`); ``merged.shared_table`` =
    ``(layer_shift, rows)`` carries the per-layer table into the unit's config (set only when
    some layer's clip differs from the union, or always for a RAM store: see
    :func:`exactbn.generate.unit_config_from_solved`)."""
    if not layers:
        raise FormatError("--shared-unit needs at least one layer", file=file)
    base = _base_rounding(layers, file)
    lay_out = SharedLayout(layers, lanes, lane_mode)
    x_signed = any(lay.input.signed for lay in layers)
    w_x = max(lay.input.bits + (1 if x_signed and not lay.input.signed else 0) for lay in layers)
    x_lo, x_hi = (-(1 << (w_x - 1)), (1 << (w_x - 1)) - 1) if x_signed else (0, (1 << w_x) - 1)
    words = _lift_shifts([_words(lay, base) for lay in layers], x_lo, x_hi)
    n_real = [n for _, _, ln in words for n in ln]
    n_solved = [n for lay in layers for n in lay.N]  # the shift mode as solved, not as raised
    n_pad = min(n_real)  # padding words shift by a shift some layer uses: no extra levels
    shift_mode = ("shared" if all(lay.shift_mode == "shared" for lay in layers)
                  and len(set(n_solved)) == 1 else "per-channel")
    a, b, M, B, N, ranges, scales, zps, exact, mism, cert = ([] for _ in range(11))
    for i, lay in enumerate(layers):
        pad = lay_out.stride_channels - lay.channels if i < len(layers) - 1 else 0
        lm, lb, ln = words[i]
        a += list(lay.a) + [0.0] * pad
        b += list(lay.b) + [0.0] * pad
        M += lm + [0] * pad
        B += lb + [0] * pad
        N += ln + [n_pad] * pad
        ranges += [list(r) for r in lay.ranges()] + [[0, 0]] * pad
        scales += lay.input.scales(lay.channels) + [1.0] * pad
        zps += lay.input.zero_points(lay.channels) + [0] * pad
        exact += list(lay.exact) + [True] * pad
        mism += list(lay.mismatches) + [0] * pad
        cert += list(lay.certificate) + [None] * pad
    inp = InputSpec(bits=w_x, signed=x_signed, scale=scales, zero_point=zps, range=ranges)
    merged = SolvedLayer(
        name=name, input=inp, output=union_output(layers), hw_rounding=base,
        shift_mode=shift_mode, a=a, b=b, M=M, B=B, N=N,
        widths=SolvedLayer.widths_for(M, B, N, shift_mode) if M else Widths(1, 1, 0, 0),
        exact=exact, mismatches=mism, certificate=cert,
        extra={})
    merged.shared_table = (lay_out.k, layer_table(layers))
    merged.shared_layers = [(lay_out.channel_base(i), lay) for i, lay in enumerate(layers)]
    return merged, lay_out


def layer_views(merged: SolvedLayer) -> list[SolvedLayer]:
    """Each layer with the words the shared unit holds for it (half_up folded to floor where
    the unit is floor): its own a, b, output spec and range, so golden's re-check and the
    certificate check judge every layer by its own spec."""
    out = []
    for base, lay in merged.shared_layers:
        sl = slice(base, base + lay.channels)
        out.append(dataclasses.replace(lay, M=merged.M[sl], B=merged.B[sl], N=merged.N[sl],
                                       hw_rounding=merged.hw_rounding))
    return out


def merged_exactness(merged: SolvedLayer):
    """golden's re-derived exactness per layer (each by its own spec), laid out like the
    merged layer's channels (padding channels: 0 differing inputs)."""
    from exactbn.golden.recheck import Exactness, layer_exactness

    mism = [0] * merged.channels
    for (base, _), view in zip(merged.shared_layers, layer_views(merged), strict=True):
        mism[base:base + view.channels] = layer_exactness(view).mismatches
    return Exactness(merged.name, tuple(mism))


def shared_unit_layer(solved_path: str, layer_names: str | None, lanes: int,
                      lane_mode: str) -> tuple[SolvedLayer, SharedLayout, list[SolvedLayer]]:
    """Load ``solved_path``, pick the layers (all, or ``--layers``) and merge them."""
    from exactbn.formats import load_solved
    from exactbn.network import select_layers

    layers = select_layers(load_solved(solved_path), layer_names, file=str(solved_path))
    stem = Path(solved_path).stem
    merged, lay_out = merge_layers(layers, lanes=lanes, lane_mode=lane_mode,
                                   name=f"{stem}_shared", file=str(solved_path))
    return merged, lay_out, layers


def layout_json(lay_out: SharedLayout, cfg) -> dict:
    """``NAME_layers.json``: the tuser layout and each layer's addresses."""
    return {
        "format": "exactbn-shared-layout",
        "version": 1,
        "unit": cfg.name,
        "tuser": {"group_bits": lay_out.k, "layer_bits": lay_out.w_layer,
                  "layout": f"s_axis_tuser = layer << {lay_out.k} | "
                            + ("channel" if lay_out.lane_mode == "pixels" else "group")},
        "lanes": lay_out.lanes,
        "lane_mode": lay_out.lane_mode,
        "layers": [{"index": i, "layer": n, "channels": c, "groups": g,
                    "tuser_base": i << lay_out.k, "cfg_addr_base": lay_out.channel_base(i)}
                   for i, (n, c, g) in enumerate(zip(lay_out.names, lay_out.channels,
                                                     lay_out.groups, strict=True))],
        "memory_words_per_lane": cfg.groups,
        "real_channels": sum(lay_out.channels),
    }


def _layout_md(lj: dict) -> str:
    """The kit README's section on the shared layout (which tuser/cfg_addr is which layer)."""
    t = lj["tuser"]
    rows = "".join(f"| {x['index']} | {x['layer']} | {x['channels']} | {x['groups']} | "
                   f"{x['tuser_base']} | {x['cfg_addr_base']} |\n" for x in lj["layers"])
    return (f"\n## Shared unit: layers\n\nOne datapath serves {len(lj['layers'])} layers. "
            f"`{t['layout']}` ({t['group_bits']} group bits, {t['layer_bits']} layer bits); "
            "beats of different layers may be interleaved beat by beat; `m_axis_tuser` returns "
            "the beat's tuser. RAM store: layer l's channel c is `cfg_addr = cfg_addr_base + "
            f"c`. Also in `{lj['unit']}_layers.json`.\n\n"
            "| index | layer | channels | groups | tuser base | cfg_addr base |\n"
            f"|---|---|---|---|---|---|\n{rows}")


def generate_shared(solved_path: str, outdir: str, *, layer_names: str | None = None,
                    freq_mhz: float = 100.0, seed: int = 1, **options) -> tuple:
    """Write the shared unit's kit (plus NAME_layers.json) into ``outdir`` atomically."""
    from exactbn.formats import check_output_path, check_replaceable_dir, file_sha256
    from exactbn.generate import kit_files, unit_config_from_solved, write_dir_atomic

    check_output_path(outdir, [solved_path], is_dir=True, replaced=True)
    check_replaceable_dir(outdir)
    merged, lay_out, _ = shared_unit_layer(solved_path, layer_names,
                                           options.get("lanes", 1),
                                           options.get("lane_mode", "channels"))
    cfg = unit_config_from_solved(merged, file=str(solved_path), **options)
    files = kit_files(merged, cfg, solved_path=str(solved_path),
                      solved_sha256=file_sha256(solved_path), freq_mhz=freq_mhz, seed=seed)
    lj = layout_json(lay_out, cfg)
    files[f"{cfg.name}_layers.json"] = json.dumps(lj, indent=1) + "\n"
    files["README.md"] += _layout_md(lj)
    write_dir_atomic(outdir, files)
    return cfg, json.loads(files[f"{cfg.name}.json"]), lj


def unit_layer_from_args(args) -> SolvedLayer:
    """The layer a single-unit command works on: the merged layer with ``--shared-unit``
    (all layers, or ``--layers``), else the one ``--layer`` picks."""
    from exactbn.cli.unit_options import load_layer_from_args

    if not getattr(args, "shared_unit", False):
        return load_layer_from_args(args, args.solved)
    if getattr(args, "layer", None) is not None:
        from exactbn.cli.main import UsageError

        raise UsageError("--layer picks one layer; --shared-unit serves several (all, or "
                         "--layers A,B): use one")
    merged, _, _ = shared_unit_layer(args.solved, getattr(args, "layers", None), args.lanes,
                                     args.lane_mode)
    return merged
