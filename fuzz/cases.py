"""Cases: (command, mutant, verdict) triples built from the seeds, and how to run each."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from fuzz.mutate_json import Mutant, json_mutants
from fuzz.mutate_onnx import onnx_mutants
from fuzz.oracle import verdict_json
from fuzz.seeds import Seeds
from fuzz.values import odd_names

__all__ = ["Case", "all_cases", "SLOW_COMMANDS"]

SLOW_COMMANDS = ("sim", "prove", "synth")


@dataclass
class Case:
    """One run: ``argv`` refers to files under ``inputs`` by their names (in/<name>)."""

    command: str
    argv: list[str]
    inputs: dict[str, bytes]
    mutant: Mutant
    verdict: str
    seed: str
    file_kind: str
    output: str | None = None  # the -o path, relative to the working directory
    subprocess: bool = False
    timeout: float = 20.0
    setup: list[str] = field(default_factory=list)  # extra sandbox setup steps
    id: str = ""

    @property
    def group(self) -> str:
        return f"{self.file_kind}/{self.command}/{self.mutant.kind.split(':')[0]}"


def _layer_cases(seeds: Seeds, rng: random.Random) -> list[Case]:
    out = []
    for name, text in seeds.layers.items():
        for m in json_mutants(text, rng, "@SANDBOX@"):
            v = verdict_json("layers", m, m.data)
            sv = "any" if v == "verify" else v
            out.append(Case("solve", ["solve", "in/L.json", "-o", "out/S.json", "--no-summary"],
                            {"L.json": m.data}, m, sv, name, "layers", "out/S.json"))
            out.append(Case("verify", ["verify", "in/L.json", "in/S.json"],
                            {"L.json": m.data, "S.json": seeds.solved[name].encode()}, m, v,
                            name, "layers"))
            if m.kind in ("extreme", "scale", "token") and rng.random() < 0.25:
                out.append(Case("solve-summary", ["solve", "in/L.json", "-o", "out/S.json"],
                                {"L.json": m.data}, m, sv, name, "layers", "out/S.json",
                                timeout=60.0))
    return out


def _solved_cases(seeds: Seeds, rng: random.Random, slow: bool) -> list[Case]:
    out = []
    for name, text in seeds.solved.items():
        lay = seeds.layers[name].encode()
        for m in json_mutants(text, rng, "@SANDBOX@"):
            v = verdict_json("solved", m, m.data)
            out.append(Case("verify", ["verify", "in/L.json", "in/S.json"],
                            {"L.json": lay, "S.json": m.data}, m, v, name, "solved"))
            gv = "any" if v == "verify" else v
            out.append(Case("generate", ["generate", "in/S.json", "-o", "out/kit", "-q"],
                            {"S.json": m.data}, m, gv, name, "solved", "out/kit", timeout=60))
            if slow and (v == "refuse" or m.kind.startswith("name:")):
                out += _slow_cases(m, name, "any" if v == "verify" else v)
    return out


def _slow_cases(m: Mutant, name: str, v: str) -> list[Case]:
    """sim / prove / synth: only their validation stage matters here (tiny timeouts)."""
    inputs = {"S.json": m.data}
    return [
        Case("sim", ["sim", "in/S.json", "-o", "out/sim", "--simulator", "icarus", "--vectors",
                     "1", "--scenarios", "full_rate"], inputs, m, v, name, "solved", "out/sim",
             subprocess=True, timeout=90),
        Case("prove", ["prove", "in/S.json", "-o", "out/prove"], inputs, m, v, name, "solved",
             "out/prove", subprocess=True, timeout=45),
        Case("synth", ["synth", "in/S.json", "--target", "generic", "--designs", "exactbn",
                       "--seeds", "1", "-q", "-o", "out/synth"], inputs, m, v, name, "solved",
             "out/synth", subprocess=True, timeout=60),
    ]


def _onnx_cases(seeds: Seeds, rng: random.Random) -> list[Case]:
    out = []
    for name, data in seeds.onnx.items():
        for m, v in onnx_mutants(data, rng):
            sub = "cycle" in m.kind  # a loop in C code would ignore SIGALRM
            out.append(Case("import", ["import", "in/M.onnx", "-o", "out/L.json", "-q"],
                            {"M.onnx": m.data}, m, v, name, "onnx", "out/L.json",
                            subprocess=sub, timeout=30))
    return out


def _arg_cases(seeds: Seeds) -> list[Case]:
    """Odd option values, output targets and special input files, on valid seeds."""
    name = next(iter(seeds.layers))
    lay, sol = seeds.layers[name].encode(), seeds.solved[name].encode()
    onnx = next(iter(seeds.onnx.values()))
    out = []

    def case(cmd, argv, inputs, kind, desc, verdict, output=None, **kw):
        m = Mutant(kind, "argv", desc, b"")
        out.append(Case(cmd, argv, inputs, m, verdict, name, "args", output, **kw))

    for lab, v in odd_names("@SANDBOX@"):
        if not isinstance(v, str):
            continue
        verdict = "refuse" if lab in ("nul", "empty") else "any"
        case("generate", ["generate", "in/S.json", "-o", "out/kit", "-q", "--name", v],
             {"S.json": sol}, f"arg:name-{lab}", f"generate --name {v[:30]!r}", verdict,
             "out/kit", timeout=60, setup=["compile-kit"])
    for cmd, argv, inputs in (
        ("solve", ["solve", "in/L.json", "--no-summary", "-o"], {"L.json": lay}),
        ("generate", ["generate", "in/S.json", "-q", "-o"], {"S.json": sol}),
        ("import", ["import", "in/M.onnx", "-q", "-o"], {"M.onnx": onnx}),
    ):
        src = "in/" + next(iter(inputs))
        for lab, target in (("empty", ""), ("dot", "."), ("input", src), ("indir", "in"),
                            ("parent-file", src + "/x"),
                            ("dotdot", "..")):
            case(cmd, [*argv, target], inputs, f"arg:o-{lab}", f"{cmd} -o {target!r}",
                 "any" if lab in ("indir",) and cmd == "generate" else "refuse",
                 None if lab != "indir" or cmd != "generate" else "in")
    for cmd, argv in (("solve", ["solve", "@IN@", "-o", "out/S.json", "--no-summary"]),
                      ("verify", ["verify", "in/L.json", "@IN@"]),
                      ("generate", ["generate", "@IN@", "-o", "out/kit", "-q"]),
                      ("import", ["import", "@IN@", "-o", "out/L.json", "-q"])):
        for lab, path in (("fifo", "in/fifo"), ("dev-zero", "/dev/zero"), ("dir", "in"),
                          ("missing", "in/nothing.json"), ("empty", "in/empty.json")):
            a = [path if x == "@IN@" else x for x in argv]
            case(cmd, a, {"L.json": lay, "empty.json": b""}, f"arg:input-{lab}",
                 f"{cmd} reading {path}", "refuse", a[a.index("-o") + 1] if "-o" in a else None,
                 subprocess=lab in ("fifo", "dev-zero"), timeout=20,
                 setup=["fifo"] if lab == "fifo" else [])
    for budget in ("1,1,1", "0,0,0", "-,-,-", "99999999999999999999,2,3", "a,b,c", "1,2"):
        case("solve", ["solve", "in/L.json", "-o", "out/S.json", "--no-summary", "--budget",
                       budget], {"L.json": lay}, "arg:budget", f"--budget {budget}",
             "any", "out/S.json")
    # 32-bit outputs: the summary's baseline comparison must not take minutes
    obj = json.loads(lay)
    obj["layers"][0]["output"] = {"bits": 32, "signed": True, "scale": 1e-6,
                                  "rounding": "half_even"}
    case("solve-summary", ["solve", "in/L.json", "-o", "out/S.json"],
         {"L.json": json.dumps(obj).encode()}, "arg:out32", "32-bit outputs with the summary",
         "any", "out/S.json", subprocess=True, timeout=60)
    return out


def all_cases(seeds: Seeds, seed: int, *, slow: bool = False) -> list[Case]:
    rng = random.Random(seed)
    cases = (_layer_cases(seeds, rng) + _solved_cases(seeds, rng, slow)
             + _onnx_cases(seeds, rng) + _arg_cases(seeds))
    for i, c in enumerate(cases):
        c.id = f"{i:05d}"
    return cases


def sample(cases: list[Case], n: int | None, seed: int, *,
           max_per_command: dict[str, int] | None = None) -> list[Case]:
    """Round-robin over groups (file kind, command, mutation class) so every class shows up."""
    if n is None:
        n = len(cases)
    rng = random.Random(seed)
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    prio = {"any": 0, "refuse": 1, "verify": 2, "inexact": 3}  # popped from the end: first
    for g in groups.values():
        rng.shuffle(g)
        g.sort(key=lambda c: prio.get(c.verdict, 0))
    caps = dict(max_per_command or {})
    used: dict[str, int] = {}
    chosen: list[Case] = []
    keys = sorted(groups)
    while len(chosen) < n and any(groups.values()):
        for k in keys:
            if not groups[k] or len(chosen) >= n:
                continue
            c = groups[k].pop()
            if c.command in caps and used.get(c.command, 0) >= caps[c.command]:
                continue
            used[c.command] = used.get(c.command, 0) + 1
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.id)
