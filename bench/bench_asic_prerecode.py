"""Lever measured, not adopted: M pre-recoded as radix-4 Booth digits in the parameter ROM.

The recoding is free offline, so storing each digit's (one, two, neg) instead of M removes the
Booth encoder after the ROM; the ROM and its read register grow by up to 3 bits per digit
minus W_M. Both forms in the same harness, at the bench layers' real parameters (C = 64,
per-channel): a 64-word ROM of (M or the digits, B) read into a register beside x, then
hw/asic_multiplier.CsaMulAdd in the asic-small form (Booth, one tree register group, ripple
final add) -> s. Each form is checked first in the Amaranth simulator (every word at the x
extremes and 3,000 random (word, x) against x*M + B; a flipped partial-product bit must
differ), then mapped to OSU018 (Yosys/ABC -D 5000, OpenSTA at 5 ns).

``python -m bench.bench_asic_prerecode [uint4,int8]`` -> bench/results/asic_prerecode.{json,md}
"""
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from amaranth import Array, Cat, Const, Module, Signal, signed
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from exactbn.hw.asic_multiplier import CsaForm, CsaMulAdd, booth_rows

from bench.bench_synth import standard_layers
from exactbn.formats import write_json_atomic, write_text_atomic
from exactbn.generate import unit_config_from_solved
from exactbn.synth.asic import map_netlist
from exactbn.synth.libraries import resolve_library
from exactbn.synth.sta import run_sta

RESULTS = Path(__file__).resolve().parent / "results"

FORM = CsaForm(booth=True, tree=1, final="ripple")


def digits(mv, wm):
    """(one, two, hi) per Booth digit of the wm-bit two's complement mv: what the encoder makes."""
    u = mv & ((1 << wm) - 1)

    def bit(i):
        return (u >> min(i, wm - 1)) & 1 if i >= 0 else 0

    out = []
    for k in range(booth_rows(wm)):
        lo, mid, hi = bit(2 * k - 1), bit(2 * k), bit(min(2 * k + 1, wm - 1))
        out.append((mid ^ lo, (hi & ~mid & ~lo & 1) | (~hi & mid & lo & 1), hi))
    return out


class DigitMulAdd(CsaMulAdd):
    """CsaMulAdd whose Booth digits come pre-recoded (self.dig: one, two, hi per digit)."""
    def __init__(self, *a, plant=None, **k):
        super().__init__(*a, **k)
        self.dig = Signal(3 * booth_rows(self.w_m), name="dig")
        self.plant = plant

    def _booth_rows(self, m, xv, mv):
        wx, wm = len(xv), self.w_m
        rows, negs, const = [], [], 0
        xb = [xv[i] for i in range(wx)]
        for k in range(booth_rows(wm)):
            one, two, hi = self.dig[3 * k], self.dig[3 * k + 1], self.dig[3 * k + 2]
            bits = []
            for i in range(wx + 1):
                xi = xb[min(i, wx - 1)]
                xl = xb[i - 1] if i else Const(0, 1)
                bits.append(((one & xi) | (two & xl)) ^ hi)
            bits[wx] = ~bits[wx]
            const -= 1 << (wx + 2 * k)
            rows.append(self._place(m, f"pp{k}", self._planted(k, bits), 2 * k))
            negs.append((2 * k, hi))
        neg = Signal(self.w_s, name="pp_neg")
        parts = {p: b for p, b in negs if p < self.w_s}
        m.d.comb += neg.eq(Cat(*(parts.get(i, Const(0, 1)) for i in range(self.w_s))))
        rows.append(neg)
        return rows, const


class RomMul(wiring.Component):
    def __init__(self, cfg, pre, plant=None):
        self.cfg, self.pre, self.plant = cfg, pre, plant
        super().__init__({"a": In(6), "x": In(cfg.w_xs), "s": Out(cfg.w_s)})

    def elaborate(self, platform):
        c, m = self.cfg, Module()
        M, B = list(c.M), list(c.B)
        b_r = Signal(signed(c.w_b))
        x_r = Signal(signed(c.w_xs))
        m.d.sync += [b_r.eq(Array(Const(v, signed(c.w_b)) for v in B)[self.a]),
                     x_r.eq(self.x.as_signed())]
        if self.pre:
            mul = DigitMulAdd(c.w_xs, c.w_m, c.w_b, c.w_s, 1, 0, FORM, plant=self.plant)
            words = [Cat(*(Const(b, 1) for d in digits(v, c.w_m) for b in d)) for v in M]
            d_r = Signal(3 * booth_rows(c.w_m))
            m.d.sync += d_r.eq(Array(words)[self.a])
            m.d.comb += mul.dig.eq(d_r)
        else:
            mul = CsaMulAdd(c.w_xs, c.w_m, c.w_b, c.w_s, 1, 0, FORM)
            mul.plant = self.plant
            m_r = Signal(signed(c.w_m))
            m.d.sync += m_r.eq(Array(Const(v, signed(c.w_m)) for v in M)[self.a])
            m.d.comb += mul.m.eq(m_r)
        m.submodules.mul = mul
        m.d.comb += [mul.en.eq(1), mul.x.eq(x_r), mul.b.eq(b_r), self.s.eq(mul.s)]
        return m


def check(cfg, pre, plant=None, n=3000):
    """Every word at the x extremes and n random (a, x): s = x*M[a] + B[a], 3 cycles later."""
    dut = RomMul(cfg, pre, plant)
    lat = 1 + dut_lat(cfg)
    vec = [(a, x) for a in range(len(cfg.M)) for x in (cfg.x_min, cfg.x_max, 0, -1, 1)]
    rnd = random.Random(1)
    vec += [(rnd.randrange(len(cfg.M)), rnd.randint(cfg.x_min, cfg.x_max)) for _ in range(n)]
    bad = []
    async def tb(ctx):
        hist = []
        for t in range(len(vec) + lat):
            if t < len(vec):
                ctx.set(dut.a, vec[t][0])
                ctx.set(dut.x, vec[t][1] & ((1 << cfg.w_xs) - 1))
            await ctx.tick()
            v = ctx.get(dut.s)
            hist.append(v - (1 << cfg.w_s) if v >> (cfg.w_s - 1) else v)
        for t, (a, x) in enumerate(vec):
            if hist[t + lat - 1] != x * cfg.M[a] + cfg.B[a]:
                bad.append((a, x))
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return len(vec), bad


def dut_lat(cfg):
    from exactbn.hw.asic_multiplier import csa_stages
    return csa_stages(cfg.w_xs, cfg.w_m, cfg.w_s, 1, 0, FORM)


def synth(cfg, pre, work, lib):
    work.mkdir(parents=True, exist_ok=True)
    (work / "d.il").write_text(rtlil.convert(RomMul(cfg, pre), name="romul"))
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, stat, _ = map_netlist([work / "d.il"], "romul", lib, work, 5000)
    design = stat.get("design") or next(iter(stat["modules"].values()))
    cells = {k.lstrip("\\"): int(v) for k, v in design.get("num_cells_by_type", {}).items()}
    timing, _ = run_sta(Path("cells.lib"), Path("netlist.v"), "romul", 5.0, work)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"area_um2": round(sum(lib.areas.get(k, 0) * n for k, n in cells.items()), 1),
            "ff": sum(n for k, n in cells.items() if k in lib.sequential),
            "min_period_ns": timing["min_period_ns"],
            "cpu_s": round(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 1)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    labels = (argv[0] if argv else "uint4,int8").split(",")
    lay = standard_layers()
    lib = resolve_library("osu018")
    rows, t0 = [], time.time()
    work = Path(tempfile.mkdtemp(prefix="bench_prerecode_"))
    for lab in labels:
        s = lay[(lab, "per-channel")]
        cfg = unit_config_from_solved(s, pipeline="asic", family="asic")
        for pre in (False, True):
            n, bad = check(cfg, pre)
            nb, badp = check(cfg, pre, plant=(1, 3), n=200)
            r = {"layer": lab, "w_xs": cfg.w_xs, "w_m": cfg.w_m, "w_b": cfg.w_b, "w_s": cfg.w_s,
                 "rom": "booth digits" if pre else "M", "vectors": n, "mismatches": len(bad),
                 "planted_pp_mismatches": len(badp)}
            r.update(synth(cfg, pre, work / f"{lab}-{int(pre)}", lib))
            r["load_average"] = [float(v) for v in open("/proc/loadavg").read().split()[:3]]
            print(json.dumps(r), flush=True)
            rows.append(r)
    shutil.rmtree(work, ignore_errors=True)
    cmd = "python -m bench.bench_asic_prerecode " + ",".join(labels)
    meta = {"command": cmd, "library": str(lib.liberty), "cores": os.cpu_count(),
            "elapsed_s": round(time.time() - t0, 1)}
    write_json_atomic(RESULTS / "asic_prerecode.json", {"meta": meta, "rows": rows})
    md = ["# Lever: M pre-recoded as Booth digits in the ROM (measured, not adopted)", "",
          f"`{cmd}` ({meta['elapsed_s']} s on {meta['cores']} cores; load per row). "
          "Harness: a 64-word ROM (the bench layer's M or its Booth digits, and B) read into "
          "a register beside x, then CsaMulAdd (Booth, tree=1, ripple) -> s; OSU018, ABC "
          "-D 5000, OpenSTA at 5 ns. Both forms equal x*M + B on every vector; a flipped "
          "partial-product bit differs on the planted count.", "",
          "| layer | W_X x W_M (+B, W_S) | ROM holds | area um2 | FF | min period ns | vectors "
          "| mismatches | planted | CPU s | load |", "|---" * 11 + "|"]
    for r in rows:
        md.append(f"| {r['layer']} | {r['w_xs']}x{r['w_m']} (+{r['w_b']}, {r['w_s']}) | "
                  f"{r['rom']} | {r['area_um2']:,.0f} | {r['ff']} | {r['min_period_ns']:.2f} | "
                  f"{r['vectors']} | {r['mismatches']} | {r['planted_pp_mismatches']} | "
                  f"{r['cpu_s']} | {r['load_average']} |")
    write_text_atomic(RESULTS / "asic_prerecode.md", "\n".join(md) + "\n")
    return 0 if all(r["mismatches"] == 0 and r["planted_pp_mismatches"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
