"""The shared unit's packed parameter ROM and its raised shifts: every layer still gets its
own integer model (Amaranth sim, layers interleaved beat by beat, random valid/ready)."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import pytest
from exactbn.golden.model import integer_model
from exactbn.hw import store as store_mod
from exactbn.hw.simulate import simulate

from exactbn.formats import twos_width
from exactbn.generate import build_vectors, unit_config_from_solved
from exactbn.shared import merge_layers

sys.path.insert(0, str(Path(__file__).parents[1] / "formal"))
from formal_layers import small_layer  # noqa: E402


def _layers():
    """Two layers whose padded blocks (2 + 9 channels at L = 1: 16 + 9 words) span two ROM
    banks while their 11 real words fit one; layer a's small shifts can be raised."""
    a = dataclasses.replace(small_layer(M=(3, -5), B=(1, -2), N=(1, 2)), name="a")
    rng = random.Random(7)
    M = tuple(rng.choice([-1, 1]) * rng.randrange(20, 120) for _ in range(9))
    B = tuple(rng.randrange(-500, 500) for _ in range(9))
    N = tuple(rng.randrange(4, 8) for _ in range(9))
    return [a, dataclasses.replace(small_layer(M=M, B=B, N=N), name="b")]


def _own_model(layers, merged, cfg, vectors):
    """Expected q of every beat from each layer's own solved words (not the merged ones)."""
    out = []
    for v in vectors:
        qs = []
        for lane, x in enumerate(v.xs):
            ch = v.user * cfg.lanes + lane
            owner = [(base, lay) for base, lay in merged.shared_layers
                     if base <= ch < base + lay.channels]
            if not owner:  # a padding channel: M = B = 0
                qs.append(min(max(0, cfg.qmin), cfg.qmax))
                continue
            base, lay = owner[0]
            c = ch - base
            q = int(integer_model(lay.M[c], lay.B[c], lay.N[c], x, lay.qmin, lay.qmax,
                                  lay.hw_rounding))
            qs.append(q)
        out.append(qs)
    return out


def _mismatches(cfg, vectors, expected) -> int:
    order = list(range(len(vectors)))
    random.Random(3).shuffle(order)  # layers interleaved beat by beat
    beats = [(list(vectors[i].xs), vectors[i].user, vectors[i].last) for i in order]
    res = simulate(cfg, [("stream", beats), ("drain",)], p_valid=0.8, p_ready=0.4, seed=5)
    assert len(res.outputs) == len(beats)
    return sum(list(q) != expected[i] for i, (q, *_rest) in zip(order, res.outputs, strict=True))


def test_low_shifts_are_raised_within_the_union_widths():
    layers = _layers()
    merged, _ = merge_layers(layers)
    assert min(merged.N) > min(n for lay in layers for n in lay.N)
    assert merged.widths.M == twos_width(*(m for lay in layers for m in lay.M))
    assert merged.widths.B == twos_width(*(b for lay in layers for b in lay.B))
    for base, lay in merged.shared_layers:  # the same function of every int8 x
        xs = list(range(-128, 128))
        for c in range(lay.channels):
            k = base + c
            assert list(integer_model(merged.M[k], merged.B[k], merged.N[k], xs, lay.qmin,
                                      lay.qmax, lay.hw_rounding)) == \
                list(integer_model(lay.M[c], lay.B[c], lay.N[c], xs, lay.qmin, lay.qmax,
                                   lay.hw_rounding))


@pytest.mark.sim
def test_packed_rom_serves_every_layer_interleaved(monkeypatch):
    layers = _layers()
    merged, _ = merge_layers(layers)
    cfg = unit_config_from_solved(merged, family="ecp5", name="u")
    assert cfg.param_read_split and cfg.groups > 16
    row_of, images = store_mod.packed_rom(cfg)
    assert len(images[0]) == 16 and max(row_of) == 11  # 11 real words, then zero rows
    vectors = build_vectors(merged, cfg, seed=2)
    expected = _own_model(layers, merged, cfg, vectors)
    assert [list(v.qs) for v in vectors] == expected
    assert _mismatches(cfg, vectors, expected) == 0
    # planted: layer b's first two rows swapped in the address map
    bad_map = list(row_of)
    i, j = bad_map.index(2), bad_map.index(3)
    bad_map[i], bad_map[j] = bad_map[j], bad_map[i]
    monkeypatch.setattr(store_mod, "packed_rom", lambda c: (bad_map, images))
    assert _mismatches(cfg, vectors, expected) > 0


@pytest.mark.formal
def test_prove_packed_rom_datapath_and_a_planted_word_fails(tmp_path):
    """The datapath proof (every output = the merged words' integer model, every input and
    channel) on the packed ROM; a wrong word of layer b FAILs it."""
    from exactbn.hw import to_verilog
    from exactbn.sim.formal.prove import prove_unit

    merged, lay = merge_layers(_layers())
    cfg = unit_config_from_solved(merged, family="ecp5", name="u")
    assert store_mod.packed_rom(cfg) is not None
    res = prove_unit(merged, cfg, to_verilog(cfg), tmp_path / "ok", tasks=("datapath",))
    assert res.status == "PASS", res.summary
    bad = list(cfg.M)
    bad[lay.channel_base(1) + 3] += 1
    res = prove_unit(merged, cfg, to_verilog(dataclasses.replace(cfg, M=tuple(bad))),
                     tmp_path / "bug", tasks=("datapath",))
    assert res.status == "FAIL", res.summary
