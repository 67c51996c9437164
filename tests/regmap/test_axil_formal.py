"""The AXI4-Lite protocol check of the slave (exactbn/regmap/formal.py): the generated slave is
proven (k-induction); a slave that takes a second write address while one is held, or that
withdraws BVALID before its handshake, must FAIL with a trace from reset."""

from __future__ import annotations

import pytest
from amaranth import Module
from amaranth.lib import wiring
from axil_planted import swapped_offsets
from exactbn.hw import Pipeline, UnitConfig
from exactbn.hw.axil import AxiLiteSlave

from exactbn.regmap.formal import prove_axil


def axil_cfg() -> UnitConfig:
    """A 5-channel RAM unit with per-channel shifts on the AXI4-Lite bus."""
    return UnitConfig(
        w_x=8, x_signed=True, w_m=12, w_b=16, w_n=4, w_q=8, q_signed=True, qmin=-100,
        qmax=120, M=[3, -5, 7, 100, -2000], B=[1, 2, -3, 400, -30000], N=[0, 3, 9, 15, 4],
        shift_mode="per-channel", store="ram", cfg_bus="axil", hw_rounding="floor",
        pipeline=Pipeline.parse("shallow"))


class _Planted(wiring.Component):
    """The slave with one protocol bug on its ports (``bug``: "awready" or "bvalid")."""

    def __init__(self, cfg, bug: str):
        self.inner = AxiLiteSlave(cfg)
        self.bug = bug
        super().__init__(dict(self.inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = s = self.inner
        for name, member in self.signature.members.items():
            if member.flow == wiring.In:
                m.d.comb += getattr(s, name).eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(getattr(s, name))
        if self.bug == "awready":  # always ready: a second AW while one is held
            m.d.comb += self.awready.eq(1)
        else:  # BVALID dropped while WVALID is high, before the B handshake
            shown = s.bvalid & ~self.wvalid
            m.d.comb += [self.bvalid.eq(shown), s.bready.eq(self.bready & shown)]
        return m


def test_generated_slave_obeys_axi4_lite(tmp_path):
    r = prove_axil(AxiLiteSlave(axil_cfg()), tmp_path / "ok")
    assert r.status == "PASS", r.log_tail


@pytest.mark.parametrize("bug", ["awready", "bvalid"])
def test_planted_protocol_bug_fails(tmp_path, bug):
    """FAIL = a counterexample trace from reset (an induction-only one is UNPROVEN)."""
    r = prove_axil(_Planted(axil_cfg(), bug), tmp_path / bug, inner="inner.")
    assert r.status == "FAIL" and r.vcd, (r.status, r.failed_text)


def test_threshold_slave_obeys_axi4_lite(tmp_path):
    """The slave of a threshold unit (stages T, INDEX; cfg_value/cfg_index held with
    cfg_addr while cfg_valid waits)."""
    from exactbn.hw.threshold_config import ThresholdConfig

    cfg = ThresholdConfig(w_x=6, x_signed=True, w_q=2, q_signed=False, qmin=0, qmax=3,
                          directions=(1, -1), thresholds=((-3, 0, 4), (-5, -1, 2)),
                          store="ram", cfg_bus="axil")
    slave = AxiLiteSlave(cfg)
    assert {f.port for f in slave.regmap.fields} == {"cfg_value", "cfg_index"}
    r = prove_axil(slave, tmp_path / "thr")
    assert r.status == "PASS", r.log_tail



def test_multiply_shift_slave_follows_the_register_map(tmp_path):
    """``exactbn prove --cfg-bus axil`` also checks the documented map on this unit kind."""
    from exactbn.regmap.layout import RegisterMap

    cfg = axil_cfg()
    r = prove_axil(AxiLiteSlave(cfg), tmp_path / "map", map_check=True, regmap=RegisterMap(cfg))
    assert r.status == "PASS", r.log_tail
    bad = prove_axil(swapped_offsets(cfg, "M0", "B0"), tmp_path / "swapped", map_check=True,
                     regmap=RegisterMap(cfg))
    assert bad.status == "FAIL" and bad.vcd and "@map" in (bad.failed_text or ""), \
        (bad.status, bad.failed_text)
