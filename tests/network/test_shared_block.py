"""The shared unit's parameter ROM in ECP5 block RAM when its tuser ({layer, group}) spans
more than one DP16KD (hw/store.py ``block_layout``): every layer's words packed into a few
DP16KDs, the address mapped before their address register, the padding reading zero; every
layer still gets its own integer model, layers interleaved beat by beat."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import pytest
from exactbn.golden.model import integer_model
from exactbn.hw import store as store_mod
from exactbn.hw.kit import Vector
from exactbn.hw.simulate import simulate

from exactbn.generate import build_vectors, unit_config_from_solved
from exactbn.shared import merge_layers

sys.path.insert(0, str(Path(__file__).parents[1] / "formal"))
from formal_layers import small_layer  # noqa: E402


def _layer(name: str, c: int, seed: int):
    rng = random.Random(seed)
    M = tuple(rng.choice([-1, 1]) * rng.randrange(20, 120) for _ in range(c))
    B = tuple(rng.randrange(-500, 500) for _ in range(c))
    N = tuple(rng.randrange(4, 8) for _ in range(c))
    return dataclasses.replace(small_layer(M=M, B=B, N=N), name=name)


def _big():
    """3 layers at L = 1: 3 + 1024 + 20 channels, tuser {2 layer bits, 10 group bits} = 4096
    addresses; packed: 1024 + 32 + 4 words and the zero word = 2 DP16KDs deep."""
    layers = [_layer("a", 3, 1), _layer("b", 1024, 2), _layer("c", 20, 3)]
    merged, lay = merge_layers(layers)
    cfg = unit_config_from_solved(merged, family="ecp5", name="u", param_memory="block")
    return layers, merged, lay, cfg


def _expected(merged, cfg, user: int, xs) -> list[int]:
    """q of a beat from its layer's own solved words (padding channels: clip(0))."""
    out = []
    for lane, x in enumerate(xs):
        ch = user * cfg.lanes + lane
        owner = [(b, lay) for b, lay in merged.shared_layers if b <= ch < b + lay.channels]
        if not owner:
            out.append(min(max(0, cfg.qmin), cfg.qmax))
            continue
        base, lay = owner[0]
        c = ch - base
        out.append(int(integer_model(lay.M[c], lay.B[c], lay.N[c], x, lay.qmin, lay.qmax,
                                     lay.hw_rounding)))
    return out


def _beats(merged, cfg, keep, pads) -> list[Vector]:
    """Every transition beat of the addresses ``keep(user)`` accepts, and beats on the
    padding addresses ``pads`` (inside a layer's block, past it, past the last layer)."""
    vecs = [v for v in build_vectors(merged, cfg, seed=2) if keep(v.user)]
    vecs += [Vector((x,) * cfg.lanes, u, 0, (0,) * cfg.lanes, u) for u in pads
             for x in (-128, 0, 127)]
    return vecs


def _mismatches(merged, cfg, vecs, seed: int = 3) -> int:
    order = list(range(len(vecs)))
    random.Random(seed).shuffle(order)  # layers interleaved beat by beat
    beats = [(list(vecs[i].xs), vecs[i].user, vecs[i].last) for i in order]
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=0.8, p_ready=0.5, seed=5)
    assert len(res.outputs) == len(beats)
    return sum(list(q) != _expected(merged, cfg, vecs[i].user, vecs[i].xs)
               for i, (q, *_rest) in zip(order, res.outputs, strict=True))


def test_block_layout_packs_every_layer_aligned():
    _, merged, lay, cfg = _big()
    assert cfg.w_user == 12 and cfg.groups == 2 * 1024 + 20
    bl = store_mod.block_layout(cfg)
    assert (bl.k, bl.banks, bl.zero) == (10, 2, 1060)
    assert bl.size == (4, 1024, 32, 0)
    img = store_mod.store_images(cfg)[0]
    for a in range(1 << cfg.w_user):  # every address reads its logical word
        word = img[a] if a < len(img) else 0
        assert bl.images[0][bl.phys(a)] == word
    for h, size in enumerate(bl.size):
        assert bl.base[h] % max(size, 1) == 0  # aligned: base | lo needs no carry
    from exactbn.hw.primitives import sim_model_files, uses_dp16kd
    assert uses_dp16kd(cfg) and "exactbn_ecp5_models.v" in sim_model_files(cfg)
    # not ECP5 block RAM: no block layout (the other stores are unchanged)
    assert store_mod.block_layout(dataclasses.replace(cfg, param_memory="auto")) is None


def _planted_fail(monkeypatch, merged, cfg, vecs, word_of: int, block_of: int) -> None:
    """A wrong word (the word address ``word_of`` reads lost: zero) and a wrong address
    map (the block of address ``block_of`` read from block 0's base) both show up as
    mismatches."""
    good = store_mod.block_layout(cfg)
    images = [list(img) for img in good.images]
    assert images[0][good.phys(word_of)]
    images[0][good.phys(word_of)] = 0
    bad = dataclasses.replace(good, images=tuple(tuple(i) for i in images))
    monkeypatch.setattr(store_mod, "block_layout", lambda c: bad)
    assert _mismatches(merged, cfg, vecs) > 0
    base = list(good.base)
    h = block_of >> good.k
    assert base[h] != base[0] and good.size[h]
    base[h] = base[0]
    bad = dataclasses.replace(good, base=tuple(base))
    monkeypatch.setattr(store_mod, "block_layout", lambda c: bad)
    assert _mismatches(merged, cfg, vecs) > 0


@pytest.mark.sim
def test_block_rom_small_banks_interleaved(monkeypatch):
    """8-word banks standing in for DP16KDs: 3 layers at L = 2 (3 + 20 + 5 channels) in 3
    banks; every address of the tuser (all padding included) against each layer's model."""
    monkeypatch.setattr(store_mod, "_BLOCK_WORDS", 8)
    layers = [_layer("a", 3, 11), _layer("b", 20, 12), _layer("c", 5, 13)]
    merged, lay = merge_layers(layers, lanes=2)
    cfg = unit_config_from_solved(merged, family="ecp5", name="u", param_memory="block",
                                  lanes=2)
    bl = store_mod.block_layout(cfg)
    assert bl.banks >= 2 and cfg.w_user == 6
    img = store_mod.store_images(cfg)
    assert all(bl.images[k][bl.phys(a)] == (img[k][a] if a < cfg.groups else 0)
               for k in range(2) for a in range(1 << cfg.w_user))
    real = {i << lay.k | g for i, n in enumerate(lay.groups) for g in range(n)}
    vecs = _beats(merged, cfg, lambda u: True,
                  [u for u in range(1 << cfg.w_user) if u not in real or u == 1])
    assert _mismatches(merged, cfg, vecs) == 0
    _planted_fail(monkeypatch, merged, cfg, vecs, (1 << lay.k) | 9, 2 << lay.k)


@pytest.mark.sim
@pytest.mark.slow
def test_block_rom_serves_every_layer_interleaved(monkeypatch):
    """Real DP16KD depth: 3 + 1024 + 20 channels in 2 blocks deep (about 70 CPU s)."""
    _, merged, lay, cfg = _big()
    keep_b = {0, 1, 2, 511, 512, 1000, 1022, 1023}
    pads = [(0 << lay.k) | 3, (0 << lay.k) | 4, (0 << lay.k) | 1000, (2 << lay.k) | 20,
            (2 << lay.k) | 31, (2 << lay.k) | 32, (3 << lay.k) | 0, (3 << lay.k) | 1023]
    vecs = _beats(merged, cfg,
                  lambda u: (u >> lay.k) != 1 or (u & ((1 << lay.k) - 1)) in keep_b, pads)
    assert _mismatches(merged, cfg, vecs) == 0
    _planted_fail(monkeypatch, merged, cfg, vecs, (1 << lay.k) | 1000, 2 << lay.k)


@pytest.mark.formal
def test_prove_block_rom_datapath_and_a_planted_word_fails(tmp_path, monkeypatch):
    """The datapath proof (every output = the merged words' integer model, every input and
    address) on the block layout, with 8-word banks standing in for DP16KDs so that a small
    unit spans 3 of them; a wrong word of layer b FAILs it."""
    from exactbn.hw import to_verilog
    from exactbn.sim.formal.prove import prove_unit

    monkeypatch.setattr(store_mod, "_BLOCK_WORDS", 8)
    layers = [_layer("a", 2, 4), _layer("b", 9, 5)]
    merged, lay = merge_layers(layers)
    cfg = unit_config_from_solved(merged, family="ecp5", name="u", param_memory="block")
    bl = store_mod.block_layout(cfg)
    assert bl is not None and bl.banks >= 2
    res = prove_unit(merged, cfg, to_verilog(cfg), tmp_path / "ok", tasks=("datapath",))
    assert res.status == "PASS", res.summary
    bad = list(cfg.M)
    bad[lay.channel_base(1) + 8] += 1  # in the second bank
    res = prove_unit(merged, cfg, to_verilog(dataclasses.replace(cfg, M=tuple(bad))),
                     tmp_path / "bug", tasks=("datapath",))
    assert res.status == "FAIL", res.summary


@pytest.mark.sim
@pytest.mark.parametrize("flow", ["credit", "stall"])
def test_block_rom_third_read_cycle_four_lanes(monkeypatch, flow):
    """The block ROM's third read cycle (the mapped address registered per lane and bank,
    four lane forms: inverted and/or starting from all ones): at L = 4 every form and every
    address against each layer's model, with random valid/ready; the latency is one more
    than the same unit's words in one memory, and the first beat comes out exactly then."""
    monkeypatch.setattr(store_mod, "_BLOCK_WORDS", 8)
    layers = [_layer("a", 5, 21), _layer("b", 19, 22), _layer("c", 3, 23)]
    merged, lay = merge_layers(layers, lanes=4)
    cfg = unit_config_from_solved(merged, family="ecp5", name="u", param_memory="block",
                                  lanes=4, pipeline=f"ecp5,flow={flow}")
    bl = store_mod.block_layout(cfg)
    assert bl.banks >= 2 and cfg.param_read_extra == 1 and cfg.stages["dspin"] == 2
    plain = dataclasses.replace(cfg, param_memory="auto")
    assert plain.param_read_extra == 0 and cfg.latency == plain.latency + 1
    real = {i << lay.k | g for i, n in enumerate(lay.groups) for g in range(n)}
    vecs = _beats(merged, cfg, lambda u: True,
                  [u for u in range(1 << cfg.w_user) if u not in real])
    assert _mismatches(merged, cfg, vecs) == 0
    beats = [(list(v.xs), v.user, v.last) for v in vecs[:20]]
    res = simulate(cfg, [("stream", beats), ("drain",)])
    ins = [c for *_, c in res.accepted]
    outs = [c for *_, c in res.outputs]
    assert outs[0] - ins[0] == cfg.latency
    _planted_fail(monkeypatch, merged, cfg, vecs, (1 << lay.k) | 9, 2 << lay.k)


@pytest.mark.synth
@pytest.mark.slow  # 33 s (Yosys and one nextpnr seed): make sweep
def test_block_rom_address_copies_stay_distinct_after_yosys(tmp_path):
    """Yosys (synth_ecp5; one nextpnr seed, as the flow runs) keeps the third read cycle's
    address copies apart: one flip-flop set per lane memory and bank (its opt_merge would
    merge equal copies back into one net to every DP16KD)."""
    import json
    import re

    from exactbn.synth.designs import build_designs
    from exactbn.synth.flow import run_design
    from exactbn.synth.targets import resolve_target

    layers = [_layer("a", 12, 31), _layer("b", 4096, 32), _layer("c", 8, 33)]
    merged, _ = merge_layers(layers, lanes=4)
    target = resolve_target("ecp5")
    (src,) = build_designs(merged, target, tmp_path / "src", kinds=("exactbn",), lanes=4,
                           param_memory="block")
    assert src.config["stages"]["dspin"] == 2
    e = run_design(src, target, tmp_path / "work", seeds=(1,))
    mods = json.loads((tmp_path / "work" / src.name / "netlist.json").read_text())["modules"]
    top = next(m for m in mods.values() if m.get("attributes", {}).get("top"))
    copies = {n: tuple(v["bits"]) for n, v in top["netnames"].items()
              if re.search(r"\.store\.addr\d+_\d+_r$", n)}
    ffs = {b for c in top["cells"].values() if c["type"] == "TRELLIS_FF"
           for b in c["connections"]["Q"]}
    assert len(copies) == 4 * 2, sorted(copies)  # 4 lanes x 2 DP16KD banks deep
    assert len(set(copies.values())) == len(copies), copies
    assert all(b in ffs for bits in copies.values() for b in bits if isinstance(b, int))
    assert e["bram"] >= 8 and e["fmax_mhz"] > 0
