"""A distribution's old Yosys on PATH neither breaks nor silently replaces the bundled one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exactbn.cli.main import main

LAYER = {"name": "L", "input": {"bits": 6, "signed": True, "scale": 0.01},
         "output": {"bits": 4, "signed": True, "scale": 0.1},
         "affine": {"a": [0.3, -0.2], "b": [1.5, 0.25]}}


@pytest.fixture
def solved(tmp_path):
    (tmp_path / "layer.json").write_text(json.dumps(LAYER))
    assert main(["solve", str(tmp_path / "layer.json"), "-o", str(tmp_path / "s.json"),
                 "--no-summary"]) == 0
    return tmp_path / "s.json"


def _env_with_fake_yosys(tmp_path: Path, **extra) -> dict:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "yosys").write_text("#!/bin/sh\necho 'Yosys 0.23 (git sha1 7ce5011c24b)'\n")
    (fake / "yosys").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("YOSYS", "AMARANTH_USE_YOSYS",
                                                            "EXACTBN_YOSYS")}
    env["PATH"] = f"{fake}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _exactbn(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "exactbn", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_generate_uses_the_bundled_yosys_with_yosys_0_23_on_path(tmp_path, solved):
    r = _exactbn(["generate", str(solved), "-o", str(tmp_path / "kit"), "-q"],
                 _env_with_fake_yosys(tmp_path), tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "kit" / "exactbn_L.v").is_file()


def test_a_chosen_yosys_that_is_too_old_is_one_line_exit_2(tmp_path, solved):
    r = _exactbn(["generate", str(solved), "-o", str(tmp_path / "kit"), "-q"],
                 _env_with_fake_yosys(tmp_path, EXACTBN_YOSYS="yosys"), tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "0.23" in lines[0] and "EXACTBN_YOSYS" in lines[0]
    assert not (tmp_path / "kit").exists()
