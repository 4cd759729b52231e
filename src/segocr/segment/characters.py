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

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.preprocess import Pipeline, PipelineConfig, resize_to_height, to_gray
from segocr.segment.binarize import BinarizeConfig, Polarity, binarize
from segocr.segment.boxes import CharBox, box_key


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
    #: ... and wider than this fraction of the row height.
    split_min_width: float = Field(0.55, gt=0, le=5)
    #: Merged pieces shorter than this fraction of the row height are dropped.
    min_piece_height: float = Field(0.6, gt=0, le=1)
    #: Pieces shorter than this fraction of the row height and about as wide as tall
    #: are stickers, screws or dots and are dropped before merging.
    round_piece_height: float = Field(0.62, ge=0, le=1)
    #: Boxes narrower than this fraction of the row height are lines, not characters.
    min_char_width: float = Field(0.1, ge=0, le=1)
    #: Fewest characters a row may have.
    min_chars: int = Field(2, ge=1)
    #: Remove vertical ink runs longer than this many row-character heights once the
    #: row is found (frame sides and band edges a character touches; a character's
    #: own strokes are at most one height long). None: kept.
    frame_side_height: float | None = Field(None, gt=1, le=5)
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


def component_stats(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """(n, stats) of ``cv2.connectedComponentsWithStats(mask, connectivity=8)`` for a
    uint8 or bool mask (H, W): n labels (background included), stats (n, 5) int32
    (x, y, w, h, area). The labels are made 16-bit when they fit (an 8-connected
    mask has at most ceil(H/2) * ceil(W/2) components): the same stats, about three
    times faster than with 32-bit labels.

    >>> m = np.zeros((6, 9), np.uint8); m[1:4, 1:3] = 1; m[2:5, 6:8] = 1
    >>> n, st = component_stats(m); n, st[1:].tolist()
    (3, [[1, 1, 2, 3, 6], [6, 2, 2, 3, 6]])
    """
    u8 = mask.view(np.uint8) if mask.dtype == np.bool_ else mask
    H, W = u8.shape
    ltype = cv2.CV_16U if ((H + 1) // 2) * ((W + 1) // 2) < 65535 else cv2.CV_32S
    n, _, stats, _ = cv2.connectedComponentsWithStats(u8, connectivity=8, ltype=ltype)
    return n, stats


# --- the blue band ----------------------------------------------------------------


def find_band_edge(rgb: np.ndarray) -> int:
    """Right edge x (exclusive) of a blue EU band in the left part of an RGB image, or
    0 when there is none. The band is a saturated blue component at least a third of
    the image tall, at most 0.8 times as wide as tall and 15% of the image wide, starting in the left 30% of the
    image and mostly filled; the leftmost such component is the band.

    >>> img = np.full((40, 120, 3), 230, np.uint8); img[5:35, 4:16] = (20, 60, 200)
    >>> find_band_edge(img)
    16
    """
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h, s, v = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    raw = ((h >= 95) & (h <= 135) & (s >= 125) & (v >= 70)).astype(np.uint8)
    blue = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, stats = component_stats(blue)
    H, W = blue.shape
    bands = [
        (x, x + w)
        for x, y, w, hh, area in stats[1:n].tolist()
        if hh >= H / 3 and 0.1 * hh <= w <= min(0.8 * hh, 0.15 * W) and x < 0.3 * W and area >= 0.4 * w * hh
    ]
    return min(bands)[1] if bands else 0


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


#: Most character-sized components :func:`_fit_row` looks for a row among.
MAX_ROW_CANDIDATES = 64


def remove_frame_sides(mask: np.ndarray, hc: float, ratio: float | None) -> np.ndarray:
    """``mask`` (H, W) bool without its vertical ink runs longer than ``ratio`` x the
    row's character height ``hc`` (None, or runs that cannot fit: ``mask`` itself).

    >>> m = np.zeros((40, 20), bool); m[0:40, 15] = True; m[10:30, 3:8] = True
    >>> r = remove_frame_sides(m, 20.0, 1.4)
    >>> bool(r[:, 15].any()), int(r[:, 3:8].sum())
    (False, 100)
    """
    if ratio is None:
        return mask
    length = math.ceil(ratio * hc)
    if length >= mask.shape[0]:
        return mask
    u8 = mask.astype(np.uint8)
    lines = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    return (u8 > lines) if lines.any() else mask


@functools.lru_cache(maxsize=MAX_ROW_CANDIDATES)
def _pairs(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.triu_indices(k)`` (the pairs i <= j of k candidates, each (P,)) and their
    ``i == j`` mask, made once per ``k`` (read-only: shared between calls).

    >>> [a.tolist() for a in _pairs(2)]
    [[0, 0, 1], [0, 1, 1], [True, False, True]]
    """
    i, j = np.triu_indices(k)
    out = (i, j, i == j)
    for a in out:
        a.setflags(write=False)
    return out


def _fit_row(stats: np.ndarray, cfg: SegmentConfig, H: int) -> tuple[float, float, float] | None:
    """(slope, intercept, char height) of the best row through candidate components
    ``stats`` (k, 4: x, y, w, h), or None.

    Every pair of similar-height components (and every single one, flat) proposes a
    line through their centres; a proposal's inliers are the components whose centre
    lies near the line and whose height is near the pair's; the proposal whose
    inliers are tallest in sum wins and the line is refitted on them. All proposals
    are evaluated at once: (P, k) arrays for P proposals.

    More than :data:`MAX_ROW_CANDIDATES` candidates is texture, not a plate (plates
    give at most 13 on IWT4S and synthetic data): no row, instead of O(k^3) time
    and memory (a striped image would otherwise take seconds and gigabytes).
    """
    k = len(stats)
    if k == 0 or k > MAX_ROW_CANDIDATES:
        return None
    cx = stats[:, 0] + stats[:, 2] / 2.0
    cy = stats[:, 1] + stats[:, 3] / 2.0
    hh = stats[:, 3].astype(np.float64)
    i, j, same = _pairs(k)
    hm = (hh[i] + hh[j]) / 2
    dx = cx[j] - cx[i]
    ok = np.maximum(hh[i], hh[j]) / np.minimum(hh[i], hh[j]) <= 1 + cfg.row_height_tol
    ok &= same | (np.abs(dx) > 1e-6)
    a = np.where(same, 0.0, (cy[j] - cy[i]) / np.where(np.abs(dx) > 1e-6, dx, 1.0))
    ok &= np.abs(a) <= cfg.max_slope
    i, hm, a = i[ok], hm[ok], a[ok]
    if len(i) == 0:
        return None
    b = cy[i] - a * cx[i]
    inl = np.abs(cy[None, :] - (a[:, None] * cx[None, :] + b[:, None])) <= cfg.row_center_tol * hm[:, None]
    inl &= np.abs(hh[None, :] / hm[:, None] - 1) <= cfg.row_height_tol
    enough = inl.sum(axis=1) >= min(cfg.min_chars, k)
    if not enough.any():
        return None
    scores = np.where(enough, (inl * hh[None, :]).sum(axis=1), -1.0)
    best = int(np.argmax(scores))
    sel = inl[best]
    aa, bb = float(a[best]), float(b[best])
    if sel.sum() >= 2 and np.ptp(cx[sel]) > 0:
        a2, b2 = line_fit(cx[sel], cy[sel])
        if abs(a2) <= cfg.max_slope:
            aa, bb = float(a2), float(b2)
    return aa, bb, small_median(hh[sel])


def _split_box(mask: np.ndarray, box: CharBox, n: int) -> list[CharBox]:
    """Split ``box`` into ``n`` boxes at ink-projection minima near equal spacing."""
    sub = mask[box.y : box.y2, box.x : box.x2]
    proj = sub.sum(axis=0).astype(np.float64)
    cuts = [0]
    step = box.w / n
    for i in range(1, n):
        centre = round(i * step)
        lo, hi = max(cuts[-1] + 1, centre - int(step * 0.3)), min(box.w - 1, centre + int(step * 0.3))
        cut = centre if hi <= lo else lo + int(np.argmin(proj[lo:hi]))
        cuts.append(cut)
    cuts.append(box.w)
    out = []
    for x0, x1 in itertools.pairwise(cuts):
        col = sub[:, x0:x1]
        rows = np.flatnonzero(col.any(axis=1))
        if x1 - x0 < 1 or rows.size == 0:
            continue
        out.append(CharBox(box.x + x0, box.y + int(rows[0]), x1 - x0, int(rows[-1] - rows[0] + 1)))
    return out


def small_median(values: np.ndarray | list[float] | list[int]) -> float:
    """``float(np.median(values))`` of a short non-empty 1-D sequence, the same value
    (the middle element, or the two middle ones' sum halved) without NumPy's
    per-call cost, which dominates for the few boxes of a plate.

    >>> small_median([3, 1, 2]), small_median(np.array([4.0, 1.0, 2.0, 3.0]))
    (2.0, 2.5)
    """
    v = sorted(values.tolist() if isinstance(values, np.ndarray) else values)
    m = len(v) // 2
    return float(v[m]) if len(v) % 2 else (float(v[m - 1]) + float(v[m])) / 2.0


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through the points (x, y), both
    (n,) with n >= 2 and x not constant: ``np.polyfit(x, y, 1)`` in closed form over
    plain floats (it agrees to ~1e-12; NumPy's SVD costs ~50 us a call here, for a
    handful of points).

    >>> line_fit(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]))
    (2.0, 1.0)
    """
    xs, ys = x.tolist(), y.tolist()
    n = len(xs)
    xm, ym = sum(xs) / n, sum(ys) / n
    sxx = sum((u - xm) * (u - xm) for u in xs)
    sxy = sum((u - xm) * (v - ym) for u, v in zip(xs, ys, strict=True))
    a = sxy / sxx
    return a, ym - a * xm


def _ink_fill(ii: np.ndarray, box: CharBox) -> float:
    """``mask[box].mean()`` from the integral image ``ii`` (H + 1, W + 1) of a bool
    mask (H, W): the box's ink fraction, the same value (an exact integer count over
    the area).

    >>> m = np.zeros((4, 6), np.uint8); m[0:2, 0:2] = 1
    >>> ii = cv2.integral(m)
    >>> _ink_fill(ii, CharBox(0, 0, 2, 2)), _ink_fill(ii, CharBox(0, 0, 4, 4)), _ink_fill(ii, CharBox(6, 0, 2, 2))
    (1.0, 0.25, nan)
    """
    H, W = ii.shape[0] - 1, ii.shape[1] - 1
    y0, x0 = min(max(box.y, 0), H), min(max(box.x, 0), W)
    y1, x1 = min(box.y2, H), min(box.x2, W)
    area = (y1 - y0) * (x1 - x0)
    at = ii.item  # a Python int, without a NumPy scalar
    ink = at(y1, x1) - at(y0, x1) - at(y1, x0) + at(y0, x0)
    return ink / area if area > 0 else math.nan


def _is_bar(mask: np.ndarray, box: CharBox, hc: float) -> bool:
    """A box narrower than a sixth of the row height, solidly filled: a line, not a
    character (a "1" has its flag, so it fills less of its box)."""
    return box.w < 0.16 * hc and float(mask[box.y : box.y2, box.x : box.x2].mean()) > 0.75


def clean_mask(mask: np.ndarray, *, config: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """An ink mask (H, W) bool without its frame lines, and that copy's 8-connected
    components: (clean (H, W) bool, stats (k, 5) int32 of the k components: x, y, w, h,
    area), the first step of :func:`segment_mask` (the segmentation search reuses both).

    >>> m = np.zeros((20, 40), bool); m[2, :] = True; m[5:15, 4:8] = True
    >>> clean, stats = clean_mask(m, config=SegmentConfig()); stats.tolist()
    [[4, 5, 4, 10, 40]]
    """
    clean = _remove_lines(mask, config.frame_line_fraction)
    n, stats = component_stats(clean.astype(np.uint8))
    return clean, stats[1:n]


def segment_mask(
    mask: np.ndarray, *, config: SegmentConfig, cleaned: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[tuple[tuple[CharBox, ...], float], ...]:
    """Candidate rows from a boolean ink mask (H, W): each is (character boxes left to
    right, geometric score); empty when no row is found. ``cleaned``: the mask's
    :func:`clean_mask`, when the caller has it. Pure: the mask is not modified."""
    H = mask.shape[0]
    clean, comps = cleaned if cleaned is not None else clean_mask(mask, config=config)
    st = comps[:, :4].astype(np.int64)
    area = comps[:, 4]
    if len(st) == 0:
        return ()
    w, h = st[:, 2], st[:, 3]
    cand = (
        (h >= config.min_char_height * H)
        & (h <= config.max_char_height * H)
        & (w <= 3.0 * h)
        & (area >= 0.1 * w * h)
    )
    row = _fit_row(st[cand], config, H)
    if row is None:
        return ()
    a, b, hc = row
    sided = remove_frame_sides(clean, hc, config.frame_side_height)
    if sided is not clean:
        clean = sided
        n, stats = component_stats(clean.astype(np.uint8))
        st = stats[1:n, :4].astype(np.int64)
        area = stats[1:n, 4]
        w, h = st[:, 2], st[:, 3]
    # Every piece lying inside the row band belongs to some character.
    cx = st[:, 0] + w / 2
    line = a * cx + b
    tol = 0.5 * hc + config.row_center_tol * hc + 1
    inside = (st[:, 1] >= line - tol) & (st[:, 1] + h <= line + tol) & (h <= hc * (1 + config.row_height_tol) + 1)
    # Small round pieces are stickers, screws and dots, not parts of characters.
    aspect = w / np.maximum(h, 1)
    round_small = (h < config.round_piece_height * hc) & (aspect > 0.7) & (aspect < 1.45)
    pieces = sorted(map(tuple, st[inside & ~round_small].tolist()))
    # Merge pieces that overlap horizontally (broken strokes, dots of a character).
    merged: list[list[int]] = []  # [x1, y1, x2, y2]
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
        return ()
    widths = np.array([float(bx.w) for bx in boxes if bx.w <= 0.9 * hc] or [0.55 * hc])
    wc = small_median(widths)
    split: list[CharBox] = []
    for bx in boxes:
        if bx.w > config.split_width_ratio * wc and bx.w > config.split_min_width * hc:
            split.extend(_split_box(clean, bx, max(2, round(bx.w / wc))))
        else:
            split.append(bx)
    # Splitting guesses that a wide box is touching characters; a wide letter (W, M)
    # is the other explanation, so the unsplit row is offered too.
    variants = [split] if len(split) == len(boxes) else [split, boxes]
    return tuple(v for v in (_finish_row(clean, row, hc, config) for row in variants) if v[0])


def _finish_row(clean: np.ndarray, boxes: list[CharBox], hc: float, config: SegmentConfig) -> tuple[tuple[CharBox, ...], float]:
    """Drop what cannot be a character from a row of boxes and score the rest."""
    H = clean.shape[0]
    out = sorted((bx for bx in boxes if bx.h >= config.min_piece_height * hc and bx.w >= config.min_char_width * hc), key=box_key)
    # A thin solid bar at either end of the row is a frame side or band edge.
    while out and _is_bar(clean, out[-1], hc):
        out.pop()
    while out and _is_bar(clean, out[0], hc):
        out.pop(0)
    if len(out) < config.min_chars:
        return (), 0.0
    heights = np.array([bx.h for bx in out], np.float64)
    # Strokes fill part of their box; a solid block (the gap between characters seen
    # in the wrong polarity, a band edge) fills nearly all of it.
    ii = cv2.integral(np.ascontiguousarray(clean, dtype=np.uint8))
    fills = np.array([_ink_fill(ii, bx) for bx in out])
    weight = np.where(fills > 0.8, 0.2, 1.0)
    score = float((heights * weight).sum() / H) - float(np.std(heights) / max(hc, 1)) * len(out)
    return tuple(out), score


@dataclass(frozen=True)
class WorkImage:
    """A plate crop prepared for segmentation: the preprocessed gray working copy
    (Hw, Ww) uint8, the right edge of the blue band in it (0 if none), the polarities
    to try and ``scale`` = (sx, sy) from working to original coordinates."""

    gray: np.ndarray = field(repr=False)
    band_edge: int
    polarities: tuple[Polarity, ...]
    scale: tuple[float, float]


def prepare(image: np.ndarray, *, config: SegmentConfig) -> WorkImage:
    """Resize, find the band, preprocess and pick polarities: the work shared by all
    hypotheses of one image. ``image`` is uint8 RGB (H, W, 3) or gray (H, W); other
    arrays raise ValueError."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"expected a uint8 gray (H, W) or RGB (H, W, 3) image, got {got}")
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    work_rgb = resize_to_height(rgb, height=config.work_height, max_width=config.work_height * 12)
    gray = Pipeline(config.preprocess)(work_rgb)
    if gray.ndim == 3:
        gray = to_gray(gray)
    edge = find_band_edge(work_rgb) if config.mask_band and image.ndim == 3 else 0
    choices: dict[str, tuple[Polarity, ...]] = {
        "auto": (guess_polarity(gray),),
        "dark": ("dark",),
        "light": ("light",),
        "both": ("dark", "light"),
    }
    polarities = choices[config.polarity]
    scale = (image.shape[1] / work_rgb.shape[1], image.shape[0] / work_rgb.shape[0])
    return WorkImage(gray, edge, polarities, scale)


#: What :func:`hypotheses` found per (binarizer, polarity): the ink mask (band masked)
#: and :func:`segment_mask`'s rows of it.
RowsByMask = dict[tuple[BinarizeConfig, Polarity], tuple[np.ndarray, tuple[tuple[tuple[CharBox, ...], float], ...]]]
#: What :func:`hypotheses` found per (binarizer, polarity): the mask's :func:`clean_mask`.
CleanedByMask = dict[tuple[BinarizeConfig, Polarity], tuple[np.ndarray, np.ndarray]]


def hypotheses(
    work: WorkImage,
    binarizers: tuple[BinarizeConfig, ...],
    *,
    config: SegmentConfig,
    rows_out: RowsByMask | None = None,
    cleaned_out: CleanedByMask | None = None,
) -> list[Hypothesis]:
    """One hypothesis per binarizer and polarity that finds a row (duplicates removed),
    in the order of ``binarizers``. ``rows_out`` and ``cleaned_out``, when given,
    receive each mask and its rows, and its :func:`clean_mask` (the segmentation search
    reuses them)."""
    out: dict[tuple[CharBox, ...], Hypothesis] = {}
    for method in binarizers:
        for polarity in work.polarities:
            mask = binarize(work.gray, method=method, polarity=polarity)
            if work.band_edge:
                mask[:, : work.band_edge + 1] = False
            cleaned = clean_mask(mask, config=config)
            rows = segment_mask(mask, config=config, cleaned=cleaned)
            if rows_out is not None:
                rows_out[(method, polarity)] = (mask, rows)
            if cleaned_out is not None:
                cleaned_out[(method, polarity)] = cleaned
            for boxes, score in rows:
                if boxes not in out:
                    out[boxes] = Hypothesis(boxes, method.method, polarity, score)
    return list(out.values())


def find_characters(image: np.ndarray, *, config: SegmentConfig | None = None) -> Segmentation:
    """Segment a plate crop (uint8 RGB (H, W, 3) or gray (H, W)) into character boxes:
    every configured binarization, hypotheses ranked by geometric score.

    >>> seg = find_characters(np.full((30, 90, 3), 255, np.uint8))
    >>> seg.boxes
    ()
    """
    cfg = config or SegmentConfig()
    work = prepare(image, config=cfg)
    ranked = tuple(sorted(hypotheses(work, cfg.binarizers, config=cfg), key=lambda hp: -hp.score))
    return Segmentation(work=work.gray, scale=work.scale, hypotheses=ranked)
