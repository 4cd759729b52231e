"""Test helper: a segcnn weight file (with its card) holding an untrained CharCNN.

It reads nonsense, but it is a real file that loads through the real loader, in this
process and in joblib/Dask workers alike, without training anything and without the
shipped weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from segocr.charset import LATIN, Charset
from segocr.models.charcnn import CharCNN
from segocr.models.weights import save_weights
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer

WIDTH = 4  # a tiny network: the tests only need its shape to be right


def untrained_model(seed: int = 0) -> CharCNN:
    torch.manual_seed(seed)
    return CharCNN(num_classes=len(LATIN) + 1, width=WIDTH).eval()


def untrained_recognizer(seed: int = 0) -> SegCNNRecognizer:
    return SegCNNRecognizer(untrained_model(seed), Charset(LATIN), SegCNNConfig(), device="cpu")


def write_untrained_segcnn(path: Path, seed: int = 0) -> dict[str, Any]:
    """Write ``path`` (``.pt``) and its card; returns the card."""
    card = {
        "model": "segcnn",
        "architecture": "CharCNN",
        "model_kwargs": {"width": WIDTH},
        "charset": LATIN,
        "config": SegCNNConfig().model_dump(mode="json"),
        "training": {"dataset": "none (untrained, for tests)"},
    }
    return save_weights(untrained_model(seed), path, card)
