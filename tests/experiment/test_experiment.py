"""The layer-level experiment and the network-level check on the bundled digits CNN."""

from __future__ import annotations

import copy
from importlib import resources

import numpy as np
import pytest
from exactbn.golden.experiment import (
    all_exact,
    classify_disagreement,
    network_check,
    render_markdown,
    run_experiment,
)
from exactbn.golden.importers.digits import DigitsNetwork, digits_layers, load_digits_model
from exactbn.golden.solver import solve_layer


@pytest.fixture(scope="module")
def result():
    return run_experiment()


def test_bundled_model_is_small_and_complete():
    data = resources.files("exactbn.data").joinpath("digits_model.json").read_bytes()
    assert len(data) < 400_000
    model = load_digits_model()
    assert len(model["test"]["images"]) == len(model["test"]["labels"]) == 360
    assert [s["name"] for s in model["layers"]] == ["conv1_bn", "conv2_bn", "fc1_bn", "fc2"]


def test_integer_network_classifies_digits(result):
    # A wrong conv, pooling or flatten order in the integer network would wreck accuracy.
    assert result["network"]["exact"]["accuracy"] > 0.95


def test_exact_and_integer_model_networks_are_identical(result):
    net = result["network"]
    assert net["test_images"] == 360
    assert net["activations"] == 360 * (8 * 64 + 16 * 16 + 32)
    assert net["integer_model"]["activation_mismatches"] == 0
    assert net["integer_model"]["prediction_disagreements"] == 0
    assert all_exact(result)


def test_every_layer_is_exact_on_its_whole_derived_range(result):
    for lay in result["layers"]:
        sw = lay["sweep"]
        assert sw["inputs"] == sum(hi - lo + 1 for lo, hi in lay["ranges"])
        assert sw["integer_model_mismatches"] == 0
        assert lay["real"]["outside_derived_range"] == 0
        assert lay["real"]["integer_model_mismatches"] == 0


def test_exact_n_never_exceeds_naive_and_derived_never_exceeds_full(result):
    for lay in result["layers"]:
        d = lay["derived"]
        for n_exact, n_naive in zip(d["per-channel"]["N"], d["naive"]["N"], strict=True):
            assert n_naive is None or n_exact <= n_naive
        assert d["per-channel"]["widths"]["n_max"] <= lay["full"]["per-channel"]["widths"]["n_max"]
        assert d["shared"]["widths"]["n_max"] == max(d["per-channel"]["N"])
        assert d["shared"]["widths"]["N"] == 0


def test_float_disagreements_are_all_classified(result):
    for lay in result["layers"]:
        real = lay["real"]
        assert sum(real["float32_classified"].values()) == real["float32_mismatches"]
        for part in (real, lay["sweep"]):
            for key in ("onnx_reference", "torch_quantized_batch_norm"):
                ox = part[key]
                if "mismatches" in ox:  # where onnx / torch are installed
                    assert sum(ox["classified"].values()) == ox["mismatches"]
                    assert "other" not in ox["classified"]


def test_network_check_detects_a_wrong_parameter():
    model = load_digits_model()
    layers = digits_layers(model).layers
    solved = [solve_layer(lay) for lay in layers]
    broken = copy.deepcopy(solved)
    broken[1].B[3] += 1 << broken[1].N[3]  # one level up everywhere in channel 3
    net = network_check(model, layers, broken)
    assert net["integer_model"]["activation_mismatches"] > 0


def test_classify_disagreement():
    # a*x + b = 1/2 exactly: a tie, half_even -> 0, a float path said 1.
    assert classify_disagreement(0.25, 0.0, 2, "half_even", 0, 1) == "exact tie"
    assert classify_disagreement(0.25, 2.0**-30, 2, "half_even", 1, 0) == "float32 near-tie"
    assert classify_disagreement(0.25, 0.1, 2, "half_even", 1, 0) == "other"
    assert classify_disagreement(0.25, 0.0, 2, "half_even", 0, 2) == "other"


def test_digits_network_forward_shapes():
    model = load_digits_model()
    net = DigitsNetwork(model)
    imgs = np.asarray(model["test"]["images"][:3]).reshape(3, 1, 8, 8)
    trace, logits = net.forward(imgs, lambda k, acc: np.clip(acc, 0, 15))
    assert [acc.shape for acc, _ in trace] == [(3, 8, 8, 8), (3, 16, 4, 4), (3, 32)]
    assert logits.shape == (3, 10)


def test_markdown_report_has_the_tables(result):
    md = render_markdown(result)
    for name in ("conv1_bn", "conv2_bn", "fc1_bn", "Network level", "integer_model",
                 "All exactness checks hold: **yes**"):
        assert name in md
