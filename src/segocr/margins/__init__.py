"""Reading a crop at several margins: the same plate framed tighter or looser.

A recognizer trained on crops of one tightness reads crops of another worse: a crop
whose characters touch its edges (a detector's tight box) loses the outer characters,
while one with wide margins reads part of the car as characters. A user's crops come
from their own detector or hand, so the reader cannot assume one tightness. Here an
image is read as given and again with extra margins around it (its edge pixels
replicated: no new content), and the most confident reading is kept. Which margins to
try is a config value chosen on validation plates (the default ensemble's card,
``benchmarks/ensemble_validation.py``); character boxes and row bands of a padded read
are mapped back into the given image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import cv2
import numpy as np

from segocr.recognizers.base import CharPrediction, Prediction  # noqa: F401 -- CharPrediction: the doctests
from segocr.segment.boxes import CharBox

#: Reads a batch of uint8 (H, W, 3) images, one prediction each.
Reader = Callable[[Sequence[np.ndarray]], list[Prediction]]


def pad_crop(image: np.ndarray, margin: float) -> tuple[np.ndarray, tuple[int, int]]:
    """``image`` (H, W[, C]) with ``round(margin * H)`` rows above and below and
    ``round(margin * W)`` columns left and right, its edge pixels replicated; and that
    offset ``(dx, dy)`` of the original's top-left corner in the result.

    >>> img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    >>> out, (dx, dy) = pad_crop(img, 0.5)
    >>> out.shape, (dx, dy), out[dy:dy + 2, dx:dx + 3].tolist() == img.tolist()
    ((4, 7), (2, 1), True)
    >>> pad_crop(img, 0.0)[0] is img
    True
    """
    if margin < 0:
        raise ValueError(f"a margin is a fraction >= 0 of the image size, got {margin}")
    h, w = image.shape[:2]
    dy, dx = round(margin * h), round(margin * w)
    if dx == 0 and dy == 0:
        return image, (0, 0)
    return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_REPLICATE), (dx, dy)


def _unpad_box(box: CharBox | None, dx: int, dy: int, w: int, h: int) -> CharBox | None:
    """``box`` of a padded image in the original (``w`` x ``h``), clipped to it."""
    if box is None:
        return None
    x0, y0 = min(max(box.x - dx, 0), w - 1), min(max(box.y - dy, 0), h - 1)
    x1, y1 = min(max(box.x2 - dx, x0 + 1), w), min(max(box.y2 - dy, y0 + 1), h)
    return CharBox(x0, y0, x1 - x0, y1 - y0)


def unpad_prediction(pred: Prediction, offset: tuple[int, int], shape: tuple[int, ...]) -> Prediction:
    """``pred`` of an image padded by :func:`pad_crop` (``offset``) with its character
    boxes and row bands (``info["row_bands"]``) in the original image of ``shape``.

    >>> p = Prediction("A", 0.9, (CharPrediction("A", 0.9, CharBox(12, 3, 5, 9)),), "x", {"row_bands": [(2, 14)]})
    >>> q = unpad_prediction(p, (10, 2), (10, 20, 3))
    >>> q.chars[0].box, q.info["row_bands"]
    (CharBox(x=2, y=1, w=5, h=9), [(0, 10)])
    """
    dx, dy = offset
    if dx == 0 and dy == 0:
        return pred
    h, w = shape[:2]
    chars = tuple(replace(c, box=_unpad_box(c.box, dx, dy, w, h)) for c in pred.chars)
    info = dict(pred.info)
    if "row_bands" in info:
        info["row_bands"] = [(min(max(a - dy, 0), h), min(max(b - dy, 0), h)) for a, b in info["row_bands"]]
    return replace(pred, chars=chars, info=info)


def rows_of(pred: Prediction) -> int:
    """Text rows a reading was read as (``info["rows"]``, set by :mod:`segocr.rows`).

    >>> rows_of(Prediction("AB12", 0.9, info={"rows": 2})), rows_of(Prediction("AB12", 0.9))
    (2, 1)
    """
    return int(pred.info.get("rows", 1))


def read_at_margins(
    read: Reader,
    images: Sequence[np.ndarray],
    margins: Sequence[float],
    *,
    retry_below: float | None = None,
    keep_rows: bool = False,
) -> list[Prediction]:
    """Each image read by ``read`` at every margin of ``margins`` (fractions of its
    size added on each side, :func:`pad_crop`), keeping the most confident reading (on
    a tie the earlier margin's); ``info["margin"]`` says which, and ``info["retried"]``
    whether the image was read at more than one margin. One batch per margin. With
    ``retry_below``, an image read at the first margin with at least that confidence is
    not read at the others. With ``keep_rows``, a reading at another margin counts only
    when it has as many text rows (``info["rows"]``, :mod:`segocr.rows`; 1 when absent)
    as the first margin's: a margin reframes the crop, it does not make a two-row plate
    one row (a padded crop in which no second row is found reads its top row alone,
    often more confidently than the two rows together).

    >>> def read(imgs):  # confident only when the image is wider than 4 pixels
    ...     return [Prediction("AB", 0.9 if im.shape[1] > 4 else 0.2) for im in imgs]
    >>> [p.info["margin"] for p in read_at_margins(read, [np.zeros((4, 4, 3), np.uint8)] * 2, (0.0, 0.25))]
    [0.25, 0.25]
    >>> [p.info["margin"] for p in read_at_margins(read, [np.zeros((4, 4, 3), np.uint8)], (0.0, 0.25), retry_below=0.1)]
    [0.0]
    >>> def rows(imgs):  # the padded crop is read as one row, confidently
    ...     return [Prediction("AB", 0.99) if im.shape[1] > 4 else Prediction("AB12", 0.6, info={"rows": 2}) for im in imgs]
    >>> [p.text for p in read_at_margins(rows, [np.zeros((4, 4, 3), np.uint8)], (0.0, 0.25))]
    ['AB']
    >>> [p.text for p in read_at_margins(rows, [np.zeros((4, 4, 3), np.uint8)], (0.0, 0.25), keep_rows=True)]
    ['AB12']
    """
    if not margins:
        raise ValueError("read_at_margins needs at least one margin")
    best: list[Prediction] = []
    todo = list(range(len(images)))
    for k, margin in enumerate(margins):
        padded = [pad_crop(images[i], margin) for i in todo]
        preds = read([p for p, _ in padded]) if todo else []
        for i, pred, (_, offset) in zip(todo, preds, padded, strict=True):
            pred = unpad_prediction(pred, offset, images[i].shape)
            pred = replace(pred, info={**pred.info, "margin": margin})
            if k == 0:
                best.append(pred)
            elif pred.confidence > best[i].confidence and (not keep_rows or rows_of(pred) == rows_of(best[i])):
                best[i] = pred
        if k == 0 and retry_below is not None:
            todo = [i for i in todo if best[i].confidence < retry_below]
    retried = set(todo) if len(margins) > 1 else set()
    return [replace(p, info={**p.info, "retried": i in retried}) for i, p in enumerate(best)]


__all__ = ["Reader", "pad_crop", "read_at_margins", "rows_of", "unpad_prediction"]
