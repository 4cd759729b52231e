"""Over-segmentation: cutting boxes into pieces.

The ink of B boxes is copied side by side and profiled in one array pass
(:func:`columns`); :func:`cut_columns` finds the cut columns of every box at once
(projection minima, profile concavities, pitch divisions) and :func:`cut_pieces`
turns them into the pieces' tight boxes. :func:`box_cuts` is the same for one box.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from segocr.segment.boxes import CharBox
from segocr.segment.search.config import SearchConfig


class Columns(NamedTuple):
    """The ink profiles of the columns of B boxes of a mask, the boxes' columns
    concatenated left to right box by box (T columns in all). Rows are counted from
    each box's top; a column without ink has ``top`` and ``bottom`` equal to its box's
    height."""

    #: (B+1,) int: each box's first column in the concatenation, then T.
    start: np.ndarray
    #: The B boxes' widths.
    widths: list[int]
    #: (T,) int: the box of each column.
    seg: np.ndarray
    #: (T,) int: each column's number in its box.
    local: np.ndarray
    #: (T,) int: the height of the column's box.
    height: np.ndarray
    #: (T,) float: the ink count of each column (its vertical projection).
    proj: np.ndarray
    #: (T,) float: the first ink row of each column (the upper ink profile).
    top: np.ndarray
    #: (T,) float: the rows below the last ink row of each column (the lower profile).
    bottom: np.ndarray


def columns(
    masks: Sequence[np.ndarray],
    boxes: Sequence[tuple[int, int, int, int]],
    layer: Sequence[int] | None = None,
) -> Columns:
    """The :class:`Columns` of the B ``boxes`` (x, y, w, h), each inside its mask
    (H, W) bool (``masks[layer[b]]``; without ``layer``, ``masks[0]``) with w, h >= 1:
    the boxes' ink copied side by side into one (max h, T) array, then profiled in
    one pass.

    >>> m = np.zeros((4, 5), bool); m[1:3, 1] = True; m[3, 3] = True
    >>> c = columns([m], [(0, 0, 3, 4), (3, 1, 2, 3)])
    >>> c.seg.tolist(), c.proj.tolist(), c.top.tolist(), c.bottom.tolist()
    ([0, 0, 0, 1, 1], [0.0, 2.0, 0.0, 1.0, 0.0], [4.0, 1.0, 4.0, 2.0, 3.0], [4.0, 1.0, 4.0, 0.0, 3.0])
    """
    ws = [b[2] for b in boxes]
    hs = [b[3] for b in boxes]
    start = np.array([0, *itertools.accumulate(ws)])
    T, hmax = int(start[-1]), max(hs)
    ink = np.zeros((hmax, T), bool)
    at = 0
    for b, (x, y, w, h) in enumerate(boxes):
        m = masks[0 if layer is None else layer[b]]
        ink[:h, at : at + w] = m[y : y + h, x : x + w]
        at += w
    seg = np.repeat(np.arange(len(boxes)), ws)
    height = np.repeat(hs, ws)
    proj = np.count_nonzero(ink, axis=0)
    some = proj > 0
    top = np.where(some, ink.argmax(axis=0), height)
    bottom = np.where(some, height - hmax + ink[::-1].argmax(axis=0), height)
    return Columns(
        start,
        ws,
        seg,
        np.arange(T) - start[seg],
        height,
        proj.astype(np.float64),
        top.astype(np.float64),
        bottom.astype(np.float64),
    )


def _extrema(v: np.ndarray, seg: np.ndarray, *, maxima: bool) -> np.ndarray:
    """Indices of the plateau-centred strict local minima (or maxima) of ``v`` (T,)
    inside each run of equal ``seg`` (T,) (a segment's first and last plateaus are
    never extrema).

    >>> _extrema(np.array([3, 1, 1, 1, 4, 2, 5]), np.zeros(7, int), maxima=False).tolist()
    [2, 5]
    >>> _extrema(np.array([3, 1, 4, 2, 5]), np.array([0, 0, 0, 1, 1]), maxima=False).tolist()
    [1]
    """
    s = -v if maxima else v
    new = np.ones(len(s), bool)
    new[1:] = (s[1:] != s[:-1]) | (seg[1:] != seg[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(s)) - 1
    val, rs = s[first], seg[first]
    inner = (rs[1:-1] == rs[:-2]) & (rs[1:-1] == rs[2:])
    inner &= (val[:-2] > val[1:-1]) & (val[2:] > val[1:-1])
    k = np.flatnonzero(inner) + 1
    return (first[k] + last[k]) // 2


def _segment_min(v: np.ndarray, seg: np.ndarray, *, reverse: bool) -> np.ndarray:
    """Running minimum of ``v`` (T,) float, whole numbers in [0, V], from the start
    (``reverse``: from the end) of each segment of ``seg`` (T,) (non-decreasing)."""
    off = seg * (float(v.max()) + 1.0)  # later segments lower, so no minimum leaks in
    if reverse:
        return np.minimum.accumulate((v + off)[::-1])[::-1] - off
    return np.minimum.accumulate(v - off) + off


#: The 3-column mean's kernel.
_MEAN3 = np.ones(3) / 3


def cut_columns(
    cols: Columns, hc: Sequence[float], pitch: Sequence[float], *, config: SearchConfig
) -> list[list[int]]:
    """The cut columns (each box's own column numbers, sorted) of every box of ``cols``:
    projection minima, profile concavities and pitch divisions (see
    :class:`SearchConfig`), at least ``min_piece_width`` apart and from the box's
    edges. ``hc`` (B,): the row's character height at each box, ``pitch`` (B,): its
    row's pitch. Callers pass only boxes at least ``min_cut_width`` x hc and 4 columns
    wide.

    The profiles of all boxes go through one extremum pass: the negated smoothed
    projection (its minima), then the upper and lower profiles (their maxima), each
    box of each profile a segment of its own."""
    start, seg, proj = cols.start, cols.seg, cols.proj
    B, T = len(hc), len(seg)
    parts: list[np.ndarray] = []
    if config.cut_minima:
        # The 3-column mean, box by box: np.convolve over the boxes with one zero column
        # between neighbours (the same sums as for each box alone).
        pos = np.arange(T) + seg
        padded = np.zeros(T + B - 1)
        padded[pos] = proj
        smooth = np.convolve(padded, _MEAN3, mode="same")[pos]
        parts.append(-smooth)
    n_min = len(parts)
    if config.cut_concavities:
        parts += [cols.top, cols.bottom]
    found = np.zeros(0, np.int64)
    if parts:
        values = np.concatenate(parts)  # (len(parts) * T,)
        segs = np.concatenate([seg + q * B for q in range(len(parts))])
        m = _extrema(values, segs, maxima=True)
        kept: list[np.ndarray] = []
        if n_min:
            lows = m[m < T]
            ref = _segment_medians(proj, start, seg)
            kept.append(lows[smooth[lows] <= config.minima_depth * ref[seg[lows]]])
        if config.cut_concavities:
            at = T * n_min
            prof, psegs, mc = values[at:], segs[at:], m[m >= at] - at
            low = np.maximum(
                _segment_min(prof, psegs, reverse=False)[mc],
                _segment_min(prof, psegs, reverse=True)[mc],
            )
            deep = prof[mc] - low >= config.concavity_depth * np.array(hc)[seg[mc % T]]
            kept.append(mc[deep] % T)
        found = np.concatenate(kept)
    cuts: list[list[int]] = [[] for _ in hc]
    for b, c in zip(seg[found].tolist(), cols.local[found].tolist(), strict=True):
        cuts[b].append(c)
    widths = cols.widths
    if config.cut_pitch:
        for b, (w, p) in enumerate(zip(widths, pitch, strict=True)):
            if p > 0 and w > 1.3 * p:
                cuts[b] += _pitch_cuts(proj[start[b] : start[b + 1]].tolist(), p)
    out: list[list[int]] = []
    for b, (w, found_b) in enumerate(zip(widths, cuts, strict=True)):
        if not found_b:
            out.append([])
            continue
        min_w = max(2.0, config.min_piece_width * hc[b])
        keep: list[int] = []
        for c in sorted(set(found_b)):
            if c >= min_w and w - c >= min_w and (not keep or c - keep[-1] >= min_w):
                keep.append(c)
        out.append(keep)
    return out


def _segment_medians(v: np.ndarray, start: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """The median of ``v`` (T,) float, whole numbers >= 0, over each segment
    ``start[b]:start[b + 1]`` (``start`` (B+1,), no segment empty; ``seg`` (T,) the
    segment of each entry), as :func:`~segocr.segment.characters.small_median` finds it.

    >>> _segment_medians(np.array([3.0, 1.0, 2.0, 4.0, 1.0]), np.array([0, 3, 5]), np.array([0, 0, 0, 1, 1])).tolist()
    [2.0, 2.5]
    """
    n = start[1:] - start[:-1]
    off = seg * (float(v.max()) + 1.0)  # later segments higher: each sorts in place
    s = np.sort(v + off) - off
    lo, hi = start[:-1] + (n - 1) // 2, start[:-1] + n // 2
    return (s[lo] + s[hi]) / 2.0


def _pitch_cuts(proj: Sequence[float], pitch: float) -> list[int]:
    """Equal divisions of a box wider than 1.3 pitches whose projection is ``proj``
    (w,), each moved to the lowest column within 0.3 division of it (the nearest; of
    two as near, the left one).

    >>> _pitch_cuts([5, 5, 1, 5, 5, 5, 5, 0, 0, 5, 5], 5.0)
    [7]
    """
    w = len(proj)
    n = max(2, round(w / pitch))
    step = w / n
    out = []
    for k in range(1, n):
        c0 = round(k * step)
        a, b = max(1, c0 - int(0.3 * step)), min(w - 1, c0 + int(0.3 * step) + 1)
        if b > a:
            low = min(proj[a:b])
            c0 = min((i for i in range(a, b) if proj[i] == low), key=lambda i: abs(i - c0))
        out.append(c0)
    return out


def box_cuts(ink: np.ndarray, *, hc: float, pitch: float, config: SearchConfig) -> np.ndarray:
    """Candidate cut columns (K,) int, sorted, strictly inside a box whose ink is
    ``ink`` (h, w) bool: projection minima, profile concavities and pitch divisions
    (see :class:`SearchConfig`); cuts leave pieces at least ``min_piece_width`` wide.
    (:func:`build_lattice` cuts all boxes of a row at once, by :func:`cut_columns`.)

    Two touching bars joined by a thin bridge are cut at the bridge:

    >>> ink = np.zeros((20, 16), bool); ink[:, 1:5] = True; ink[:, 10:14] = True; ink[17:19, 5:10] = True
    >>> box_cuts(ink, hc=20.0, pitch=8.0, config=SearchConfig()).tolist()
    [7]
    """
    h, w = ink.shape
    if w < config.min_cut_width * hc or w < 4 or h < 1:
        return np.zeros(0, np.int64)
    cols = columns([ink], [(0, 0, w, h)])
    return np.array(cut_columns(cols, [hc], [pitch], config=config)[0], np.int64)


def cut_pieces(
    boxes: Sequence[CharBox], cols: Columns, cuts: Sequence[Sequence[int]]
) -> list[list[CharBox]]:
    """The pieces of each box of ``cols`` (``boxes``, the same B boxes) cut at its
    ``cuts``: the tight boxes of the ink between neighbouring cuts (pieces without ink
    dropped); the box itself when fewer than two pieces have ink.

    >>> m = np.zeros((10, 12), bool); m[2:8, 1:3] = True; m[4:9, 7:10] = True
    >>> b = CharBox(0, 0, 12, 10); c = columns([m], [(0, 0, 12, 10)])
    >>> cut_pieces([b], c, [[5]]), cut_pieces([b], c, [[11]])
    ([[CharBox(x=1, y=2, w=2, h=6), CharBox(x=7, y=4, w=3, h=5)]], [[CharBox(x=0, y=0, w=12, h=10)]])
    """
    out: list[list[CharBox]] = [[b] for b in boxes]
    cut = [b for b, c in enumerate(cuts) if c]
    if not cut:
        return out
    T = len(cols.seg)
    bounds: list[int] = []
    for b in cut:
        s0 = int(cols.start[b])
        bounds += [s0, *(s0 + c for c in cuts[b])]
        if cols.start[b + 1] < T:
            bounds.append(int(cols.start[b + 1]))  # the end of the box's last piece
    idx = np.array(bounds)
    t = np.arange(T)
    some = cols.proj > 0
    first = np.minimum.reduceat(np.where(some, t, T), idx).tolist()
    last = np.maximum.reduceat(np.where(some, t, -1), idx).tolist()
    y0 = np.minimum.reduceat(cols.top, idx).astype(np.int64).tolist()
    y1 = np.maximum.reduceat(cols.height - 1 - cols.bottom, idx).astype(np.int64).tolist()
    k = 0
    for b in cut:
        box, s0 = boxes[b], int(cols.start[b])
        made = [
            CharBox(box.x + first[q] - s0, box.y + y0[q], last[q] - first[q] + 1, y1[q] - y0[q] + 1)
            for q in range(k, k + len(cuts[b]) + 1)
            if first[q] < T
        ]
        k += len(cuts[b]) + 1 + int(cols.start[b + 1] < T)
        if len(made) >= 2:
            out[b] = made
    return out
