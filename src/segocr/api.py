"""The public entry points :func:`read` and :func:`load_recognizer`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from segocr.recognizers.base import Prediction, Recognizer, get_recognizer_factory


@lru_cache(maxsize=8)
def load_recognizer(name: str = "segcnn", *, weights: str | None = None, device: str = "auto") -> Recognizer:
    """The recognizer registered as ``name`` with its shipped weights (or ``weights``),
    on ``device`` (``auto`` takes the GPU when there is one). Cached per arguments."""
    return get_recognizer_factory(name)(weights=weights, device=device)


def read(image: str | Path | bytes | np.ndarray, *, model: str = "segcnn", device: str = "auto") -> Prediction:
    """Read one plate from a path, encoded bytes or an array (see
    :func:`segocr.io.read_image`).

    Raises :class:`segocr.errors.ImageReadError` when the image cannot be read.
    """
    from segocr.io import read_image

    return load_recognizer(model, device=device).predict([read_image(image)])[0]
