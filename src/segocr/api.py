"""The public entry points :func:`read` and :func:`load_recognizer`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from segocr.recognizers.base import Prediction, Recognizer, get_recognizer_factory


@lru_cache(maxsize=8)
def load_recognizer(
    name: str = "segcnn", *, weights: str | None = None, device: str = "auto", runtime: str = "auto"
) -> Recognizer:
    """The recognizer registered as ``name`` with its shipped weights (or ``weights``),
    on ``device`` (``auto`` takes the GPU when there is one) and ``runtime``: ``onnx``
    (ONNX Runtime on the CPU, no torch), ``torch``, or ``auto`` (onnx when onnxruntime
    is installed and the weights have an export; see :mod:`segocr.runtime`). Cached
    per arguments."""
    factory = get_recognizer_factory(name)
    if runtime == "auto":  # plug-in factories may take only (weights, device)
        return factory(weights=weights, device=device)
    return factory(weights=weights, device=device, runtime=runtime)


def read(
    image: str | Path | bytes | np.ndarray,
    *,
    model: str = "segcnn",
    device: str = "auto",
    runtime: str = "auto",
    format: str | Path | None = None,
    topn: int = 1,
) -> Prediction:
    """Read one plate from a path, encoded bytes or an array (see
    :func:`segocr.io.read_image`); ``runtime`` as in :func:`load_recognizer`.

    ``format``: a plate format (a registered name such as ``cz``, ``auto``, or a path
    to a YAML file; see :mod:`segocr.formats`); the reading follows it and
    ``info["format"]`` names the one followed (``None``: none fitted). ``topn`` > 1
    puts the N most likely readings in ``info["topn"]`` as (text, probability) pairs.

    Raises :class:`segocr.errors.ImageReadError` when the image cannot be read.
    """
    from segocr.io import read_image

    rec = load_recognizer(model, device=device, runtime=runtime)
    if format is not None or topn > 1:
        from segocr.formats.decoding import DecodeOptions

        options = DecodeOptions(format=format, topn=topn)
        return rec.predict([read_image(image)], options=options)[0]  # type: ignore[call-arg]
    return rec.predict([read_image(image)])[0]
