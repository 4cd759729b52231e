"""Character segmentation: ink mask -> connected components -> the character row ->
ordered character boxes.

The plate crop is resized to a working height, the blue EU band is found by colour
and masked, the gray image is preprocessed (CLAHE, unsharp mask), binarized by each
configured method in both polarities, and each ink mask gives one hypothesis:

1. long horizontal lines (the plate frame) are removed from the mask;
2. connected components (``cv2.connectedComponentsWithStats``) are filtered by size
   and shape;
3. the character row is fitted as a line through component centres (plates are
   tilted), keeping the largest set of similar-height components on one line
   (RANSAC over pairs);
4. pieces lying inside the row band are merged into characters (broken strokes),
   boxes far wider than the row's characters are split at ink-projection minima
   (touching characters), and what is too small for the row is dropped (screws,
   hyphens, dirt);
5. boxes are ordered left to right.

Hypotheses are scored by geometry and deduplicated; :func:`find_characters` returns
them best first. A recognizer may re-rank them by its classifier's confidence.
An image where nothing is found gives an empty result, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.preprocess import Pipeline, PipelineConfig, resize_to_height, to_gray
from segocr.segment.binarize import BinarizeConfig, Polarity, binarize
from segocr.segment.boxes import CharBox


class SegmentConfig(BaseModel):
    """Everything character segmentation depends on (one concept, one config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Height in pixels of the working copy the segmentation runs on.
    work_height: int = Field(72, ge=16, le=512)
    #: Gray preprocessing of the working copy (see :mod:`segocr.preprocess`).
    preprocess: PipelineConfig = PipelineConfig()
    #: Binarizations tried; each gives one hypothesis per polarity.
    binarizers: tuple[BinarizeConfig, ...] = (
        BinarizeConfig(method="sauvola", window=0.5, k=0.2),
        BinarizeConfig(method="sauvola", window=1.0, k=0.1),
        BinarizeConfig(method="otsu"),
        BinarizeConfig(method="adaptive_gaussian", window=0.6, offset=4),
    )
    #: Ink polarity: ``auto`` picks the minority side of an Otsu threshold in the
    #: plate's centre (ink covers less of a plate than its background); ``both`` tries
    #: both as separate hypotheses.
    polarity: Literal["auto", "dark", "light", "both"] = "auto"
    #: Mask the blue EU band found by colour.
    mask_band: bool = True
    #: Remove horizontal lines longer than this fraction of the width (plate frame).
    frame_line_fraction: float = Field(0.25, gt=0, le=1)
    #: Character height limits as fractions of the working height.
    min_char_height: float = Field(0.18, gt=0, lt=1)
    max_char_height: float = Field(0.92, gt=0, le=1)
    #: Row fit tolerances: centre distance from the line and height deviation, as
    #: fractions of the row's character height.
    row_center_tol: float = Field(0.18, gt=0, le=1)
    row_height_tol: float = Field(0.28, gt=0, le=1)
    max_slope: float = Field(0.25, ge=0, le=1)
    #: A box wider than this many row-character widths is split.
    split_width_ratio: float = Field(1.55, gt=1, le=5)
    #: Merged pieces shorter than this fraction of the row height are dropped.
    min_piece_height: float = Field(0.6, gt=0, le=1)
    #: Pieces shorter than this fraction of the row height and about as wide as tall
    #: are stickers, screws or dots and are dropped before merging.
    round_piece_height: float = Field(0.62, ge=0, le=1)
    #: Boxes narrower than this fraction of the row height are lines, not characters.
    min_char_width: float = Field(0.1, ge=0, le=1)
    #: Fewest characters a row may have.
    min_chars: int = Field(2, ge=1)
    #: Reading order: single row for now (two-row plates would add "two_rows").
    layout: Literal["single_row"] = "single_row"


@dataclass(frozen=True)
class Hypothesis:
    """One segmentation of the working image: boxes in working coordinates, left to
    right, with the method that produced them and a geometric score (higher is better)."""

    boxes: tuple[CharBox, ...]
    method: str
    polarity: Polarity
    score: float


@dataclass(frozen=True)
class Segmentation:
    """The result of :func:`find_characters`.

    ``work`` is the preprocessed gray working image (Hw, Ww) uint8 that character
    crops should be taken from; ``scale`` = (sx, sy) maps working to original
    coordinates; ``hypotheses`` are distinct segmentations, best first (may be empty).
    """

    work: np.ndarray = field(repr=False)
    scale: tuple[float, float]
    hypotheses: tuple[Hypothesis, ...]

    @property
    def boxes(self) -> tuple[CharBox, ...]:
        """The best hypothesis's boxes in the original image's coordinates."""
        return self.to_original(self.hypotheses[0].boxes) if self.hypotheses else ()

    def to_original(self, boxes: tuple[CharBox, ...]) -> tuple[CharBox, ...]:
        sx, sy = self.scale
        return tuple(b.scaled(sx, sy) for b in boxes)


# --- the blue band ----------------------------------------------------------------


def find_band_edge(rgb: np.ndarray) -> int:
    """Right edge x (exclusive) of a blue EU band in the left part of an RGB image, or
    0 when there is none. The band is a saturated blue component at least a third of
    the image tall, at most 0.8 times as wide as tall, starting in the left 30% of the
    image and mostly filled.

    >>> img = np.full((40, 120, 3), 230, np.uint8); img[5:35, 4:16] = (20, 60, 200)
    >>> find_band_edge(img)
    16
    """
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h, s, v = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    blue = ((h >= 95) & (h <= 135) & (s >= 70) & (v >= 35)).astype(np.uint8)
    blue = cv2.morphologyEx(blue, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(blue, connectivity=8)
    H, W = blue.shape
    edge = 0
    for x, y, w, hh, area in stats[1:n]:
        if hh >= H / 3 and w <= 0.8 * hh and x < 0.3 * W and area >= 0.4 * w * hh and w >= 0.1 * hh:
            edge = max(edge, int(x + w))
    return edge


def guess_polarity(gray: np.ndarray) -> Polarity:
    """``dark`` when dark pixels are the minority in the centre of a uint8 gray image
    (H, W) (dark characters on a light plate), else ``light``.

    >>> img = np.full((30, 90), 220, np.uint8); img[10:20, 20:25] = 30
    >>> guess_polarity(img), guess_polarity(255 - img)
    ('dark', 'light')
    """
    H, W = gray.shape
    centre = np.ascontiguousarray(gray[H // 4 : H - H // 4 or H, W // 5 : W - W // 5 or W])
    t, _ = cv2.threshold(centre, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return "dark" if (centre <= t).mean() <= 0.5 else "light"


# --- one hypothesis from one ink mask ------------------------------------------------


def _remove_lines(mask: np.ndarray, fraction: float) -> np.ndarray:
    """Drop horizontal ink runs longer than ``fraction`` of the width (frame lines)."""
    length = max(3, int(mask.shape[1] * fraction))
    u8 = mask.astype(np.uint8)
    lines = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    return (u8 > lines) if lines.any() else mask


def _fit_row(stats: np.ndarray, cfg: SegmentConfig, H: int) -> tuple[float, float, float] | None:
    """(slope, intercept, char height) of the best row through candidate components
    ``stats`` (k, 4: x, y, w, h), or None."""
    k = len(stats)
    if k == 0:
        return None
    cx = stats[:, 0] + stats[:, 2] / 2
    cy = stats[:, 1] + stats[:, 3] / 2
    hh = stats[:, 3].astype(np.float64)
    best: tuple[float, tuple[float, float, float]] | None = None
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    for i, j in pairs:
        hm = (hh[i] + hh[j]) / 2
        if max(hh[i], hh[j]) / min(hh[i], hh[j]) > 1 + cfg.row_height_tol:
            continue
        if i == j:
            a = 0.0
        else:
            dx = cx[j] - cx[i]
            if abs(dx) < 1e-6:
                continue
            a = (cy[j] - cy[i]) / dx
            if abs(a) > cfg.max_slope:
                continue
        b = cy[i] - a * cx[i]
        inl = (np.abs(cy - (a * cx + b)) <= cfg.row_center_tol * hm) & (np.abs(hh / hm - 1) <= cfg.row_height_tol)
        if inl.sum() < min(cfg.min_chars, k):
            continue
        score = float(hh[inl].sum())
        if best is None or score > best[0]:
            # Refit on the inliers (least squares) for a steadier line.
            if inl.sum() >= 2 and np.ptp(cx[inl]) > 0:
                a2, b2 = np.polyfit(cx[inl], cy[inl], 1)
                if abs(a2) <= cfg.max_slope:
                    a, b = float(a2), float(b2)
            best = (score, (float(a), float(b), float(np.median(hh[inl]))))
    return best[1] if best else None


def _split_box(mask: np.ndarray, box: CharBox, n: int) -> list[CharBox]:
    """Split ``box`` into ``n`` boxes at ink-projection minima near equal spacing."""
    sub = mask[box.y : box.y2, box.x : box.x2]
    proj = sub.sum(axis=0).astype(np.float64)
    cuts = [0]
    step = box.w / n
    for i in range(1, n):
        centre = int(round(i * step))
        lo, hi = max(cuts[-1] + 1, centre - int(step * 0.3)), min(box.w - 1, centre + int(step * 0.3))
        cut = centre if hi <= lo else lo + int(np.argmin(proj[lo:hi]))
        cuts.append(cut)
    cuts.append(box.w)
    out = []
    for x0, x1 in zip(cuts[:-1], cuts[1:]):
        col = sub[:, x0:x1]
        rows = np.flatnonzero(col.any(axis=1))
        if x1 - x0 < 1 or rows.size == 0:
            continue
        out.append(CharBox(box.x + x0, box.y + int(rows[0]), x1 - x0, int(rows[-1] - rows[0] + 1)))
    return out


def segment_mask(mask: np.ndarray, *, config: SegmentConfig) -> tuple[tuple[CharBox, ...], float]:
    """Character boxes (left to right) and a geometric score from a boolean ink mask
    (H, W). Pure: the mask is not modified."""
    H, W = mask.shape
    clean = _remove_lines(mask, config.frame_line_fraction)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(clean.astype(np.uint8), connectivity=8)
    st = stats[1:n, :4].astype(np.int64)
    area = stats[1:n, 4]
    if len(st) == 0:
        return (), 0.0
    w, h = st[:, 2], st[:, 3]
    cand = (
        (h >= config.min_char_height * H)
        & (h <= config.max_char_height * H)
        & (w <= 3.0 * h)
        & (area >= 0.1 * w * h)
    )
    row = _fit_row(st[cand], config, H)
    if row is None:
        return (), 0.0
    a, b, hc = row
    # Every piece lying inside the row band belongs to some character.
    cx = st[:, 0] + w / 2
    line = a * cx + b
    tol = 0.5 * hc + config.row_center_tol * hc + 1
    inside = (st[:, 1] >= line - tol) & (st[:, 1] + h <= line + tol) & (h <= hc * (1 + config.row_height_tol) + 1)
    # Small round pieces are stickers, screws and dots, not parts of characters.
    aspect = w / np.maximum(h, 1)
    round_small = (h < config.round_piece_height * hc) & (aspect > 0.7) & (aspect < 1.45)
    pieces = sorted((int(x), int(y), int(ww), int(hh)) for x, y, ww, hh in st[inside & ~round_small])
    # Merge pieces that overlap horizontally (broken strokes, dots of a character).
    merged: list[list[int]] = []
    for x, y, ww, hh in pieces:
        if merged:
            mx, my, mx2, my2 = merged[-1]
            overlap = min(mx2, x + ww) - max(mx, x)
            if overlap > 0.5 * min(ww, mx2 - mx):
                merged[-1] = [min(mx, x), min(my, y), max(mx2, x + ww), max(my2, y + hh)]
                continue
        merged.append([x, y, x + ww, y + hh])
    boxes = [CharBox(x, y, x2 - x, y2 - y) for x, y, x2, y2 in merged if (y2 - y) >= config.min_piece_height * hc]
    if not boxes:
        return (), 0.0
    widths = np.array([bx.w for bx in boxes if bx.w <= 0.9 * hc] or [0.55 * hc])
    wc = float(np.median(widths))
    out: list[CharBox] = []
    for bx in boxes:
        if bx.w > config.split_width_ratio * wc and bx.w > 0.75 * hc:
            out.extend(_split_box(clean, bx, max(2, int(round(bx.w / wc)))))
        else:
            out.append(bx)
    # Thin vertical lines (frame sides, band edges) are narrower than any character.
    out = [bx for bx in out if bx.h >= config.min_piece_height * hc and bx.w >= config.min_char_width * hc]
    if len(out) < config.min_chars:
        return (), 0.0
    heights = np.array([bx.h for bx in out], np.float64)
    # Strokes fill part of their box; a solid block (the gap between characters seen
    # in the wrong polarity, a band edge) fills nearly all of it.
    fills = np.array([clean[bx.y : bx.y2, bx.x : bx.x2].mean() for bx in out])
    weight = np.where(fills > 0.8, 0.2, 1.0)
    score = float((heights * weight).sum() / H) - float(np.std(heights) / max(hc, 1)) * len(out)
    return tuple(sorted(out)), score


def find_characters(image: np.ndarray, *, config: SegmentConfig | None = None) -> Segmentation:
    """Segment a plate crop (uint8 RGB (H, W, 3) or gray (H, W)) into character boxes.

    >>> seg = find_characters(np.full((30, 90, 3), 255, np.uint8))
    >>> seg.boxes
    ()
    """
    cfg = config or SegmentConfig()
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    work_rgb = resize_to_height(rgb, height=cfg.work_height, max_width=cfg.work_height * 12)
    sx = image.shape[1] / work_rgb.shape[1]
    sy = image.shape[0] / work_rgb.shape[0]
    gray = Pipeline(cfg.preprocess)(work_rgb)
    if gray.ndim == 3:
        gray = to_gray(gray)
    edge = find_band_edge(work_rgb) if cfg.mask_band and image.ndim == 3 else 0
    hyps: dict[tuple[CharBox, ...], Hypothesis] = {}
    polarities: tuple[Polarity, ...] = {
        "auto": (guess_polarity(gray),),
        "dark": ("dark",),
        "light": ("light",),
        "both": ("dark", "light"),
    }[cfg.polarity]
    for method in cfg.binarizers:
        for polarity in polarities:
            mask = binarize(gray, method=method, polarity=polarity)
            if edge:
                mask[:, : edge + 1] = False
            boxes, score = segment_mask(mask, config=cfg)
            if not boxes:
                continue
            hyp = Hypothesis(boxes, method.method, polarity, score)
            if boxes not in hyps or hyps[boxes].score < score:
                hyps[boxes] = hyp
    ranked = tuple(sorted(hyps.values(), key=lambda hp: -hp.score))
    return Segmentation(work=gray, scale=(sx, sy), hypotheses=ranked)
