"""Train the bundled digits CNN and write what the experiment and the demo need (no torch there).

    pip install torch==2.13.0        # into the venv; a CPU build
    python -m models.train_digits    # ~1 minute on the CPU, fixed seed

Network (quantization-aware training, straight-through estimators):
uint4 input (pixel 0..16 clipped to 15, scale 1/16) -> Conv3x3(1->8) -> BN -> ReLU-quantize to
uint4 (scale 1/4) -> MaxPool2 -> Conv3x3(8->16) -> BN -> ReLU-quantize -> MaxPool2 ->
Linear(64->32) -> BN1d -> ReLU-quantize -> Linear(32->10). Weights int8, symmetric, narrow
range, per output channel (the last Linear per tensor). Rounding half to even everywhere
(torch.round), as PyTorch and ONNX quantize.

Writes
- ``exactbn/data/digits_model.json``: integer weights and scales, BN parameters, activation
  quantization, the integer test split, torch's float32 predictions and per-layer counts;
- ``exactbn/data/digits_qdq.onnx``: the same network as an ONNX QDQ graph (onnx.helper), the
  model that ``make demo`` imports with ``exactbn import``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

SEED = 0
ACT_BITS = 4
IN_SCALE = 1.0 / 16
ACT_SCALE = 0.25
W_QMAX = 127
EPOCHS = 60
DATA = Path(__file__).resolve().parent.parent / "exactbn" / "data"


def load_split():
    """scikit-learn's digits, stratified 80/20 split (seed 0), pixels as uint4 integers."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = np.minimum(d.images.astype(np.int64), 2**ACT_BITS - 1)[:, None, :, :]
    return train_test_split(x, d.target.astype(np.int64), test_size=0.2, random_state=SEED,
                            stratify=d.target)


def build(torch):
    nn = torch.nn

    def round_ste(v):
        return v + (torch.round(v) - v).detach()

    def weight_scale(w, per_channel):
        m = w.detach().abs().flatten(1).amax(1) if per_channel else w.detach().abs().amax()
        return torch.clamp(m, min=1e-8) / W_QMAX

    def fq_weight(w, per_channel=True):
        s = weight_scale(w, per_channel)
        s_b = s.view(-1, *([1] * (w.dim() - 1))) if per_channel else s
        return torch.clamp(round_ste(w / s_b), -W_QMAX, W_QMAX) * s_b

    def fq_act(y):
        return torch.clamp(round_ste(y / ACT_SCALE), 0, 2**ACT_BITS - 1) * ACT_SCALE

    class QConv(nn.Conv2d):
        def forward(self, x):
            return self._conv_forward(x, fq_weight(self.weight), None)

    class QLinear(nn.Linear):
        def __init__(self, *a, per_channel=True, **k):
            super().__init__(*a, bias=False, **k)
            self.per_channel = per_channel

        def forward(self, x):
            return nn.functional.linear(x, fq_weight(self.weight, self.per_channel))

    class DigitsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = QConv(1, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = QConv(8, 16, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(16)
            self.fc1 = QLinear(64, 32)
            self.bn3 = nn.BatchNorm1d(32)
            self.fc2 = QLinear(32, 10, per_channel=False)

        def forward(self, x):
            x = nn.functional.max_pool2d(fq_act(self.bn1(self.conv1(x))), 2)
            x = nn.functional.max_pool2d(fq_act(self.bn2(self.conv2(x))), 2)
            x = fq_act(self.bn3(self.fc1(x.flatten(1))))
            return self.fc2(x)

    return DigitsNet(), weight_scale


def train(torch, model, x_tr, y_tr):
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    xt = torch.tensor(x_tr, dtype=torch.float32) * IN_SCALE
    yt = torch.tensor(y_tr)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()


def export(torch, model, weight_scale) -> dict:
    """Integer weights, float32 scales (stored exactly as float64) and BN parameters."""
    layers = []
    pairs = [("conv1_bn", model.conv1, model.bn1, "conv", 2), ("conv2_bn", model.conv2,
             model.bn2, "conv", 2), ("fc1_bn", model.fc1, model.bn3, "linear", 0),
             ("fc2", model.fc2, None, "linear", 0)]
    for name, mod, bn, op, pool in pairs:
        per_channel = getattr(mod, "per_channel", True)
        s = weight_scale(mod.weight, per_channel).to(torch.float32)
        s_b = s.view(-1, *([1] * (mod.weight.dim() - 1))) if per_channel else s
        w_int = torch.clamp(torch.round(mod.weight.detach() / s_b), -W_QMAX, W_QMAX)
        spec = {"name": name, "op": op, "shape": list(w_int.shape),
                "weights": w_int.to(torch.int64).tolist(),
                "weight_scale": s.tolist() if per_channel else float(s)}
        if op == "conv":
            spec["pads"] = 1
        if bn is not None:
            spec["bn"] = {"gamma": bn.weight.detach().tolist(), "beta": bn.bias.detach().tolist(),
                          "mean": bn.running_mean.tolist(), "var": bn.running_var.tolist(),
                          "eps": float(np.float32(bn.eps))}
            spec["output"] = {"bits": ACT_BITS, "signed": False, "scale": ACT_SCALE,
                              "zero_point": 0, "rounding": "half_even",
                              "clip": [0, 2**ACT_BITS - 1]}
            spec["pool"] = pool
        layers.append(spec)
    return {"format": "exactbn-digits-model", "version": 1,
            "generated_by": "models/train_digits.py", "torch": torch.__version__, "seed": SEED,
            "input": {"bits": ACT_BITS, "signed": False, "scale": IN_SCALE, "zero_point": 0},
            "layers": layers}


def torch_checks(torch, model, spec: dict, x_te, y_te) -> dict:
    """torch's float32 network on the test split, and each BN step of it in float32 fed the
    exact integer inputs (compared with the exact reference), for the experiment's tables."""
    from exactbn.golden import affine_from_bn, reference
    from exactbn.golden.importers.digits import DigitsNetwork, digits_layers

    with torch.no_grad():
        logits = model(torch.tensor(x_te, dtype=torch.float32) * IN_SCALE)
    pred = logits.argmax(1).numpy()
    layers = digits_layers(spec).layers
    net = DigitsNetwork(spec)
    ab = [affine_from_bn(**lay.bn, s_in=lay.input.scales(lay.channels), z_in=0,
                         s_out=lay.output.scale, z_out=0) for lay in layers]

    def exact(k, acc):
        a, b = ab[k]
        shape = (1, -1) + (1,) * (acc.ndim - 2)
        return reference(a.reshape(shape), b.reshape(shape), acc, "half_even", 0, 15)

    trace, _ = net.forward(x_te, exact)
    mods = [(model.conv1, model.bn1), (model.conv2, model.bn2), (model.fc1, model.bn3)]
    per_layer = {}
    prev = torch.tensor(x_te, dtype=torch.float32) * IN_SCALE
    for k, ((mod, bn), (_, q_exact)) in enumerate(zip(mods, trace, strict=True)):
        with torch.no_grad():
            inp = prev if k < 2 else prev.flatten(1)
            y = bn(mod(inp))
            q_t = torch.clamp(torch.round(y / ACT_SCALE), 0, 15).to(torch.int64).numpy()
        per_layer[layers[k].name] = {"activations": int(q_exact.size),
                                     "mismatches": int((q_t != q_exact).sum())}
        nxt = torch.tensor(q_exact, dtype=torch.float32) * ACT_SCALE
        prev = torch.nn.functional.max_pool2d(nxt, 2) if k < 2 else nxt
    return {"float32_test_accuracy": float((pred == y_te).mean()),
            "float32_predictions": pred.tolist(), "float32_layer_mismatches": per_layer}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DATA), help="directory for the two files")
    args = ap.parse_args(argv)
    import torch

    from exactbn.formats import write_json_atomic

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    t0 = time.time()
    x_tr, x_te, y_tr, y_te = load_split()
    model, weight_scale = build(torch)
    train(torch, model, x_tr, y_tr)
    spec = export(torch, model, weight_scale)
    spec["test"] = {"images": x_te.reshape(len(x_te), -1).tolist(), "labels": y_te.tolist(),
                    "shape": [1, 8, 8], "split": "sklearn digits, train_test_split "
                    "test_size=0.2 random_state=0 stratified"}
    spec["torch_reference"] = torch_checks(torch, model, spec, x_te, y_te)
    out = Path(args.out)
    write_json_atomic(out / "digits_model.json", spec)
    from models.digits_onnx import write_digits_onnx

    write_digits_onnx(spec, out / "digits_qdq.onnx")
    acc = spec["torch_reference"]["float32_test_accuracy"]
    print(f"trained in {time.time() - t0:.1f} s; torch float32 test accuracy {acc:.4f}; "
          f"wrote {out / 'digits_model.json'} and {out / 'digits_qdq.onnx'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
