"""The holistic fixed-slot CNN and the ``holistic`` recognizer (random weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from segocr.charset import CCPD_CHARSET, LATIN, Charset
from segocr.errors import WeightsError
from segocr.models.holistic import HolisticCNN, SlotAttention
from segocr.models.weights import save_weights
from segocr.recognizers.base import recognizer_names
from segocr.recognizers.holistic import HolisticConfig, HolisticRecognizer, load_holistic
from segocr.recognizers.textline import LineConfig, line_batch


@pytest.mark.parametrize(("slots", "n_classes", "size"), [(8, 37, (32, 128)), (10, len(CCPD_CHARSET) + 1, (48, 160))])
def test_output_is_batch_slots_classes(slots: int, n_classes: int, size: tuple[int, int]) -> None:
    h, w = size
    m = HolisticCNN(num_classes=n_classes, slots=slots, input_height=h, input_width=w).eval()
    assert m(torch.zeros(2, 1, h, w)).shape == (2, slots, n_classes)


def test_small_enough_for_a_cpu() -> None:
    n = sum(p.numel() for p in HolisticCNN(num_classes=37).parameters())
    assert n < 1_500_000


def test_sizes_must_be_multiples_of_16() -> None:
    with pytest.raises(ValueError, match="multiples of 16"):
        HolisticCNN(num_classes=5, input_width=100)


def _recognizer() -> HolisticRecognizer:
    torch.manual_seed(0)
    model = HolisticCNN(num_classes=len(LATIN) + 1, channels=(4, 4, 8, 8, 8), hidden=16)
    return HolisticRecognizer(model, Charset(LATIN), HolisticConfig(), device="cpu")


def test_decoding_strips_pad_slots() -> None:
    rec = _recognizer()
    lg = np.full((1, 8, len(LATIN) + 1), -5.0)
    for k, ch in enumerate("1AB2345"):
        lg[0, k, LATIN.index(ch)] = 5.0
    lg[0, 7, -1] = 5.0  # the pad
    (p,) = rec.decode(lg)
    assert p.text == "1AB2345" and p.recognizer == "holistic"
    assert len(p.chars) == 7 and all(c.confidence > 0.99 for c in p.chars)


def test_recognizer_reads_images() -> None:
    rec = _recognizer()
    imgs = [np.full((30, 90, 3), 128, np.uint8), np.zeros((50, 300, 3), np.uint8)]
    preds = rec.predict(imgs)
    assert len(preds) == 2 and all(len(p.text) <= 8 and set(p.text) <= set(LATIN) for p in preds)


def test_registered_and_missing_weights_are_a_weights_error(tmp_path: Path) -> None:
    assert "holistic" in recognizer_names()
    with pytest.raises(WeightsError):
        load_holistic(weights=tmp_path / "absent.pt")


@pytest.mark.parametrize("size", [(32, 128), (48, 160)])
def test_attention_readout_shape_and_size(size: tuple[int, int]) -> None:
    h, w = size
    m = HolisticCNN(num_classes=37, input_height=h, input_width=w, readout="attention", context=4).eval()
    assert m(torch.zeros(3, 1, h, w)).shape == (3, 8, 37)
    assert sum(p.numel() for p in m.parameters()) < 1_500_000


def test_attention_weights_are_a_distribution_over_columns() -> None:
    torch.manual_seed(0)
    m = HolisticCNN(num_classes=37, readout="attention").eval()
    assert isinstance(m.head, SlotAttention)
    with torch.no_grad():
        _, att = m.head.attention(m.features(torch.rand(2, 1, 32, 128)))
    assert att.shape == (2, 8, 16)
    assert torch.allclose(att.sum(-1), torch.ones(2, 8)) and bool((att >= 0).all())


def test_unknown_readout_is_rejected() -> None:
    with pytest.raises(ValueError, match="readout"):
        HolisticCNN(num_classes=5, readout="lstm")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": [4, 4, 8, 8, 8], "reduce": 48, "hidden": 16, "dropout": 0.1},  # the first, dense version
        {"channels": [4, 4, 8, 8, 8], "readout": "attention", "dim": 16, "context": 2, "dropout": 0.1},
    ],
)
def test_weights_round_trip_with_card(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = HolisticCNN(num_classes=len(LATIN) + 1, **{**kwargs, "channels": tuple(kwargs["channels"])})
    rec = HolisticRecognizer(model, Charset(LATIN), HolisticConfig(), device="cpu")
    card = {"model": "holistic", "charset": LATIN, "model_kwargs": kwargs, "config": HolisticConfig().model_dump(mode="json")}
    save_weights(rec.model, tmp_path / "h.pt", card)
    loaded = load_holistic(weights=tmp_path / "h.pt", device="cpu")
    x = torch.from_numpy(line_batch([np.full((30, 90, 3), 99, np.uint8)], LineConfig()))
    with torch.no_grad():
        assert torch.allclose(rec.model.eval()(x), loaded.model(x))


def test_calibration_fits_a_temperature_and_changes_confidences_not_readings() -> None:
    from segocr.training.sequence import SlotHead

    charset = Charset("AB")
    model = HolisticCNN(num_classes=3, slots=3, input_height=16, input_width=32)
    rec = HolisticRecognizer(model, charset, HolisticConfig(line=LineConfig(height=16, width=32), slots=3), device="cpu")
    rng = np.random.default_rng(0)
    labels = [[int(a), int(b)] for a, b in rng.integers(0, 2, (200, 2))]
    # Right but timid logits: 2 units for the true class (and for the pad in slot 3).
    logits = np.zeros((200, 3, 3), np.float32)
    for i, tg in enumerate(labels):
        for k, c in enumerate([*tg, 2]):
            logits[i, k, c] = 2.0
    before = rec.decode_one(logits[0])
    t = SlotHead().calibrate(rec, logits, labels)
    assert t is not None and t < 1 and rec.config.temperature == t
    after = rec.decode_one(logits[0])
    assert after.indices == before.indices == tuple(labels[0])
    assert min(after.confidences) > max(before.confidences)
