"""`segocr export --int8`: static int8 quantization calibrated on the train split's fit
part, the calibration method chosen on its validation part; the shipped int8 model's
card says what it measured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from untrained import write_untrained_segcnn

from segocr.errors import SegocrError
from segocr.models.weights import default_weights_path, sha256_bytes
from segocr.recognizers.base import get_recognizer_factory, recognizer_names
from segocr.recognizers.segcnn import load_segcnn
from segocr.runtime import read_onnx_card
from segocr.runtime.quantize import METHODS, QuantizeError, choose_method, export_int8, quantize

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "data" / "samples").glob("*.png"))


def test_int8_export_is_calibrated_chosen_on_validation_and_loads(tmp_path: Path) -> None:
    pt = tmp_path / "segcnn.pt"
    write_untrained_segcnn(pt)
    path, card = export_int8(
        "segcnn", pt, dataset="synthetic", dataset_options={"n_train": 40, "n_test": 2}, calibration_plates=8, max_drop=1.0,
        methods=("minmax", "percentile"),
    )
    assert path == tmp_path / "segcnn-int8.onnx"
    assert card["sha256"] == sha256_bytes(path.read_bytes()) == read_onnx_card(path)["sha256"]
    q = card["onnx"]["quantization"]
    tried = {"minmax", "percentile", "minmax/conv", "percentile/conv"}  # each method, every operator or Conv only
    assert q["method"] in tried and set(q["validation"]["plate_accuracy_int8"]) == tried
    assert q["method"].partition("/")[0] in METHODS
    assert q["validation"]["plates"] == 6 and q["calibration"]["plates"] == 8  # 15% of 40 plates held out
    assert card["onnx"]["source_sha256"] == json.loads(pt.with_suffix(".json").read_text())["sha256"]
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    rec = load_segcnn(weights=path, device="cpu")
    assert rec.net.runtime == "onnx"
    for n in (1, 7):  # the batch dimension stays dynamic
        assert rec.net(np.zeros((n, 1, 32, 32), np.float32)).shape == (n, len(rec.charset) + 1)


def test_quantize_needs_a_whole_calibration_batch() -> None:
    model = default_weights_path("segcnn").with_suffix(".onnx").read_bytes()
    with pytest.raises(QuantizeError, match="at least 64"):
        quantize(model, np.zeros((10, 1, 32, 32), np.float32), "minmax")
    with pytest.raises(ValueError, match="choose one of"):
        quantize(model, np.zeros((64, 1, 32, 32), np.float32), "kmeans")


def test_choice_prefers_accuracy_then_the_method_order() -> None:
    assert choose_method({"entropy": 0.9, "percentile": 0.9, "minmax": 0.8}, 0.9) == "percentile"
    assert choose_method({"entropy": 0.91, "percentile": 0.9}, 0.9) == "entropy"
    with pytest.raises(QuantizeError, match="loses accuracy"):
        choose_method({"percentile": 0.89}, 0.9)
    assert issubclass(QuantizeError, SegocrError)


SHIPPED_INT8 = sorted(p.name.removesuffix("-int8.onnx") for p in default_weights_path("segcnn").parent.glob("*-int8.onnx"))


def test_segcnn_ships_an_int8_model() -> None:
    assert "segcnn" in SHIPPED_INT8


@pytest.mark.parametrize("name", SHIPPED_INT8)
def test_shipped_int8_held_accuracy_on_validation_and_reads_like_float(name: str) -> None:
    path = default_weights_path(name).with_name(f"{name}-int8.onnx")
    card = read_onnx_card(path)
    pt_card = json.loads(default_weights_path(name).with_suffix(".json").read_text())
    assert card["onnx"]["source_sha256"] == pt_card["sha256"], f"stale: re-run segocr export --model {name} --int8"
    q = card["onnx"]["quantization"]
    v = q["validation"]
    assert v["plate_accuracy_int8"][q["method"]] >= v["plate_accuracy_float"] - v["max_drop"]
    from segocr.io import read_image

    images = [read_image(p) for p in SAMPLES]
    factory = get_recognizer_factory(name if name in recognizer_names() else name.split("-")[0])  # crnn-general: crnn
    int8 = factory(weights=path, device="cpu")
    fp = factory(weights=default_weights_path(name), device="cpu", runtime="onnx")
    agree = [a.text == b.text for a, b in zip(int8.predict(images), fp.predict(images))]
    assert sum(agree) >= len(agree) - 1  # int8 may differ on a hard plate, not across the board


def _ops_with_int8_weights(model: bytes) -> set[str]:
    """Operator types of ``model`` that read a weight stored as int8 (an initializer
    through a DequantizeLinear)."""
    graph = onnx.load_from_string(model).graph
    stored = {t.name for t in graph.initializer}
    weights = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in stored}
    return {n.op_type for n in graph.node if set(n.input) & weights}


def test_conv_only_scope_leaves_other_operators_float() -> None:
    model = default_weights_path("crnn").with_suffix(".onnx").read_bytes()
    calibration = np.random.default_rng(0).uniform(0, 1, (64, 1, 48, 160)).astype(np.float32)
    assert _ops_with_int8_weights(quantize(model, calibration, "minmax", "conv")) == {"Conv"}
    assert _ops_with_int8_weights(quantize(model, calibration, "minmax")) > {"Conv"}  # "all" goes further
    with pytest.raises(ValueError, match="choose one of"):
        quantize(model, calibration, "minmax", "lstm")


def test_choice_prefers_every_operator_quantized_on_ties() -> None:
    assert choose_method({"minmax/conv": 0.9, "entropy": 0.9}, 0.9) == "entropy"
    assert choose_method({"minmax/conv": 0.9, "percentile/conv": 0.9, "percentile": 0.8}, 0.9) == "percentile/conv"
