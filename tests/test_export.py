"""`segocr export` and the ONNX Runtime backend: exported networks give torch's logits
(within :data:`segocr.runtime.export.TOLERANCE`) for any batch size, on random and on
real-looking inputs (the repository's sample plates), and the shipped exports belong to
the shipped weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from untrained import write_untrained_segcnn

from segocr.charset import LATIN, Charset
from segocr.cli import main
from segocr.io import read_image
from segocr.models.crnn import CRNN
from segocr.models.holistic import HolisticCNN
from segocr.models.weights import resolve_weights, save_weights, sha256_bytes
from segocr.recognizers.base import get_recognizer_factory
from segocr.recognizers.crnn import CRNNConfig
from segocr.recognizers.holistic import HolisticConfig
from segocr.recognizers.segcnn import hypothesis_crops
from segocr.recognizers.textline import line_batch
from segocr.runtime import onnx_card_path, read_onnx_card
from segocr.runtime.export import TOLERANCE, ExportError, check_inputs, export_onnx, input_shape
from segocr.runtime.onnx_backend import load_onnx
from segocr.segment.characters import hypotheses, prepare

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "data" / "samples").glob("*.png"))
NAMES = ("segcnn", "crnn", "holistic")


def _tiny_weights(name: str, path: Path) -> Path:
    """A small random-weight ``.pt`` with its card for recognizer ``name``."""
    torch.manual_seed(0)
    if name == "segcnn":
        write_untrained_segcnn(path)
        return path
    if name == "crnn":
        kwargs: dict[str, Any] = {"channels": [4, 4, 8, 8, 8, 8], "hidden": 8, "dropout": 0.0}
        model: torch.nn.Module = CRNN(num_classes=len(LATIN) + 1, **{**kwargs, "channels": (4, 4, 8, 8, 8, 8)})
        config = CRNNConfig(decoder="greedy").model_dump(mode="json")
    else:
        kwargs = {"channels": [4, 4, 8, 8, 8], "readout": "attention", "dim": 16, "context": 2}
        model = HolisticCNN(num_classes=len(LATIN) + 1, **{**kwargs, "channels": (4, 4, 8, 8, 8)})
        config = HolisticConfig().model_dump(mode="json")
    save_weights(model, path, {"model": name, "charset": LATIN, "model_kwargs": kwargs, "config": config})
    return path


def _load(name: str, **kwargs: Any) -> Any:
    """Recognizer ``name`` as the registry loads it: any of the three network readers
    (each has ``net`` and ``charset``, which the ``Recognizer`` protocol does not name)."""
    return get_recognizer_factory(name)(**kwargs)


def _real_looking_inputs(rec: Any) -> np.ndarray:
    """Network inputs made from the sample plates as the recognizer makes them."""
    images = [read_image(p) for p in SAMPLES]
    if rec.name == "segcnn":
        crops = []
        for img in images:
            work = prepare(img, config=rec.config.segment)
            for hyp in hypotheses(work, rec.config.segment.binarizers, config=rec.config.segment)[:2]:
                crops.append(hypothesis_crops(work.gray, hyp, rec.config))
        return np.concatenate(crops)[:, None]
    return line_batch(images, rec.line)


@pytest.mark.parametrize("name", NAMES)
def test_export_agrees_with_torch_for_any_batch(tmp_path: Path, name: str) -> None:
    pt = _tiny_weights(name, tmp_path / f"{name}.pt")
    path, card = export_onnx(name, pt, opset=17)
    assert path == tmp_path / f"{name}.onnx" and onnx_card_path(path).exists()
    assert card["sha256"] == sha256_bytes(path.read_bytes()) == read_onnx_card(path)["sha256"]
    pt_card = json.loads(pt.with_suffix(".json").read_text())
    assert card["onnx"]["source_sha256"] == pt_card["sha256"]
    assert card["charset"] == pt_card["charset"] and card["config"] == pt_card["config"]
    assert card["onnx"]["max_abs_diff_vs_torch"] <= TOLERANCE
    torch_rec = _load(name, weights=pt, device="cpu", runtime="torch")
    onnx_rec = _load(name, weights=pt, device="cpu", runtime="onnx")
    assert (torch_rec.net.runtime, onnx_rec.net.runtime) == ("torch", "onnx")
    shape = input_shape(torch_rec)
    rng = np.random.default_rng(1)
    for n in (1, 5, 33):  # the batch dimension is dynamic
        x = rng.standard_normal((n, *shape)).astype(np.float32)
        a, b = torch_rec.net(x), onnx_rec.net(x)
        assert a.shape == b.shape and a.shape[0] == n
        assert float(np.abs(a - b).max()) <= TOLERANCE
    real = _real_looking_inputs(torch_rec)
    assert float(np.abs(torch_rec.net(real) - onnx_rec.net(real)).max()) <= TOLERANCE
    images = [read_image(p) for p in SAMPLES]
    assert [p.text for p in torch_rec.predict(images)] == [p.text for p in onnx_rec.predict(images)]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_export_belongs_to_the_shipped_weights(name: str) -> None:
    pt = resolve_weights(None, name)  # what the recognizer loads by default
    path = pt.with_suffix(".onnx")
    card = read_onnx_card(path)
    pt_card = json.loads(pt.with_suffix(".json").read_text())
    assert card["onnx"]["source_sha256"] == pt_card["sha256"], (
        f"{path.name} is stale: run `segocr export --model {name} --to onnx` after changing {pt.name}"
    )
    # The network's shape comes from these; inference settings come from the .pt card.
    assert (card["charset"], card.get("model_kwargs")) == (pt_card["charset"], pt_card.get("model_kwargs"))
    net, _ = load_onnx(path, threads=1)
    torch_rec = _load(name, device="cpu", runtime="torch")
    real = _real_looking_inputs(torch_rec)
    for x in [real, *check_inputs(input_shape(torch_rec))]:
        assert float(np.abs(torch_rec.net(x) - net(x)).max()) <= TOLERANCE


def test_export_cli_writes_the_file_and_its_card(tmp_path: Path) -> None:
    pt = _tiny_weights("segcnn", tmp_path / "w.pt")
    out = tmp_path / "sub" / "model.onnx"
    res = CliRunner().invoke(main, ["export", "--model", "segcnn", "--weights", str(pt), "--to", "onnx", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert str(out) in res.output and "tolerance" in res.output
    assert read_onnx_card(out)["sha256"] == sha256_bytes(out.read_bytes())
    # The .onnx file itself can be given as weights.
    rec = _load("segcnn", weights=out, device="cpu")
    assert rec.net.runtime == "onnx" and rec.charset == Charset(LATIN)


def test_export_cli_errors_are_one_line(tmp_path: Path) -> None:
    pt = _tiny_weights("segcnn", tmp_path / "w.pt")
    runner = CliRunner()
    res = runner.invoke(main, ["export", "--model", "segcnn", "--weights", str(pt), "--out", str(tmp_path / "x.bin")])
    assert res.exit_code == 1 and "must end in .onnx" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["export", "--model", "nope"])
    assert res.exit_code == 2 and "segcnn" in res.output
    with pytest.raises(ExportError, match="already an ONNX file"):
        export_onnx("segcnn", export_onnx("segcnn", pt)[0])
