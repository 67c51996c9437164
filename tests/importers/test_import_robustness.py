"""Damaged or under-specified models: one located line, exit 2, nothing written, no hang."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import helper, numpy_helper  # noqa: E402

from exactbn.cli.main import main  # noqa: E402


def _init(model, name):
    return next(i for i in model.graph.initializer if i.name == name)


def _set(model, name, arr):
    t = _init(model, name)
    t.CopyFrom(numpy_helper.from_array(np.asarray(arr, dtype=numpy_helper.to_array(t).dtype),
                                       name))


def _node(model, name):
    return next(n for n in model.graph.node if n.name == name)


def _refused(tmp_path, capsys, model, *words, extra=()):
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    out = tmp_path / "layers.json"
    rc = main(["import", str(path), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "m.onnx" in lines[0], err
    for w in words:
        assert w in lines[0], lines[0]
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]
    return lines[0]


@pytest.mark.parametrize("value", [0.0, np.nan, np.inf])
def test_quantizer_scale_zero_nan_inf(tmp_path, capsys, qdq_conv, value):
    model, _ = qdq_conv()
    _set(model, "s_y", value)
    _refused(tmp_path, capsys, model, "scale", "qy")


def test_clip_with_nan(tmp_path, capsys, qdq_conv):
    model, _ = qdq_conv(act="Clip")
    _set(model, "cmin", np.nan)
    _refused(tmp_path, capsys, model, "NaN", "clip.min")


def test_initializer_with_truncated_raw_data(tmp_path, capsys, qdq_conv):
    model, _ = qdq_conv()
    w = _init(model, "w")
    w.raw_data = w.raw_data[: len(w.raw_data) // 2]
    _refused(tmp_path, capsys, model, "initializer 'w'", "dims")


def test_initializer_dims_disagree_with_data(tmp_path, capsys, qdq_conv):
    model, _ = qdq_conv()
    _init(model, "g").dims[0] = 7
    _refused(tmp_path, capsys, model, "initializer 'g'")


@pytest.mark.parametrize("node,keep", [("bn", 3), ("conv", 1), ("qy", 1), ("dqw", 1)])
def test_nodes_missing_inputs(tmp_path, capsys, qdq_conv, node, keep):
    model, _ = qdq_conv()
    n = _node(model, node)
    del n.input[keep:]
    _refused(tmp_path, capsys, model, node, "input")


def test_node_missing_its_output(tmp_path, capsys, qdq_conv):
    model, _ = qdq_conv()
    del _node(model, "conv").output[:]
    _refused(tmp_path, capsys, model, "output")


def test_a_referenced_zero_point_that_is_not_defined(tmp_path, capsys, qdq_conv):
    """z_x named by the activation's Q/DQ but missing: used to import as uint8 (17x too wide
    for a 4-bit activation); ONNX's uint8 default is only for an absent input."""
    model, _ = qdq_conv(in_dtype=np.int8)
    model.graph.initializer.remove(_init(model, "z_x"))
    _refused(tmp_path, capsys, model, "zero_point", "'z_x'")


def test_identity_transpose_cycle_does_not_hang(tmp_path, qdq_conv):
    model, _ = qdq_conv(input_quantized=False)
    conv = _node(model, "conv")
    conv.input[0] = "cyc_a"
    model.graph.node.extend([helper.make_node("Identity", ["cyc_b"], ["cyc_a"], name="id"),
                             helper.make_node("Transpose", ["cyc_a"], ["cyc_b"], name="tr")])
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    r = subprocess.run([sys.executable, "-m", "exactbn", "import", str(path), "-o",
                        str(tmp_path / "o.json"), "--input-scale", "0.02", "--input-bits", "8"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "cycle" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.json").exists()


def test_fifo_model_is_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "m.onnx"
    os.mkfifo(fifo)
    assert main(["import", str(fifo), "-o", str(tmp_path / "o.json")]) == 2
    assert "not a regular file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- PyTorch

def _state_dict(**extra):
    torch = pytest.importorskip("torch")
    sd = {"conv.weight": torch.tensor([[[[1.0, -2.0]]], [[[3.0, 0.0]]]]),
          "bn.weight": torch.tensor([1.0, 0.5]), "bn.bias": torch.tensor([0.0, 0.1]),
          "bn.running_mean": torch.tensor([0.0, 1.0]), "bn.running_var": torch.tensor([1.0, 2.0]),
          "input_scale": torch.tensor(0.1), "bn.output_scale": torch.tensor(0.25),
          "bn.output_bits": torch.tensor(4.0)}
    sd.update(extra)
    return sd


@pytest.mark.parametrize("extra,words", [
    ({"input_bits": 0.0}, ("input_bits", "1..62")),
    ({"input_bits": 4.5}, ("input_bits", "4.5")),
    ({"input_bits": 4.0, "note": "a string"}, ("'note'", "str")),
    ({"input_bits": 4.0, "bn.weight": "complex"}, ("'bn.weight'", "complex")),
])
def test_state_dict_values_are_checked(tmp_path, capsys, extra, words):
    torch = pytest.importorskip("torch")
    if extra.get("bn.weight") == "complex":
        extra["bn.weight"] = torch.tensor([1.0 + 2j, 0.5 + 0j])
    if isinstance(extra.get("input_bits"), float):
        extra["input_bits"] = torch.tensor(extra["input_bits"])
    path = tmp_path / "m.pt"
    torch.save(_state_dict(**extra), path)
    out = tmp_path / "layers.json"
    rc = main(["import", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    line = err.strip()
    assert "\n" not in line and "m.pt" in line and all(w in line for w in words), line
    assert not out.exists()


def test_a_sane_state_dict_still_imports(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pt"
    torch.save(_state_dict(input_bits=torch.tensor(4.0)), path)
    assert main(["import", str(path), "-o", str(tmp_path / "l.json"), "-q"]) == 0


def test_a_string_tensor_where_bn_takes_numbers(tmp_path, capsys, qdq_conv):
    """Used to end in a traceback (float() of bytes)."""
    from onnx import TensorProto

    model, _ = qdq_conv()
    _init(model, "g").CopyFrom(helper.make_tensor("g", TensorProto.STRING, [4], [b"x"] * 4))
    _refused(tmp_path, capsys, model, "not a valid ONNX model", "bn")


def test_a_quantize_dequantize_pair_whose_zero_point_types_disagree(tmp_path, capsys, qdq_conv):
    """Q without its zero point writes uint8, its DQ reads int8: not one tensor type."""
    model, _ = qdq_conv(in_dtype=np.int8)
    del _node(model, "qx").input[2:]
    _refused(tmp_path, capsys, model, "not a valid ONNX model", "zero_point")


def test_a_zero_scale_on_a_layer_that_is_not_imported(tmp_path, capsys):
    from exactbn.data import __file__ as data_init

    model = onnx.load(os.path.join(os.path.dirname(data_init), "digits_qdq.onnx"))
    _set(model, "fc2_sw", np.zeros_like(numpy_helper.to_array(_init(model, "fc2_sw"))))
    _refused(tmp_path, capsys, model, "scale", "fc2")
