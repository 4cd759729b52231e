"""The public entry points :func:`read`, :func:`read_plates` and :func:`load_recognizer`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from segocr.recognizers.base import DEFAULT_MODEL, Prediction, Recognizer, get_recognizer_factory
from segocr.rows import DEFAULT_ROWS, with_rows


@lru_cache(maxsize=8)
def load_recognizer(
    name: str = DEFAULT_MODEL, *, weights: str | None = None, device: str = "auto", runtime: str = "auto"
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
    model: str = DEFAULT_MODEL,
    device: str = "auto",
    runtime: str = "auto",
    format: str | Path | None = None,
    topn: int = 1,
    locate: str = "auto",
    rows: str = DEFAULT_ROWS,
) -> Prediction:
    """Read one plate from a path, encoded bytes or an array (see
    :func:`segocr.io.read_image`); ``runtime`` as in :func:`load_recognizer`.

    ``locate``: ``auto`` reads a plate crop as it is and finds the plate in a whole
    photo first (the best one is returned, its corners in ``info["quad"]``; see
    :mod:`segocr.locate.pipeline` for how a crop is told from a photo), ``always``
    locates, ``never`` reads every image as a crop. :func:`read_plates` gives every
    plate of a photo. Raises :class:`segocr.errors.NoPlateFoundError` for a photo
    in which no plate is found.

    ``format``: a plate format (a registered name such as ``cz``, ``auto``, or a path
    to a YAML file; see :mod:`segocr.formats`); the reading follows it and
    ``info["format"]`` names the one followed (``None``: none fitted). ``topn`` > 1
    puts the N most likely readings in ``info["topn"]`` as (text, probability) pairs.

    ``rows``: two-row plates (:mod:`segocr.rows`): ``auto`` reads a crop found to
    hold two text rows as its rows side by side (top row first), ``two`` always splits,
    ``one`` never.

    Raises :class:`segocr.errors.ImageReadError` when the image cannot be read.
    """
    from segocr.io import read_image

    if locate != "never":
        from segocr.errors import NoPlateFoundError

        plates = read_plates(image, model=model, device=device, runtime=runtime, format=format, topn=topn, locate=locate, rows=rows)
        if not plates:
            raise NoPlateFoundError("no licence plate found in the photo (locate='never' reads it as a plate crop)")
        return plates[0]
    rec = with_rows(load_recognizer(model, device=device, runtime=runtime), rows)
    if format is not None or topn > 1:
        from segocr.formats.decoding import DecodeOptions

        options = DecodeOptions(format=format, topn=topn)
        return rec.predict([read_image(image)], options=options)[0]
    return rec.predict([read_image(image)])[0]


def read_plates(
    image: str | Path | bytes | np.ndarray,
    *,
    model: str = DEFAULT_MODEL,
    device: str = "auto",
    runtime: str = "auto",
    format: str | Path | None = None,
    topn: int = 1,
    locate: str = "auto",
    rows: str = DEFAULT_ROWS,
) -> list[Prediction]:
    """Every plate of one image, best first: one prediction for a plate crop, one per
    plate located in a photo (``info["quad"]``: its four corners in the input image,
    top-left first, clockwise; ``info["plate_score"]``), none when a photo holds no
    plate. Arguments as in :func:`read`.

    >>> import numpy as np
    >>> read_plates(np.full((720, 1280, 3), 128, np.uint8))
    []
    """
    from segocr.io import read_image
    from segocr.locate import LocatingReader
    from segocr.locate.pipeline import load_verifier

    rec: Recognizer = load_recognizer(model, device=device, runtime=runtime)
    if format is not None or topn > 1:
        from segocr.formats.decoding import DecodeOptions, FormattedRecognizer

        rec = FormattedRecognizer(rec, DecodeOptions(format=format, topn=topn))  # type: ignore[assignment]
    rec = with_rows(rec, rows)
    verifier = load_verifier(device=device, runtime=runtime)
    reader = LocatingReader(rec, verifier, mode=locate)  # type: ignore[arg-type]
    return reader.read([read_image(image)])[0]
