"""The segcnn recognizer's pieces, tested without trained weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segocr.charset import LATIN, Charset
from segocr.models.charcnn import CharCNN
from segocr.recognizers.base import Prediction, Recognizer
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer, crop_char
from segocr.segment.boxes import CharBox
from segocr.training.harvest import align_boxes
from segocr.training.segcnn import length_logp


def _recognizer(**cfg: object) -> SegCNNRecognizer:
    torch.manual_seed(0)
    return SegCNNRecognizer(CharCNN(len(LATIN) + 1, width=4), Charset(LATIN), SegCNNConfig(**cfg), device="cpu")


def test_char_cnn_is_small_and_returns_logits() -> None:
    m = CharCNN(37)
    assert sum(p.numel() for p in m.parameters()) <= 300_000
    out = m(torch.zeros(3, 1, 32, 32))
    assert out.shape == (3, 37)


def test_crop_char_is_normalized_square_and_polarity_aware() -> None:
    img = np.full((40, 100), 220, np.uint8)
    img[10:30, 20:28] = 30
    c = crop_char(img, CharBox(20, 10, 8, 20), size=24)
    assert c.shape == (24, 24) and c.dtype == np.float32
    assert abs(float(c.mean())) < 1e-4
    assert c[12, 12] < 0 < c[12, 1]  # dark ink stays below the mean, padding above
    inv = crop_char(255 - img, CharBox(20, 10, 8, 20), size=24, invert=True)
    assert np.allclose(inv, c, atol=1e-4)
    edge = crop_char(img, CharBox(95, 35, 10, 10))  # partly outside: clipped, no error
    assert edge.shape == (32, 32)


def test_read_hypothesis_drops_noise_and_adds_length_prior() -> None:
    rec = _recognizer(length_logp={2: math.log(0.9), 3: math.log(0.1)})
    n = len(LATIN) + 1
    probs = np.full((3, n), 0.001, np.float32)
    probs[0, 10] = 0.9  # "A"
    probs[1, n - 1] = 0.9  # noise
    probs[2, 1] = 0.9  # "1"
    keep, score = rec.read_hypothesis(probs)
    assert keep == [0, 2]
    assert score == pytest.approx(3 * math.log(0.9) + math.log(0.9), rel=1e-4)


def test_predict_returns_one_prediction_per_image_even_for_blank() -> None:
    rec = _recognizer()
    assert isinstance(rec, Recognizer)
    imgs = [np.full((30, 100, 3), 255, np.uint8), np.zeros((5, 5, 3), np.uint8)]
    preds = rec.predict(imgs)
    assert len(preds) == 2 and all(isinstance(p, Prediction) for p in preds)
    assert preds[0].text == "" and preds[0].confidence == 0.0 and preds[0].info["n_segments"] == 0
    assert rec.predict([]) == []


def test_cascade_gives_the_same_reading_as_trying_everything_when_confident() -> None:
    from segocr.datasets.synthetic import DEFAULT_CONFIG, render_plate

    rng = np.random.default_rng(0)
    plate = render_plate("1AB2345", rng=rng, config=DEFAULT_CONFIG.clean(), style="cz")
    full = _recognizer(cascade_confidence=None).predict([plate.image])[0]
    assert full.info["n_hypotheses"] >= 1
    # An untrained model is never confident, so the cascade falls through to all
    # binarizations and must reach the same reading.
    assert _recognizer(cascade_confidence=0.99).predict([plate.image])[0].text == full.text


def test_prediction_boxes_are_in_original_coordinates() -> None:
    from segocr.datasets.synthetic import DEFAULT_CONFIG, render_plate

    rng = np.random.default_rng(1)
    plate = render_plate("5B12345", rng=rng, config=DEFAULT_CONFIG.clean(), style="cz")
    pred = _recognizer().predict([plate.image])[0]
    h, w = plate.image.shape[:2]
    for c in pred.chars:
        assert c.box is not None and 0 <= c.box.x < w and c.box.y2 <= h + 2


def test_align_boxes_picks_the_best_monotone_path() -> None:
    # 4 boxes, label of 2: boxes 1 and 3 read the label, 0 and 2 are noise.
    lc = np.log(np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.2], [0.1, 0.9]]))
    ln = np.log(np.array([0.9, 0.05, 0.8, 0.05]))
    assert align_boxes(lc, ln) == [1, 3]
    assert align_boxes(np.zeros((1, 2)), np.zeros(1)) is None


def test_length_prior_is_normalized() -> None:
    lp = length_logp(["ABCDEFG"] * 9 + ["ABCDE"], max_len=10)
    assert sum(math.exp(v) for v in lp.values()) == pytest.approx(1.0)
    assert max(lp, key=lambda k: lp[k]) == 7
