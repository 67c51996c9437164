"""A ROM unit's datapath proof in two halves (harness._datapath, mode "words" / "arith"):
the words the datapath reads are the solved file's (words), and the arithmetic is right for
any word within the solved words' extremes (arith: the operands cut to free values, so the
problem holds no channel and no ROM). Each half must catch what it covers, and an arith
part without a words part is never a proof."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal.cones import _bits
from exactbn.sim.formal.harness import arith_cut_nets, word_extremes
from exactbn.sim.formal.prove import (
    WORD_SPLIT_MIN_WORDS,
    check_cover,
    datapath_parts,
    model_from_layer,
    prove_unit,
    word_split,
)

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import small_layer  # noqa: E402


def _rom(layer, lanes: int = 1, **kw):
    return unit_config_from_solved(layer, lanes=lanes, pipeline=kw.pop("pipeline", "shallow"),
                                   **kw)


def _roots(netlist: str, top: str, net: str) -> list:
    """The bits each bit of ``net`` is an alias of (through the module's connects): a cut
    net's bits end at its ``exactbn_cutK_in`` port."""
    lines = netlist.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"module \\{top}")
    body = lines[start + 1:lines.index("end", start)]
    widths = {}
    for ln in body:
        if ln.startswith("  wire "):
            f = ln.split()
            widths[f[-1]] = int(f[f.index("width") + 1]) if "width" in f else 1
    alias = {}
    for ln in body:
        if m := re.match(r"^  connect (\S+(?: \[\d+(?::\d+)?\])?|\{[^}]*\}) (.+)$", ln):
            for a, b in zip(_bits(m.group(1), widths), _bits(m.group(2), widths),
                            strict=False):
                if a is not None:
                    alias[a] = b
    out = []
    for bit in _bits(net, widths):
        seen = set()
        while bit is not None and bit in alias and bit not in seen:
            seen.add(bit)
            bit = alias[bit]
        out.append(bit if bit is not None else ("constant", 0))
    return out


def _prove_split(layer, cfg, verilog, out, **kw):
    """The datapath task in its two halves (forced: these small units would be proven whole)."""
    parts = datapath_parts(cfg, model_from_layer(layer), words=True)
    return prove_unit(layer, cfg, verilog, out, tasks=("datapath",), parts=parts, **kw)


def test_the_halves_are_for_rom_units_with_many_words():
    c = WORD_SPLIT_MIN_WORDS + 1
    big = small_layer("half_even", M=(3,) * c, B=(1,) * c, N=(2,) * (c - 1) + (6,))
    assert word_split(_rom(big)) and not word_split(_rom(big, lanes=2))  # 9 words a lane
    assert not word_split(_rom(small_layer("half_even")))  # 3 words: whole (cheaper)
    assert not word_split(unit_config_from_solved(big, lanes=1, store="ram"), words=True)
    assert datapath_parts(_rom(big), model_from_layer(big))[0] == (None, None, "words")


def test_rom_parts_are_a_words_part_and_arith_parts_and_need_both():
    layer = small_layer("half_even")
    for lanes, arith in ((1, [None]), (8, [(k, k + 1) for k in range(0, 8, 2)])):  # pairs
        cfg = _rom(layer, lanes)
        parts = datapath_parts(cfg, model_from_layer(layer), words=True)
        assert parts == [(None, None, "words")] + [(a, None, "arith") for a in arith]
        assert check_cover(cfg, parts) is None
        msg = check_cover(cfg, parts[1:])  # arith without words: no proof of the words
        assert msg is not None and "words" in msg
        msg = check_cover(cfg, parts[:1])  # words alone: no data asserted
        assert msg is not None and "unasserted" in msg
    ram = unit_config_from_solved(layer, lanes=1, store="ram")
    assert check_cover(ram, [(None, None, "arith"), (None, None, "words")]) is not None


def test_word_extremes_are_the_solved_words_over_the_input_field():
    layer = small_layer("half_even")  # int8 x, M = (3, -45, 100), B = (1, -200, 3)
    cfg = _rom(layer)
    lo, hi, d_max = word_extremes(cfg, model_from_layer(layer))
    assert (lo, hi) == (min(-45 * 127 - 200, 100 * -128 + 3), max(-45 * -128 - 200, 100 * 127 + 3))
    assert d_max == 7 - 2  # N = 7 is the largest, n_min = 2


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_prove_with_an_arith_part_and_no_words_part_is_an_error(tmp_path):
    layer = small_layer("half_even")
    cfg = _rom(layer)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("datapath",),
                     parts=[(None, None, "arith")])
    assert res.status == "ERROR" and not res.tasks, res.summary


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
@pytest.mark.parametrize("field, wrong, says", [
    ("M", {"M": (3, -44, 100)}, "M = -44, the model's M is -45"),
    ("B", {"B": (1, -201, 3)}, "B = -201, the model's B is -200"),
    ("N", {"N": (2, 5, 7)}, "N = 5, the model's N is 6"),
])
def test_one_wrong_word_field_fails_in_the_words_part(tmp_path, field, wrong, says):
    """The unit's ROM holds channel 1's word with one field changed (the unit generated from
    that word, proven against the solved file): the words part fails and names it."""
    layer = small_layer("half_even")
    cfg = _rom(unit_layer := small_layer("half_even", **wrong))
    assert getattr(cfg, field) != getattr(_rom(layer), field) and unit_layer
    res = _prove_split(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "FAIL", res.summary
    assert res.tasks[-1].task == "datapath words"
    assert res.summary.startswith("datapath: channel 1: ") and says in res.summary, res.summary


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_a_broken_shifter_level_fails_in_the_arith_part(tmp_path):
    """The shifter's shift-by-4 level never shifts (channels 1 and 2 use it: N - n_min = 4, 5):
    the words part passes (the words are right), the arith part fails."""
    layer = small_layer("half_even")
    cfg = _rom(layer)
    verilog, n = re.subn(r"assign D2 = d\[2\] \? [^;]*? : ([^;]*);", r"assign D2 = \1;",
                         to_verilog(cfg))
    assert n == 1
    res = _prove_split(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL", res.summary
    assert [(t.task, t.status) for t in res.tasks] == [("datapath words", "PASS"),
                                                       ("datapath arith", "FAIL")]
    assert res.summary.startswith("datapath: channel ") and "expected" in res.summary


@pytest.mark.formal
@pytest.mark.xdist_group("formal")
def test_the_arith_part_holds_no_rom(tmp_path):
    """The arith part's netlist reads the operands from the cut ports: no ROM word (the
    largest M's bits) is left in it, so its problem is the same for any solved words."""
    layer = small_layer("half_even", M=(3, -45, 101))
    cfg = _rom(layer)
    res = _prove_split(layer, cfg, to_verilog(cfg), tmp_path, keep=True)
    assert res.status == "PASS", res.summary
    dut = (tmp_path / "datapath_arith" / "dut.il").read_text()
    assert "exactbn_cut0_in" in dut and "exactbn_cut0_dead" in dut
    nets = ["\\core.mul0.m", "\\core.mul0.b", "\\core.shift0.d"]  # M, B, shift amount
    assert sorted(arith_cut_nets(cfg)) == sorted(nets)
    for net in nets:  # every bit of each operand net is read from a cut port
        roots = {b[0] for b in _roots(dut, cfg.name, net)}
        assert roots and all(re.fullmatch(r"\\exactbn_cut\d+_in", r) for r in roots), (net, roots)
    harness = (tmp_path / "datapath_arith" / "harness.sv").read_text()
    assert "assume($signed(es0) >= " in harness and "@opm" not in harness
    words = (tmp_path / "datapath_words" / "harness.sv").read_text()
    assert "@opm 0" in words and "@opb 0" in words and "@opd 0" in words
    assert "@data" not in words


def test_all_layers_jobs_share_the_cores(monkeypatch):
    """prove --all-layers --jobs J: each layer's prove runs cores // J tasks at a time (the
    environment its processes inherit), not J x prove's default."""
    from exactbn.cli import cmd_prove

    monkeypatch.delenv(cmd_prove.TASK_JOBS_ENV, raising=False)
    assert cmd_prove.task_jobs() is None
    for text, want in (("1", 1), ("3", 3), ("0", None), ("x", None), ("-2", None)):
        monkeypatch.setenv(cmd_prove.TASK_JOBS_ENV, text)
        assert cmd_prove.task_jobs() == want
    seen = {}
    monkeypatch.delenv(cmd_prove.TASK_JOBS_ENV)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.setattr("exactbn.network.run_all_layers",
                        lambda *a, **k: seen.setdefault("jobs", cmd_prove.task_jobs()) and 0)
    monkeypatch.setattr("exactbn.network.network_mode", lambda args: True)
    monkeypatch.setattr("exactbn.cli.threshold_cli.resolve_auto_unit",
                        lambda args: "multiply-shift")

    class Args:
        jobs, verilog = 2, None

    cmd_prove.run(Args())
    assert seen["jobs"] == 2  # 4 cores, 2 layers at a time
