"""Drawing a reading onto its image, for people who would rather look than read JSON.

:func:`annotate` takes the uint8 RGB image ``(H, W, 3)`` that was read and a
:class:`~segocr.recognizers.base.Prediction` (or just boxes, text and confidence) and
returns a new, larger RGB image: the input scaled up to a readable size, each
character's box and value drawn on it, an optional quadrilateral (e.g. a plate found
by a locator in a full frame, as four ``(x, y)`` corners) and a caption strip below
with the text and the plate confidence. Only OpenCV drawing is used; the input is
never modified.

>>> import numpy as np
>>> from segocr.recognizers.base import CharPrediction, Prediction
>>> from segocr.segment.boxes import CharBox
>>> img = np.full((20, 60, 3), 255, np.uint8)
>>> pred = Prediction.from_chars([CharPrediction("A", 0.9, CharBox(5, 3, 10, 14))], "x")
>>> out = annotate(img, pred)
>>> out.dtype, out.shape[1] >= 60, img.min()          # a new image; the input untouched
(dtype('uint8'), True, np.uint8(255))
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from segocr.recognizers.base import Prediction
from segocr.segment.boxes import CharBox

__all__ = ["annotate", "confidence_colour", "draw_quadrilateral"]

#: The drawn image is scaled so that its height is at least this many pixels (plate
#: crops are often 20-40 px high, too small to see boxes and labels on).
MIN_HEIGHT = 120
#: ... and its width at most this many (a full camera frame stays as it is).
MAX_WIDTH = 1600

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def confidence_colour(confidence: float) -> tuple[int, int, int]:
    """RGB colour of a confidence: red (0) through amber to green (1).

    >>> confidence_colour(1.0), confidence_colour(0.0)
    ((0, 200, 0), (220, 0, 0))
    """
    c = min(max(float(confidence), 0.0), 1.0)
    return (round(220 * (1 - c)), round(200 * c), 0)


def _scale_for(height: int, width: int) -> float:
    scale = max(1.0, MIN_HEIGHT / max(height, 1))
    return min(scale, max(1.0, MAX_WIDTH / max(width, 1)))


def draw_quadrilateral(
    canvas: np.ndarray,
    corners: Sequence[tuple[float, float]],
    *,
    scale: float = 1.0,
    colour: tuple[int, int, int] = (0, 120, 255),
    thickness: int = 2,
) -> np.ndarray:
    """Draw the closed polygon through four ``(x, y)`` corners (input-image pixels,
    multiplied by ``scale``) on ``canvas`` (uint8 RGB (H, W, 3), modified in place and
    returned). Raises :class:`ValueError` unless there are exactly four finite corners.

    >>> c = draw_quadrilateral(np.zeros((10, 10, 3), np.uint8), [(1, 1), (8, 1), (8, 8), (1, 8)], thickness=1)
    >>> bool(c[1, 5, 2] > 200), int(c[5, 5, 2])          # on the edge, inside
    (True, 0)
    """
    pts = np.asarray(corners, dtype=np.float64)
    if pts.shape != (4, 2) or not np.isfinite(pts).all():
        raise ValueError(f"a quadrilateral needs 4 finite (x, y) corners, got shape {pts.shape}")
    poly = np.rint(pts * scale).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [poly], isClosed=True, color=colour, thickness=thickness, lineType=cv2.LINE_AA)
    return canvas


def annotate(
    image: np.ndarray,
    prediction: Prediction | None = None,
    *,
    boxes: Sequence[tuple[str, float, CharBox | None]] | None = None,
    text: str | None = None,
    confidence: float | None = None,
    quadrilateral: Sequence[tuple[float, float]] | None = None,
) -> np.ndarray:
    """A copy of ``image`` (uint8 RGB ``(H, W, 3)``) with the reading drawn on it.

    The reading comes from ``prediction`` (its characters' boxes, text and plate
    confidence), or from ``boxes`` (``(char, confidence, box)`` triples), ``text`` and
    ``confidence`` given directly (they override the prediction's). Each box is drawn
    in the colour of its confidence (:func:`confidence_colour`) with its character
    above it; ``quadrilateral``, four ``(x, y)`` corners in input pixels, is drawn as
    a closed polygon. Below the image, a white strip says ``TEXT  0.93``.

    Returns a new uint8 RGB array ``(H', W', 3)``: the input scaled by ``s >= 1`` (so
    that it is at least :data:`MIN_HEIGHT` px high, within :data:`MAX_WIDTH`) plus
    the caption strip. Raises :class:`ValueError` for an image that is not uint8 RGB.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("annotate needs a uint8 RGB (H, W, 3) image")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"annotate needs a non-empty image, got {image.shape}")
    if prediction is not None:
        boxes = boxes if boxes is not None else [(c.char, c.confidence, c.box) for c in prediction.chars]
        text = text if text is not None else prediction.text
        confidence = confidence if confidence is not None else prediction.confidence
    height, width = image.shape[:2]
    scale = _scale_for(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if scale >= 2 else cv2.INTER_LINEAR)
    canvas = np.ascontiguousarray(canvas)
    thick = max(1, round(min(canvas.shape[:2]) / 120))
    font = max(0.4, min(canvas.shape[0] / 250, 1.5))
    for char, conf, box in boxes or ():
        if box is None:
            continue
        x0, y0 = round(box.x * scale), round(box.y * scale)
        x1, y1 = round((box.x + box.w) * scale) - 1, round((box.y + box.h) * scale) - 1
        colour = confidence_colour(conf)
        cv2.rectangle(canvas, (x0, y0), (max(x0, x1), max(y0, y1)), colour, thick)
        (_, th), _ = cv2.getTextSize(char, _FONT, font, thick)
        ty = y0 - 3 if y0 - 3 - th >= 0 else min(canvas.shape[0] - 2, y1 + th + 3)
        cv2.putText(canvas, char, (x0, ty), _FONT, font, colour, thick, cv2.LINE_AA)
    if quadrilateral is not None:
        draw_quadrilateral(canvas, quadrilateral, scale=scale, thickness=thick + 1)
    caption = (text if text else "(nothing read)") + (f"  {confidence:.2f}" if confidence is not None else "")
    caption = caption.encode("ascii", "replace").decode("ascii")  # Hershey fonts are ASCII only
    cap_font = max(0.5, min(canvas.shape[1] / 400, 1.2))
    (tw, th), base = cv2.getTextSize(caption, _FONT, cap_font, 1 + thick // 2)
    strip_h = th + base + 12
    out = np.full((canvas.shape[0] + strip_h, max(canvas.shape[1], tw + 12), 3), 255, np.uint8)
    out[: canvas.shape[0], : canvas.shape[1]] = canvas
    colour = confidence_colour(confidence) if confidence is not None else (0, 0, 0)
    cv2.putText(out, caption, (6, canvas.shape[0] + 6 + th), _FONT, cap_font, colour, 1 + thick // 2, cv2.LINE_AA)
    return out
