"""The search-steered harvest of segcnn training crops (:func:`harvest_search`), with stub
classifiers on clean synthetic plates: no network, seeded, offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample
from segocr.datasets.synthetic import DEFAULT_CONFIG, render_plate
from segocr.recognizers.segcnn import SegCNNConfig
from segocr.training.harvest import SearchHarvestConfig, harvest_search

CHARSET = Charset(LATIN)
TEXTS = ("1AB2345", "7C01234")


def _samples() -> list[PlateSample]:
    rng = np.random.default_rng(5)
    return [
        PlateSample(id=t, text=t, image=render_plate(t, rng=rng, config=DEFAULT_CONFIG.clean(), style="cz").image)
        for t in TEXTS
    ]


def _flat(p_char: float) -> Callable[[np.ndarray], np.ndarray]:
    """A stub classifier: every character class at ``p_char``, noise at 0.05."""

    def classify(crops: np.ndarray) -> np.ndarray:
        out = np.full((len(crops), len(CHARSET) + 1), p_char, np.float32)
        out[:, -1] = 0.05
        return out

    return classify


def _harvest(p_char: float, **cfg: Any) -> tuple[np.ndarray, np.ndarray, int]:
    chars, noise = harvest_search(
        _samples(), CHARSET, SegCNNConfig(), SearchHarvestConfig(**cfg),
        classify=_flat(p_char), rng=np.random.default_rng(0),
    )  # fmt: skip
    assert chars.x.shape[1:] == (32, 32) and chars.x.dtype == np.float32
    return chars.y, noise.y, len(noise.x)


def test_a_forced_reading_gives_each_label_character_one_crop_in_order() -> None:
    labels, noise, _ = _harvest(0.9, noise_per_plate=0)
    assert labels.tolist() == [c for t in TEXTS for c in CHARSET.encode(t)]
    assert len(noise) == 0


def test_an_unanchored_reading_is_not_used() -> None:
    """Every character unsure (0.3 < min_sure): nothing unless that many may be unsure."""
    labels, noise, _ = _harvest(0.3, max_unsure=2)
    assert len(labels) == 0 and len(noise) == 0
    labels, _, _ = _harvest(0.3, max_unsure=7)
    assert len(labels) == sum(len(t) for t in TEXTS)


def test_noise_crops_are_noise_and_capped_per_plate() -> None:
    _, noise, n = _harvest(0.9, noise_per_plate=1, noise_iou=1.0)
    assert 1 <= n <= len(TEXTS)
    assert set(noise.tolist()) == {len(CHARSET)}
