"""The kit of an axil unit: SystemRDL + PeakRDL outputs (C header, Markdown, IP-XACT),
NAME_params.h compiled with the system C compiler and its writes compared with the Python
driver's sequence, the plain-Verilog bench programming through AXI4-Lite (Icarus), the
FuseSoC core and README; bad register-map options and a failing PeakRDL exit 2, nothing
written."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.generate import unit_config_from_solved
from exactbn.regmap.driver import LayerImage, program_sequence
from exactbn.regmap.layout import RegisterMap

LAYER = "tie_affine"
NAME = f"exactbn_{LAYER}"
EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "exactbn" / "data" / \
    "example_layers.json"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("regmap")
    assert main(["solve", str(EXAMPLES), "-o", str(d / "s.json"), "--no-summary"]) == 0
    assert main(["generate", str(d / "s.json"), "--layer", LAYER, "--store", "ram",
                 "--cfg-bus", "axil", "-o", str(d / "kit"), "-q"]) == 0
    layer = next(x for x in load_solved(d / "s.json") if x.name == LAYER)
    cfg = unit_config_from_solved(layer, store="ram", cfg_bus="axil", name=NAME)
    return d, cfg


def test_kit_has_register_map_files_and_axil_ports(kit):
    d, cfg = kit
    k = d / "kit"
    for ext in ("rdl", "h", "md", "xml"):
        assert (k / f"{NAME}_regs.{ext}").stat().st_size > 0
    rm = RegisterMap(cfg)
    rdl = (k / f"{NAME}_regs.rdl").read_text()
    for r in rm.registers:  # every address of the layout, once, in the SystemRDL
        assert f"}} {r.name} @ 0x{r.offset:02x};" in rdl
    ET.parse(k / f"{NAME}_regs.xml")  # IP-XACT is well-formed XML
    assert "COMMIT" in (k / f"{NAME}_regs.md").read_text()
    v = (k / f"{NAME}.v").read_text()
    assert "input [11:0] s_axil_awaddr;" in v and "cfg_valid" not in v.split(");")[0]
    core = (k / f"{NAME}.core").read_text()
    assert f"{NAME}_regs.rdl" in core and f"{NAME}_params.h" in core
    readme = (k / "README.md").read_text()
    assert "AXI4-Lite" in readme and "write response to COMMIT" in readme


def test_params_h_compiles_and_writes_the_driver_sequence(kit, tmp_path):
    d, cfg = kit
    cc = shutil.which("cc")
    assert cc, "no system C compiler (make setup installs gcc)"
    rm = RegisterMap(cfg)
    consts = "".join(f"    case 0x{r.offset:x}u: return 0x{r.value:x}u;\n"
                     for r in rm.registers if r.value is not None)
    status, commit = rm.offset("STATUS"), rm.offset("COMMIT")
    host = f"""#include <stdio.h>
#include <stdint.h>
static uint32_t done, lag;
static void wr(uintptr_t off, uint32_t v) {{
    printf("W %lx %lx\\n", (unsigned long)off, (unsigned long)v);
    if (off == 0x{commit:x}u) lag = 2;  /* the commit completes after two more polls */
}}
static uint32_t rd(uintptr_t off) {{
    switch (off) {{
{consts}    case 0x{status:x}u: if (lag && --lag == 0) done++; return done << 16;
    default: return 0xdeadbeefu;
    }}
}}
#define {NAME.upper()}_WR32(base, off, v) wr((base) + (off), (v))
#define {NAME.upper()}_RD32(base, off) rd((base) + (off))
#include "{NAME}_params.h"
int main(void) {{
    if ({NAME}_check_id(0) != 0) {{ puts("BAD ID"); return 1; }}
    int r = {NAME}_program_layer(0, &{NAME}_layers[0]);
    printf("R %d D %u\\n", r, (unsigned)done);
    return 0;
}}
"""
    (tmp_path / "host.c").write_text(host)
    exe = tmp_path / "host"
    p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                        "-Wno-unused-function", "-I", str(d / "kit"), "host.c", "-o", str(exe)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=10).stdout
    writes = [tuple(int(t, 16) for t in ln.split()[1:]) for ln in out.splitlines()
              if ln.startswith("W ")]
    expected = program_sequence(rm, LayerImage(LAYER, 0, cfg.M, cfg.B, cfg.N))
    assert writes == expected
    assert f"R 0 D {cfg.channels}" in out  # waited for every commit, no CFG_ERROR


def test_kit_bench_programs_through_axil_and_passes(kit):
    d, _ = kit
    k = d / "kit"
    assert shutil.which("iverilog"), "iverilog is required (make setup installs it)"
    subprocess.run(["iverilog", "-o", "tb", f"{NAME}_tb.v", f"{NAME}.v"], cwd=k, check=True,
                   timeout=120)
    out = subprocess.run(["vvp", "-n", "tb"], cwd=k, capture_output=True, text=True,
                         timeout=300).stdout
    assert "PASS" in out and "FAIL" not in out, out[-500:]


def test_cfg_bus_axil_needs_ram_store(kit, tmp_path, capsys):
    d, _ = kit
    rc = main(["generate", str(d / "s.json"), "--layer", LAYER, "--cfg-bus", "axil",
               "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--store ram" in err[0]
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as e:
        main(["generate", str(d / "s.json"), "--layer", LAYER, "--store", "ram",
              "--cfg-bus", "pcie", "-o", str(tmp_path / "o")])
    rc = e.value.code
    err = capsys.readouterr().err.strip().splitlines()  # argparse: usage, then the error
    assert rc == 2 and "--cfg-bus" in err[-1] and "invalid choice: 'pcie'" in err[-1], err
    assert not (tmp_path / "o").exists()


def test_peakrdl_failure_exits_2_and_writes_nothing(kit, tmp_path, monkeypatch, capsys):
    import systemrdl

    class Broken(systemrdl.RDLCompiler):
        def compile_file(self, *a, **k):
            raise RuntimeError("planted failure")

    monkeypatch.setattr(systemrdl, "RDLCompiler", Broken)
    d, _ = kit
    rc = main(["generate", str(d / "s.json"), "--layer", LAYER, "--store", "ram",
               "--cfg-bus", "axil", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "PeakRDL compile failed" in err[0], err
    assert not (tmp_path / "o").exists()
