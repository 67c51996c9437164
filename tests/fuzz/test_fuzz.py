"""A few hundred fuzz cases (``make fuzz`` runs thousands): every command on mutated layer,
solved and ONNX files must refuse bad input cleanly; no traceback, hang, garbage accepted,
write outside -o, or exit 2 that is not one clean line."""

from __future__ import annotations

import pytest

from fuzz.campaign import run_cases
from fuzz.cases import all_cases, sample
from fuzz.report import signature, summarize, write_summary
from fuzz.seeds import build_seeds

pytestmark = pytest.mark.xdist_group("fuzz")

CASES = 300
MAX_GENERATE = 12  # about 1 s each
TIMEOUT = 20.0  # per case; a hang costs this much


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz")
    seeds = build_seeds(out / "seeds")
    cases = sample(all_cases(seeds, 1), CASES, 1, max_per_command={"generate": MAX_GENERATE})
    for c in cases:
        c.timeout = min(c.timeout, TIMEOUT)
    outcomes, secs = run_cases(cases, out, quiet=True)
    write_summary(summarize(outcomes, secs, ["tests/fuzz/test_fuzz.py"]), out)
    return outcomes, out


@pytest.mark.parametrize("cls", ["traceback", "hang", "garbage", "outside-o", "exit2-messy"])
def test_no_bad_outcome(fuzzed, cls):
    outcomes, out = fuzzed
    bad = [o for o in outcomes if cls in o.classes]
    distinct: dict[str, object] = {}
    for o in bad:
        distinct.setdefault(signature(o), o)
    lines = [f"{o.command} [{o.group}] {o.desc} -> {o.detail[:160]} "
             f"(repro {getattr(o, '_repro', '?')})" for o in distinct.values()]
    assert not bad, (f"{len(bad)} of {len(outcomes)} cases {cls}, {len(distinct)} distinct "
                     f"(summary {out}/summary.md):\n" + "\n".join(lines[:40]))


def test_every_command_and_input_kind_ran(fuzzed):
    outcomes, _ = fuzzed
    groups = {o.group.split("/")[0] for o in outcomes}
    commands = {o.command for o in outcomes}
    assert {"layers", "solved", "onnx", "args"} <= groups
    assert {"solve", "verify", "generate", "import"} <= commands
