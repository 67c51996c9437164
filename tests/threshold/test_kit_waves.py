"""The threshold kit's WaveDrom diagrams are traced from the unit: the handshake diagram shows
the result ``latency`` cycles after the input handshake, the stall diagram every beat once and
in order, and the README embeds both."""

from __future__ import annotations

import json

import pytest
from exactbn.golden.solver import solve_layer

from exactbn.formats import parse_layers
from exactbn.threshold_generate import threshold_config_from_solved, threshold_kit_files

from .support import KIT_LAYER


@pytest.fixture(scope="module")
def layer():
    (lay,) = parse_layers({"layers": [KIT_LAYER]})
    return solve_layer(lay)


def _wave(src: dict, name: str) -> tuple[str, list[str]]:
    (sig,) = [s for s in src["signal"] if s["name"] == name]
    return sig["wave"], sig.get("data", [])


@pytest.mark.parametrize("opts", [{}, {"store": "ram", "cfg_bus": "axil", "lanes": 2},
                                  {"search": "parallel", "pipeline": "out=0"}])
def test_diagrams_show_the_units_latency_and_every_beat(layer, opts):
    cfg = threshold_config_from_solved(layer, name="exactbn_thr", **opts)
    files = threshold_kit_files(layer, cfg)
    hs = json.loads(files["exactbn_thr_handshake.json"])
    s_valid, _ = _wave(hs, "s_axis_tvalid")
    m_valid, _ = _wave(hs, "m_axis_tvalid")
    assert m_valid.index("1") - s_valid.index("1") == cfg.latency, (s_valid, m_valid)
    st = json.loads(files["exactbn_thr_stall.json"])
    _, s_data = _wave(st, "s_axis_tdata")
    _, m_data = _wave(st, "m_axis_tdata")
    assert len(set(s_data)) == len(s_data) > cfg.latency  # one letter a beat
    assert list(dict.fromkeys(m_data)) == [f"q({b})" for b in s_data]  # each once, in order
    readme = files["README.md"]
    assert "## Timing" in readme and readme.count("```wavedrom") == 2
    man = json.loads(files["exactbn_thr.json"])
    assert "exactbn_thr_handshake.json" in man["files"]
