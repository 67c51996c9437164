"""The fuzz harness itself: it must see a traceback, a hang, a write outside -o, a changed
input and a wrong exactness claim when they happen (these pass whatever exactbn does)."""

from __future__ import annotations

import json
import random
import time

from fuzz.classify import classify
from fuzz.jsontext import Dup, Raw, dumps
from fuzz.mutate_json import Mutant, json_mutants
from fuzz.oracle import verdict_json
from fuzz.runner import Result, run_inprocess
from fuzz.sandbox import Sandbox
from fuzz.seeds import build_seeds


def test_classify_outcomes():
    ok = Result(0, "", "", 0.1)
    assert classify(ok, garbage=None, outside=[], may_be_slow=False)[0] == ["success"]
    assert classify(ok, garbage="x", outside=[], may_be_slow=False)[0] == ["garbage"]
    tb = Result(1, "", "Traceback (most recent call last):\n  File x\nValueError: y", 0.1)
    assert classify(tb, garbage=None, outside=[], may_be_slow=False)[0] == ["traceback"]
    assert classify(Result(3, "", "exactbn: internal error", 0.1), garbage=None, outside=[],
                    may_be_slow=False)[0] == ["traceback"]
    hang = Result(None, "", "", 9.0, timed_out=True)
    assert classify(hang, garbage=None, outside=[], may_be_slow=False)[0] == ["hang"]
    e2 = Result(2, "", "exactbn: error: file x: bad\n", 0.1)
    assert classify(e2, garbage=None, outside=[], may_be_slow=False)[0] == ["exit2"]
    e2b = Result(2, "", "exactbn: error: a\nexactbn: error: b\n", 0.1)
    assert classify(e2b, garbage=None, outside=[], may_be_slow=False)[0] == ["exit2-messy"]
    assert "outside-o" in classify(e2, garbage=None, outside=["+x"], may_be_slow=False)[0]


def test_inprocess_runner_catches_hang_and_escape(tmp_path, monkeypatch):
    import exactbn.cli.main as m

    def spin(argv=None):
        while True:
            pass

    monkeypatch.setattr(m, "main", spin)
    r = run_inprocess(["x"], str(tmp_path), 0.2)
    assert r.timed_out  # CPU-time limit

    monkeypatch.setattr(m, "main", lambda argv=None: time.sleep(60))
    r = run_inprocess(["x"], str(tmp_path), 0.2)
    assert r.timed_out and r.seconds < 30  # wall-time limit (a blocking read)

    def boom(argv=None):
        raise KeyError("k")

    monkeypatch.setattr(m, "main", boom)
    r = run_inprocess(["x"], str(tmp_path), 5)
    assert r.exception and "KeyError" in r.exception


def test_sandbox_sees_writes_outside_output(tmp_path):
    box = Sandbox.create(tmp_path)
    inp = box.add_input("L.json", b"{}")
    out = box.work / "out" / "S.json"
    before = box.snapshot([out])
    out.write_text("fine")
    assert box.snapshot([out]) == before
    (box.root / "a" / "x").write_text("escaped")
    assert box.snapshot([out]) != before
    d = box.input_digests()
    inp.write_bytes(b"[]")
    assert box.input_digests() != d
    box.remove()


def test_json_writer_emits_what_json_cannot():
    assert dumps(Dup([("a", 1), ("a", 2)]), indent=0).replace("\n", "") == '{"a": 1,"a": 2}'
    assert dumps([Raw("NaN")], indent=0).replace("\n", "") == "[NaN]"
    assert dumps(10**30) == str(10**30)


def test_oracle_judges_tampered_parameters(tmp_path):
    seeds = build_seeds(tmp_path)
    text = seeds.solved["conv2_bn_relu"]
    ms = {(m.kind, m.path): m for m in json_mutants(text, random.Random(1), "@SANDBOX@")}
    tampered = ms[("double", "layers/0/M/0")]
    assert verdict_json("solved", tampered, tampered.data) == "inexact"
    typo = next(m for m in ms.values() if m.kind == "typo-key" and m.path == "layers/0/exact")
    assert verdict_json("solved", typo, typo.data) == "refuse"
    spec = ms[("plus1", "layers/0/output/zero_point")]
    assert verdict_json("solved", spec, spec.data) in ("verify", "inexact")
    same = json.loads(ms[("ulp", "layers/0/a/0")].data)
    assert same["layers"][0]["a"][0] != json.loads(text)["layers"][0]["a"][0]
    m = Mutant("name:rich", "layers/0/name", "", b"")
    assert verdict_json("layers", m, b"") == "any"
