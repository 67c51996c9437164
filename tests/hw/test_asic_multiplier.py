"""The standard-cell multiplier (hw/asic_multiplier.py): ``x*m + b`` exact at its widths'
extremes and on random operands, with stalls (Amaranth simulator), exhaustively at small
widths in every form (Booth or per-bit rows, either operand recoded, 0-2 tree registers, prefix
or ripple final add), and a planted wrong partial-product bit fails; the unit built with it
(family ``asic``) equals golden's integer model at every level transition of every channel."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator
from exactbn.hw.asic_multiplier import CsaForm, CsaMulAdd, csa_stages
from exactbn.hw.multiplier import MulAdd, mult_stages

from exactbn.generate import build_vectors, unit_config_from_solved


def _run(dut, vectors, seed: int = 3) -> list[int]:
    """Outputs of ``dut`` (ports x, m, b, s, en) for ``vectors``, ``en`` low on random cycles
    (a held register must keep its value)."""
    rng = random.Random(seed)
    lat, out = dut.latency, []

    async def tb(ctx):
        n = 0  # enabled cycles so far: after the n-th, s holds the sum fed at n - lat
        while len(out) < len(vectors):
            en = rng.random() < 0.7
            ctx.set(dut.en, en)
            if en:
                x, m, b = vectors[n] if n < len(vectors) else (0, 0, 0)
                ctx.set(dut.x, x)
                ctx.set(dut.m, m)
                ctx.set(dut.b, b)
            await ctx.tick()
            if en:
                n += 1
                if n >= lat:
                    out.append(ctx.get(dut.s))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return out


@pytest.mark.parametrize("w_x,w_m,w_b,w_s,tree,chunk", [
    (16, 15, 24, 33, 2, 0),   # conv2_bn_relu-like widths
    (17, 23, 34, 42, 3, 0),   # int8 widths, three register groups
    (5, 2, 3, 8, 1, 4),       # narrowest signed m, chunked final add
    (9, 6, 12, 16, 2, 0),     # w_s below w_x + w_m: the sum is kept modulo 2^w_s
])
def test_csa_mul_add_is_exact(w_x, w_m, w_b, w_s, tree, chunk):
    dut = CsaMulAdd(w_x, w_m, w_b, w_s, tree, chunk)
    assert dut.latency == csa_stages(w_x, w_m, w_s, tree, chunk)
    lo_x, hi_x = -(1 << w_x - 1), (1 << w_x - 1) - 1
    lo_m, hi_m = -(1 << w_m - 1), (1 << w_m - 1) - 1
    lo_b, hi_b = -(1 << w_b - 1), (1 << w_b - 1) - 1
    vec = [(x, m, b) for x in (lo_x, -1, 0, 1, hi_x) for m in (lo_m, -1, 0, 1, hi_m)
           for b in (lo_b, 0, hi_b)]
    rng = random.Random(w_x * 100 + w_m)
    vec += [(rng.randint(lo_x, hi_x), rng.randint(lo_m, hi_m), rng.randint(lo_b, hi_b))
            for _ in range(60)]
    if w_s < w_x + w_m + 1:  # only sums that fit w_s signed bits are promised
        lim = 1 << (w_s - 1)
        vec = [v for v in vec if -lim <= v[0] * v[1] + v[2] < lim]
    got = _run(dut, vec)
    bad = [(v, g) for v, g in zip(vec, got, strict=True) if v[0] * v[1] + v[2] != g]
    assert not bad, f"{len(bad)} wrong, first {bad[0]}"


def _exhaustive(dut, w_x, w_m, w_b) -> tuple[int, int]:
    """(wrong, total) over every x, m and three b (extremes, 0), en always high."""
    vec = [(x, m, b) for x in range(-(1 << w_x - 1), 1 << w_x - 1)
           for m in range(-(1 << w_m - 1), 1 << w_m - 1)
           for b in (-(1 << w_b - 1), 0, (1 << w_b - 1) - 1)]
    lat, out = dut.latency, []

    async def tb(ctx):
        ctx.set(dut.en, 1)
        for n in range(len(vec) + lat - 1):  # after tick n, s holds the sum fed at n + 1 - lat
            x, m, b = vec[n] if n < len(vec) else (0, 0, 0)
            ctx.set(dut.x, x)
            ctx.set(dut.m, m)
            ctx.set(dut.b, b)
            await ctx.tick()
            if n + 1 >= lat:
                out.append(ctx.get(dut.s))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return sum(v[0] * v[1] + v[2] != g for v, g in zip(vec, out, strict=True)), len(vec)


FORMS = [CsaForm(booth=False), CsaForm(booth=True), CsaForm(booth=True, recode="x"),
         CsaForm(booth=None, recode="narrow", tree=0, final="ripple"),
         CsaForm(booth=True, tree=1, final="ripple"), CsaForm(booth=False, tree=1)]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f"booth{f.booth}-{f.recode}-t{f.tree}-"
                         f"{f.final}")
@pytest.mark.parametrize("w_x,w_m", [(4, 3), (3, 4), (5, 5), (4, 2), (2, 5), (5, 4)])
def test_every_form_is_exact_exhaustively(form, w_x, w_m):
    dut = CsaMulAdd(w_x, w_m, 3, w_x + w_m + 1, 2, 0, form)
    assert dut.latency == csa_stages(w_x, w_m, w_x + w_m + 1, 2, 0, form)
    bad, n = _exhaustive(dut, w_x, w_m, 3)
    assert bad == 0, f"{bad} of {n} wrong"


@pytest.mark.parametrize("form", [CsaForm(booth=False), CsaForm(booth=True)],
                         ids=["bits", "booth"])
def test_a_planted_wrong_partial_product_fails(form):
    dut = CsaMulAdd(4, 4, 3, 9, 2, 0, form)
    dut.plant = (1, 2)  # row 1, bit 2 inverted
    bad, n = _exhaustive(dut, 4, 4, 3)
    assert bad > 0


def test_muladd_family_asic_uses_the_csa_tree():
    mul = MulAdd(17, 23, 34, 42, 2, family="asic")
    assert mul.latency == mult_stages(17, 23, 42, 2, family="asic") == csa_stages(17, 23, 42)
    subs = [name for _, name, *_ in Fragment.get(mul, None).subfragments]
    assert subs == ["csa"], subs
    assert mult_stages(17, 23, 42, 0, family="asic") == 0  # mult=0: Yosys's own multiplier


@pytest.mark.parametrize("name,shift_mode,opts", [
    ("conv2_bn_relu", "per-channel", dict(lanes=2, pipeline="asic")),
    pytest.param("conv1_bn", "shared", dict(lanes=1, pipeline="default"),
                 marks=pytest.mark.slow),
])
def test_unit_with_the_asic_multiplier_matches_integer_model(solved, stream_check, name,
                                                             shift_mode, opts):
    layer = solved(name, shift_mode)
    cfg = unit_config_from_solved(layer, family="asic", **opts)
    vectors = build_vectors(layer, cfg, seed=2)  # every transition point of every channel
    bad, _ = stream_check(cfg, vectors, p_valid=0.8, p_ready=0.7, seed=5)
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"


def test_asic_small_preset_unit_matches_integer_model_and_a_planted_pp_bit_fails(
        solved, stream_check, monkeypatch):
    """``--pipeline asic-small`` (one tree register group, ripple final add, no registers
    after the multiplier's): every level transition of every channel, under stalls; the same
    unit with one partial-product bit flipped differs."""
    from exactbn.hw.config import Pipeline

    layer = solved("conv2_bn_relu", "per-channel")
    cfg = unit_config_from_solved(layer, family="asic", lanes=2, pipeline="asic-small")
    form = cfg.pipeline.csa_form()
    assert (form.tree, form.final) == (1, "ripple")
    assert cfg.stages["mult"] == csa_stages(cfg.w_xs, cfg.w_m, cfg.w_s, 2, 0, form) == 2
    assert Pipeline.parse(cfg.pipeline.spec()) == cfg.pipeline == Pipeline.parse(
        "mult=2,shift=0,round=0,out=0,tree=1,cpa=ripple")
    vectors = build_vectors(layer, cfg, seed=2)
    bad, _ = stream_check(cfg, vectors, p_valid=0.8, p_ready=0.7, seed=5)
    assert not bad, f"{len(bad)} mismatches, first: {bad[0]}"
    built = []
    orig = CsaMulAdd.elaborate

    def planted(self, platform):
        built.append(self.form)
        self.plant = (1, 2)
        return orig(self, platform)

    monkeypatch.setattr(CsaMulAdd, "elaborate", planted)
    bad, _ = stream_check(cfg, vectors, p_valid=0.8, p_ready=0.7, seed=5)
    assert bad and built and all(f.final == "ripple" and f.tree == 1 for f in built)


@pytest.mark.parametrize("spec,family", [("asic-small", "generic"), ("asic,tree=1", "ecp5"),
                                         ("mult=1,cpa=ripple", "asic")])
def test_tree_and_cpa_only_shape_the_asic_multiplier(solved, spec, family):
    from exactbn.formats import FormatError

    with pytest.raises((ValueError, FormatError), match="tree/cpa"):
        unit_config_from_solved(solved("conv2_bn_relu"), family=family, pipeline=spec)


@pytest.mark.parametrize("bad", ["asic,cpa=stall", "asic,flow=ripple", "asic,tree=3",
                                 "asic,cpa=1"])
def test_bad_tree_cpa_values_are_refused(bad):
    from exactbn.hw.config import Pipeline

    with pytest.raises(ValueError):
        Pipeline.parse(bad)
