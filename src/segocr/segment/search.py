"""Segmentation search: over-segment the character row, let a classifier judge the cuts.

The cascade of :mod:`segocr.segment.characters` proposes a few whole segmentations
(one or two per binarization: *hypotheses*) and reads the best. This module turns
each hypothesis into a lattice of smaller *pieces* and lets the character classifier
choose how to group them, as classical OCR engines do (over-segmentation, then the
best path of merges under a recognizer score):

1. **Pieces** (:func:`box_cuts`, :func:`build_lattice`): every box of a hypothesis
   is cut where two characters may touch: minima of its vertical ink projection,
   concavities of its upper and lower ink profiles (the notch where two touching
   characters meet) and equal divisions at the row's pitch (the median character
   width) when it is wider than one character. The cuts are found on the box's own
   ink mask, from every binarization of the plate (each hypothesis keeps the mask it
   came from).
2. **Lattice**: every span of up to ``max_pieces`` consecutive pieces (within one box
   or across neighbouring boxes: a broken character) is a candidate character box
   (the union of its pieces' tight ink boxes). Its row geometry decides whether it
   can be a character: its height against the row's, its bottom against the
   baseline fitted through the hypothesis's boxes, its width against the pitch.
3. **Search** (:func:`search_lattice`): a dynamic programme over (piece boundary,
   characters read so far) keeping the ``n_best`` best partial paths per state.
   Each span on a path is a character (log P(char) from the classifier, plus a cost
   for every cut or merge that departs from the hypothesis's own boxes and a
   geometric hinge cost) or noise (log P(noise): a frame bar, a screw, a sticker).
   The length prior ``log P(n)`` is added at the end; optional per-position masks (a
   plate format: which characters each position allows) restrict the characters and
   fix the length. The hypothesis itself is one path with exactly the cascade's
   score, so the search can only find readings the classifier likes better.

Everything here is a pure function of arrays; the classifier is the caller's (see
:class:`segocr.recognizers.segcnn.SegCNNRecognizer`), so all candidate crops of a
batch of plates go through the network at once.

Cost: :func:`lattices` builds the hypotheses of a plate together: the ink of every
box to cut, from every mask, is profiled and cut in one array pass
(:func:`columns`, :func:`cut_columns`, :func:`cut_pieces`), each mask's components
are found once; :func:`search_lattice` finds the spans' characters in one array pass
(:func:`char_steps`) and keeps partial paths as linked nodes. The readings are those
of the one-box-at-a-time version (``tests/test_search_fast.py`` holds it as oracle).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.segment.binarize import BinarizeConfig, Polarity, binarize
from segocr.segment.boxes import CharBox
from segocr.segment.characters import (
    RowsByMask,
    SegmentConfig,
    WorkImage,
    _remove_lines,
    component_stats,
    line_fit,
    remove_frame_sides,
    segment_mask,
    small_median,
)


class SearchConfig(BaseModel):
    """Every choice of the segmentation search (stored in the segcnn weight card as
    ``SegCNNConfig.search``). Lengths are fractions of the row's character height
    ``hc`` unless said otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: Binarizations whose hypotheses become lattices; ``None``: the segmentation
    #: config's.
    binarizers: tuple[BinarizeConfig, ...] | None = None
    #: Which plates the recognizer searches: those the whole cascade (``cascade``) or
    #: its first binarization alone (``first_binarization``) does not read
    #: confidently (every plate when the cascade has no confidence threshold).
    run_after: Literal["cascade", "first_binarization"] = "cascade"
    #: Under a plate format (:mod:`segocr.formats`), also offer the N best paths to
    #: the format decoder as hypotheses (off: it sees the cascade's hypotheses only;
    #: on validation, 74 against 75 of 78 plates with the ``cz`` format).
    paths_to_format: bool = False
    #: Cut sources inside a box.
    cut_minima: bool = True
    cut_concavities: bool = True
    cut_pitch: bool = True
    #: Boxes narrower than this (fraction of hc) are not cut.
    min_cut_width: float = Field(0.45, ge=0, le=5)
    #: A projection minimum is a cut when at most this fraction of the box's median
    #: column ink.
    minima_depth: float = Field(0.5, gt=0, le=2)
    #: A profile concavity is a cut when at least this deep (fraction of hc).
    concavity_depth: float = Field(0.25, gt=0, le=1)
    #: Pieces narrower than this (fraction of hc, at least 2 px) are not made.
    min_piece_width: float = Field(0.1, ge=0, le=1)
    #: Most pieces one candidate box may span.
    max_pieces: int = Field(3, ge=1, le=16)
    #: Merge pieces of neighbouring boxes (broken characters).
    merge_boxes: bool = True
    #: Offer the row's components the hypothesis dropped (outside its boxes, inside
    #: the row) as optional pieces: a path may skip them for free or read them.
    extra_pieces: bool = True
    #: ... only those at least this tall (fraction of hc).
    extra_min_height: float = Field(0.3, ge=0, le=2)
    #: Character geometry of a new box (a cut or merged span): height limits against
    #: the row's local height, width limit, largest bottom offset from the baseline.
    min_char_height: float = Field(0.7, gt=0, le=2)
    max_char_height: float = Field(1.3, gt=0, le=3)
    max_char_width: float = Field(0.95, gt=0, le=3)
    max_baseline_offset: float = Field(0.2, ge=0, le=2)
    #: Log-cost of every cut inside a box and of every merge across boxes that a
    #: path uses (the hypothesis's own boxes cost nothing).
    cut_logp: float = Field(-1.0, le=0)
    merge_logp: float = Field(-1.0, le=0)
    #: A new box (cut or merged) narrower than ``narrow_width`` x the row's pitch may
    #: only be one of ``narrow_chars`` (a sliver cut off a "B" is not an "E").
    narrow_width: float = Field(0.6, ge=0, le=2)
    #: A new box wider than this x the pitch is not a character.
    max_pitch_width: float = Field(1.35, gt=0, le=5)
    narrow_chars: str = "1IJ"
    #: A box is not read as a character less probable than noise (the cascade's rule),
    #: nor as one below ``min_char_logp``.
    noise_veto: bool = True
    min_char_logp: float = Field(-12.0, le=0)
    #: Characters tried per candidate box (the classifier's best ones).
    chars_per_box: int = Field(3, ge=1, le=64)
    #: Best paths kept per lattice state and returned.
    n_best: int = Field(3, ge=1, le=100)
    #: Weight of the length prior against the classifier's log-probabilities.
    length_weight: float = Field(1.0, ge=0)
    #: Longest reading searched.
    max_length: int = Field(12, ge=1, le=32)
    #: Row-band candidates (issue 13, from the validation plates lost to
    #: segmentation; off: the search as before). With either on, the row is fitted
    #: through the boxes of typical height (within ``typical_height`` of the median),
    #: so a box joined to the frame does not tilt it.
    #: ``clip_to_row``: a candidate box reaching above the row's top line or below its
    #: baseline by more than ``clip_pad`` x hc also offers its ink clipped to the band
    #: (a character touching the frame's top or bottom edge), at ``clip_logp``.
    clip_to_row: bool = False
    clip_pad: float = Field(0.05, ge=0, le=1)
    clip_logp: float = Field(-1.0, le=0)
    #: ``gap_windows``: where neighbouring boxes leave a gap of at least ``gap_width``
    #: x pitch, and one advance beyond each end of the row, windows one pitch wide at
    #: the row's advance are optional pieces (skipped for free; read as a character at
    #: ``window_logp``): the window's ink clipped to the band, and the bare window (a
    #: character the binarization lost: faint, or joined to the band).
    gap_windows: bool = False
    gap_width: float = Field(0.9, gt=0, le=5)
    window_logp: float = Field(-1.0, le=0)
    #: ... and the windows one advance beyond each end of the row (off: windows in
    #: the gaps inside the row only; round 2 of issue 13: an end window gives a
    #: 6-character plate a nearly free 7th character under the length prior).
    window_ends: bool = True
    typical_height: float = Field(0.12, gt=0, le=1)


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


class Span(NamedTuple):
    """A lattice edge over pieces ``i .. j-1`` (``j > i``): the candidate ``box`` (the
    union of the pieces' boxes), whether it may be read as a character (``char_ok``:
    its geometry allows it) or as noise (``noise_ok``: a single piece or one of the
    hypothesis's boxes), and its extra log-cost ``edit_logp`` (cuts and merges that
    depart from the hypothesis's boxes)."""

    i: int
    j: int
    box: CharBox
    char_ok: bool = True
    noise_ok: bool = True
    edit_logp: float = 0.0
    #: Cost of skipping the span without the classifier (None: not skippable).
    skip_logp: float | None = None
    #: A new box narrower than ``narrow_width`` x pitch (only narrow characters).
    narrow: bool = False


@dataclass(frozen=True)
class Lattice:
    """The over-segmentation of one hypothesis: ``pieces`` left to right, the
    ``spans`` over them, the ``row``, and the binarization ``method`` and ``polarity``
    it came from."""

    pieces: tuple[CharBox, ...]
    spans: tuple[Span, ...]
    row: Row
    method: str
    polarity: Polarity

    @functools.cached_property
    def boxes(self) -> tuple[CharBox, ...]:
        """The distinct candidate boxes, in span order."""
        return tuple(dict.fromkeys(s.box for s in self.spans))


@dataclass(frozen=True)
class Path:
    """One reading of a lattice: ``score`` (total log-score), the characters' class
    indices, their boxes and log-probabilities."""

    score: float
    classes: tuple[int, ...]
    boxes: tuple[CharBox, ...]
    logps: tuple[float, ...]


# --- over-segmentation ----------------------------------------------------------------


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


class _Plan(NamedTuple):
    """A hypothesis before its boxes are cut (see :func:`build_lattice`)."""

    #: The hypothesis's boxes, the extra components and the gap windows, by x.
    boxes: list[CharBox]
    #: Which of ``boxes`` are extra pieces (components and windows).
    extra: set[int]
    #: The windows among ``boxes``: their alternative boxes.
    window: dict[int, tuple[CharBox, ...]]
    row: Row
    pitch: float
    #: (H, W) bool: the ink mask.
    mask: np.ndarray
    #: The boxes to cut (their indices in ``boxes``) and the row's height at each.
    cut: list[int]
    cut_hc: list[float]


def _plan(
    boxes: Sequence[CharBox],
    mask: np.ndarray,
    config: SearchConfig,
    components: Sequence[tuple[int, int, int, int]] | None = None,
) -> _Plan:
    """The row, pitch, extra pieces and boxes to cut of the hypothesis ``boxes`` (at
    least one) on ``mask`` (H, W) bool; ``components``: ``mask_components(mask)``
    when known."""
    boxes = sorted(boxes, key=_box_key)  # the boxes' own order, without their __lt__
    banded = config.clip_to_row or config.gap_windows
    row = Row.of_boxes(typical_boxes(boxes, config.typical_height) if banded else boxes)
    heights = [row.height(b.cx) for b in boxes]
    widths = [b.w for b, hc in zip(boxes, heights, strict=True) if b.w <= 0.9 * hc]
    pitch = small_median(widths) if widths else 0.55 * row.hc
    extra: set[int] = set()
    window: dict[int, tuple[CharBox, ...]] = {}  # window pieces: their alternative boxes
    found = extra_components(mask, boxes, row, config, components) if config.extra_pieces else []
    wins = gap_windows(mask, [*boxes, *found], row, pitch, config) if config.gap_windows else []
    if found or wins:
        n_own, n_found = len(boxes), len(found)
        allb = [*boxes, *found, *(w for w, _ in wins)]
        order = sorted(range(len(allb)), key=lambda k: (allb[k].x, k))
        boxes = [allb[k] for k in order]
        heights = [row.height(b.cx) for b in boxes]
        extra = {i for i, k in enumerate(order) if k >= n_own}
        window = {
            i: wins[k - n_own - n_found][1] for i, k in enumerate(order) if k >= n_own + n_found
        }
    # The hypothesis's own boxes wide enough to cut (their part inside the mask).
    H, W = mask.shape
    cut: list[int] = []
    cut_hc: list[float] = []
    for k, (b, hc) in enumerate(zip(boxes, heights, strict=True)):
        w = min(b.x2, W) - b.x
        if w >= 4 and w >= config.min_cut_width * hc and b.y < H and k not in extra:
            cut.append(k)
            cut_hc.append(hc)
    return _Plan(boxes, extra, window, row, pitch, mask, cut, cut_hc)


def _box_key(b: CharBox) -> tuple[int, int, int, int]:
    return (b.x, b.y, b.w, b.h)


def _cut_plans(plans: Sequence[_Plan], config: SearchConfig) -> list[dict[int, list[CharBox]]]:
    """The pieces of the boxes to cut of every plan (box index -> pieces), all boxes
    of all plans cut in one pass (:func:`columns`, :func:`cut_columns`,
    :func:`cut_pieces`); the masks must have one shape."""
    sel = [(q, k, p.boxes[k]) for q, p in enumerate(plans) for k in p.cut]
    out: list[dict[int, list[CharBox]]] = [{} for _ in plans]
    if not sel:
        return out
    H, W = plans[0].mask.shape
    bs = [b for _, _, b in sel]
    inside = [(b.x, b.y, min(b.x + b.w, W) - b.x, min(b.y + b.h, H) - b.y) for b in bs]
    cols = columns([p.mask for p in plans], inside, [q for q, _, _ in sel])
    hc = [h for p in plans for h in p.cut_hc]
    pitch = [plans[q].pitch for q, _, _ in sel]
    pieces = cut_pieces(bs, cols, cut_columns(cols, hc, pitch, config=config))
    for (q, k, _), ps in zip(sel, pieces, strict=True):
        out[q][k] = ps
    return out


def _finish(
    plan: _Plan,
    split: Mapping[int, list[CharBox]],
    config: SearchConfig,
    method: str,
    polarity: Polarity,
) -> Lattice:
    """The lattice of ``plan`` whose cut boxes became the pieces ``split`` (box index
    -> pieces; every other box is one piece)."""
    boxes, extra, window, row, pitch, mask = plan[:6]
    pieces: list[CharBox] = []
    owner: list[int] = []  # the hypothesis box of each piece
    first: list[int] = []  # the first piece of each box
    for k, b in enumerate(boxes):
        first.append(len(pieces))
        kept = split.get(k, [b])
        pieces += kept
        owner += [k] * len(kept)
    first.append(len(pieces))
    ends = [(p.x, p.y, p.x + p.w, p.y + p.h) for p in pieces]
    # Row.height, Row.baseline and char_geometry_ok, inlined (the same arithmetic).
    rhc, hslope, x_ref, half = row.hc, row.height_slope, row.x_ref, 0.5 * row.hc
    slope, icpt = row.slope, row.intercept
    lo_h, hi_h, off = config.min_char_height, config.max_char_height, config.max_baseline_offset
    max_w, max_pw = config.max_char_width, config.max_pitch_width * pitch
    narrow_w = config.narrow_width * pitch

    def geometry_ok(box: CharBox, hc: float, cx: float) -> bool:
        return (
            lo_h * hc <= box.h <= hi_h * hc
            and box.w <= max_w * hc
            and abs(box.y + box.h - (slope * cx + icpt)) <= off * hc
        )

    spans: list[Span] = []
    P = len(pieces)
    merge, max_pieces, clip = config.merge_boxes, config.max_pieces, config.clip_to_row
    cut_logp, merge_logp = config.cut_logp, config.merge_logp
    for i in range(P):
        ux0, uy0, ux1, uy1 = ends[i]  # the union of pieces i .. j-1
        for j in range(i + 1, min(P, i + max_pieces) + 1):
            k0, k1 = owner[i], owner[j - 1]
            if k0 != k1 and not merge:
                break
            if j > i + 1 and (k0 in window or k1 in window):
                break  # a window is never merged with a neighbour
            px0, py0, px1, py1 = ends[j - 1]
            ux0, uy0, ux1, uy1 = min(ux0, px0), min(uy0, py0), max(ux1, px1), max(uy1, py1)
            whole = i == first[k0] and j == first[k1 + 1]  # whole boxes only
            own_box = whole and k0 == k1
            if own_box:
                box, edit = boxes[k0], config.window_logp if k0 in window else 0.0
            else:
                box = CharBox(ux0, uy0, ux1 - ux0, uy1 - uy0)
                n_cuts = int(j != first[k1 + 1])  # each cut is charged once, left of it
                edit = cut_logp * n_cuts + merge_logp * (k1 - k0) + 0.0
            cx = box.x + box.w / 2
            hc = max(rhc + hslope * (cx - x_ref), half)
            if j > i + 1 and not own_box and box.w > max_w * hc:
                if k0 != k1:
                    break
                continue
            own = own_box and k0 not in extra
            char_ok = own or (box.w <= max_pw and geometry_ok(box, hc, cx))
            noise_ok = own or j == i + 1
            skip = 0.0 if j == i + 1 and k0 in extra else None
            narrow = not own and box.w < narrow_w
            if char_ok or noise_ok:
                spans.append(Span(i, j, box, char_ok, noise_ok, edit, skip, narrow))
            if not (window or clip):
                continue
            # Other boxes over the same pieces: a window's bare box, and the span's ink
            # clipped to the row band; read only as characters.
            alts: list[tuple[CharBox, float]] = [(a, edit) for a in window.get(k0, ())]
            if clip and k0 not in window:
                clipped = clip_to_band(mask, box, row, config.clip_pad)
                if clipped is not None:
                    alts.append((clipped, edit + config.clip_logp))
            for alt, cost in alts:
                if char_geometry_ok(alt, row, config) and alt.w <= max_pw:
                    spans.append(Span(i, j, alt, True, False, cost, None, alt.w < narrow_w))
    return Lattice(tuple(pieces), tuple(spans), row, method, polarity)


def build_lattice(
    boxes: Sequence[CharBox],
    mask: np.ndarray,
    *,
    config: SearchConfig,
    method: str = "",
    polarity: Polarity = "dark",
) -> Lattice | None:
    """The lattice of one hypothesis: its ``boxes`` (left to right) cut into pieces on
    the ink ``mask`` (H, W) bool they were found in. None without boxes.
    (:func:`lattices` builds all hypotheses of a plate together.)

    A box holding two characters gives a lattice with both readings:

    >>> mask = np.zeros((30, 40), bool); mask[5:25, 2:6] = True; mask[5:25, 12:16] = True
    >>> mask[22:25, 6:12] = True; mask[5:25, 24:28] = True
    >>> lat = build_lattice([CharBox(2, 5, 14, 20), CharBox(24, 5, 4, 20)], mask, config=SearchConfig())
    >>> [(p.x, p.x2) for p in lat.pieces]
    [(2, 8), (8, 16), (24, 28)]
    >>> [(s.i, s.j, s.edit_logp) for s in lat.spans]
    [(0, 1, -1.0), (0, 2, 0.0), (1, 2, 0.0), (2, 3, 0.0)]
    """
    if not boxes:
        return None
    plan = _plan(boxes, mask, config)
    return _finish(plan, _cut_plans([plan], config)[0], config, method, polarity)


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
    bs = sorted(boxes)
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


#: Per (binarizer, polarity): the mask's copy without frame lines (as
#: ``characters._remove_lines`` makes it) and that copy's component boxes (as
#: :func:`mask_components` finds them).
CleanByMask = Mapping[
    tuple[BinarizeConfig, Polarity], tuple[np.ndarray, Sequence[tuple[int, int, int, int]]]
]


def lattices(
    work: WorkImage,
    binarizers: Sequence[BinarizeConfig],
    *,
    segment: SegmentConfig,
    config: SearchConfig,
    known: RowsByMask | None = None,
    cleaned: CleanByMask | None = None,
) -> list[Lattice]:
    """One lattice per distinct hypothesis of every binarizer and polarity of ``work``
    (the hypotheses of :func:`segocr.segment.characters.hypotheses`, each with the ink
    mask it was found in; ``known`` holds masks and rows already computed there, and
    ``cleaned`` each mask's copy without frame lines and that copy's component boxes
    where the caller has them, as :func:`~segocr.segment.characters.segment_mask`
    finds both). The same as :func:`build_lattice` of each, the boxes of all of them
    cut in one pass and each mask's components found once."""
    todo: list[tuple[_Plan, str, Polarity]] = []
    seen: set[tuple[CharBox, ...]] = set()
    comps: dict[int, tuple[np.ndarray, list[tuple[int, int, int, int]]]] = {}  # by id(mask)
    for method in binarizers:
        for polarity in work.polarities:
            got = None if known is None else known.get((method, polarity))
            if got is not None:
                mask, rows = got
            else:
                mask = binarize(work.gray, method=method, polarity=polarity)
                if work.band_edge:
                    mask[:, : work.band_edge + 1] = False
                rows = segment_mask(mask, config=segment)
            clean: np.ndarray | None = None
            given = None if cleaned is None else cleaned.get((method, polarity))
            if given is not None:
                clean = given[0]
                comps[id(clean)] = (clean, list(given[1]))
            for boxes, _ in rows:
                if boxes in seen:
                    continue
                seen.add(boxes)
                if not boxes:
                    continue
                if clean is None:
                    clean = _remove_lines(mask, segment.frame_line_fraction)
                hc = small_median([b.h for b in boxes])
                m = remove_frame_sides(clean, hc, segment.frame_side_height)
                stats = None
                if config.extra_pieces:
                    if id(m) not in comps:  # the mask is kept alive with its stats
                        comps[id(m)] = (m, mask_components(m))
                    stats = comps[id(m)][1]
                todo.append((_plan(boxes, m, config, stats), method.method, polarity))
    split = _cut_plans([p for p, _, _ in todo], config)
    return [
        _finish(plan, cut, config, method, polarity)
        for (plan, method, polarity), cut in zip(todo, split, strict=True)
    ]


# --- the search -----------------------------------------------------------------------


def char_steps(
    logp: np.ndarray,
    narrow: Sequence[bool],
    *,
    noise_index: int,
    narrow_classes: Sequence[int],
    config: SearchConfig,
    allowed: np.ndarray | None = None,
) -> list[list[tuple[int, float]]]:
    """For each of S candidate boxes, the (class, log P) it may be read as, best first
    (``chars_per_box`` at most): ``logp`` (S, C+1) the classifier's rows (noise at
    ``noise_index``), ``narrow`` (S,) bool the narrow new boxes (only
    ``narrow_classes``), ``allowed`` (C,) bool the characters of the position (a plate
    format; None: all). A character less probable than noise (``noise_veto``) or below
    ``min_char_logp`` is not offered (-inf).

    All boxes in one array pass (the narrow ones in a second, whose rows
    ``chars + only`` take the dtype they take alone); each row is ordered by
    ``np.argsort`` of its negated values, so tied characters keep their order.

    >>> lp = np.log(np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.1, 0.6], [0.5, 0.3, 0.15, 0.05]]))
    >>> steps = char_steps(lp, [False, False, True], noise_index=3, narrow_classes=[1], config=SearchConfig(chars_per_box=2))
    >>> [[(c, round(v, 2)) for c, v in row] for row in steps]
    [[(0, -0.69), (1, -1.2)], [], [(1, -1.2)]]
    """
    chars = logp[:, :noise_index]
    if config.noise_veto:
        # max(min_char_logp, noise) as Python's max takes it (fmax: a NaN never wins).
        ok = chars >= np.fmax(config.min_char_logp, logp[:, noise_index : noise_index + 1])
    else:
        ok = chars >= config.min_char_logp
    if allowed is not None:
        ok &= allowed
    cpb = config.chars_per_box
    thin = [r for r, n in enumerate(narrow) if n]
    if not thin:
        return _best_chars(np.where(ok, -chars, np.inf), cpb)
    only = np.full(chars.shape[1], -np.inf)
    only[list(narrow_classes)] = 0.0
    wide = [r for r, n in enumerate(narrow) if not n]
    out: list[list[tuple[int, float]]] = [[] for _ in narrow]
    for rows, neg in (
        (wide, np.where(ok[wide], -chars[wide], np.inf)),
        (thin, -(np.where(ok[thin], chars[thin], -np.inf) + only)),
    ):
        for r, found in zip(rows, _best_chars(neg, cpb), strict=True):
            out[r] = found
    return out


def _best_chars(neg: np.ndarray, n: int) -> list[list[tuple[int, float]]]:
    """The ``n`` lowest finite entries of each row of ``neg`` (S, C) as (column,
    -value), lowest first (by ``np.argsort`` of the row)."""
    if len(neg) == 0:
        return []
    top = np.argsort(neg, axis=1)[:, :n]
    vals = neg[np.arange(len(neg))[:, None], top].tolist()
    isfinite = math.isfinite
    return [
        [(c, -v) for c, v in zip(cs, vs, strict=True) if isfinite(v)]
        for cs, vs in zip(top.tolist(), vals, strict=True)
    ]


#: A partial path of :func:`search_lattice`, newest character first: (previous node
#: or None, class, box, log P).
_Node = tuple[object, int, CharBox, float]


def search_lattice(
    lattice: Lattice,
    box_logp: Mapping[CharBox, np.ndarray],
    *,
    noise_index: int,
    length_logp: Mapping[int, float] | None = None,
    unseen_length_logp: float = -8.0,
    position_masks: np.ndarray | None = None,
    narrow_classes: Sequence[int] = (),
    config: SearchConfig,
) -> list[Path]:
    """The ``config.n_best`` best readings of ``lattice``, best first.

    ``box_logp`` maps each candidate box to the classifier's log-probabilities (C+1,)
    (characters, then noise at ``noise_index``). ``length_logp`` is log P(n) by
    length (lengths not listed get ``unseen_length_logp``; None or empty: no prior).
    ``position_masks`` (L, C) bool, when given, is a plate format: the reading has
    exactly L characters and character k must be allowed by row k (the hook for
    constrained decoding by plate format). ``narrow_classes``: the class indices of
    ``config.narrow_chars``, the only ones a narrow new box may be read as.

    The dynamic programme runs over states (piece boundary k, characters read n), in
    order of k then n; each span from k is tried in the lattice's order: skipped,
    read as noise, read as each of its characters. Every step appends (score, node)
    to the state it reaches; a state keeps its ``n_best`` highest scores (ties: the
    earlier step) when it is expanded. Partial paths are linked nodes (no tuple
    copies); the spans' characters are found in one array pass
    (:func:`search_lattices` does it once for several lattices).
    """
    return search_lattices(
        [lattice],
        [box_logp],
        noise_index=noise_index,
        length_logp=length_logp,
        unseen_length_logp=unseen_length_logp,
        position_masks=position_masks,
        narrow_classes=narrow_classes,
        config=config,
    )[0]


def search_lattices(
    lattices: Sequence[Lattice],
    box_logp: Sequence[Mapping[CharBox, np.ndarray]],
    *,
    noise_index: int,
    length_logp: Mapping[int, float] | None = None,
    unseen_length_logp: float = -8.0,
    position_masks: np.ndarray | None = None,
    narrow_classes: Sequence[int] = (),
    config: SearchConfig,
) -> list[list[Path]]:
    """:func:`search_lattice` of each of ``lattices`` (those of one plate, say) with
    its own ``box_logp`` (the same paths): the characters of the spans of all of them
    are found in one array pass (:func:`char_steps`)."""
    spans: list[list[Span]] = []
    rows: list[np.ndarray] = []
    for lattice, table in zip(lattices, box_logp, strict=True):
        kept: list[Span] = []
        for s in lattice.spans:
            lp = table.get(s.box)
            if lp is not None:
                kept.append(s)
                rows.append(lp)
        spans.append(kept)
    if not rows:
        return [[] for _ in lattices]
    logp = np.stack(rows)  # (S, C+1): the spans of all lattices
    every = [s for kept in spans for s in kept]
    narrow = [s.narrow for s in every]
    # Each span's character steps (class, log P, score step), per position under
    # position masks (found when first needed), else once.
    by_n: dict[int, list[list[tuple[int, float, float]]]] = {}

    def steps_at(n: int) -> list[list[tuple[int, float, float]]]:
        if n not in by_n:
            allowed = None if position_masks is None else position_masks[n]
            found = char_steps(
                logp,
                narrow,
                noise_index=noise_index,
                narrow_classes=narrow_classes,
                config=config,
                allowed=allowed,
            )
            by_n[n] = [
                [(c, v, v + s.edit_logp) for c, v in cands] if s.char_ok else []
                for s, cands in zip(every, found, strict=True)
            ]
        return by_n[n]

    noise_lp = logp[:, noise_index].tolist()
    prior: dict[int, float] = {}
    L = config.max_length if position_masks is None else len(position_masks)
    for n in range(1, L + 1) if position_masks is None else [L] if L else []:
        prior[n] = 0.0
        if length_logp:
            prior[n] = config.length_weight * length_logp.get(n, unseen_length_logp)
    out: list[list[Path]] = []
    row = 0  # the first row of each lattice's spans
    for lattice, kept in zip(lattices, spans, strict=True):
        if not kept:
            out.append([])
            continue
        out.append(
            _best_paths(
                len(lattice.pieces) + 1,
                kept,
                noise_lp[row : row + len(kept)],
                steps_at,
                row,
                by_position=position_masks is not None,
                L=L,
                prior=prior,
                nb=config.n_best,
            )
        )
        row += len(kept)
    return out


def _best_paths(
    K: int,
    spans: Sequence[Span],
    noise_lp: Sequence[float],
    steps_at: Callable[[int], Sequence[Sequence[tuple[int, float, float]]]],
    row: int,
    *,
    by_position: bool,
    L: int,
    prior: Mapping[int, float],
    nb: int,
) -> list[Path]:
    """The dynamic programme of :func:`search_lattice` over K piece boundaries:
    ``spans`` with their noise log P ``noise_lp``; ``steps_at(n)`` the character steps
    of every row at position n (the same for every n unless ``by_position``), span t
    at row ``row + t``; ``prior[n]`` the score of each final length (at most L
    characters); the ``nb`` best paths."""
    # outgoing[k]: (end piece j, skip cost, noise cost, row, box) of the spans from k.
    outgoing: list[list[tuple[int, float | None, float | None, int, CharBox]]] = [
        [] for _ in range(K)
    ]
    for t, s in enumerate(spans):
        noise = noise_lp[t] + s.edit_logp if s.noise_ok else None
        outgoing[s.i].append((s.j, s.skip_logp, noise, row + t, s.box))
    states: list[list[list[tuple[float, _Node | None]]]] = [
        [[] for _ in range(L + 1)] for _ in range(K)
    ]
    states[0][0].append((0.0, None))
    fixed = None if by_position else steps_at(0)
    for k in range(K - 1):
        out = outgoing[k]
        if not out:
            continue
        for n, here in enumerate(states[k]):
            if not here:
                continue
            if len(here) > nb:  # the n_best highest scores, ties in order (stable)
                here.sort(key=_first, reverse=True)
                del here[nb:]
            chars = None if n >= L else fixed if fixed is not None else steps_at(n)
            for j, skip, noise, r, box in out:
                dest = states[j]
                if skip is not None:
                    dest[n] += [(sc + skip, nd) for sc, nd in here]
                if noise is not None:
                    dest[n] += [(sc + noise, nd) for sc, nd in here]
                if chars is not None and chars[r]:
                    dest[n + 1] += [
                        (sc + step, (nd, c, box, v)) for c, v, step in chars[r] for sc, nd in here
                    ]
    finals: list[tuple[float, _Node | None]] = []
    for n, p in prior.items():
        ends = states[K - 1][n]
        if len(ends) > nb:
            ends.sort(key=_first, reverse=True)
            del ends[nb:]
        finals += [(sc + p, nd) for sc, nd in ends]
    finals.sort(key=_neg_first)
    return [_path(sc, nd) for sc, nd in finals[:nb]]


_first = operator.itemgetter(0)


def _neg_first(item: tuple[float, object]) -> float:
    return -item[0]


def _path(score: float, node: _Node | None) -> Path:
    """The :class:`Path` of ``score`` whose last character is ``node``."""
    classes: list[int] = []
    boxes: list[CharBox] = []
    logps: list[float] = []
    while node is not None:
        prev, c, box, v = node
        classes.append(c)
        boxes.append(box)
        logps.append(v)
        node = prev  # type: ignore[assignment]
    return Path(score, tuple(classes[::-1]), tuple(boxes[::-1]), tuple(logps[::-1]))


def merge_paths(per_lattice: Sequence[Sequence[Path]], n_best: int) -> list[tuple[Path, int]]:
    """The ``n_best`` best paths over several lattices as (path, lattice index), one per
    distinct reading (its best-scoring path), best first.

    >>> p = Path(-1.0, (1,), (), ()); q = Path(-0.5, (1,), (), ()); r = Path(-2.0, (2,), (), ())
    >>> [(x.score, i) for x, i in merge_paths([[p, r], [q]], 5)]
    [(-0.5, 1), (-2.0, 0)]
    """
    best: dict[tuple[int, ...], tuple[Path, int]] = {}
    for li, paths in enumerate(per_lattice):
        for p in paths:
            if p.classes not in best or p.score > best[p.classes][0].score:
                best[p.classes] = (p, li)
    return sorted(best.values(), key=lambda t: -t[0].score)[:n_best]
