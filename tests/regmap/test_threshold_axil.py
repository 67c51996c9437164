"""The RAM-store threshold unit behind the AXI4-Lite register map (--unit threshold --cfg-bus
axil): the kit's register-map files, NAME_params.h compiled with the system C compiler and its
writes compared with the Python sequence, the kit's Icarus bench writing every threshold
through AXI4-Lite (before and again mid-stream) against golden's vectors, a threshold off by
one written through AXI4-Lite failing it, and bad options exiting 2."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from exactbn.cli.main import main
from exactbn.formats import load_solved
from exactbn.regmap.layout import RegisterMap
from exactbn.regmap.threshold_params_h import threshold_images, threshold_sequence
from exactbn.threshold_generate import threshold_config_from_solved

LAYER = "conv2_bn_relu"
NAME = f"exactbn_{LAYER}"
EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2] / "exactbn" / "data" / \
    "example_layers.json"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    d = tmp_path_factory.mktemp("thr_axil")
    assert main(["solve", str(EXAMPLES), "-o", str(d / "s.json"), "--no-summary"]) == 0
    assert main(["generate", str(d / "s.json"), "--layer", LAYER, "--unit", "threshold",
                 "--store", "ram", "--cfg-bus", "axil", "-o", str(d / "kit"), "-q"]) == 0
    layer = next(x for x in load_solved(d / "s.json") if x.name == LAYER)
    cfg = threshold_config_from_solved(layer, store="ram", cfg_bus="axil", name=NAME)
    return d, cfg


def test_threshold_map_stages_t_and_index():
    from exactbn.regmap.layout import stage_fields

    class Cfg:  # the duck-typed fields RegisterMap reads from a ThresholdConfig
        name, channels, lanes, lane_mode, store, q_signed, w_q = "u", 3, 1, "channels", "ram", 0, 4
        w_t, t_signed, w_index, slots = 40, True, 4, 15

    rm = RegisterMap(Cfg)
    assert [f.port for f in stage_fields(Cfg)] == ["cfg_value", "cfg_index"]
    assert [r.name for r in rm.registers if r.kind == "stage"] == ["T0", "T1", "INDEX"]
    assert rm.slot_writes(2, 15, -1) == [(0x20, 0xFFFFFFFF), (0x24, 0xFF), (0x28, 15),
                                         (0x18, 2)]


def test_kit_has_register_map_files_and_axil_ports(kit):
    d, cfg = kit
    k = d / "kit"
    rm = RegisterMap(cfg)
    rdl = (k / f"{NAME}_regs.rdl").read_text()
    for r in rm.registers:
        assert f"}} {r.name} @ 0x{r.offset:02x};" in rdl
    ET.parse(k / f"{NAME}_regs.xml")
    assert "INDEX" in (k / f"{NAME}_regs.md").read_text()
    v = (k / f"{NAME}.v").read_text()
    head = v[v.index(f"module {NAME}("):].split(");")[0]
    assert "s_axil_awaddr" in head and "cfg_valid" not in head
    assert "write response to COMMIT" in (k / "README.md").read_text()
    core = (k / f"{NAME}.core").read_text()
    assert f"{NAME}_regs.rdl" in core and f"{NAME}_params.h" in core


def test_params_h_compiles_and_writes_the_python_sequence(kit, tmp_path):
    d, cfg = kit
    rm = RegisterMap(cfg)
    cc = shutil.which("cc")
    assert cc, "no system C compiler (make setup installs gcc)"
    consts = "".join(f"    case 0x{r.offset:x}u: return 0x{r.value:x}u;\n"
                     for r in rm.registers if r.value is not None)
    host = f"""#include <stdio.h>
#include <stdint.h>
static uint32_t done, lag;
static void wr(uintptr_t off, uint32_t v) {{
    printf("W %lx %lx\\n", (unsigned long)off, (unsigned long)v);
    if (off == 0x{rm.offset("COMMIT"):x}u) lag = 2;
}}
static uint32_t rd(uintptr_t off) {{
    switch (off) {{
{consts}    case 0x{rm.offset("STATUS"):x}u: if (lag && --lag == 0) done++; return done << 16;
    default: return 0xdeadbeefu;
    }}
}}
#define {NAME.upper()}_WR32(base, off, v) wr((base) + (off), (v))
#define {NAME.upper()}_RD32(base, off) rd((base) + (off))
#include "{NAME}_params.h"
int main(void) {{
    if ({NAME}_check_id(0) != 0) {{ puts("BAD ID"); return 1; }}
    printf("R %d\\n", {NAME}_program(0));
    printf("D %u\\n", (unsigned)done);
    return 0;
}}
"""
    (tmp_path / "host.c").write_text(host)
    p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                        "-Wno-unused-function", "-I", str(d / "kit"), "host.c", "-o", "host"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = subprocess.run([str(tmp_path / "host")], capture_output=True, text=True,
                           timeout=10).stdout.splitlines()
    writes = [tuple(int(t, 16) for t in ln.split()[1:]) for ln in lines if ln.startswith("W ")]
    images = threshold_images(cfg)
    assert writes == threshold_sequence(rm, images)
    assert "R 0" in lines and f"D {cfg.channels * (cfg.slots + 1)}" in lines


def _bench(k, tmp_path) -> str:
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    assert iverilog and vvp, "Icarus Verilog missing (make setup)"
    exe = tmp_path / "tb"
    subprocess.run([iverilog, "-o", str(exe), f"{NAME}_tb.v", f"{NAME}.v"], cwd=k, check=True,
                   capture_output=True, timeout=120)
    return subprocess.run([vvp, str(exe)], cwd=k, capture_output=True, text=True,
                          timeout=300).stdout


def test_bench_programs_through_axil_and_matches_golden(kit, tmp_path):
    d, _ = kit
    out = _bench(d / "kit", tmp_path)
    assert "PASS" in out and "FAIL" not in out, out[-2000:]


def test_wrong_threshold_written_through_axil_fails(kit, tmp_path):
    """One stored threshold one too high (written by the bench through AXI4-Lite): the
    vectors at that level's transition must mismatch."""
    d, cfg = kit
    k = tmp_path / "kit"
    shutil.copytree(d / "kit", k)
    hexf = k / f"{NAME}_thresholds.hex"
    lines = hexf.read_text().splitlines()
    word = int(lines[3], 16) + 1  # channel 0, slot 3: U_3 + 1 (same channel and index)
    lines[3] = f"{word:0{len(lines[3])}x}"
    hexf.write_text("\n".join(lines) + "\n")
    assert "FAIL" in _bench(k, tmp_path)


@pytest.mark.parametrize("extra,msg", [
    (["--store", "rom", "--cfg-bus", "axil"], "needs --store ram"),
])
def test_bad_register_map_options_exit_2(kit, tmp_path, extra, msg, capsys):
    d, _ = kit
    out = tmp_path / "o"
    argv = ["generate", str(d / "s.json"), "--unit", "threshold", "-o", str(out), *extra]
    if "--all-layers" not in extra:
        argv += ["--layer", LAYER]
    assert main(argv) == 2
    assert msg in capsys.readouterr().err
    assert not out.exists()
