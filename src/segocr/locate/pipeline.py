"""Crop or scene? Reading a photo's plates with any recognizer.

:class:`LocatingReader` decides per image (``mode``):

* ``never``: the image is a plate crop, read as it is (the old way);
* ``always``: the image is a scene: plates are located (:func:`segocr.locate.locate`)
  and each one, warped upright, is read by the recognizer;
* ``auto`` (:func:`decide`): a crop when (0) a side is under 120 px, or (1) the segmentation reader finds a row of
  at least 4 characters filling the image's height (median character height >= 20% of
  it, mean confidence >= 0.5); else plates are located and the image is a crop when
  (2) the best plate spans at least half its width, or (3) none is found and the image
  is crop-shaped (width / height in [1.5, 6], long side <= 1100 px). Otherwise it is
  a scene: its plates, or "no plate found" for a photo-shaped image. Plate crops
  (IWT4S: 75x26 up to 1062x548, car body included) take (1), or (2)/(3) when their row
  reads poorly: they are read as they are, never re-cut.

A located plate's :class:`~segocr.recognizers.base.Prediction` has its character
boxes mapped back into the input image and ``info["quad"]``, the plate's four corners
``[[x, y], ...]`` in input pixels (top-left, top-right, bottom-right, bottom-left), and
``info["plate_score"]``. A scene where nothing reads as a plate gives no prediction;
:data:`NO_PLATE` is the message callers report for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from segocr.locate.geometry import Quad, box_quad, quad_size
from segocr.locate.locator import LocateConfig, Plate, crop_plate, locate
from segocr.recognizers.base import CharPrediction, Prediction, Recognizer
from segocr.segment.boxes import CharBox

LocateMode = Literal["auto", "always", "never"]
#: The modes :class:`LocatingReader` accepts.
LOCATE_MODES: tuple[LocateMode, ...] = ("auto", "always", "never")
#: What is reported for a scene in which no plate was found.
NO_PLATE = "no licence plate found in the photo (try --locate never if it is a plate crop)"


#: An image with a side shorter than this is never taken for a photo.
MIN_PHOTO_SIDE = 120


#: The verifier's weights: the IWT4S segcnn the locator's settings were chosen with
#: (pinned, so that a change of the default segcnn weights leaves locating as measured).
VERIFIER_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "segcnn.pt"


def load_verifier(*, device: str = "auto", runtime: str = "auto") -> Recognizer:
    """The segmentation reader that verifies candidates (:data:`VERIFIER_WEIGHTS`),
    cached per process by :func:`segocr.api.load_recognizer`."""
    from segocr.api import load_recognizer

    return load_recognizer("segcnn", weights=str(VERIFIER_WEIGHTS), device=device, runtime=runtime)


@dataclass(frozen=True)
class Decision:
    """How an image was taken: ``kind`` is ``crop`` or ``scene``; ``reason`` says why."""

    kind: Literal["crop", "scene"]
    reason: str


def crop_shaped(shape: tuple[int, ...]) -> bool:
    """True for the shape of a plate crop: width / height in [1.5, 6] and a long side
    of at most 1100 px.

    >>> crop_shaped((548, 1062, 3)), crop_shaped((720, 1280, 3)), crop_shaped((240, 320, 3))
    (True, False, False)
    """
    h, w = shape[:2]
    return 1.5 <= w / max(h, 1) <= 6.0 and max(h, w) <= 1100


def row_fills_image(reading: Prediction, height: int) -> bool:
    """True when ``reading`` (of the whole image) is a row of at least 4 characters,
    median height >= 20% of ``height``, mean confidence >= 0.5."""
    boxes = [c.box for c in reading.chars if c.box is not None]
    if len(boxes) < 4 or len(boxes) != len(reading.chars):
        return False
    mean_conf = float(np.mean([c.confidence for c in reading.chars]))
    return mean_conf >= 0.5 and float(np.median([b.h for b in boxes])) >= 0.2 * height


def decide(
    image: np.ndarray, crop_reading: Prediction, plates: Sequence[Plate] | None = None
) -> Decision | None:
    """``auto``'s choice for ``image`` given the segmentation reader's reading of the
    whole image and, once known, the plates located in it; None when the plates are
    needed to decide (see the module docstring)."""
    h, w = image.shape[:2]
    if min(h, w) < MIN_PHOTO_SIDE:
        return Decision("crop", f"too small for a photo (a side under {MIN_PHOTO_SIDE} px)")
    if row_fills_image(crop_reading, h):
        return Decision("crop", "a character row fills the image")
    if plates is None:
        return None
    if plates:
        if quad_size(plates[0].quad)[0] >= 0.5 * w:
            return Decision("crop", "the plate found spans the image")
        return Decision("scene", "plates found inside the image")
    if crop_shaped(image.shape):
        return Decision("crop", "no plate found inside a crop-shaped image")
    return Decision("scene", "no plate found in a photo-shaped image")


def _map_box(box: CharBox, matrix: np.ndarray) -> CharBox:
    pts = box_quad(box.x, box.y, box.x2, box.y2).reshape(1, 4, 2)
    q = cv2.perspectiveTransform(pts, matrix).reshape(4, 2)
    x1, y1 = np.floor(q.min(axis=0))
    x2, y2 = np.ceil(q.max(axis=0))
    return CharBox(int(x1), int(y1), max(1, int(x2 - x1)), max(1, int(y2 - y1)))


def plate_prediction(reading: Prediction, plate: Plate, crop_shape: tuple[int, int]) -> Prediction:
    """``reading`` of the upright crop of ``plate`` (shape ``crop_shape`` = (H, W)) with
    its character boxes mapped back into the input image and the plate's quad and
    score in ``info``."""
    ch, cw = crop_shape
    matrix = cv2.getPerspectiveTransform(
        box_quad(0, 0, cw - 1, ch - 1), np.asarray(plate.quad, np.float32)
    )
    chars = tuple(
        CharPrediction(c.char, c.confidence, _map_box(c.box, matrix) if c.box is not None else None)
        for c in reading.chars
    )
    info = {**reading.info, "quad": plate.quad_list(), "plate_score": round(plate.score, 4)}
    return replace(reading, chars=chars, info=info)


class LocatingReader:
    """Reads the plates of crops and scenes alike (see the module docstring).

    ``recognizer`` reads the plates (crops as they are, located plates warped upright);
    ``verifier`` is the segmentation reader (segcnn) that checks candidates and makes
    ``auto``'s decision. :meth:`read` returns, per image, the list of its plates'
    predictions: one for a crop, one per plate for a scene, none when no plate is found.
    """

    def __init__(
        self,
        recognizer: Recognizer,
        verifier: Recognizer,
        *,
        mode: LocateMode = "auto",
        config: LocateConfig | None = None,
        crop_height: int = 64,
    ) -> None:
        if mode not in LOCATE_MODES:
            raise ValueError(
                f"unknown locate mode {mode!r}; choose one of: {', '.join(LOCATE_MODES)}"
            )
        self.recognizer = recognizer
        self.verifier = verifier
        self.mode: LocateMode = mode
        self.config = config or LocateConfig()
        self.crop_height = crop_height
        self.name = recognizer.name

    def read(self, images: Sequence[np.ndarray]) -> list[list[Prediction]]:
        """One list of plate predictions per image of ``images`` (uint8 RGB (H, W, 3))."""
        if self.mode == "never":
            return [[p] for p in self.recognizer.predict(images)]
        out: list[list[Prediction] | None] = [None] * len(images)
        direct: dict[int, Prediction] = {}
        as_crop: list[int] = []
        rest = list(range(len(images)))
        if self.mode == "auto":
            as_crop = [
                i for i in rest if min(images[i].shape[:2]) < MIN_PHOTO_SIDE
            ]  # no reading needed
            rest = [i for i in rest if i not in as_crop]
            readings = self.verifier.predict([images[i] for i in rest]) if rest else []
            direct = dict(zip(rest, readings, strict=True))
            rows = [i for i in rest if decide(images[i], direct[i]) is not None]
            as_crop += rows
            rest = [i for i in rest if i not in rows]
        for i in rest:
            plates = locate(images[i], verifier=self.verifier, config=self.config)
            if self.mode == "auto":
                decision = decide(images[i], direct[i], plates)
                if decision is not None and decision.kind == "crop":
                    as_crop.append(i)
                    continue
            out[i] = self.read_plates(images[i], plates)
        as_crop.sort()
        # A rows wrapper (segocr.rows) reads a one-row crop with its inner recognizer.
        rec = getattr(self.recognizer, "one_row_reader", self.recognizer)
        splits = getattr(self.recognizer, "splits", None)
        same = rec is self.verifier or (
            type(rec) is type(self.verifier)
            and getattr(rec, "card", None) == getattr(self.verifier, "card", None)
        )  # the verifier's reading of the whole image is the recognizer's
        todo = [
            i for i in as_crop if not (same and i in direct and not (splits and splits(images[i])))
        ]
        readings = self.recognizer.predict([images[i] for i in todo]) if todo else []
        read_now = dict(zip(todo, readings, strict=True))
        for i in as_crop:
            out[i] = [read_now[i] if i in read_now else direct[i]]
        return [o if o is not None else [] for o in out]

    def read_plates(self, image: np.ndarray, plates: Sequence[Plate]) -> list[Prediction]:
        """The recognizer's reading of each located plate of ``image``, best plate first."""
        if not plates:
            return []
        crops = [crop_plate(image, p.quad, height=self.crop_height) for p in plates]
        readings = self.recognizer.predict(crops)
        return [
            plate_prediction(r, p, c.shape[:2])
            for r, p, c in zip(readings, plates, crops, strict=True)
        ]


def quad_of(prediction: Prediction) -> Quad | None:
    """The plate quad (4, 2) of a located plate's prediction, else None."""
    quad = prediction.info.get("quad")
    return None if quad is None else np.asarray(quad, np.float32)
