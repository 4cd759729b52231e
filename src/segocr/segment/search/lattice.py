"""The lattice of a hypothesis: its pieces and the candidate boxes (spans) over them.

:func:`build_lattice` turns one hypothesis into a :class:`Lattice`;
:func:`lattices` does it for every hypothesis of a plate, all boxes cut in one pass
(:mod:`segocr.segment.search.pieces`) and each mask's components found once. A plan
(:func:`_plan`) holds a hypothesis's row, pitch and optional pieces
(:mod:`segocr.segment.search.row`) before its boxes are cut; :func:`_finish` makes
the spans.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from segocr.segment.binarize import BinarizeConfig, Polarity, binarize
from segocr.segment.boxes import CharBox, box_key
from segocr.segment.characters import (
    CleanedByMask,
    RowsByMask,
    SegmentConfig,
    WorkImage,
    _remove_lines,
    clean_mask,
    remove_frame_sides,
    segment_mask,
    small_median,
)
from segocr.segment.search.config import SearchConfig
from segocr.segment.search.pieces import columns, cut_columns, cut_pieces
from segocr.segment.search.row import (
    Row,
    char_geometry_ok,
    clip_to_band,
    extra_components,
    gap_windows,
    mask_components,
    typical_boxes,
)


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
    boxes = sorted(boxes, key=box_key)  # the boxes' own order, without their __lt__
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


def lattices(
    work: WorkImage,
    binarizers: Sequence[BinarizeConfig],
    *,
    segment: SegmentConfig,
    config: SearchConfig,
    known: RowsByMask | None = None,
    cleaned: CleanedByMask | None = None,
) -> list[Lattice]:
    """One lattice per distinct hypothesis of every binarizer and polarity of ``work``
    (the hypotheses of :func:`segocr.segment.characters.hypotheses`, each with the ink
    mask it was found in; ``known`` holds masks and rows already computed there, and
    ``cleaned`` each mask's :func:`~segocr.segment.characters.clean_mask` (its copy
    without frame lines and that copy's components) where the caller has them). The same as :func:`build_lattice` of each, the boxes of all of them
    cut in one pass and each mask's components found once."""
    todo: list[tuple[_Plan, str, Polarity]] = []
    seen: set[tuple[CharBox, ...]] = set()
    comps: dict[int, tuple[np.ndarray, list[tuple[int, int, int, int]]]] = {}  # by id(mask)
    for method in binarizers:
        for polarity in work.polarities:
            got = None if known is None else known.get((method, polarity))
            given = None if cleaned is None else cleaned.get((method, polarity))
            if got is not None:
                mask, rows = got
            else:
                mask = binarize(work.gray, method=method, polarity=polarity)
                if work.band_edge:
                    mask[:, : work.band_edge + 1] = False
                given = clean_mask(mask, config=segment)
                rows = segment_mask(mask, config=segment, cleaned=given)
            clean: np.ndarray | None = None
            if given is not None:
                clean = given[0]
                comps[id(clean)] = (clean, [(x, y, w, h) for x, y, w, h, _ in given[1].tolist()])
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
