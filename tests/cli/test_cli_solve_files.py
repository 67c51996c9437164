"""Solved files written by orjson (compact, one key and one certificate per line) and read
back through the fast reader stay the strict contract: duplicate and unknown keys refused,
integers beyond 64 bits read exactly, every value identical to the stdlib reader's."""

from __future__ import annotations

import json

import orjson
import pytest
from exactbn.golden.solver import solve_layer

from exactbn import formats
from exactbn.cli.main import main


@pytest.fixture(scope="module")
def solved_obj():
    layers = formats.parse_layers(json.loads(
        (formats.Path(formats.__file__).parent / "data" / "example_layers.json").read_text()))
    return formats.dump_solved([solve_layer(lay) for lay in layers])


def test_written_file_reads_back_identical_and_is_line_per_key(tmp_path, solved_obj):
    p = tmp_path / "s.json"
    formats.write_solved(p, solved_obj)
    text = p.read_text()
    assert json.loads(text) == solved_obj  # the stdlib reads it: the JSON is the contract
    assert formats._fast_loads(text) == solved_obj
    assert '\n   "M": [' in text and text.count('{"points"') == sum(
        c is not None for lay in solved_obj["layers"] for c in lay["certificate"])
    back = formats.load_solved(p)
    assert formats.dump_solved(back) == solved_obj


def _write(tmp_path, text: str):
    p = tmp_path / "s.json"
    p.write_text(text)
    return p


def test_fast_reader_refuses_a_duplicate_key(tmp_path, solved_obj, capsys):
    text = orjson.dumps(solved_obj).decode()
    assert "\\" not in text  # plain text: the orjson path is taken
    dup = text.replace('"shift_mode":', '"exact":[true],"shift_mode":', 1)
    assert formats._fast_loads(dup) is None  # orjson alone would keep the last value
    with pytest.raises(formats.FormatError, match="duplicate key 'exact'"):
        formats.load_solved(_write(tmp_path, dup))
    inner = text.replace('"alpha_lo":', '"alpha_hi":null,"alpha_lo":', 1)
    with pytest.raises(formats.FormatError, match="duplicate key 'alpha_hi'"):
        formats.load_solved(_write(tmp_path, inner))
    # a colon inside a string does not hide a duplicate
    named = text.replace('"name":"conv1_bn"', '"name":"conv1:bn::"', 1)
    assert formats._fast_loads(named) is not None
    assert formats._fast_loads(named.replace('"shift_mode":', '"exact":[true],"shift_mode":', 1)
                               ) is None


def test_fast_reader_refuses_an_unknown_key_and_reads_big_integers(tmp_path, solved_obj):
    bad = json.loads(json.dumps(solved_obj))
    bad["layers"][0]["certificate"][0]["extra"] = 1
    with pytest.raises(formats.FormatError, match="unknown key"):
        formats.load_solved(_write(tmp_path, orjson.dumps(bad).decode()))
    big = json.loads(json.dumps(solved_obj))
    cert = next(c for c in big["layers"][0]["certificate"] if c and c["alpha_lo"])
    cert["alpha_lo"] = [cert["alpha_lo"][0] * 3**50, cert["alpha_lo"][1] * 3**50]  # > 2^64
    p = tmp_path / "big.json"
    formats.write_solved(p, big)  # orjson cannot: the stdlib writes that value
    back = formats.dump_solved(formats.load_solved(p))
    assert back == big and isinstance(back["layers"][0]["certificate"][0]["points"][0][0], int)


def test_solve_writes_the_compact_file(tmp_path, capsys):
    src = formats.Path(formats.__file__).parent / "data" / "example_layers.json"
    out = tmp_path / "solved.json"
    assert main(["solve", str(src), "-o", str(out)]) == 0
    assert main(["verify", str(src), str(out)]) == 0
    assert "verify: PASS" in capsys.readouterr().out


def test_fast_reader_leaves_deep_nesting_nul_and_escapes_to_the_strict_reader(tmp_path):
    assert formats._fast_loads("[" * 70 + "]" * 70) is None
    assert formats._fast_loads('["[[[[[[[[[["]') == ["[[[[[[[[[["]  # brackets in a string
    assert formats._fast_loads('{"a": "\\u0000"}') is None
    with pytest.raises(formats.FormatError, match="nested more than"):
        formats.load_layers(_write(tmp_path, '{"layers": ' + "[" * 70 + "]" * 70 + "}"))
