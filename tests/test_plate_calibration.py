"""Plate-confidence calibration shared by segcnn and crnn: the formula, its use by the
CRNN's predictions, and the fit on validation plates (hand-made readings, no model)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from segocr.charset import Charset
from segocr.recognizers.base import CharPrediction, Prediction, calibrated_confidence
from segocr.recognizers.crnn import CRNNConfig, CRNNRecognizer
from segocr.recognizers.decode import Decoded
from segocr.training.mixdata import calibrate_plates


def test_the_formula_and_its_monotone_map() -> None:
    cal = (-1.0, -0.5, 0.0, 0.3)
    x = -2 * math.log(0.9)
    want = 1 / (1 + math.exp(-(-math.log(x) - 0.5 * x + 0.3)))
    assert calibrated_confidence([0.9, 0.9], cal) == pytest.approx(want)
    sure, unsure = calibrated_confidence([0.999] * 7, cal), calibrated_confidence([0.6] * 7, cal)
    assert 0 < unsure < sure < 1


def _crnn(calibration: Any) -> CRNNRecognizer:
    rec = CRNNRecognizer.__new__(CRNNRecognizer)
    rec.charset = Charset("AB12")
    rec.config = CRNNConfig(plate_calibration=calibration)
    rec.name = "crnn"
    return rec


def test_crnn_predictions_take_the_calibrated_plate_confidence() -> None:
    decoded = Decoded((0, 2), (0.9, 0.8))
    plain = _crnn(None).to_prediction(decoded)
    assert plain.text == "A1" and plain.confidence == pytest.approx(0.72)
    cal = (-1.0, 0.0, 0.0, -0.5)
    got = _crnn(cal).to_prediction(decoded)
    assert got.text == "A1" and [c.confidence for c in got.chars] == [0.9, 0.8]
    assert got.confidence == pytest.approx(calibrated_confidence([0.9, 0.8], cal))
    assert _crnn(cal).to_prediction(Decoded((), ())).confidence == 0.0


class _Reader:
    """Returns given readings; ``config`` as a recognizer's."""

    def __init__(self, preds: Sequence[Prediction]) -> None:
        self.preds = list(preds)
        self.config = CRNNConfig()

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        return self.preds[: len(images)]


def test_calibrate_plates_fits_on_the_readings_and_sets_the_config() -> None:
    rng = np.random.default_rng(0)
    preds, texts = [], []
    for _ in range(400):  # an over-confident reader: 0.99 a character, right 60% of the time
        right = rng.random() < 0.6
        preds.append(Prediction.from_chars([CharPrediction(c, 0.99) for c in "AB12"], "crnn"))
        texts.append("AB12" if right else "AB11")
    reader = _Reader(preds)
    cal = calibrate_plates(reader, [np.zeros((4, 4, 3), np.uint8)] * len(preds), texts)
    assert cal is not None and reader.config.plate_calibration == cal
    assert calibrated_confidence([0.99] * 4, cal) == pytest.approx(0.6, abs=0.05)
    all_right = _Reader(preds[:3])
    assert calibrate_plates(all_right, [np.zeros((4, 4, 3), np.uint8)] * 3, ["AB12"] * 3) is None
    assert all_right.config.plate_calibration is None
