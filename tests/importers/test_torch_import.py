"""PyTorch importer (torch optional: these tests need it, the others do not)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from exactbn.golden.importers import Overrides, import_model  # noqa: E402
from exactbn.golden.importers.digits import digits_layers, load_digits_model  # noqa: E402
from exactbn.golden.importers.torch_import import import_torch_module  # noqa: E402

from exactbn.formats import FormatError  # noqa: E402

FLAGS = dict(input_scale=1 / 16, input_bits=4, input_signed=False, output_scale=0.25,
             output_bits=4, output_signed=False)


def _digits_module():
    """The bundled digits network as a torch module: float weights = w_int * scale."""
    nn = torch.nn
    spec = load_digits_model()
    m = nn.Sequential()
    m.add_module("conv1", nn.Conv2d(1, 8, 3, padding=1, bias=False))
    m.add_module("bn1", nn.BatchNorm2d(8))
    m.add_module("conv2", nn.Conv2d(8, 16, 3, padding=1, bias=False))
    m.add_module("bn2", nn.BatchNorm2d(16))
    m.add_module("fc1", nn.Linear(64, 32, bias=False))
    m.add_module("bn3", nn.BatchNorm1d(32))
    m.add_module("fc2", nn.Linear(32, 10, bias=False))
    mods = [("conv1", "bn1"), ("conv2", "bn2"), ("fc1", "bn3"), ("fc2", None)]
    for (wn, bn), s in zip(mods, spec["layers"], strict=True):
        lin = getattr(m, wn)
        scale = torch.tensor(s["weight_scale"], dtype=torch.float32)
        w = torch.tensor(s["weights"], dtype=torch.float32)
        sb = scale.view(-1, *([1] * (w.dim() - 1))) if scale.dim() else scale
        lin.weight.data = w * sb
        lin.register_buffer("weight_scale", scale)
        if bn:
            b = getattr(m, bn)
            for attr, key in (("weight", "gamma"), ("bias", "beta")):
                getattr(b, attr).data = torch.tensor(s["bn"][key], dtype=torch.float32)
            b.running_mean = torch.tensor(s["bn"]["mean"], dtype=torch.float32)
            b.running_var = torch.tensor(s["bn"]["var"], dtype=torch.float32)
    return m


def test_torch_module_imports_like_the_digits_json():
    res = import_torch_module(_digits_module(), Overrides(**FLAGS))
    want = [lay.to_json() for lay in digits_layers().layers]
    got = [lay.to_json() for lay in res.layers]
    for g, w in zip(got, want, strict=True):
        assert g["input"] == w["input"] and g["output"] == w["output"]
        np.testing.assert_array_equal(g["bn"]["gamma"], w["bn"]["gamma"])
        np.testing.assert_array_equal(g["bn"]["var"], w["bn"]["var"])
    assert any("fc2" in s for s in res.skipped)


def test_state_dict_file_round_trip_and_cli(tmp_path, capsys):
    from exactbn.cli.main import main

    path = tmp_path / "digits.pt"
    torch.save(_digits_module().state_dict(), path)
    res = import_model(path, Overrides(**FLAGS))
    assert [lay.name for lay in res.layers] == ["bn1", "bn2", "bn3"]
    out = tmp_path / "layers.json"
    args = ["import", str(path), "-o", str(out), "--input-scale", "0.0625", "--input-bits", "4",
            "--input-signedness", "unsigned", "--output-scale", "0.25", "--output-bits", "4",
            "--output-signedness", "unsigned"]
    assert main(args) == 0 and out.exists()
    assert main(["import", str(path), "-o", str(tmp_path / "x.json")]) == 2
    assert "missing scales" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_non_integer_weights_and_bad_files(tmp_path):
    m = _digits_module()
    del m.conv1.weight_scale
    with pytest.raises(FormatError, match="non-integer"):
        import_torch_module(m, Overrides(**FLAGS))
    m = _digits_module()
    m.conv1.weight_scale *= 1.37
    with pytest.raises(FormatError, match="not an integer multiple"):
        import_torch_module(m, Overrides(**FLAGS))
    good = tmp_path / "m.pt"
    torch.save(_digits_module().state_dict(), good)
    bad = tmp_path / "t.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(FormatError, match="truncated"):
        import_model(bad, Overrides(**FLAGS))
    pickled = tmp_path / "module.pt"
    torch.save(_digits_module(), pickled)  # a pickled module: refused by weights_only=True
    with pytest.raises(FormatError, match="weights-only"):
        import_model(pickled, Overrides(**FLAGS))


def test_bn_without_conv_is_unsupported():
    m = torch.nn.Sequential(torch.nn.BatchNorm1d(4))
    with pytest.raises(FormatError, match="unsupported layer"):
        import_torch_module(m, Overrides(**FLAGS))
