"""The CRNN model, its text-line input and the ``crnn`` recognizer (random weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from segocr.charset import LATIN, Charset
from segocr.errors import WeightsError
from segocr.models.crnn import CRNN
from segocr.models.weights import save_weights
from segocr.recognizers.base import Prediction, recognizer_names
from segocr.recognizers.crnn import CRNNConfig, CRNNRecognizer, load_crnn
from segocr.recognizers.textline import LineConfig, line_batch, line_gray, normalize_line

TINY = {"channels": [4, 4, 8, 8, 8, 8], "hidden": 8, "dropout": 0.0}


@pytest.mark.parametrize(("height", "width", "channels"), [(32, 128, 1), (32, 96, 1), (48, 160, 3)])
def test_output_is_batch_time_classes(height: int, width: int, channels: int) -> None:
    m = CRNN(num_classes=37, in_channels=channels, input_height=height).eval()
    out = m(torch.zeros(3, channels, height, width))
    assert out.shape == (3, width // 2, 37)
    assert out.dtype == torch.float32


def test_default_size_suits_a_cpu() -> None:
    n = sum(p.numel() for p in CRNN(num_classes=37).parameters())
    assert 200_000 < n < 1_200_000


def test_height_must_be_a_multiple_of_16() -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        CRNN(num_classes=5, input_height=30)


def test_line_keeps_aspect_and_pads_right() -> None:
    img = np.zeros((40, 80, 3), np.uint8)
    img[10:30, 10:70] = 255
    line = line_gray(img, height=32, max_width=128)
    assert line.shape == (32, 64)
    x = normalize_line(line, width=128)
    assert x.shape == (32, 128) and x.dtype == np.float32
    assert np.all(x[:, 64:] == 0) and abs(float(x[:, :64].mean())) < 1e-5
    wide = line_gray(np.zeros((10, 200, 3), np.uint8), height=32, max_width=128)
    assert wide.shape == (32, 128)  # squeezed only when wider than 4:1
    assert line_batch([img, img], LineConfig()).shape == (2, 1, 32, 128)


def test_line_config_needs_multiples_of_16() -> None:
    with pytest.raises(ValueError, match="multiples of 16"):
        LineConfig(height=30)


def _tiny_recognizer(seed: int = 0) -> CRNNRecognizer:
    torch.manual_seed(seed)
    model = CRNN(num_classes=len(LATIN) + 1, channels=(4, 4, 8, 8, 8, 8), hidden=8, dropout=0.0)
    return CRNNRecognizer(model, Charset(LATIN), CRNNConfig(), device="cpu")


def test_recognizer_reads_any_batch() -> None:
    rec = _tiny_recognizer()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in [(30, 100), (60, 150), (20, 200)]]
    preds = rec.predict(images)
    assert len(preds) == 3 and all(isinstance(p, Prediction) for p in preds)
    for p in preds:
        assert p.recognizer == "crnn" and set(p.text) <= set(LATIN)
        assert len(p.chars) == len(p.text) and 0.0 <= p.confidence <= 1.0
    assert rec.predict([]) == []


def test_greedy_and_beam_agree_on_confident_logits() -> None:
    rec = _tiny_recognizer()
    lg = np.full((32, len(LATIN) + 1), -10.0)
    lg[:, -1] = 0.0
    for t, ch in zip((2, 6, 10, 14), "9B52"):
        lg[t, LATIN.index(ch)] = 10.0
    greedy = CRNNRecognizer(rec.model, rec.charset, CRNNConfig(decoder="greedy"), device="cpu")
    assert rec.decode(lg[None])[0].text == greedy.decode(lg[None])[0].text == "9B52"


def test_registered_and_missing_weights_are_a_weights_error(tmp_path: Path) -> None:
    assert "crnn" in recognizer_names()
    with pytest.raises(WeightsError):
        load_crnn(weights=tmp_path / "absent.pt")


def test_weights_round_trip_with_card(tmp_path: Path) -> None:
    rec = _tiny_recognizer(seed=3)
    card = {
        "model": "crnn",
        "charset": LATIN,
        "model_kwargs": TINY,
        "config": CRNNConfig(decoder="greedy").model_dump(mode="json"),
    }
    save_weights(rec.model, tmp_path / "crnn.pt", card)
    loaded = load_crnn(weights=tmp_path / "crnn.pt", device="cpu")
    img = np.random.default_rng(1).integers(0, 256, size=(40, 120, 3), dtype=np.uint8)
    x = torch.from_numpy(line_batch([img], LineConfig()))
    with torch.no_grad():
        assert torch.allclose(rec.model(x), loaded.model(x))
    assert loaded.config.decoder == "greedy"
    # A card for another model size does not fit: a clear error, not a crash.
    card["model_kwargs"] = {**TINY, "hidden": 16}
    save_weights(rec.model, tmp_path / "bad.pt", card)
    with pytest.raises(WeightsError, match="do not fit"):
        load_crnn(weights=tmp_path / "bad.pt")
