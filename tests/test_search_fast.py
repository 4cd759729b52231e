"""The vectorised segmentation search against its first, one-box-at-a-time version.

The search was made faster (profiles of all boxes in one array pass, lattices of a
plate built together, a linked-node dynamic programme) with the promise that every
reading stays identical. The reference functions below are the earlier code
(commit 1eb85cb), kept here as oracles; random plate-like masks, boxes and
classifier tables (with ties) must give the same cuts, pieces, lattices, character
steps and paths, exactly.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from segocr.segment.boxes import CharBox
from segocr.segment.characters import component_stats, line_fit, small_median
from segocr.segment.search import (
    Lattice,
    Path,
    Row,
    SearchConfig,
    Span,
    box_cuts,
    build_lattice,
    char_geometry_ok,
    char_steps,
    clip_to_band,
    columns,
    cut_pieces,
    extra_components,
    gap_windows,
    search_lattice,
    search_lattices,
    typical_boxes,
)

CONFIGS = [
    SearchConfig(),
    SearchConfig(merge_boxes=False),
    SearchConfig(clip_to_row=True, gap_windows=True),
    SearchConfig(cut_minima=False, max_pieces=4, min_cut_width=0.3, min_piece_width=0.05),
    SearchConfig(cut_concavities=False, cut_pitch=False, n_best=5, chars_per_box=5),
]


# --- the reference (commit 1eb85cb) -----------------------------------------------------


def ref_local_extrema(v: np.ndarray, *, maxima: bool) -> np.ndarray:
    if len(v) < 3:
        return np.zeros(0, np.int64)
    s = -v if maxima else v
    out = []
    i, n = 1, len(s)
    while i < n - 1:
        j = i
        while j + 1 < n - 1 and s[j + 1] == s[i]:
            j += 1
        if s[i - 1] > s[i] and s[j + 1] > s[i]:
            out.append((i + j) // 2)
        i = j + 1
    return np.array(out, np.int64)


def ref_box_cuts(ink: np.ndarray, *, hc: float, pitch: float, config: SearchConfig) -> np.ndarray:
    h, w = ink.shape
    if w < config.min_cut_width * hc or w < 4:
        return np.zeros(0, np.int64)
    proj = ink.sum(axis=0).astype(np.float64)
    cuts: list[int] = []
    if config.cut_minima:
        smooth = np.convolve(proj, np.ones(3) / 3, mode="same")
        ref = small_median(proj)
        cuts += [
            int(m)
            for m in ref_local_extrema(smooth, maxima=False)
            if smooth[m] <= config.minima_depth * ref
        ]
    if config.cut_concavities:
        rows = np.arange(h)[:, None]
        top = np.where(ink, rows, h).min(axis=0).astype(np.float64)
        bottom = (h - 1 - np.where(ink, rows, -1).max(axis=0)).astype(np.float64)
        for prof in (top, bottom):
            for m in ref_local_extrema(prof, maxima=True):
                if (
                    prof[m] - max(prof[: m + 1].min(), prof[m:].min())
                    >= config.concavity_depth * hc
                ):
                    cuts.append(int(m))
    if config.cut_pitch and pitch > 0 and w > 1.3 * pitch:
        n = max(2, round(w / pitch))
        step = w / n
        for k in range(1, n):
            c0 = round(k * step)
            a, b = max(1, c0 - int(0.3 * step)), min(w - 1, c0 + int(0.3 * step) + 1)
            if b > a:
                lows = a + np.flatnonzero(proj[a:b] == proj[a:b].min())
                c0 = int(lows[np.argmin(np.abs(lows - c0))])
            cuts.append(c0)
    min_w = max(2.0, config.min_piece_width * hc)
    out: list[int] = []
    for c in sorted(set(cuts)):
        if c >= min_w and w - c >= min_w and (not out or c - out[-1] >= min_w):
            out.append(c)
    return np.array(out, np.int64)


def ref_tight(mask: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> CharBox | None:
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


def ref_row(boxes: Sequence[CharBox]) -> Row:
    cx = np.array([b.cx for b in boxes], np.float64)
    bottom = np.array([b.y2 for b in boxes], np.float64)
    hh = np.array([b.h for b in boxes], np.float64)
    x_ref = small_median(cx)
    if len(boxes) < 3 or np.ptp(cx) <= 0:
        return Row(0.0, small_median(bottom), small_median(hh), 0.0, x_ref)
    a, b = line_fit(cx, bottom)
    hs, h0 = line_fit(cx - x_ref, hh)
    lim = 0.5 * small_median(hh) / float(np.ptp(cx))
    return Row(float(a), float(b), max(float(h0), 1.0), float(np.clip(hs, -lim, lim)), x_ref)


def ref_extra_components(
    mask: np.ndarray, boxes: Sequence[CharBox], row: Row, config: SearchConfig
) -> list[CharBox]:
    n, stats = component_stats(mask.astype(np.uint8))
    x, y, w, h = (stats[1:n, c] for c in range(4))
    cx = x + w / 2.0
    hc = np.maximum(row.hc + row.height_slope * (cx - row.x_ref), 0.5 * row.hc)
    base = row.slope * cx + row.intercept
    tol = config.max_baseline_offset * hc
    ok = (h >= config.extra_min_height * hc) & (y + h <= base + tol) & (y >= base - hc - tol)
    if boxes and ok.any():
        bx = np.array([b.x for b in boxes])
        bx2 = np.array([b.x2 for b in boxes])
        bw = np.array([b.w for b in boxes])
        overlap = np.minimum(bx2[None, :], (x + w)[:, None]) - np.maximum(bx[None, :], x[:, None])
        ok &= ~(overlap > 0.5 * np.minimum(w[:, None], bw[None, :])).any(axis=1)
    return [
        CharBox(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(x[ok], y[ok], w[ok], h[ok])
    ]


def ref_union(boxes: Sequence[CharBox]) -> CharBox:
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    return CharBox(x0, y0, max(b.x2 for b in boxes) - x0, max(b.y2 for b in boxes) - y0)


def ref_build_lattice(
    boxes: Sequence[CharBox], mask: np.ndarray, *, config: SearchConfig
) -> Lattice | None:
    if not boxes:
        return None
    boxes = sorted(boxes)
    banded = config.clip_to_row or config.gap_windows
    row = ref_row(typical_boxes(boxes, config.typical_height) if banded else boxes)
    widths = [b.w for b in boxes if b.w <= 0.9 * row.height(b.cx)]
    pitch = small_median(widths) if widths else 0.55 * row.hc
    extra: set[int] = set()
    window: dict[int, tuple[CharBox, ...]] = {}
    found = ref_extra_components(mask, boxes, row, config) if config.extra_pieces else []
    wins = gap_windows(mask, [*boxes, *found], row, pitch, config) if config.gap_windows else []
    if found or wins:
        n_own, n_found = len(boxes), len(found)
        allb = [*boxes, *found, *(w for w, _ in wins)]
        order = sorted(range(len(allb)), key=lambda k: (allb[k].x, k))
        boxes = [allb[k] for k in order]
        extra = {i for i, k in enumerate(order) if k >= n_own}
        window = {
            i: wins[k - n_own - n_found][1] for i, k in enumerate(order) if k >= n_own + n_found
        }
    pieces: list[CharBox] = []
    owner: list[int] = []
    first: list[int] = []
    for k, b in enumerate(boxes):
        first.append(len(pieces))
        if k in extra:
            pieces.append(b)
            owner.append(k)
            continue
        ink = mask[b.y : b.y2, b.x : b.x2]
        cuts = ref_box_cuts(ink, hc=row.height(b.cx), pitch=pitch, config=config)
        edges = [0, *cuts.tolist(), b.w]
        made = [
            ref_tight(mask, b.x + x0, b.x + x1, b.y, b.y2) for x0, x1 in itertools.pairwise(edges)
        ]
        kept = [p for p in made if p is not None]
        if len(kept) < 2:
            kept = [b]
        pieces += kept
        owner += [k] * len(kept)
    first.append(len(pieces))
    spans: list[Span] = []
    P = len(pieces)
    for i in range(P):
        for j in range(i + 1, min(P, i + config.max_pieces) + 1):
            ks = owner[i], owner[j - 1]
            if ks[0] != ks[1] and not config.merge_boxes:
                break
            if j > i + 1 and (ks[0] in window or ks[1] in window):
                break
            whole = i == first[ks[0]] and j == first[ks[1] + 1]
            if whole and ks[0] == ks[1]:
                box, edit = boxes[ks[0]], config.window_logp if ks[0] in window else 0.0
            else:
                box = ref_union(pieces[i:j])
                n_cuts = int(j != first[ks[1] + 1])
                edit = config.cut_logp * n_cuts + config.merge_logp * (ks[1] - ks[0]) + 0.0
            if (
                box.w > config.max_char_width * row.height(box.cx)
                and j > i + 1
                and not (whole and ks[0] == ks[1])
            ):
                if ks[0] != ks[1]:
                    break
                continue
            own = whole and ks[0] == ks[1] and ks[0] not in extra
            char_ok = own or (
                char_geometry_ok(box, row, config) and box.w <= config.max_pitch_width * pitch
            )
            noise_ok = own or j == i + 1
            skip = 0.0 if j == i + 1 and ks[0] in extra else None
            narrow = not own and box.w < config.narrow_width * pitch
            if char_ok or noise_ok:
                spans.append(Span(i, j, box, char_ok, noise_ok, edit, skip, narrow))
            alts: list[tuple[CharBox, float]] = [(a, edit) for a in window.get(ks[0], ())]
            if config.clip_to_row and ks[0] not in window:
                clipped = clip_to_band(mask, box, row, config.clip_pad)
                if clipped is not None:
                    alts.append((clipped, edit + config.clip_logp))
            for alt, cost in alts:
                if char_geometry_ok(alt, row, config) and alt.w <= config.max_pitch_width * pitch:
                    spans.append(
                        Span(
                            i, j, alt, True, False, cost, None, alt.w < config.narrow_width * pitch
                        )
                    )
    return Lattice(tuple(pieces), tuple(spans), row, "", "dark")


def ref_search_lattice(
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
    K = len(lattice.pieces) + 1
    L = config.max_length if position_masks is None else len(position_masks)
    nb = config.n_best
    beams: list[list[list]] = [[[] for _ in range(L + 1)] for _ in range(K)]
    beams[0][0] = [(0.0, (), (), ())]
    outgoing: list[list[Span]] = [[] for _ in range(K)]
    for s in lattice.spans:
        outgoing[s.i].append(s)

    def steps(s: Span, lp_all: np.ndarray, n: int) -> list[tuple[int, float]]:
        allowed = None if position_masks is None else position_masks[n]
        return ref_search_char_steps(lp_all, s.narrow, noise_index, narrow_classes, config, allowed)

    def push(beam: list, items: list) -> None:
        if items:
            beam.extend(items)
            if len(beam) > nb:
                beam.sort(key=operator.itemgetter(0), reverse=True)
                del beam[nb:]

    for k in range(K - 1):
        for n in range(L + 1):
            here = beams[k][n]
            if not here:
                continue
            for s in outgoing[k]:
                lp_all = box_logp.get(s.box)
                if lp_all is None:
                    continue
                if s.skip_logp is not None:
                    push(beams[s.j][n], [(sc + s.skip_logp, c, b, lp) for sc, c, b, lp in here])
                if s.noise_ok:
                    cost = float(lp_all[noise_index]) + s.edit_logp
                    push(beams[s.j][n], [(sc + cost, c, b, lp) for sc, c, b, lp in here])
                if n >= L or not s.char_ok:
                    continue
                new = []
                for c, v in steps(s, lp_all, n):
                    step = v + s.edit_logp
                    new += [
                        (sc + step, cl + (c,), bx + (s.box,), lps + (v,))
                        for sc, cl, bx, lps in here
                    ]
                push(beams[s.j][n + 1], new)
    finals: list[Path] = []
    for n in range(L + 1) if position_masks is None else [L]:
        if n == 0:
            continue
        prior = 0.0
        if length_logp:
            prior = config.length_weight * length_logp.get(n, unseen_length_logp)
        finals += [Path(sc + prior, c, b, lp) for sc, c, b, lp in beams[K - 1][n]]
    finals.sort(key=lambda p: -p.score)
    return finals[:nb]


# --- random plates ----------------------------------------------------------------------


def random_plate(rng: np.random.Generator) -> tuple[np.ndarray, list[CharBox]]:
    """A plate-like mask (72, W) with a row of bars and rings (some touching, some
    broken, a frame bar, specks) and its hypothesis boxes (components, some merged)."""
    W = int(rng.integers(120, 260))
    mask = np.zeros((72, W), bool)
    y0, hc = int(rng.integers(8, 20)), int(rng.integers(30, 44))
    x = int(rng.integers(2, 10))
    while x < W - 20:
        w = int(rng.integers(6, 24))
        top = y0 + int(rng.integers(-2, 3))
        kind = rng.integers(4)
        if kind == 0:
            mask[top : top + hc, x : x + w] = True
            mask[top + 4 : top + hc - 4, x + 3 : x + w - 3] = False
        elif kind == 1:
            mask[top : top + hc, x : x + max(3, w // 3)] = True
        else:
            mask[top : top + hc, x : x + w] = rng.random((hc, w)) < 0.8
        x += w + int(rng.integers(-3, 9))  # negative gaps: touching characters
    if rng.random() < 0.5:
        mask[2:70, W - 4 : W - 1] = True  # a frame side
    mask |= rng.random(mask.shape) < 0.01  # specks
    n, stats = component_stats(mask.astype(np.uint8))
    boxes = [CharBox(*map(int, s[:4])) for s in stats[1:n] if s[3] >= 12]
    boxes.sort()
    out: list[CharBox] = []
    for b in boxes:  # merge some neighbours into one wide box
        if out and rng.random() < 0.25:
            out[-1] = ref_union([out[-1], b])
        else:
            out.append(b)
    return mask, out


@pytest.mark.parametrize("seed", range(6))
def test_cuts_and_pieces_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = int(rng.integers(4, 50)), int(rng.integers(4, 60))
        ink = rng.random((h, w)) < rng.uniform(0.2, 0.9)
        ink[:, int(rng.integers(0, w)) :] &= rng.random() < 0.7
        hc, pitch = float(rng.uniform(5, 50)), float(rng.uniform(0, 30))
        for config in CONFIGS:
            got = box_cuts(ink, hc=hc, pitch=pitch, config=config)
            assert got.tolist() == ref_box_cuts(ink, hc=hc, pitch=pitch, config=config).tolist()
        cuts = box_cuts(ink, hc=hc, pitch=pitch, config=CONFIGS[0]).tolist()
        edges = [0, *cuts, w]
        want = [ref_tight(ink, a, b, 0, h) for a, b in itertools.pairwise(edges)]
        kept = [p for p in want if p is not None]
        box = CharBox(0, 0, w, h)
        assert cut_pieces([box], columns([ink], [(0, 0, w, h)]), [cuts]) == [
            kept if len(kept) >= 2 else [box]
        ]


@pytest.mark.parametrize("seed", range(4))
def test_lattices_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(6):
        mask, boxes = random_plate(rng)
        if not boxes:
            continue
        row = Row.of_boxes(boxes)
        assert row == ref_row(boxes)
        assert extra_components(mask, boxes, row, CONFIGS[0]) == ref_extra_components(
            mask, boxes, row, CONFIGS[0]
        )
        for config in CONFIGS:
            assert build_lattice(boxes, mask, config=config) == ref_build_lattice(
                boxes, mask, config=config
            )


def random_table(rng: np.random.Generator, boxes: Sequence[CharBox], C: int) -> dict:
    """Log-scores (C + 1,) float32 per box, multiples of 1/2 (exact sums): characters
    and whole paths tie often, so the order of ties is tested too."""
    return {b: (-0.5 * rng.integers(0, 16, C + 1)).astype(np.float32) for b in boxes}


@pytest.mark.parametrize("seed", range(4))
def test_char_steps_and_paths_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    C = 5
    for _ in range(6):
        mask, boxes = random_plate(rng)
        for config in CONFIGS:
            lat = build_lattice(boxes, mask, config=config)
            if lat is None:
                continue
            table = random_table(rng, lat.boxes, C)
            narrow = [s.narrow for s in lat.spans]
            logp = np.stack([table[s.box] for s in lat.spans])
            want = [
                ref_search_char_steps(table[s.box], s.narrow, C, [1, 3], config) for s in lat.spans
            ]
            got = char_steps(logp, narrow, noise_index=C, narrow_classes=[1, 3], config=config)
            assert got == want
            for masks in (None, rng.random((int(rng.integers(1, 8)), C)) < 0.7):
                kw: dict[str, Any] = {
                    "noise_index": C,
                    "length_logp": {3: -1.0, 5: -0.5, 7: 0.0},
                    "position_masks": masks,
                    "narrow_classes": [1, 3],
                    "config": config,
                }
                assert search_lattice(lat, table, **kw) == ref_search_lattice(lat, table, **kw)


@pytest.mark.parametrize("seed", range(2))
def test_several_lattices_are_searched_as_one_by_one(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    C = 5
    lats: list[Lattice] = []
    for _ in range(4):
        mask, boxes = random_plate(rng)
        lat = build_lattice(boxes, mask, config=CONFIGS[2])
        if lat is not None:
            lats.append(lat)
    tables = [random_table(rng, lat.boxes, C) for lat in lats]
    tables[0] = {}  # a lattice the classifier saw nothing of
    for masks in (None, rng.random((6, C)) < 0.7):
        kw: dict[str, Any] = {
            "noise_index": C,
            "length_logp": {5: -0.5, 6: 0.0},
            "position_masks": masks,
            "narrow_classes": [2],
            "config": CONFIGS[2],
        }
        want = [ref_search_lattice(lat, t, **kw) for lat, t in zip(lats, tables, strict=True)]
        assert search_lattices(lats, tables, **kw) == want
        assert want[0] == [] and any(want[1:])


def ref_search_char_steps(
    lp: np.ndarray,
    narrow: bool,
    C: int,
    narrow_classes: Sequence[int],
    config: SearchConfig,
    allowed: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """The reference's per-box character steps (its ``char_steps``; ``allowed`` (C,)
    bool: the classes a plate format allows at this position)."""
    chars = lp[:C]
    if allowed is not None:
        chars = np.where(allowed, chars, -np.inf)
    floor = max(config.min_char_logp, float(lp[C]) if config.noise_veto else -np.inf)
    chars = np.where(chars >= floor, chars, -np.inf)
    if narrow:
        only = np.full(len(chars), -np.inf)
        only[list(narrow_classes)] = 0.0
        chars = chars + only
    top = np.argsort(-chars)[: config.chars_per_box]
    vals = [(int(c), float(chars[c])) for c in top]
    return [(c, v) for c, v in vals if math.isfinite(v)]


def test_the_lattices_of_a_plate_match_the_reference_one_by_one() -> None:
    """:func:`lattices` builds all hypotheses of a plate together (one cut pass over
    several masks, each mask's components found once): the same lattices, in the
    same order, as the reference built one by one."""
    from segocr.segment.binarize import BinarizeConfig, binarize
    from segocr.segment.characters import (
        SegmentConfig,
        WorkImage,
        _remove_lines,
        remove_frame_sides,
        segment_mask,
    )
    from segocr.segment.search import lattices, mask_components

    rng = np.random.default_rng(7)
    binarizers = (
        BinarizeConfig(method="otsu"),
        BinarizeConfig(method="sauvola", window=0.5, k=0.2),
        BinarizeConfig(method="sauvola", window=1.0, k=0.1),
    )
    seg = SegmentConfig()
    n_lattices = 0
    for _ in range(4):
        mask, _ = random_plate(rng)
        gray = np.where(mask, 40, 210).astype(np.uint8)
        gray = np.clip(gray + rng.normal(0, 25, gray.shape), 0, 255).astype(np.uint8)
        work = WorkImage(gray, 0, ("dark", "light"), (1.0, 1.0))
        for config in CONFIGS:
            want: list[Lattice | None] = []
            seen: set[tuple[CharBox, ...]] = set()
            for method in binarizers:
                for polarity in work.polarities:
                    m = binarize(work.gray, method=method, polarity=polarity)
                    clean = _remove_lines(m, seg.frame_line_fraction)
                    for boxes, _ in segment_mask(m, config=seg):
                        if boxes in seen:
                            continue
                        seen.add(boxes)
                        hc = float(np.median([b.h for b in boxes]))
                        sided = remove_frame_sides(clean, hc, seg.frame_side_height)
                        lat = ref_build_lattice(boxes, sided, config=config)
                        assert lat is not None
                        want.append(
                            Lattice(lat.pieces, lat.spans, lat.row, method.method, polarity)
                        )
            got = lattices(work, binarizers, segment=seg, config=config)
            assert got == want
            n_lattices += len(got)
            # The masks' clean copies and components handed over: the same lattices.
            cleaned = {}
            for method in binarizers:
                for polarity in work.polarities:
                    m = binarize(work.gray, method=method, polarity=polarity)
                    clean = _remove_lines(m, seg.frame_line_fraction)
                    cleaned[(method, polarity)] = (clean, mask_components(clean))
            assert lattices(work, binarizers, segment=seg, config=config, cleaned=cleaned) == want
    assert n_lattices > 20
