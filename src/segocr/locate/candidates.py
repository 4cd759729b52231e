"""Candidate plate regions from a whole photo: rows of character-like regions, and
vertical-edge density with morphology.

**Character rows** (:func:`row_candidates`): MSER regions of the working gray copy and
of its negative (dark and light ink) that are shaped like characters are linked when
they have similar heights, sit side by side on one line and are close; a linked group
of at least ``min_row_chars`` distinct characters is a row, and its rotated rectangle,
grown by the plate's margins, a candidate.

**Edge blobs** (:func:`edge_candidates`):

Characters make dense, short vertical edges in a band a few times wider than tall. On
a working copy of the photo (its long side scaled to ``work_size``):

1. gray -> horizontal Sobel magnitude (|dI/dx|), thresholded at a high percentile;
2. for each closing width (a few character spacings), a morphological closing with a
   wide flat kernel joins a row of characters into one blob, an opening removes thin
   lines and specks;
3. each blob's rotated rectangle (``cv2.minAreaRect``) is kept when its aspect ratio,
   size, tilt and edge density look like a plate.

Candidates are cheap and many; :mod:`segocr.locate.locator` verifies them by reading.
:func:`find_candidates` returns both kinds, rows first.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.locate.geometry import Quad, bbox_of, grow_quad, order_quad, quad_iou, scale_quad


class CandidateConfig(BaseModel):
    """Settings of the candidate search (one concept, one config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Long side of the working copy in pixels (small photos are upscaled to it).
    work_size: int = Field(800, ge=128, le=4096)
    #: Largest upscaling of a small photo.
    max_upscale: float = Field(2.5, ge=1.0, le=8.0)
    #: CLAHE clip limit applied to the working gray copy (dark night photos).
    clahe_clip: float = Field(2.0, gt=0)
    #: Edge pixels: |dI/dx| above this percentile of the image's values.
    edge_percentile: float = Field(88.0, gt=0, lt=100)
    #: Generators used: ``rows`` (MSER character rows) and/or ``edges`` (edge blobs).
    generators: tuple[str, ...] = ("rows", "edges")
    #: MSER stability step and region area limits (working pixels).
    mser_delta: int = Field(6, ge=1)
    mser_min_area: int = Field(25, ge=1)
    mser_max_area: int = Field(8000, ge=10)
    #: Character height limits in working pixels / as a fraction of the working long side.
    min_char_px: int = Field(8, ge=3)
    max_char_height: float = Field(0.2, gt=0, le=1)
    #: Character aspect (height / width) limits.
    min_char_aspect: float = Field(0.9, gt=0)
    max_char_aspect: float = Field(7.0, gt=0)
    #: Linking: height ratio, vertical offset and horizontal gap (both in heights).
    link_height_ratio: float = Field(0.75, gt=0, le=1)
    link_dy: float = Field(0.35, gt=0)
    link_gap: float = Field(1.3, ge=0)
    #: Fewest distinct characters in a row.
    min_row_chars: int = Field(3, ge=1)
    #: A row's rectangle is grown by these fractions of its width / height on each
    #: side to cover the plate around the characters.
    row_grow_x: float = Field(0.08, ge=0)
    row_grow_y: float = Field(0.35, ge=0)
    #: Widths of the closing kernel as fractions of the working long side.
    close_widths: tuple[float, ...] = (0.012, 0.022, 0.035)
    #: Height of the closing kernel and side of the opening kernel (pixels).
    close_height: int = Field(3, ge=1, le=15)
    open_size: int = Field(3, ge=1, le=15)
    #: Aspect (long / short side) limits of a candidate's rotated rectangle.
    min_aspect: float = Field(1.4, gt=0)
    max_aspect: float = Field(9.0, gt=0)
    #: Height limits as fractions of the working long side.
    min_height: float = Field(0.01, gt=0, lt=1)
    max_height: float = Field(0.3, gt=0, le=1)
    #: Largest tilt of the rectangle's long side (degrees).
    max_angle: float = Field(30.0, ge=0, le=90)
    #: Smallest fraction of edge pixels inside the rectangle.
    min_density: float = Field(0.12, ge=0, le=1)
    #: Candidates overlapping a better one by more than this IoU are dropped.
    nms_iou: float = Field(0.6, gt=0, le=1)
    #: At most this many candidates (best edge density first).
    max_candidates: int = Field(30, ge=1)


@dataclass(frozen=True)
class Candidate:
    """A region that may hold a plate: ``quad`` (4, 2) in input-image pixels, its
    generator's strength (``density``: characters in a row, or the fraction of edge
    pixels of a blob) and ``kind`` (``row`` or ``edges``)."""

    quad: Quad
    density: float
    kind: str = "edges"


def working_scale(shape: tuple[int, ...], config: CandidateConfig) -> float:
    """Factor from input pixels to working pixels.

    >>> working_scale((720, 1280, 3), CandidateConfig())
    0.625
    """
    long_side = max(shape[0], shape[1])
    return min(config.work_size / long_side, config.max_upscale)


def edge_map(gray: np.ndarray, *, percentile: float) -> np.ndarray:
    """(H, W) bool: pixels whose horizontal gradient magnitude is above ``percentile``
    of the image's (and above a small floor, so flat images give no edges)."""
    gx = np.abs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3)).astype(np.float32)
    threshold = max(float(np.percentile(gx, percentile)), 24.0)
    return gx > threshold


def find_candidates(image: np.ndarray, *, config: CandidateConfig | None = None) -> list[Candidate]:
    """Plate-like regions of ``image`` (uint8 RGB (H, W, 3) or gray (H, W)): character
    rows first (most characters first), then edge blobs (densest first), near
    duplicates of an earlier candidate dropped, at most ``config.max_candidates``.
    Quads are in input-image pixels.

    >>> find_candidates(np.full((240, 320, 3), 128, np.uint8))
    []
    """
    cfg = config or CandidateConfig()
    unknown = set(cfg.generators) - {"rows", "edges"}
    if unknown:
        raise ValueError(
            f"unknown candidate generators {sorted(unknown)}; choose from: edges, rows"
        )
    if min(image.shape[:2]) < 8:  # nothing plate-sized fits
        return []
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    s = working_scale(gray.shape, cfg)
    work = cv2.resize(
        gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    )
    found: list[Candidate] = []
    if "rows" in cfg.generators:
        found += row_candidates(work, config=cfg)
    if "edges" in cfg.generators:
        found += edge_candidates(work, config=cfg)
    kept: list[Candidate] = []
    boxes: list[tuple[float, float, float, float]] = []
    for cand in found:
        b = bbox_of(cand.quad)
        if all(
            not _boxes_overlap(b, kb) or quad_iou(cand.quad, k.quad) <= cfg.nms_iou
            for k, kb in zip(kept, boxes, strict=True)
        ):
            boxes.append(b)
            kept.append(cand)
        if len(kept) >= cfg.max_candidates:
            break
    return [Candidate(scale_quad(c.quad, 1 / s), c.density, c.kind) for c in kept]


def _boxes_overlap(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def char_regions(work: np.ndarray, *, config: CandidateConfig) -> np.ndarray:
    """(n, 4) int boxes ``x, y, w, h`` of character-shaped MSER regions of the gray
    ``work`` image, dark and light ones, near-duplicates merged."""
    mser = cv2.MSER_create(  # type: ignore[attr-defined]
        delta=config.mser_delta, min_area=config.mser_min_area, max_area=config.mser_max_area
    )
    boxes = []
    for g in (work, 255 - work):
        _, b = mser.detectRegions(g)
        if len(b):
            boxes.append(np.asarray(b, np.int32).reshape(-1, 4))
    if not boxes:
        return np.zeros((0, 4), np.int32)
    b = np.concatenate(boxes)
    h, w = b[:, 3].astype(np.float32), b[:, 2].astype(np.float32)
    keep = (h >= config.min_char_px) & (h <= config.max_char_height * max(work.shape))
    keep &= (h / w >= config.min_char_aspect) & (h / w <= config.max_char_aspect)
    b = b[keep]
    # nested MSER levels of one character: keep one box per 3-pixel grid cell of corners
    _, first = np.unique(np.round(b / 3).astype(np.int32), axis=0, return_index=True)
    return b[np.sort(first)]


def row_candidates(work: np.ndarray, *, config: CandidateConfig) -> list[Candidate]:
    """Character rows of the gray working image ``work`` (see the module docstring),
    most characters first; quads in working pixels."""
    b = char_regions(work, config=config).astype(np.float32)
    n = len(b)
    if n < config.min_row_chars:
        return []
    x, y, w, h = b.T
    cx, cy, x2 = x + w / 2, y + h / 2, x + w
    hmax = np.maximum(h[:, None], h[None, :])
    ratio = np.minimum(h[:, None], h[None, :]) / hmax
    gap = np.maximum(x[None, :] - x2[:, None], x[:, None] - x2[None, :])
    link = ratio >= config.link_height_ratio
    link &= np.abs(cy[:, None] - cy[None, :]) <= config.link_dy * hmax
    link &= gap <= config.link_gap * hmax
    link &= np.abs(cx[:, None] - cx[None, :]) >= 0.3 * np.minimum(w[:, None], w[None, :])
    i, j = np.nonzero(np.triu(link, 1))
    labels = _components(n, i, j)
    out: list[tuple[int, Candidate]] = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        if len(idx) < config.min_row_chars:
            continue
        xs = np.sort(cx[idx])
        distinct = 1 + int(np.sum(np.diff(xs) > 0.3 * np.median(w[idx])))
        if distinct < config.min_row_chars:
            continue
        corners = np.concatenate(
            [np.stack([x[idx], y[idx]], 1), np.stack([x2[idx], y[idx]], 1),
             np.stack([x[idx], y[idx] + h[idx]], 1), np.stack([x2[idx], y[idx] + h[idx]], 1)]
        )  # fmt: skip
        (rcx, rcy), (rw, rh), angle = cv2.minAreaRect(corners.astype(np.float32))
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90
        angle = (angle + 90) % 180 - 90
        if abs(angle) > config.max_angle:
            continue
        quad = order_quad(cv2.boxPoints(((rcx, rcy), (rw, rh), angle)))
        quad = grow_quad(quad, dx=config.row_grow_x, dy=config.row_grow_y)
        out.append((distinct, Candidate(quad, float(distinct), "row")))
    out.sort(key=lambda t: -t[0])
    return [c for _, c in out]


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes linked by edges ``i[k]-j[k]``
    (union-find; core installs have no scipy).

    >>> _components(4, np.array([0, 2]), np.array([1, 3])).tolist()
    [0, 0, 2, 2]
    """
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(a) for a in range(n)])


def edge_candidates(work: np.ndarray, *, config: CandidateConfig) -> list[Candidate]:
    """Edge blobs of the gray working image ``work`` (see the module docstring),
    densest first; quads in working pixels."""
    cfg = config
    work = cv2.createCLAHE(clipLimit=cfg.clahe_clip, tileGridSize=(8, 8)).apply(work)
    work = cv2.GaussianBlur(work, (3, 3), 0)
    edges = edge_map(work, percentile=cfg.edge_percentile)
    edges_u8 = edges.astype(np.uint8)
    long_side = max(work.shape)
    found: list[Candidate] = []
    opener = cv2.getStructuringElement(cv2.MORPH_RECT, (cfg.open_size, cfg.open_size))
    for frac in cfg.close_widths:
        kw = max(3, round(frac * long_side))
        closer = cv2.getStructuringElement(cv2.MORPH_RECT, (kw, cfg.close_height))
        blobs = cv2.morphologyEx(edges_u8, cv2.MORPH_CLOSE, closer)
        blobs = cv2.morphologyEx(blobs, cv2.MORPH_OPEN, opener)
        # vertical opening: a plate row is at least a few pixels tall everywhere
        blobs = cv2.morphologyEx(
            blobs, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, kw // 3)))
        )
        contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            cand = _candidate(contour, edges, cfg, long_side)
            if cand is not None:
                found.append(Candidate(cand[0], cand[1], "edges"))
    found.sort(key=lambda c: -c.density)
    return found


def _candidate(
    contour: np.ndarray, edges: np.ndarray, cfg: CandidateConfig, long_side: int
) -> tuple[Quad, float] | None:
    (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
    if w < h:
        w, h, angle = h, w, angle - 90
    angle = (angle + 90) % 180 - 90
    if h < 1 or abs(angle) > cfg.max_angle:
        return None
    if not cfg.min_aspect <= w / h <= cfg.max_aspect:
        return None
    if not cfg.min_height * long_side <= h <= cfg.max_height * long_side:
        return None
    quad = order_quad(cv2.boxPoints(((cx, cy), (w, h), angle)))
    x, y, bw, bh = cv2.boundingRect(contour)
    density = float(edges[y : y + bh, x : x + bw].mean())
    if density < cfg.min_density:
        return None
    return quad, density
