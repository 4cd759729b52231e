"""Any recognizer reading two-row plates: :class:`RowsRecognizer`.

It wraps a :class:`~segocr.recognizers.base.Recognizer` (segcnn, crnn, holistic, or a
:class:`~segocr.formats.decoding.FormattedRecognizer`): each image is split by
:func:`~segocr.rows.split.find_rows`; a one-row image is passed on as it is (its
reading is the inner recognizer's, unchanged), a two-row image as the stitched row
image (:func:`~segocr.rows.split.stitch`), all in one batch. The reading of a two-row
plate has its character boxes mapped back into the input image and
``info["rows"] = 2`` with ``info["row_bands"]``, the rows' (y0, y1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from segocr.recognizers.base import CharPrediction, Prediction
from segocr.rows.split import ROWS_MODES, RowsConfig, Stitched, find_rows, stitch


class RowsRecognizer:
    """``inner`` reading two-row plates as stitched one-row images (module docstring).

    >>> class Echo:
    ...     name = "echo"
    ...     def predict(self, images):
    ...         return [Prediction(f"{im.shape[1]}x{im.shape[0]}", 1.0) for im in images]
    >>> r = RowsRecognizer(Echo(), RowsConfig(mode="one"))
    >>> r.name, r.predict([np.zeros((20, 90, 3), np.uint8)])[0].text
    ('echo', '90x20')
    """

    def __init__(self, inner: Any, config: RowsConfig | None = None) -> None:
        self.inner = inner
        config = config or RowsConfig()
        self.name: str = str(getattr(inner, "name", "recognizer"))
        self.charset = getattr(inner, "charset", None)
        self.card = getattr(inner, "card", None)
        line = getattr(inner, "line", None) or getattr(getattr(inner, "inner", None), "line", None)
        if config.trim_to == "auto":  # the wider cut for line readers only
            config = config.model_copy(update={"trim_to": "plate" if line is not None else "row"})
        self.config = config
        #: A line recognizer's input width / height (crnn, holistic): the stitched rows
        #: are padded to it (``RowsConfig.fit_line``); None for segcnn.
        self.line_aspect: float | None = (
            line.width / line.height
            if self.config.fit_line and line is not None and hasattr(line, "width")
            else None
        )

    @property
    def one_row_reader(self) -> Any:
        """The recognizer that reads the images not split: the inner one."""
        return self.inner

    def splits(self, image: np.ndarray) -> bool:
        """True when ``image`` (uint8 (H, W, 3)) is read as two rows."""
        return self.config.mode != "one" and find_rows(image, self.config).n_rows > 1

    def prepare(
        self, images: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[Stitched | None]]:
        """What the inner recognizer reads for each of ``images`` (uint8 (H, W, 3)):
        the image itself, or its stitched rows; and the stitching (None: one row)."""
        inputs: list[np.ndarray] = []
        layouts: list[Stitched | None] = []
        for image in images:
            split = find_rows(image, self.config) if self.config.mode != "one" else None
            if split is None or split.n_rows == 1:
                inputs.append(image)
                layouts.append(None)
            else:
                st = stitch(image, split, self.config, line_aspect=self.line_aspect)
                inputs.append(st.image)
                layouts.append(st)
        return inputs, layouts

    def predict(self, images: Sequence[np.ndarray], **kwargs: Any) -> list[Prediction]:
        """One prediction per image of ``images`` (uint8 (H, W, 3)); ``kwargs`` (e.g.
        ``options=``) go to the inner recognizer's ``predict``. With ``config.join ==
        "separate"`` each row is read as an image of its own and the readings are
        joined (text top row first, confidence the product)."""
        if self.config.mode == "one":
            return list(self.inner.predict(images, **kwargs))
        inputs, layouts = self.prepare(images)
        if self.config.join == "stitch":
            preds = list(self.inner.predict(inputs, **kwargs))
            return [
                p if st is None else _mapped(p, st) for p, st in zip(preds, layouts, strict=True)
            ]
        flat: list[np.ndarray] = []
        for im, st in zip(inputs, layouts, strict=True):
            flat.extend([im] if st is None else [st.image[:, s.x0 : s.x1] for s in st.segments])
        read = iter(self.inner.predict(flat, **kwargs))
        out = []
        for st in layouts:
            if st is None:
                out.append(next(read))
                continue
            parts = [next(read) for _ in st.segments]
            chars = [
                CharPrediction(
                    c.char,
                    c.confidence,
                    None if c.box is None else replace(c.box, x=c.box.x + seg.x0),
                )
                for part, seg in zip(parts, st.segments, strict=True)
                for c in part.chars
            ]
            joined = replace(
                parts[0],
                text="".join(p.text for p in parts),
                confidence=float(np.prod([p.confidence for p in parts])),
                chars=tuple(chars),
                info={**parts[0].info, "row_readings": [p.text for p in parts]},
            )
            out.append(_mapped(joined, st))
        return out


def _mapped(pred: Prediction, st: Stitched) -> Prediction:
    """``pred`` of the stitched image of ``st`` with its boxes in the input image."""
    chars = tuple(
        CharPrediction(c.char, c.confidence, st.to_original(c.box) if c.box is not None else None)
        for c in pred.chars
    )
    bands = [[s.y0, s.y1] for s in st.segments]
    return replace(
        pred, chars=chars, info={**pred.info, "rows": len(st.segments), "row_bands": bands}
    )


def with_rows(recognizer: Any, config: RowsConfig | str | None) -> Any:
    """``recognizer`` wrapped in :class:`RowsRecognizer` unless rows are off: a
    ``config`` (or mode name) of ``one``, or None, gives ``recognizer`` itself. A
    recognizer with a ``with_rows(config)`` method (an ensemble) does it itself.

    >>> class R:
    ...     name = "r"
    >>> rec = R()
    >>> with_rows(rec, "one") is rec, type(with_rows(rec, "auto")).__name__
    (True, 'RowsRecognizer')
    """
    if config is None:
        return recognizer
    delegate = getattr(recognizer, "with_rows", None)
    if callable(delegate):  # e.g. an ensemble wraps each of its members
        return delegate(config)
    if isinstance(config, str) and config not in ROWS_MODES:
        raise ValueError(f"unknown rows mode {config!r}; choose one of: {', '.join(ROWS_MODES)}")
    cfg = RowsConfig(mode=config) if isinstance(config, str) else config
    if cfg.mode == "one":
        return recognizer
    return RowsRecognizer(recognizer, cfg)
