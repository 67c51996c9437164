"""Checks a review asked for on the proof changes: the credit stall task's shared state (B
reads A's datapath flip-flops, each tie asserted) and the ROM datapath's two halves on the
default pipeline (products split, 2 lanes). Each test fails when the check it guards is
removed from the harness or from prove.py."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from exactbn.hw import to_verilog
from exactbn.sim.formal import prove
from exactbn.sim.formal.prove import datapath_parts, model_from_layer, prove_unit

from exactbn.generate import unit_config_from_solved

sys.path.insert(0, str(Path(__file__).parent))
from formal_layers import edit_module, small_layer  # noqa: E402

pytestmark = [pytest.mark.formal, pytest.mark.xdist_group("formal")]

NOT_SHARED = re.compile(r"fifo|credit|oskid")


def _credit():
    layer = small_layer("floor")
    return layer, unit_config_from_solved(layer, lanes=1, pipeline="shallow,flow=credit")


def test_credit_stall_task_shares_the_datapath_only(tmp_path, monkeypatch):
    """The stall task of a credit unit calls shared_state (prove.py's hook), which picks
    datapath flip-flops only (no FIFO, credit counter or output skid), and the rendered
    harness ties each one (``@shared``). Stopped before any solver runs."""
    layer, cfg = _credit()
    seen: dict = {}
    real_shared, real_render = prove.shared_state, prove.render_credit

    def shared(netlist, top, regs, memory, *a, **k):
        seen["regs"] = {r.wire: r.label for r in regs}
        seen["shared"] = real_shared(netlist, top, regs, memory, *a, **k)
        return seen["shared"]

    def render(*a, **k):
        seen["harness"] = real_render(*a, **k).verilog
        raise ValueError("stopped by the test")

    monkeypatch.setattr(prove, "shared_state", shared)
    monkeypatch.setattr(prove, "render_credit", render)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("stall",))
    assert res.status == "ERROR" and "stopped by the test" in res.summary, res.summary
    labels = [seen["regs"][w] for w in seen["shared"]]
    assert labels and not [lb for lb in labels if NOT_SHARED.search(lb)], labels
    ties = re.findall(r"assert\(sda(\d+) == sdb\1\);  // @shared \1", seen["harness"])
    assert len(ties) == len(labels), seen["harness"]


def test_a_wrong_shared_flip_flop_fails_on_its_tie(tmp_path, monkeypatch):
    """shared_state made to pick the output skid's valid and the FIFO count as well (they
    depend on m_axis_tready, which A and B see differently): B then reads A's values of
    them, and the tie of one of them fails, named (sdaK == sdbK)."""
    layer, cfg = _credit()
    real = prove.shared_state

    def wrong(netlist, top, regs, memory, *a, **k):
        extra = {r.wire for r in regs if r.label in ("core.oskid.buf_valid", "core.fifo.cnt")}
        assert len(extra) == 2
        return real(netlist, top, regs, memory, *a, **k) | extra

    monkeypatch.setattr(prove, "shared_state", wrong)
    res = prove_unit(layer, cfg, to_verilog(cfg), tmp_path, tasks=("stall",))
    assert res.status == "FAIL", res.summary
    assert res.summary.startswith("stall:") and re.search(r"sda(\d+) == sdb\1", res.summary), \
        res.summary


def _default(layer):
    return unit_config_from_solved(layer, lanes=2)  # mult=2, products split, 2 lanes


def _prove_halves(layer, cfg, verilog, out, **kw):
    parts = datapath_parts(cfg, model_from_layer(layer), words=True)
    assert [p[2] for p in parts] == ["words", "arith"]
    return prove_unit(layer, cfg, verilog, out, tasks=("datapath",), parts=parts, **kw)


def test_default_pipeline_wrong_word_fails_in_the_words_half(tmp_path):
    """Default pipeline: channel 1's B is off by one in the unit's ROM (lane 1 reads it):
    the words half fails and names it."""
    layer = small_layer("half_even")
    assert _default(layer).stages["mult"] == 2
    cfg = _default(small_layer("half_even", B=(1, -201, 3)))
    res = _prove_halves(layer, cfg, to_verilog(cfg), tmp_path)
    assert res.status == "FAIL", res.summary
    assert res.tasks[-1].task == "datapath words", res.summary
    assert "B = -201, the model's B is -200" in res.summary, res.summary


def test_default_pipeline_arith_bug_fails_in_the_arith_half(tmp_path):
    """Default pipeline: lane 1's shifter never shifts by 4 (channel 1: N - n_min = 4): the
    words are right (words PASS), the arith half fails."""
    layer = small_layer("half_even")
    cfg = _default(layer)
    verilog = edit_module(to_verilog(cfg), "core.shift1",
                          r"assign D2 = d\[2\] \? [^;]*? : ([^;]*);", r"assign D2 = \1;")
    res = _prove_halves(layer, cfg, verilog, tmp_path)
    assert res.status == "FAIL", res.summary
    assert [(t.task, t.status) for t in res.tasks] == [("datapath words", "PASS"),
                                                       ("datapath arith", "FAIL")]
    assert res.summary.startswith("datapath: channel ") and "expected" in res.summary


def test_split_halves_pass_and_arith_assumes_only_with_matching_products(tmp_path):
    """A default unit split into 4 products a lane passes both halves; the arith half's
    assumption on each lane's sum (within the solved words' extremes) is conditioned on
    every cut product of that lane having the lane's operands (pm, asserted in the same
    cycle): without it a run where they do not match could be excluded from that very
    assertion."""
    layer = small_layer("half_even")
    cfg = unit_config_from_solved(layer, lanes=2, dsp_width=5)  # 4 products a lane
    res = _prove_halves(layer, cfg, to_verilog(cfg), tmp_path, keep=True)
    assert res.status == "PASS", res.summary
    text = (tmp_path / "datapath_arith" / "harness.sv").read_text()
    ports: dict[int, set[str]] = {}
    for k, lane in re.findall(r"assert\(pm(\d+)\);  // @ppop (\d+)", text):
        ports.setdefault(int(lane), set()).add(k)
    assert sorted(ports) == [0, 1] and all(len(p) >= 2 for p in ports.values()), ports
    for lane, ks in ports.items():
        (line,) = [ln for ln in text.splitlines() if f"assume($signed(es{lane}) >= " in ln]
        assert set(re.findall(r"&& pm(\d+)", line)) == ks, line


def test_solved_extremes_that_do_not_fit_the_sum_are_an_error(tmp_path, monkeypatch):
    """word_extremes beyond the sum field (its literals would be truncated silently): the
    arith half is refused (ERROR), never run."""
    from exactbn.sim.formal import harness

    layer = small_layer("half_even")
    cfg = _default(layer)
    w_s = prove.spec_shape(cfg, model_from_layer(layer)).w_s
    real = harness.word_extremes
    for bad in (lambda lo, hi, d: (lo, 1 << (w_s - 1), d),
                lambda lo, hi, d: (-(1 << (w_s - 1)) - 1, hi, d),
                lambda lo, hi, d: (lo, hi, 1 << (cfg.n_max - cfg.n_min).bit_length())):
        monkeypatch.setattr(harness, "word_extremes", lambda c, m, bad=bad: bad(*real(c, m)))
        res = _prove_halves(layer, cfg, to_verilog(cfg), tmp_path)
        assert res.status == "ERROR" and not res.tasks, res.summary
        assert "extremes do not fit" in res.summary, res.summary


def test_default_pipeline_wrong_range_flag_fails_in_the_words_half(tmp_path):
    """--range-check, default pipeline, 2 lanes: the unit built with channel 1's range
    [-100, 99] (one off) flags x = 100 wrongly; the words half (which asserts the flag)
    fails and names it."""
    rng = [(-10, 10), (-100, 100), (0, 5)]
    layer = small_layer("half_even", rng=rng)
    bad = unit_config_from_solved(small_layer("half_even", rng=[rng[0], (-100, 99), rng[2]]),
                                  lanes=2, range_check=True)
    res = _prove_halves(layer, bad, to_verilog(bad), tmp_path)
    assert res.status == "FAIL", res.summary
    assert res.tasks[-1].task == "datapath words", res.summary
    assert "channel 1, x = 100: range flag expected 0, got 1" in res.summary, res.summary
