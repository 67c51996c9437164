"""The demo runner: stages, missing stages said plainly, exit status."""

from __future__ import annotations

import json

import pytest

from exactbn import demo


@pytest.fixture
def no_hw_commands(monkeypatch):
    monkeypatch.setattr(demo, "_routes", lambda: {"generate": None, "sim": None,
                                                    "synth": None})


def test_demo_reports_missing_stages_and_still_runs_the_rest(tmp_path, no_hw_commands):
    res = demo.run_demo(tmp_path, skip=("experiment",))
    status = {s.name: s.status for s in res.stages}
    assert status == {"import": "ok", "solve": "ok", "experiment": "skipped",
                      "generate": "missing", "sim": "missing", "synth": "missing",
                      "network": "skipped", "report": "ok"}
    assert res.ok
    report = (tmp_path / "report.md").read_text()
    for stage in ("generate", "sim", "synth"):
        assert f"**Stage `{stage}` is missing**" in report
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ok"] is True
    solved = json.loads((tmp_path / "solved.json").read_text())
    assert [lay["name"] for lay in solved["layers"]] == ["conv1_bn", "conv2_bn", "fc1_bn"]


def test_demo_fails_when_a_stage_is_not_exact(tmp_path, no_hw_commands, monkeypatch):
    def broken(ctx):
        return demo.StageResult("solve", "failed", summary="1 channel not exact")

    monkeypatch.setitem(demo._RUNNERS, "solve", broken)
    res = demo.run_demo(tmp_path, skip=("experiment",))
    assert not res.ok
    assert "NOT bit-exact / failed: solve" in (tmp_path / "report.md").read_text()


def test_cli_demo_exit_status(tmp_path, no_hw_commands, monkeypatch):
    from exactbn.cli.main import main

    assert main(["demo", "-o", str(tmp_path), "--skip", "experiment"]) == 0
    monkeypatch.setitem(demo._RUNNERS, "import", lambda ctx: 1 / 0)
    assert main(["demo", "-o", str(tmp_path / "b"), "--skip", "experiment"]) == 1


def test_demo_paths_are_absolute(tmp_path, no_hw_commands, monkeypatch):
    # A relative -o once reached the cocotb runner, which changes directory (the bug: every
    # simulation failed to find its spec file). Every path the stages see is absolute now.
    monkeypatch.chdir(tmp_path)
    seen = {}

    def spy(ctx):
        seen["out"] = ctx["out"]
        return demo.StageResult("generate", "ok")

    monkeypatch.setattr(demo, "_routes", lambda: {"generate": "api", "sim": None,
                                                    "synth": None})
    monkeypatch.setitem(demo._RUNNERS, "generate", spy)
    demo.run_demo("rel", skip=("experiment",))
    assert seen["out"].is_absolute() and seen["out"] == tmp_path / "rel"
