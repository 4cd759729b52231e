"""The row of a hypothesis and what lies in its band.

:class:`Row` fits the baseline and the character height through a hypothesis's
boxes; the functions here judge a candidate box against it (:func:`char_geometry_ok`,
:func:`typical_boxes`, :func:`clip_to_band`) and find the optional pieces the
hypothesis left out: the row's dropped components (:func:`extra_components`, over
:func:`mask_components`) and windows where a character may be lost
(:func:`gap_windows`).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segocr.segment.boxes import CharBox, box_key
from segocr.segment.characters import component_stats, line_fit, small_median
from segocr.segment.search.config import SearchConfig


@dataclass(frozen=True)
class Row:
    """The row of a hypothesis: the line ``y = slope * x + intercept`` through its
    boxes' bottoms (the baseline) and the character height ``hc + height_slope *
    (x - x_ref)`` (perspective makes characters on one side taller), in pixels.

    >>> r = Row.of_boxes([CharBox(0, 10, 6, 20), CharBox(10, 12, 6, 20), CharBox(20, 14, 6, 20)])
    >>> round(r.slope, 2), round(r.baseline(13.0), 1), round(r.height(13.0), 1)
    (0.2, 32.0, 20.0)
    """

    slope: float
    intercept: float
    hc: float
    height_slope: float = 0.0
    x_ref: float = 0.0

    def baseline(self, x: float) -> float:
        return self.slope * x + self.intercept

    def height(self, x: float) -> float:
        """The character height at ``x`` (at least half of ``hc``)."""
        return max(self.hc + self.height_slope * (x - self.x_ref), 0.5 * self.hc)

    @classmethod
    def of_boxes(cls, boxes: Sequence[CharBox]) -> Row:
        """Least-squares baseline and height lines through ``boxes`` (at least one)."""
        cx = [b.cx for b in boxes]
        bottom = [b.y2 for b in boxes]
        hh = [b.h for b in boxes]
        x_ref = small_median(cx)
        spread = max(cx) - min(cx)
        if len(boxes) < 3 or spread <= 0:
            return cls(0.0, small_median(bottom), small_median(hh), 0.0, x_ref)
        a, b = line_fit(np.array(cx), np.array(bottom, np.float64))
        hs, h0 = line_fit(np.array(cx) - x_ref, np.array(hh, np.float64))
        # Perspective: the height may change by at most half along the row.
        lim = 0.5 * small_median(hh) / spread
        return cls(float(a), float(b), max(float(h0), 1.0), min(max(float(hs), -lim), lim), x_ref)


def _tight(mask: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> CharBox | None:
    """The tight box of the ink of ``mask[y0:y1, x0:x1]``, or None without ink."""
    sub = mask[y0:y1, x0:x1]
    rows = np.flatnonzero(sub.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(sub.any(axis=0))
    return CharBox(
        x0 + int(cols[0]),
        y0 + int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


def char_geometry_ok(box: CharBox, row: Row, config: SearchConfig) -> bool:
    """Whether a new candidate ``box`` has a character's size and position in ``row``.

    >>> row = Row(0.0, 30.0, 20.0)
    >>> char_geometry_ok(CharBox(0, 10, 12, 20), row, SearchConfig()), char_geometry_ok(CharBox(0, 22, 8, 8), row, SearchConfig())
    (True, False)
    """
    hc = row.height(box.cx)
    return (
        config.min_char_height * hc <= box.h <= config.max_char_height * hc
        and box.w <= config.max_char_width * hc
        and abs(box.y2 - row.baseline(box.cx)) <= config.max_baseline_offset * hc
    )


def typical_boxes(boxes: Sequence[CharBox], tol: float) -> list[CharBox]:
    """The ``boxes`` whose height is within ``tol`` of their median height (all of
    them when fewer than two are): the row's characters without those joined to the
    frame or broken.

    >>> bs = [CharBox(0, 10, 6, 20), CharBox(10, 10, 6, 21), CharBox(20, 10, 6, 30)]
    >>> [b.x for b in typical_boxes(bs, 0.2)]
    [0, 10]
    """
    med = small_median([b.h for b in boxes])
    out = [b for b in boxes if abs(b.h / med - 1) <= tol]
    return out if len(out) >= 2 else list(boxes)


def clip_to_band(mask: np.ndarray, box: CharBox, row: Row, pad: float) -> CharBox | None:
    """The tight box of the ink of ``mask`` (H, W) bool inside ``box``'s columns and
    the row's band (top line to baseline at the box's centre, each widened by ``pad``
    x the character height), or None when ``box`` does not reach beyond the band
    (or nothing of it is inside).

    A bar joined to a frame line above the row is cut at the row's top:

    >>> mask = np.zeros((40, 20), bool); mask[2:4, :] = True; mask[4:30, 8:12] = True
    >>> clip_to_band(mask, CharBox(0, 2, 20, 28), Row(0.0, 30.0, 20.0), 0.05)
    CharBox(x=8, y=9, w=4, h=21)
    """
    hc = row.height(box.cx)
    base = row.baseline(box.cx)
    y0 = max(box.y, math.floor(base - hc - pad * hc))
    y1 = min(box.y2, math.ceil(base + pad * hc))
    if (y0 == box.y and y1 == box.y2) or y1 <= y0:
        return None
    out = _tight(mask, box.x, box.x2, y0, y1)
    return None if out == box else out


def gap_windows(
    mask: np.ndarray, boxes: Sequence[CharBox], row: Row, pitch: float, config: SearchConfig
) -> list[tuple[CharBox, tuple[CharBox, ...]]]:
    """Windows where the row may have lost a character: (piece box, alternative boxes).

    The row's advance is the median distance between neighbouring box centres
    (1.05-1.8 pitches). Window centres: one advance at a time into every gap between
    neighbouring ``boxes`` at least ``gap_width`` x ``pitch`` wide (from its left box
    and from its right box), and (``window_ends``) one advance beyond each end of the
    row. A window is
    1.2 pitches wide (inside its gap or the image), the row's height at its centre
    tall, and overlaps no box by more than half the narrower's width; centres closer
    than 0.75 advance are one piece. Each centre offers the window's ink in the band
    (:func:`clip_to_band`'s widening) when it is at least ``min_char_height`` tall, and
    the bare window. ``mask`` (H, W) bool.

    A row of boxes with one missing gets a window where it is missing:

    >>> mask = np.zeros((30, 80), bool)
    >>> boxes = [CharBox(x, 5, 6, 20) for x in (2, 12, 32, 42)]
    >>> [w for w, _ in gap_windows(mask, boxes, Row(0.0, 25.0, 20.0), 6.0, SearchConfig())]
    [CharBox(x=21, y=5, w=8, h=20), CharBox(x=51, y=5, w=8, h=20)]

    Without the end windows only the one inside the row is left:

    >>> cfg = SearchConfig(window_ends=False)
    >>> [w for w, _ in gap_windows(mask, boxes, Row(0.0, 25.0, 20.0), 6.0, cfg)]
    [CharBox(x=21, y=5, w=8, h=20)]
    """
    H, W = mask.shape
    bs = sorted(boxes, key=box_key)
    if not bs or pitch <= 0:
        return []
    diffs = [b.cx - a.cx for a, b in itertools.pairwise(bs)]
    adv = min(max(small_median(diffs) if diffs else 1.3 * pitch, 1.05 * pitch), 1.8 * pitch)
    half = 0.6 * pitch
    cands: list[tuple[float, int, int]] = []  # (centre, lowest x, highest x)
    for a, b in itertools.pairwise(bs):
        if b.x - a.x2 < config.gap_width * pitch:
            continue
        c = a.cx + adv
        while c + half <= b.x + 0.3 * pitch:
            cands.append((c, a.x2, b.x))
            c += adv
        c = b.cx - adv
        while c - half >= a.x2 - 0.3 * pitch:
            cands.append((c, a.x2, b.x))
            c -= adv
    if config.window_ends:
        cands += [(bs[0].cx - adv, 0, bs[0].x), (bs[-1].cx + adv, bs[-1].x2, W)]
    groups: list[list[CharBox]] = []
    last = -math.inf
    for c, lo, hi in sorted(cands):
        x0, x1 = max(lo, round(c - half)), min(hi, round(c + half))
        hc, base = row.height(c), row.baseline(c)
        y0, y1 = max(0, round(base - hc)), min(H, round(base))
        if x1 - x0 < 0.5 * pitch or y1 - y0 < 0.5 * hc:
            continue
        win = CharBox(x0, y0, x1 - x0, y1 - y0)
        if any(min(b.x2, win.x2) - max(b.x, win.x) > 0.5 * min(b.w, win.w) for b in bs):
            continue
        pad = config.clip_pad * hc
        tight = _tight(
            mask, x0, x1, max(0, math.floor(base - hc - pad)), min(H, math.ceil(base + pad))
        )
        found = [win] if tight is None or tight.h < config.min_char_height * hc else [tight, win]
        if groups and c - last < 0.75 * adv:
            groups[-1] += [f for f in found if f not in groups[-1]]
        else:
            groups.append(found)
            last = c
    return [(g[0], tuple(g[1:])) for g in groups]


def extra_components(
    mask: np.ndarray,
    boxes: Sequence[CharBox],
    row: Row,
    config: SearchConfig,
    components: Sequence[tuple[int, int, int, int]] | None = None,
) -> list[CharBox]:
    """Boxes of the components of ``mask`` (H, W) bool that lie in ``row`` (top and
    bottom within the row's band), are at least ``extra_min_height`` x hc tall and
    overlap none of ``boxes`` by more than half their width. ``components``: the
    components' boxes (:func:`mask_components`) when known.

    >>> mask = np.zeros((30, 40), bool); mask[5:25, 2:6] = True; mask[5:25, 20:24] = True
    >>> extra_components(mask, [CharBox(2, 5, 4, 20)], Row(0.0, 25.0, 20.0), SearchConfig())
    [CharBox(x=20, y=5, w=4, h=20)]
    """
    if components is None:
        components = mask_components(mask)
    out: list[CharBox] = []
    own = sorted((b.x, b.x + b.w, b.w) for b in boxes)
    starts = [bx for bx, _, _ in own]
    # Row.height and Row.baseline, inlined (the same arithmetic).
    rhc, hs, x_ref, half = row.hc, row.height_slope, row.x_ref, 0.5 * row.hc
    slope, icpt = row.slope, row.intercept
    off, low = config.max_baseline_offset, config.extra_min_height
    shortest = low * half  # no component below it is tall enough (hc >= half)
    for x, y, w, h in components:
        if h < shortest:
            continue
        cx = x + w / 2.0
        hc, base = max(rhc + hs * (cx - x_ref), half), slope * cx + icpt
        tol = off * hc
        if not (h >= low * hc and y + h <= base + tol and y >= base - hc - tol):
            continue
        # Only boxes starting left of the component's end can overlap it; the
        # nearest first.
        x2 = x + w
        for k in range(bisect.bisect_left(starts, x2) - 1, -1, -1):
            bx, bx2, bw = own[k]
            if min(bx2, x2) - max(bx, x) > 0.5 * min(w, bw):
                break
        else:
            out.append(CharBox(x, y, w, h))
    return out


def mask_components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The (x, y, w, h) boxes of the 8-connected components of ``mask`` (H, W) bool.

    >>> m = np.zeros((6, 9), bool); m[1:4, 1:3] = True; m[2:5, 6:8] = True
    >>> mask_components(m)
    [(1, 1, 2, 3), (6, 2, 2, 3)]
    """
    n, stats = component_stats(mask.astype(np.uint8))
    return [(x, y, w, h) for x, y, w, h in stats[1:n, :4].tolist()]
