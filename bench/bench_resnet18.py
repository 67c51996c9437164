"""ResNet-18 end to end: PT2E and onnxruntime quantization, import, solve, framework agreement.

``python -m bench.bench_resnet18 [--batches 4] [--naive-channels 32] [--keep DIR]`` builds
torchvision's ``resnet18`` architecture (10 classes, random init, seed 0; no weight download),
runs a short train-mode pass on generated images so the BN statistics are not trivial, then:

(a) PT2E: ``torch.export`` -> ``prepare_pt2e`` with ``PerLayerInt8Quantizer`` (torchao's
    public Quantizer API, X86 default specs; torchao's ``X86InductorQuantizer`` fails on this
    network with torch 2.13 / torchao 0.18 and would leave conv+add BNs unquantized) ->
    calibration -> ``convert_pt2e``; ``from_pt2e``;
(b) ONNX: ``torch.onnx.export`` (eval mode: the exporter folds BN into the conv) ->
    onnxruntime ``quantize_static`` (QDQ, per-channel int8 weights, uint8 activations) ->
    ``exactbn import``.

For each: the imported layers (against the model's 20 BN + 1 fc), ``exactbn solve
--no-summary`` (its wall time), and every layer's exact reference and integer model
against the framework's own integer outputs on a batch of generated images (PT2E: the
converted graph run by ``torch.fx.Interpreter``; ONNX: onnxruntime), every difference
classified. Writes bench/results/resnet18.json and .md; the solved PT2E file is kept in
``--keep`` (default /tmp/pt2e) as ``resnet18_solved.json`` for the network benchmarks.

``--flows SOLVED [--work DIR] [--jobs 2]`` instead times the per-layer bundle's three commands
(``exactbn generate/sim/prove SOLVED --all-layers --jobs J``, each ``nice -n 5 timeout T`` under
``/usr/bin/time -v``, /proc/loadavg sampled every 15 s) and writes
bench/results/resnet18_flows.json: wall and CPU seconds, load, layers passed per step
(``--flows-summary DIR`` re-reads a run directory).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from exactbn.formats import load_solved, write_json_atomic, write_text_atomic

RESULTS = Path(__file__).parent / "results"
IMG = (3, 64, 64)
BATCH = 4


def _images(seed: int, n: int = BATCH):
    import torch

    g = torch.Generator().manual_seed(seed)
    # Smooth random "images" (low-frequency noise, ImageNet-like normalization).
    low = torch.rand(n, 3, 8, 8, generator=g)
    x = torch.nn.functional.interpolate(low, size=IMG[1:], mode="bilinear",
                                        align_corners=False)
    x = x + 0.1 * torch.randn(n, *IMG, generator=g)
    return (x - 0.45) / 0.226


def build_model():
    """torchvision resnet18 (random init), BN statistics from a train-mode pass."""
    import torch
    from exactbn.golden.importers.torchvision_compat import import_torchvision

    tv = import_torchvision()
    torch.manual_seed(0)
    m = tv.models.resnet18(weights=None, num_classes=10)
    m.train()
    with torch.no_grad():
        for i in range(8):
            m(_images(1000 + i, 16))
    return m.eval()


def _solve(layers_path: Path, solved_path: Path) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "exactbn", "solve", str(layers_path), "-o",
                    str(solved_path), "--no-summary"], check=True, stdout=subprocess.DEVNULL)
    return round(time.monotonic() - t0, 1)


def _agreement_rows(layers, solved, pairs_per_batch) -> list[dict]:
    from exactbn.golden.importers.agreement import compare_layer

    rows: dict[str, dict] = {}
    for pairs in pairs_per_batch:
        for lay, sol, (acc, q) in zip(layers, solved, pairs, strict=True):
            r = compare_layer(lay, acc, q, sol)
            t = rows.setdefault(lay.name, {"layer": lay.name, "outputs": 0, "differ_exact": 0,
                                           "differ_model": 0, "model_vs_exact": 0,
                                           "acc_outside_range": 0, "classified": {}})
            for k in ("outputs", "differ_exact", "differ_model", "model_vs_exact",
                      "acc_outside_range"):
                t[k] += r[k]
            for k, v in r["classified"].items():
                t["classified"][k] = t["classified"].get(k, 0) + v
    return list(rows.values())


def run_pt2e(model, work: Path, batches: int) -> dict:
    import torch
    from exactbn.golden.importers import from_pt2e
    from exactbn.golden.importers.agreement import pt2e_layer_data
    from exactbn.golden.importers.pt2e_quantizer import PerLayerInt8Quantizer
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    t0 = time.monotonic()
    x = _images(0)
    gm = torch.export.export(copy.deepcopy(model), (x,)).module()
    prepared = prepare_pt2e(gm, PerLayerInt8Quantizer())
    with torch.no_grad():
        for i in range(8):
            prepared(_images(2000 + i))
    conv = convert_pt2e(prepared)
    t_quant = time.monotonic() - t0
    path = work / "resnet18.pt2"
    torch.export.save(torch.export.export(conv, (x,)), str(path))
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "exactbn", "import", str(path), "-o",
                    str(work / "resnet18_pt2e_layers.json"), "-q"], check=True)
    t_import = time.monotonic() - t0
    res = from_pt2e(conv)
    t_solve = _solve(work / "resnet18_pt2e_layers.json", work / "resnet18_solved.json")
    solved = load_solved(work / "resnet18_solved.json")
    pairs = [pt2e_layer_data(conv, res, (_images(3000 + i),)) for i in range(batches)]
    return {"quantize_s": round(t_quant, 1), "import_s": round(t_import, 1),
            "solve_s": t_solve, "result": res, "solved": solved,
            "agreement": _agreement_rows(res.layers, solved, pairs),
            "skipped": res.skipped, "layers_file": str(work / "resnet18_pt2e_layers.json"),
            "solved_file": str(work / "resnet18_solved.json")}


def _onnx_pairs(model, res, xs) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """(accumulator, onnxruntime output integers) per imported layer, per batch."""
    import onnxruntime as ort
    from exactbn.golden.importers.agreement import int_conv
    from onnx import helper, numpy_helper

    g = model.graph
    cst = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    cons: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    plan = []
    for lay in res.layers:
        node = next(n for n in g.node if n.name == lay.name)
        dq_x, dq_w = prod[node.input[0]], prod[node.input[1]]
        w = cst[dq_w.input[0]].astype(np.int64)
        zw = cst[dq_w.input[2]].astype(np.int64) if len(dq_w.input) > 2 else np.zeros(1, int)
        w = w - zw.reshape((-1,) + (1,) * (w.ndim - 1))
        b = None
        if len(node.input) > 2 and node.input[2] in prod:
            b = cst[prod[node.input[2]].input[0]].astype(np.int64)
        t = node.output[0]
        while len(cons.get(t, [])) == 1 and cons[t][0].op_type in ("Relu", "Clip"):
            t = cons[t][0].output[0]
        q = next(n for n in cons[t] if n.op_type == "QuantizeLinear")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        pads = attrs.get("pads", [0, 0, 0, 0])
        if node.op_type == "Conv" and pads[:2] != pads[2:]:
            raise ValueError(f"{node.name}: asymmetric padding")
        zx = int(cst[dq_x.input[2]]) if len(dq_x.input) > 2 else 0
        plan.append((node, dq_x.input[0], zx, w, b, q.output[0], attrs, pads))
    outs = sorted({p[1] for p in plan} | {p[5] for p in plan})
    m = copy.deepcopy(model)
    for o in outs:
        m.graph.output.append(helper.make_empty_tensor_value_info(o))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    result = []
    for x in xs:
        vals = dict(zip(outs, sess.run(outs, {g.input[0].name: x}), strict=True))
        pairs = []
        for node, xin, zx, w, b, qout, attrs, pads in plan:
            xi = vals[xin].astype(np.int64) - zx
            if node.op_type == "Conv":
                acc = int_conv(xi, w, stride=tuple(attrs.get("strides", [1, 1])),
                               padding=tuple(pads[:2]), dilation=tuple(attrs.get(
                                   "dilations", [1, 1])), groups=int(attrs.get("group", 1)))
            else:  # Gemm (transB=1) / MatMul
                wt = w if attrs.get("transB", 0) else w.T
                acc = int_conv(xi.reshape(xi.shape[0], -1), wt)
            if b is not None:
                acc = acc + b.reshape((1, -1) + (1,) * (acc.ndim - 2))
            pairs.append((acc, vals[qout].astype(np.int64)))
        result.append(pairs)
    return result


def run_onnx(model, work: Path, batches: int) -> dict:
    import onnx
    import torch
    from exactbn.golden.importers import import_model
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    t0 = time.monotonic()
    fp = work / "resnet18.onnx"
    torch.onnx.export(model, (_images(0),), str(fp), input_names=["x"], output_names=["y"],
                      opset_version=17, dynamo=False,
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": _images(2000 + i).numpy()} for i in range(8)])

        def get_next(self):
            return next(self.it, None)

    qp = work / "resnet18_qdq.onnx"
    quantize_static(str(fp), str(qp), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    t_quant = time.monotonic() - t0
    t0 = time.monotonic()
    res = import_model(qp)
    write_json_atomic(work / "resnet18_onnx_layers.json", res.to_json())
    t_import = time.monotonic() - t0
    t_solve = _solve(work / "resnet18_onnx_layers.json", work / "resnet18_onnx_solved.json")
    solved = load_solved(work / "resnet18_onnx_solved.json")
    qmodel = onnx.load(str(qp))
    pairs = _onnx_pairs(qmodel, res, [_images(3000 + i).numpy() for i in range(batches)])
    return {"quantize_s": round(t_quant, 1), "import_s": round(t_import, 1),
            "solve_s": t_solve, "result": res, "solved": solved,
            "agreement": _agreement_rows(res.layers, solved, pairs), "skipped": res.skipped}


def _stats(v) -> dict:
    v = np.asarray(v)
    return {"min": int(v.min()), "median": float(np.median(v)), "max": int(v.max()),
            "histogram": {str(k): int(c) for k, c in zip(*np.unique(v, return_counts=True),
                                                         strict=True)}}


def _figures(name: str, run: dict, model_bn: int, naive_channels: int) -> dict:
    from exactbn.golden.summary import layer_summary

    from exactbn.formats import twos_width

    res, solved = run["result"], run["solved"]
    acc_w = [twos_width(lo, hi) for lay in res.layers for lo, hi in
             lay.input.ranges(lay.channels)]
    saved, naive_n = [], []
    for lay, sol in zip(res.layers, solved, strict=True):
        s = layer_summary(sol, lay, naive_limit=naive_channels)
        if s["naive"]["saved_param_bits"] is not None:
            saved.append(s["naive"]["saved_param_bits"]["median"])
        if s["naive"]["N"] is not None:
            naive_n.append(s["naive"]["N"]["median"])
    agr = run["agreement"]
    cls: dict[str, int] = {}
    for r in agr:
        for k, v in r["classified"].items():
            cls[k] = cls.get(k, 0) + v
    return {
        "framework": name,
        "layers_imported": len(res.layers), "model_bn_layers": model_bn,
        "model_requant_layers": model_bn + 1,
        "bn_layers": sum(lay.bn is not None for lay in res.layers),
        "affine_layers": sum(lay.affine is not None for lay in res.layers),
        "skipped": run["skipped"],
        "channels": sum(lay.channels for lay in res.layers),
        "exact_channels": sum(sum(s.exact) for s in solved),
        "N": _stats([n for s in solved for n in s.N]),
        "W_M": _stats([s.widths.M for s in solved]),
        "W_B": _stats([s.widths.B for s in solved]),
        "acc_width_per_channel": _stats(acc_w),
        "acc_bits_saved_vs_int32_per_channel": _stats([32 - w for w in acc_w]),
        "param_bits_saved_vs_naive_median_per_layer": _stats(saved) if saved else None,
        "naive_channels_per_layer": naive_channels,
        "quantize_s": run["quantize_s"], "import_s": run["import_s"],
        "solve_s": run["solve_s"],
        "outputs_compared": sum(r["outputs"] for r in agr),
        "differ_exact": sum(r["differ_exact"] for r in agr),
        "differ_model": sum(r["differ_model"] for r in agr),
        "model_vs_exact": sum(r["model_vs_exact"] for r in agr),
        "acc_outside_range": sum(r["acc_outside_range"] for r in agr),
        "classified": cls,
        "per_layer": agr,
    }


def render(doc: dict) -> str:
    lines = ["# ResNet-18 end to end (generated by `python -m bench.bench_resnet18`)", "",
             doc["setup"], "",
             "| | PT2E (torchao) | ONNX (onnxruntime quantize_static) |", "|---|---|---|"]
    a, b = doc["pt2e"], doc["onnx"]

    def row(label, f):
        lines.append(f"| {label} | {f(a)} | {f(b)} |")

    row("layers imported / model (20 BN + fc)", lambda d: f"{d['layers_imported']} / "
        f"{d['model_requant_layers']} ({d['affine_layers']} affine, {d['bn_layers']} BN)")
    row("channels (exact)", lambda d: f"{d['channels']} ({d['exact_channels']})")
    row("N min/median/max", lambda d: f"{d['N']['min']}/{d['N']['median']:g}/{d['N']['max']}")
    row("W_M, W_B per layer (median)", lambda d: f"{d['W_M']['median']:g}, "
        f"{d['W_B']['median']:g}")
    row("accumulator width per channel min/median/max", lambda d: (
        f"{d['acc_width_per_channel']['min']}/{d['acc_width_per_channel']['median']:g}/"
        f"{d['acc_width_per_channel']['max']}"))
    row("accumulator bits saved vs int32 (median)",
        lambda d: f"{d['acc_bits_saved_vs_int32_per_channel']['median']:g}")
    row("M+B bits saved vs naive (median over layers)", lambda d: (
        f"{d['param_bits_saved_vs_naive_median_per_layer']['median']:g}"
        if d["param_bits_saved_vs_naive_median_per_layer"] else "n/a"))
    row("quantize / import / solve (s)", lambda d: f"{d['quantize_s']} / {d['import_s']} / "
        f"{d['solve_s']}")
    row("framework outputs compared", lambda d: f"{d['outputs_compared']}")
    row("differ from exact reference", lambda d: f"{d['differ_exact']} "
        f"{json.dumps(d['classified']) if d['classified'] else ''}")
    row("differ from integer model", lambda d: f"{d['differ_model']}")
    row("integer model vs exact reference", lambda d: f"{d['model_vs_exact']}")
    row("accumulators outside derived range", lambda d: f"{d['acc_outside_range']}")
    lines += ["", "Differences are classified exactly: 'exact tie' = a*x + b on a rounding "
              "boundary, 'float32 near-tie' = within 2^-16 of one (the framework's float32 "
              "arithmetic decided it), 'other' = a real error.", ""]
    return "\n".join(lines)


# --- the bundle flows (issue 17: generate + sim + prove <= 10 minutes) -------------------

FLOW_STEPS = (
    ("generate", ["generate", "{solved}", "--all-layers", "--jobs", "{jobs}", "-q", "-o",
                  "{work}/bundle"]),
    # sim and prove take the bundle's Verilog (checked against the solved file: --bundle)
    ("sim", ["sim", "{solved}", "--all-layers", "--jobs", "{jobs}", "--bundle", "{work}/bundle",
             "-o", "{work}/sim"]),
    ("prove", ["prove", "{solved}", "--all-layers", "--jobs", "{jobs}", "--bundle",
               "{work}/bundle", "-o", "{work}/prove"]),
)


def run_flows(solved: str, work: Path, jobs: int, timeouts: dict[str, int]) -> None:
    """Run the three bundle commands as a user would (``nice -n 5 timeout T``), each under
    ``/usr/bin/time -v``; WORK/steps.log (start/end epoch, exit, /proc/loadavg) and
    WORK/load.log (/proc/loadavg every 15 s) are what :func:`summarise_flows` reads."""
    import threading

    work.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def sample() -> None:
        with open(work / "load.log", "a") as fh:
            while not stop.is_set():
                fh.write(f"{int(time.time())} {Path('/proc/loadavg').read_text()}")
                fh.flush()
                stop.wait(15)

    threading.Thread(target=sample, daemon=True).start()
    exe = [sys.executable, "-m", "exactbn"]
    try:
        for name, args in FLOW_STEPS:
            argv = [a.format(solved=solved, jobs=jobs, work=work) for a in args]
            with open(work / "steps.log", "a") as log:
                log.write(f"{name} start {int(time.time())} {Path('/proc/loadavg').read_text()}")
            with open(work / f"{name}.out", "w") as o, open(work / f"{name}.err", "w") as e:
                rc = subprocess.call(["/usr/bin/time", "-v", "-o", str(work / f"time_{name}.txt"),
                                      "nice", "-n", "5", "timeout", str(timeouts[name]), *exe,
                                      *argv], stdout=o, stderr=e)
            with open(work / "steps.log", "a") as log:
                log.write(f"{name} end {int(time.time())} rc={rc} "
                          f"{Path('/proc/loadavg').read_text()}")
    finally:
        stop.set()


def _time_v(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        k, _, v = line.strip().rpartition(": ")
        if k in ("User time (seconds)", "System time (seconds)"):
            out["user" if k.startswith("User") else "sys"] = float(v)
        if k == "Exit status":
            out["exit"] = int(v)
        if k.startswith("Elapsed (wall clock)"):
            parts = [float(x) for x in v.split(":")]
            out["wall"] = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
    return out


def _layer_rows(work: Path, name: str) -> list[dict]:
    """Per-layer rows: the run's summary, or (a run stopped by its timeout) each finished
    layer's own record (prove.json, the sim log's verdict)."""
    if name == "generate":  # the bundle's network.json: one unit per layer
        net = work / "bundle" / "network.json"
        units = json.loads(net.read_text())["units"] if net.exists() else []
        return [{"layer": u["layer"], "channels": u["channels"],
                 "status": "PASS" if u["exact"] else "inexact"} for u in units]
    summ = work / name / f"network_{name}.json"
    if summ.exists():
        return json.loads(summ.read_text())["layers"]
    rows = []
    for log in sorted((work / name / "logs").glob("*.log")):
        d = log.stem
        text = log.read_text(errors="replace")
        if name == "prove":
            pj = sorted((work / name / d).glob("*/prove.json"))
            if pj:
                rec = json.loads(pj[0].read_text())
                rows.append({"dir": d, "status": rec["status"],
                             "proof_seconds": round(rec.get("seconds", 0.0), 1)})
            else:
                rows.append({"dir": d, "status": "unfinished"})
        else:
            rows.append({"dir": d, "status": "PASS" if "sim: PASS" in text else
                         ("FAIL" if "sim: FAIL" in text else "unfinished")})
    return rows


def _prove_cpu(work: Path) -> dict[str, float]:
    """Solver CPU seconds per layer directory (sum over its proof tasks)."""
    out = {}
    for pj in sorted((work / "prove").glob("*/*/prove.json")):
        rec = json.loads(pj.read_text())
        out[pj.parent.parent.name] = round(sum(t.get("cpu_seconds") or 0.0
                                               for t in rec.get("tasks", [])), 1)
    return out


def _sim_beats(work: Path) -> int:
    n = 0
    for rj in (work / "sim").glob("*/*/results.json"):
        n += sum(sc["beats"] for sc in json.loads(rj.read_text())["scenarios"].values())
    return n


def summarise_flows(work: Path) -> list[dict]:
    """One record per step: exit, wall/user/sys seconds, load (start, mean, end), layers."""
    starts, ends = {}, {}
    for line in (work / "steps.log").read_text().splitlines():
        f = line.split()
        if f[1] == "start":
            starts[f[0]] = (int(f[2]), f[3])
        else:
            ends[f[0]] = (int(f[2]), int(f[3][3:]), f[4])
    samples = [(int(ln.split()[0]), float(ln.split()[1]))
               for ln in (work / "load.log").read_text().splitlines() if ln.strip()]
    out = []
    for name, args in FLOW_STEPS:
        if name not in starts:
            continue
        t0, l0 = starts[name]
        t1, rc, l1 = ends.get(name, (int(time.time()), None, "?"))
        inside = [v for t, v in samples if t0 <= t <= t1]
        tv = _time_v(work / f"time_{name}.txt") if (work / f"time_{name}.txt").exists() else {}
        rows = _layer_rows(work, name)
        rec = {"step": name, "command": "exactbn " + " ".join(args).format(
                   solved="resnet18_solved.json", jobs=2, work=".").replace("./", ""),
               "exit": tv.get("exit", rc), "wall_s": round(tv.get("wall", t1 - t0), 1),
               "user_s": tv.get("user"), "sys_s": tv.get("sys"),
               "cpu_s": round(tv["user"] + tv["sys"], 1) if "user" in tv else None,
               "load_start": float(l0), "load_end": float(l1) if l1 != "?" else None,
               "load_mean": round(sum(inside) / len(inside), 2) if inside else None,
               "layers": len(rows), "passed": sum(r.get("status") == "PASS" for r in rows)}
        if name == "prove":
            rec["solver_cpu_s_per_layer"] = _prove_cpu(work)
        if name == "sim":
            rec["beats"] = _sim_beats(work)
        rec["per_layer"] = rows
        out.append(rec)
    from exactbn.formats import safe_name

    names = [r["layer"] for r in out[0]["per_layer"]] if out else []  # the bundle's units
    for rec in out[1:]:
        seen = {r.get("layer") or r.get("dir") for r in rec["per_layer"]}
        rec["not_started"] = [n for n in names if n not in seen and safe_name(n) not in seen]
        rec["layers"] = max(rec["layers"], len(names))
    return out


def _flow_note(st: dict) -> str:
    per = st["per_layer"]
    note = f"{st['passed']}/{st['layers']} layers PASS; {st['cpu_s']} CPU s"
    if st["step"] == "generate":
        note = f"{st['layers']} kits, {st['passed']}/{st['layers']} exact; {st['cpu_s']} CPU s"
    if st["step"] == "sim":
        note += (f"; {st['beats']:,} beats (quick profile); per layer (s wall): "
                 + ", ".join(f"{r['layer']} {r['seconds']}" for r in per))
    if st["step"] == "prove":
        cpu = st.get("solver_cpu_s_per_layer", {})
        done = [r for r in per if r.get("status") == "PASS"]
        note += ("; finished layers (proof s wall / solver CPU s): "
                 + ", ".join(f"{r.get('layer') or r['dir']} {r.get('proof_seconds')} / "
                             f"{cpu.get(r['dir'])}" for r in done))
        left = [f"{r.get('layer') or r['dir']} ("
                + ("stopped by the step's timeout" if r.get("status") == "unfinished"
                   else r.get("status")) + ")" for r in per if r.get("status") != "PASS"]
        if left:
            note += f"; not proven: {', '.join(left)}"
        if st.get("not_started"):
            note += f"; not started: {', '.join(st['not_started'])}"
    return note


def network_section(doc: dict, results: Path, text: str) -> None:
    """Put the steps into network.json's ``resnet18_flows`` (the ResNet-18 section of
    network.md) and re-render network.md with bench.bench_network's renderer."""
    from bench.bench_network import _markdown

    path = results / "network.json"
    net = json.loads(path.read_text())
    net["resnet18_flows"] = {
        "title": "ResNet-18 (PT2E, 20 BN layers + fc = 21 units): bundle flows on this machine",
        "text": text,
        "steps": [{"step": f"{st['step']} --all-layers --jobs 2", "exit": st["exit"],
                   "seconds": st["wall_s"], "cpu_seconds": st["cpu_s"],
                   "load": f"{st['load_start']} -> {st['load_end']} (mean {st['load_mean']})",
                   "command": st["command"], "note": _flow_note(st)} for st in doc["steps"]],
        "totals": {"wall_s": doc["total_wall_s"], "cpu_s": doc["total_cpu_s"]},
        "detail": "bench/results/resnet18_flows.json",
    }
    write_json_atomic(path, net)
    write_text_atomic(results / "network.md", _markdown(net))


TARGET_S = 600  # issue 17: generate + sim + prove of the 20-layer bundle in <= 10 minutes


def render_flows(doc: dict) -> str:
    """resnet18_flows.md: wall and CPU seconds and load per step, the sums against the
    10-minute target (wall, and CPU / cores: the wall an idle machine would need at best)."""
    cores = doc.get("cores") or 1
    lines = ["# ResNet-18 bundle flows (generate, sim, prove --all-layers)", "",
             f"`{doc['command']}`; {cores} cores, {doc.get('host')}. Wall seconds are "
             "inflated by the load (other jobs on the machine); CPU seconds are the step's "
             "own (its process and every child, /usr/bin/time -v).", "",
             "| step | exit | layers PASS | wall s | CPU s | load start -> end (mean) | "
             "command |", "|---|---|---|---|---|---|---|"]
    for st in doc["steps"]:
        lines.append(f"| {st['step']} | {st['exit']} | {st['passed']}/{st['layers']} | "
                     f"{st['wall_s']} | {st['cpu_s']} | {st['load_start']} -> "
                     f"{st['load_end']} ({st['load_mean']}) | `{st['command']}` |")
    w, c = doc["total_wall_s"], doc["total_cpu_s"]
    lines += ["", f"Sum: {w} s wall, {c} CPU s ({c / cores:.0f} s of {cores} cores at best) "
              f"against the {TARGET_S} s target: wall {'met' if w <= TARGET_S else 'missed'}"
              f", CPU / cores {'within' if c / cores <= TARGET_S else 'over'} it.", ""]
    for st in doc["steps"]:
        lines.append(f"- {st['step']}: {_flow_note(st)}")
    return "\n".join(lines) + "\n"


def flows_main(a: argparse.Namespace) -> int:
    """--flows: run generate/sim/prove --all-layers; --flows-summary: summarise a run dir.
    Either way the steps go into bench/results/resnet18_flows.json (figures, not targets)."""
    work = Path(a.flows_summary or a.work)
    if a.flows:
        run_flows(a.flows, work, a.jobs, {"generate": 1200, "sim": 1800,
                                          "prove": a.prove_timeout})
    steps = summarise_flows(work)
    doc = {"command": "python -m bench.bench_resnet18 --flows SOLVED --work DIR (steps: "
                      "nice -n 5 timeout T /usr/bin/time -v exactbn ...)",
           "cores": os.cpu_count(), "host": platform.machine(), "steps": steps,
           "total_wall_s": round(sum(st["wall_s"] for st in steps), 1),
           "total_cpu_s": round(sum(st["cpu_s"] or 0 for st in steps), 1)}
    write_json_atomic(Path(a.out) / "resnet18_flows.json", doc)
    write_text_atomic(Path(a.out) / "resnet18_flows.md", render_flows(doc))
    if a.section_text:
        network_section(doc, Path(a.out), Path(a.section_text).read_text().strip())
    for st in steps:
        print(f"{st['step']}: exit {st['exit']}, {st['wall_s']} s wall, {st['cpu_s']} CPU s, "
              f"load {st['load_start']} -> {st['load_end']} (mean {st['load_mean']}), "
              f"{st['passed']}/{st['layers']} layers PASS")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flows", metavar="SOLVED",
                   help="instead: time generate/sim/prove --all-layers on this solved file")
    p.add_argument("--flows-summary", metavar="DIR", help="instead: summarise a --flows run")
    p.add_argument("--work", default="/tmp/resnet18-flows", help="--flows: the run directory")
    p.add_argument("--jobs", type=int, default=2, help="--flows: --jobs of each command")
    p.add_argument("--prove-timeout", type=int, default=2400, help="--flows: prove's timeout")
    p.add_argument("--section-text", metavar="FILE",
                   help="--flows/--flows-summary: also write the steps, with this text, into "
                   "the ResNet-18 section of network.json/.md")
    p.add_argument("--batches", type=int, default=4, help=f"batches of {BATCH} images")
    p.add_argument("--naive-channels", type=int, default=32,
                   help="channels per layer compared with the naive baseline")
    p.add_argument("--keep", default="/tmp/pt2e", help="where the generated files go")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    if args.flows or args.flows_summary:
        return flows_main(args)
    import torch

    work = Path(args.keep)
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    t0 = time.monotonic()
    model = build_model()
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    pt = run_pt2e(model, work, args.batches)
    ox = run_onnx(model, work, args.batches)
    doc = {
        "setup": (f"torchvision resnet18 (10 classes, random init seed 0), BN statistics from "
                  f"8 train-mode batches of 16 generated {IMG} images; calibration 8 batches of "
                  f"{BATCH}; agreement on {args.batches} batches of {BATCH}. Host: "
                  f"{platform.machine()}, torch {torch.__version__}."),
        "pt2e": _figures("pt2e", pt, n_bn, args.naive_channels),
        "onnx": _figures("onnxruntime", ox, n_bn, args.naive_channels),
        "solved_file": pt["solved_file"],
        "total_s": round(time.monotonic() - t0, 1),
    }
    out = Path(args.out)
    write_json_atomic(out / "resnet18.json", doc)
    write_text_atomic(out / "resnet18.md", render(doc))
    print(render(doc))
    bad = any(d["classified"].get("other", 0) or d["model_vs_exact"] or d["acc_outside_range"]
              for d in (doc["pt2e"], doc["onnx"]))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
