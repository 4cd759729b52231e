"""Scene -> ranked plate quadrilaterals: candidates verified, then read.

Each candidate region (:mod:`segocr.locate.candidates`) is scored by the small
learned verifier (:mod:`segocr.locate.verifier`: HOG + logistic regression, P(plate));
the best ``max_second`` with P(plate) >= ``min_probability`` are warped upright
(:func:`segocr.locate.geometry.rectify`) and read by the segmentation recognizer
(segment -> CharCNN with its ``noise`` class). A plate's score is
the larger of ``learned_weight`` x P(plate) + the rest x :func:`plate_score` of its
reading (mean character confidence, 0 below ``min_chars`` characters) and that
reading score alone (the first ``max_rows_read`` character rows are read whatever
P(plate) is, so plates unlike the verifier's training data are found by reading);
regions scoring at least ``min_score`` are plates. Where the row reads as 3 or more characters, the quad is
re-fitted to them (the row's extent, continued by segmented boxes the classifier
calls noise such as a province character, grown by the usual plate margins, mapped
back through the warp). Overlapping plates are suppressed, the rest returned best
first. With ``learned=False`` the reading alone verifies, in two passes (one
binarization for every candidate, then the full reader for the best).

The settings were chosen on held-out scenes of the training parts of CCPD and
UC3M-LP (every fifth scene), never on their test parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.locate.candidates import CandidateConfig, find_candidates
from segocr.locate.geometry import Quad, box_quad, grow_quad, quad_iou, quad_size, rectify
from segocr.locate.verifier import PlateClassifier
from segocr.recognizers.base import Prediction, Recognizer


class LocateConfig(BaseModel):
    """Settings of the plate locator."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    candidates: CandidateConfig = CandidateConfig()
    #: Rows of the upright crop a candidate is read from.
    rectify_height: int = Field(64, ge=16, le=256)
    #: Widest crop (columns), as a multiple of its height.
    max_crop_aspect: float = Field(8.0, gt=1)
    #: Fewest characters (non-noise boxes) a plate's row reads as.
    min_chars: int = Field(4, ge=1)
    #: Lowest plate score kept.
    min_score: float = Field(0.65, ge=0, le=1)
    #: Rank candidates with the learned HOG verifier (:mod:`segocr.locate.verifier`)
    #: before reading them; False: reading alone, in two passes (below).
    learned: bool = True
    #: Learned path: candidates below this P(plate) are not read ...
    min_probability: float = Field(0.5, ge=0, le=1)
    #: ... and a plate's score is this weight x P(plate) + the rest x its reading score;
    learned_weight: float = Field(0.7, ge=0, le=1)
    #: the reading alone also makes a plate (score = the larger of the two); the
    #: first ``max_rows_read`` character rows are read whatever P(plate) is;
    max_rows_read: int = Field(4, ge=0)
    #: a plate's row must also read this well (0 < it: at least ``min_chars`` characters).
    min_read_score: float = Field(0.01, ge=0, le=1)
    #: First pass (one binarization, one character fewer allowed): candidates
    #: scoring at least ``min_score - first_margin`` go on to the full reading ...
    first_margin: float = Field(0.15, ge=0, le=1)
    #: ... at most this many of them (best first).
    max_second: int = Field(10, ge=1)
    #: Plates overlapping a better one by more than this IoU are dropped.
    nms_iou: float = Field(0.2, ge=0, le=1)
    #: At most this many plates per photo.
    max_plates: int = Field(8, ge=1)
    #: The crop read in the second pass: the row read in the first, each side grown
    #: by these fractions of its width / height (context for the segmentation).
    read_grow_x: float = Field(0.12, ge=0)
    read_grow_y: float = Field(0.45, ge=0)
    #: The plate around its characters: each side grown by these fractions of the
    #: character row's width / height.
    plate_grow_x: float = Field(0.06, ge=0)
    plate_grow_y: float = Field(0.3, ge=0)


@dataclass(frozen=True)
class Plate:
    """A located plate: ``quad`` (4, 2) float32 corners in input-image pixels
    (top-left, top-right, bottom-right, bottom-left), ``score`` in [0, 1] (how well
    its row reads as characters), the verifier's ``reading`` of it and the candidate
    ``kind`` that found it."""

    quad: Quad
    score: float
    reading: Prediction
    kind: str = ""
    info: dict[str, float] = field(default_factory=dict, compare=False)

    def quad_list(self) -> list[list[float]]:
        """The corners as JSON-ready ``[[x, y], ...]`` rounded to 0.1 pixel."""
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.quad]


def crop_plate(
    image: np.ndarray, quad: Quad, *, height: int = 64, max_aspect: float = 8.0
) -> np.ndarray:
    """The plate inside ``quad`` warped upright: (height, W, 3) uint8, W following the
    quad's aspect ratio (at most ``max_aspect`` x height). This is what any recognizer
    reads.

    >>> img = np.zeros((100, 200, 3), np.uint8)
    >>> crop_plate(img, box_quad(10, 10, 109, 34), height=32).shape
    (32, 128, 3)
    """
    w, h = quad_size(quad)
    width = int(min(max_aspect * height, max(8, round(height * (w + 1) / max(h + 1, 1.0)))))
    return rectify(image, quad, height=height, width=width)


def plate_score(reading: Prediction, *, min_chars: int) -> float:
    """How much a reading looks like a plate: 0 below ``min_chars`` characters, else
    the mean character confidence (times 0.9 for fewer than 5 characters).

    >>> from segocr.recognizers.base import CharPrediction
    >>> p = Prediction.from_chars([CharPrediction(c, 0.8) for c in "AB123"], "x")
    >>> round(plate_score(p, min_chars=4), 3)
    0.8
    >>> plate_score(p, min_chars=6)
    0.0
    """
    n = len(reading.chars)
    if n < min_chars:
        return 0.0
    mean = float(np.mean([c.confidence for c in reading.chars]))
    return mean * (0.9 if n < 5 else 1.0)


def _row_box(
    crop: np.ndarray, reading: Prediction, *, extend: bool
) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) of the character row read in ``crop``: from the first to the
    last character read, between the median top and bottom. With ``extend``, the row
    also takes in the segmentation's boxes of the row's height that continue it (a
    character the classifier calls noise, e.g. a Chinese province character)."""
    boxes = [c.box for c in reading.chars if c.box is not None]
    if not boxes:
        return None
    x1 = float(min(b.x for b in boxes))
    x2 = float(max(b.x2 for b in boxes))
    y1 = float(np.median([b.y for b in boxes]))
    y2 = float(np.median([b.y2 for b in boxes]))
    if extend:
        from segocr.segment import find_characters

        height, width = y2 - y1, float(np.median([b.w for b in boxes]))
        seg = find_characters(crop)
        others = {b for h in seg.hypotheses for b in seg.to_original(h.boxes)}
        grown = True
        while grown:
            grown = False
            for b in others:
                on_row = (
                    abs(b.cy - (y1 + y2) / 2) <= 0.25 * height
                    and 0.7 * height <= b.h <= 1.3 * height
                )
                left = x1 - 1.2 * width <= b.x2 <= x1 + 1 and b.x < x1
                right = x2 - 1 <= b.x <= x2 + 1.2 * width and b.x2 > x2
                if on_row and (left or right):
                    x1, x2 = min(x1, float(b.x)), max(x2, float(b.x2))
                    grown = True
    return x1, y1, x2, y2


def _refit(
    quad: Quad, crop: np.ndarray, reading: Prediction, *, dx: float, dy: float, extend: bool = False
) -> Quad:
    """A new quad from the characters read in ``crop`` (the upright crop of ``quad``):
    their row (:func:`_row_box`) grown by ``dx`` x its width and ``dy`` x its height on
    each side, mapped back to the image."""
    row = _row_box(crop, reading, extend=extend)
    if row is None:
        return quad
    ch, cw = crop.shape[:2]
    grown = grow_quad(box_quad(*row), dx=dx, dy=dy)
    src = box_quad(0, 0, cw - 1, ch - 1)
    back = cv2.getPerspectiveTransform(src, np.asarray(quad, np.float32))
    return cv2.perspectiveTransform(grown.reshape(1, 4, 2).astype(np.float32), back).reshape(4, 2)


def fast_verifier(recognizer: Recognizer) -> Recognizer:
    """A cheaper copy of a segcnn recognizer for verifying candidates: its first
    binarization only, no cascade (most candidates are not plates, and a reader that
    is unsure tries every binarization on them). Other recognizers are returned as
    they are. The network is shared, not copied."""
    from segocr.recognizers.segcnn import SegCNNRecognizer

    if not isinstance(recognizer, SegCNNRecognizer):
        return recognizer
    seg = recognizer.config.segment
    config = recognizer.config.model_copy(
        update={
            "segment": seg.model_copy(update={"binarizers": seg.binarizers[:1]}),
            "cascade_confidence": None,
            "search": None,  # nor the segmentation search (it would run on every candidate)
        }
    )
    return SegCNNRecognizer(recognizer.net, recognizer.charset, config, card=recognizer.card)


def locate(
    image: np.ndarray, *, verifier: Recognizer, config: LocateConfig | None = None
) -> list[Plate]:
    """The plates in ``image`` (uint8 RGB (H, W, 3)), best first; an empty list when
    nothing reads as a plate. ``verifier`` reads the candidate crops: a recognizer
    that locates characters (segcnn), whose character boxes re-fit each quad.
    """
    cfg = config or LocateConfig()
    candidates = find_candidates(image, config=cfg.candidates)
    if not candidates:
        return []
    if cfg.learned:
        return _locate_learned(image, candidates, verifier, cfg)
    # 1. every candidate, read cheaply (one binarization)
    crops = [
        crop_plate(image, c.quad, height=cfg.rectify_height, max_aspect=cfg.max_crop_aspect)
        for c in candidates
    ]
    readings = fast_verifier(verifier).predict(crops)
    first: list[Plate] = []
    for cand, crop, reading in zip(candidates, crops, readings, strict=True):
        score = plate_score(reading, min_chars=max(1, cfg.min_chars - 1))
        if score >= cfg.min_score - cfg.first_margin:
            quad = _refit(cand.quad, crop, reading, dx=cfg.read_grow_x, dy=cfg.read_grow_y)
            first.append(Plate(quad, score, reading, cand.kind))
    first = suppress(first, iou=0.5, limit=cfg.max_second)
    if not first:
        return []
    # 2. the survivors, re-cut around their characters and read in full
    crops = [
        crop_plate(image, p.quad, height=cfg.rectify_height, max_aspect=cfg.max_crop_aspect)
        for p in first
    ]
    readings = verifier.predict(crops)
    plates: list[Plate] = []
    for p, crop, reading in zip(first, crops, readings, strict=True):
        score = plate_score(reading, min_chars=cfg.min_chars)
        if score < cfg.min_score:
            continue
        quad = _refit(p.quad, crop, reading, dx=cfg.plate_grow_x, dy=cfg.plate_grow_y, extend=True)
        plates.append(Plate(quad, score, reading, p.kind))
    return suppress(plates, iou=cfg.nms_iou, limit=cfg.max_plates)


def _locate_learned(
    image: np.ndarray, candidates: list, verifier: Recognizer, cfg: LocateConfig
) -> list[Plate]:
    """The learned verifier ranks the candidates; the best ``max_second`` with
    P(plate) >= ``min_probability`` are read; score = ``learned_weight`` x P(plate) +
    the rest x the reading's :func:`plate_score`."""
    from segocr.locate.verifier import load_classifier

    probs = load_classifier_cached(load_classifier).probability(image, [c.quad for c in candidates])
    order = [int(i) for i in np.argsort(-probs, kind="stable") if probs[i] >= cfg.min_probability][
        : cfg.max_second
    ]
    # character rows are read whatever the learned verifier says (plates unlike its
    # training data, e.g. European ones, are then found by their reading)
    rows = [i for i, c in enumerate(candidates) if c.kind == "row" and i not in order]
    order += rows[: cfg.max_rows_read]
    if not order:
        return []
    crops = [
        crop_plate(
            image, candidates[i].quad, height=cfg.rectify_height, max_aspect=cfg.max_crop_aspect
        )
        for i in order
    ]
    readings = verifier.predict(crops)
    plates: list[Plate] = []
    for i, crop, reading in zip(order, crops, readings, strict=True):
        read_score = plate_score(reading, min_chars=cfg.min_chars)
        score = max(
            cfg.learned_weight * float(probs[i]) + (1 - cfg.learned_weight) * read_score, read_score
        )
        if score < cfg.min_score or read_score < cfg.min_read_score:
            continue
        quad = candidates[i].quad
        if len(reading.chars) >= 3:
            quad = _refit(
                quad, crop, reading, dx=cfg.plate_grow_x, dy=cfg.plate_grow_y, extend=True
            )
        plates.append(
            Plate(
                quad,
                score,
                reading,
                candidates[i].kind,
                {"probability": float(probs[i]), "read_score": read_score},
            )
        )
    return suppress(plates, iou=cfg.nms_iou, limit=cfg.max_plates)


_CLASSIFIER: list[PlateClassifier] = []


def load_classifier_cached(loader: Callable[[], PlateClassifier]) -> PlateClassifier:
    """The shipped learned verifier (``loader()``), loaded once per process."""
    if not _CLASSIFIER:
        _CLASSIFIER.append(loader())
    return _CLASSIFIER[0]


def suppress(plates: Sequence[Plate], *, iou: float, limit: int) -> list[Plate]:
    """Best-first plates, each dropped when it overlaps a kept one by more than ``iou``
    (or lies mostly inside it); at most ``limit``."""
    kept: list[Plate] = []
    for p in sorted(plates, key=lambda p: -p.score):
        if all(quad_iou(p.quad, k.quad) <= iou and _inside(p.quad, k.quad) < 0.5 for k in kept):
            kept.append(p)
        if len(kept) >= limit:
            break
    return kept


def _inside(a: Quad, b: Quad) -> float:
    """Fraction of ``a``'s area inside ``b``."""
    from segocr.locate.geometry import quad_area

    area = quad_area(a)
    if area <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(np.asarray(a, np.float32), np.asarray(b, np.float32))
    return max(float(inter), 0.0) / area
