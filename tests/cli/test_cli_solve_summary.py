"""`exactbn solve`'s summary table has a bounded cost: channels with too many output levels
(e.g. 32-bit outputs) are left out of the baseline comparison, and the table says so; the
exhaustive verify of such a layer costs its inputs, not 2^32 levels."""

from __future__ import annotations

import json

from exactbn.cli.main import main


def test_summary_of_32_bit_outputs_states_what_it_skipped(tmp_path, capsys):
    layer = {"name": "out32", "input": {"bits": 14, "signed": True},
             "output": {"bits": 32, "signed": True, "rounding": "half_up"},
             "affine": {"a": [0.7501, 0.001], "b": [0.25, 3.0]}}
    src = tmp_path / "layers.json"
    src.write_text(json.dumps(layer))
    out = tmp_path / "solved.json"
    assert main(["solve", str(src), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "skipped 1 ch: more than 4096" in text  # channel 0 has ~12,000 levels
    assert "2/2" in text and out.exists()
    # verify --exhaustive sweeps both channels (its reference no longer builds 2^32 levels)
    assert main(["verify", str(src), str(out), "--exhaustive"]) == 0
    assert "32768 inputs compared exhaustively" in capsys.readouterr().out
