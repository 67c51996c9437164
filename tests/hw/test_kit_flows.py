"""The kit in integrators' own flows, with no edits: FuseSoC (Edalize) targets sim, lint and
default under Icarus and Verilator, a user core that depends on the generated one, and bare
``verilator --binary`` / ``iverilog`` on a user top that instantiates the unit. Two kits left
at the default name sit in one FuseSoC library (their core names differ)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from exactbn.hw.kit import VERILATOR_SIM_OPTIONS, vlnv

from exactbn.formats import dump_solved, write_json_atomic
from exactbn.generate import build_vectors, generate

pytestmark = pytest.mark.xdist_group("kit_flows")  # one worker builds the library once

KITS = {
    "rom": ("tie_affine", "per-channel", dict(pipeline="shallow")),
    "ram": ("conv2_bn_relu", "shared", dict(lanes=2, lane_mode="pixels", store="ram",
                                            range_check=True, pipeline="deep")),
}
BEATS = 12  # the user bench streams the kit's first vectors


def _env(tool_path: str) -> dict:
    env = dict(os.environ, PATH=tool_path)
    if shutil.which("ccache", path=tool_path):
        env.setdefault("OBJCACHE", "ccache")  # shares Verilator's runtime objects
    return env


@pytest.fixture(scope="module")
def lib(solved, tmp_path_factory, tool_path):
    """A FuseSoC library holding both kits (default names) and a user core."""
    if shutil.which("fusesoc", path=tool_path) is None:
        pytest.fail("fusesoc is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("flows")
    layers = [solved(name, shift) for name, shift, _ in KITS.values()]
    path = root / "solved.json"
    write_json_atomic(path, dump_solved(layers))
    kits = {}
    for key, (name, _, opts) in KITS.items():
        cfg, man = generate(str(path), str(root / "cores" / key), layer_name=name, **opts)
        layer = layers[list(KITS).index(key)]
        kits[key] = (layer, cfg, man, root / "cores" / key)
    _user_core(root / "cores" / "user", *kits["rom"][:2])
    return root, kits


def _user_core(d: Path, layer, cfg) -> None:
    """user_top wraps the unit; user_tb streams BEATS vectors back to back and checks them."""
    d.mkdir(parents=True)
    vecs = build_vectors(layer, cfg, seed=1)[:BEATS]
    wx, wq, wu, wuo = cfg.lanes * cfg.w_x, cfg.lanes * cfg.w_q, cfg.w_user, cfg.w_user_out
    ports = ("clk", "rst", "s_axis_tvalid", "s_axis_tready", "s_axis_tdata", "s_axis_tuser",
             "s_axis_tlast", "m_axis_tvalid", "m_axis_tready", "m_axis_tdata", "m_axis_tuser",
             "m_axis_tlast")
    conns = ", ".join(f".{p}({p})" for p in ports)
    (d / "user_top.v").write_text(f"""`timescale 1ns/1ps
module user_top (
  input clk, input rst,
  input s_axis_tvalid, output s_axis_tready, input [{wx - 1}:0] s_axis_tdata,
  input [{wu - 1}:0] s_axis_tuser, input s_axis_tlast,
  output m_axis_tvalid, input m_axis_tready, output [{wq - 1}:0] m_axis_tdata,
  output [{wuo - 1}:0] m_axis_tuser, output m_axis_tlast
);
  {cfg.name} u_bn ({conns});
endmodule
""")
    mask_x, mask_q = (1 << cfg.w_x) - 1, (1 << cfg.w_q) - 1
    ins = "".join(f"      {k}: begin x = {wx}'d{v.xs[0] & mask_x}; g = {wu}'d{v.user}; end\n"
                  for k, v in enumerate(vecs))
    outs = "".join(f"      {k}: q = {wq}'d{v.qs[0] & mask_q};\n" for k, v in enumerate(vecs))
    (d / "user_tb.v").write_text(f"""`timescale 1ns/1ps
module user_tb;
  reg clk;
  reg rst;
  reg s_axis_tvalid;
  reg [{wx - 1}:0] x;
  reg [{wu - 1}:0] g;
  reg [{wq - 1}:0] q;
  wire s_axis_tready;
  wire m_axis_tvalid;
  wire [{wq - 1}:0] m_axis_tdata;
  wire [{wuo - 1}:0] m_axis_tuser;
  wire m_axis_tlast;
  integer sent;
  integer got;
  integer cycles;
  user_top dut (.clk(clk), .rst(rst), .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready), .s_axis_tdata(x), .s_axis_tuser(g), .s_axis_tlast(1'b0),
    .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(1'b1), .m_axis_tdata(m_axis_tdata),
    .m_axis_tuser(m_axis_tuser), .m_axis_tlast(m_axis_tlast));
  task load(input integer k);
    case (k)
{ins}      default: begin x = {wx}'d0; g = {wu}'d0; end
    endcase
  endtask
  task want(input integer k);
    case (k)
{outs}      default: q = {wq}'d0;
    endcase
  endtask
  initial begin
    clk = 1'b0;
    forever #5 clk = ~clk;
  end
  initial begin
    rst = 1'b1;
    s_axis_tvalid = 1'b0;
    sent = 0;
    got = 0;
    cycles = 0;
    load(0);
    repeat (3) @(negedge clk);
    rst = 1'b0;
    s_axis_tvalid = 1'b1;
    while (got < {BEATS} && cycles < 200) begin
      @(posedge clk);
      cycles = cycles + 1;
      if (m_axis_tvalid) begin
        want(got);
        if (m_axis_tdata !== q) begin
          $display("USER FAIL beat %0d: %h, expected %h", got, m_axis_tdata, q);
          $finish;
        end
        got = got + 1;
      end
      if (s_axis_tvalid && s_axis_tready) sent = sent + 1;
      @(negedge clk);
      load(sent);
      s_axis_tvalid = sent < {BEATS};
    end
    if (got == {BEATS}) $display("USER PASS %0d beats", got);
    else $display("USER FAIL timeout");
    $finish;
  end
endmodule
""")
    opts = ", ".join(VERILATOR_SIM_OPTIONS)
    (d / "user.core").write_text(f"""CAPI=2:
name: user:design:top:1.0
filesets:
  rtl:
    depend: ["{vlnv(cfg)}"]
    files: [user_top.v]
    file_type: verilogSource
  tb:
    files: [user_tb.v]
    file_type: verilogSource
targets:
  default:
    filesets: [rtl]
    toplevel: user_top
  lint:
    default_tool: verilator
    filesets: [rtl]
    toplevel: user_top
    tools:
      verilator:
        mode: lint-only
        verilator_options: [-Wall]
  sim:
    default_tool: icarus
    filesets: [rtl, tb]
    toplevel: user_tb
    tools:
      verilator:
        mode: binary
        verilator_options: [{opts}]
""")


def _fusesoc(lib, tool_path, target: str, tool: str, core: str, tag: str) -> str:
    root, _ = lib
    p = subprocess.run(
        [shutil.which("fusesoc", path=tool_path), "--cores-root", str(root / "cores"), "run",
         "--build-root", str(root / f"build-{tag}-{target}-{tool}"), "--target", target,
         "--tool", tool, core],
        cwd=root, capture_output=True, text=True, timeout=600, env=_env(tool_path))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert "WARNING: Replacing" not in out and "Duplicate" not in out, out[-2000:]
    return out


@pytest.mark.parametrize("kit", ["rom", "ram"])
def test_fusesoc_sim_icarus(lib, tool_path, kit):
    _, cfg, man, _ = lib[1][kit]
    out = _fusesoc(lib, tool_path, "sim", "icarus", vlnv(cfg), kit)
    assert f"PASS {man['vectors']} vectors" in out, out[-3000:]


@pytest.mark.parametrize("kit", ["rom", pytest.param("ram", marks=pytest.mark.slow)])
def test_fusesoc_sim_verilator(lib, tool_path, kit):
    _, cfg, man, _ = lib[1][kit]
    out = _fusesoc(lib, tool_path, "sim", "verilator", vlnv(cfg), kit)
    assert f"PASS {man['vectors']} vectors" in out, out[-3000:]


@pytest.mark.parametrize("kit", ["rom", "ram"])
@pytest.mark.parametrize("target", ["lint", "default"])
@pytest.mark.parametrize("tool", ["icarus", "verilator"])
def test_fusesoc_lint_and_default_targets(lib, tool_path, kit, target, tool):
    _, cfg, _, _ = lib[1][kit]
    out = _fusesoc(lib, tool_path, target, tool, vlnv(cfg), kit)
    assert "%Warning" not in out and "%Error" not in out, out[-3000:]


def test_two_default_named_kits_have_distinct_cores(lib):
    _, kits = lib
    names = {vlnv(cfg) for _, cfg, _, _ in kits.values()}
    assert names == {"exactbn:bn:exactbn_tie_affine:0.1.0",
                     "exactbn:bn:exactbn_conv2_bn_relu:0.1.0"}


@pytest.mark.parametrize("tool", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_user_core_depending_on_the_kit(lib, tool_path, tool):
    out = _fusesoc(lib, tool_path, "sim", tool, "user:design:top:1.0", "user")
    assert f"USER PASS {BEATS} beats" in out, out[-3000:]


def test_user_core_lint_with_verilator(lib, tool_path):
    out = _fusesoc(lib, tool_path, "lint", "verilator", "user:design:top:1.0", "user")
    assert "%Warning" not in out, out[-3000:]


def test_bare_tools_on_a_user_top(lib, tool_path, tmp_path):
    """What the kit README tells an integrator: the unit's file plus, for Verilator 5's
    --binary with a timed bench, ``--timing -CFLAGS -std=c++20``; nothing else."""
    root, kits = lib
    _, cfg, _, kit = kits["rom"]
    user = root / "cores" / "user"
    files = [str(user / "user_tb.v"), str(user / "user_top.v"), str(kit / f"{cfg.name}.v")]
    env = _env(tool_path)
    p = subprocess.run([shutil.which("verilator", path=tool_path), "--binary",
                        *VERILATOR_SIM_OPTIONS, "--Mdir", str(tmp_path / "obj"), *files],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    assert "%Warning" not in p.stderr, p.stderr
    run = subprocess.run([str(tmp_path / "obj" / "Vuser_tb")], capture_output=True, text=True,
                         timeout=60)
    assert f"USER PASS {BEATS} beats" in run.stdout, run.stdout
    for flags in ((), ("-g2012",)):
        p = subprocess.run(["iverilog", *flags, "-o", str(tmp_path / "u.vvp"), *files],
                           capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stderr
        run = subprocess.run(["vvp", "-n", str(tmp_path / "u.vvp")], capture_output=True,
                             text=True, timeout=120, env=env)
        assert f"USER PASS {BEATS} beats" in run.stdout, run.stdout
    # a user file without `timescale, read before the unit: --timescale covers it
    plain = tmp_path / "plain" / "user_top.v"
    plain.parent.mkdir()
    plain.write_text((user / "user_top.v").read_text().split("\n", 1)[1])
    p = subprocess.run([shutil.which("verilator", path=tool_path), "--lint-only", "-Wall",
                        "--timescale", "1ns/1ps", str(plain),
                        str(kit / f"{cfg.name}.v")], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr
