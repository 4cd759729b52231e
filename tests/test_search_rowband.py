"""The search's row-band candidates (issue 13, ``SearchConfig.clip_to_row`` and
``SearchConfig.gap_windows``) on hand-made masks: a character joined to the frame
below the row is read once clipped to the row; a character missing from the mask
(too faint to binarize, or joined to the band) is read from a window at the row's
advance; a plain gap (the space of a Czech plate) is not filled; both off by default.

The classifier is a hand-made oracle that knows where the true characters are: a box
centred on one, about one character wide and one row tall, is a confident "0";
anything else is noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segocr.segment.boxes import CharBox
from segocr.segment.search import Lattice, SearchConfig, build_lattice, search_lattice

HC, CW, Y0 = 40, 22, 16  # character height, width, top of the row
NOISE = 1  # classes: 0 "0", 1 noise
LENGTH = {6: -6.0, 7: 0.0}  # a length prior that expects 7 characters
XS = [4 + 30 * k for k in range(7)]


def ring(mask: np.ndarray, x: int) -> None:
    mask[Y0 : Y0 + HC, x : x + CW] = True
    mask[Y0 + 4 : Y0 + HC - 4, x + 4 : x + CW - 4] = False


def oracle(truth: list[int]) -> Callable[[CharBox], np.ndarray]:
    def lp(box: CharBox) -> np.ndarray:
        hit = any(abs(box.cx - (x + CW / 2)) <= 4 for x in truth)
        shaped = 0.4 <= box.w / HC <= 0.7 and 0.85 <= box.h / HC <= 1.1
        return np.array([-0.05, -4.0] if hit and shaped else [-5.0, -0.1])

    return lp


def read(lat: Lattice | None, truth: list[int], config: SearchConfig) -> str:
    assert lat is not None
    lp = oracle(truth)
    table = {b: lp(b) for b in lat.boxes}
    paths = search_lattice(lat, table, noise_index=NOISE, length_logp=LENGTH, config=config)
    return "".join("0" for _ in paths[0].classes)


def test_a_character_joined_to_the_frame_is_clipped_to_the_row() -> None:
    mask = np.zeros((72, 220), bool)
    for x in XS:
        ring(mask, x)
    mask[Y0 + HC : Y0 + HC + 8, XS[1] - 2 : XS[1] + CW + 2] = True  # the frame's edge below char 2
    boxes = [CharBox(x, Y0, CW, HC) for x in XS]
    boxes[1] = CharBox(XS[1] - 2, Y0, CW + 4, HC + 8)  # the segmenter's box, frame included
    off, on = SearchConfig(), SearchConfig(clip_to_row=True)
    clipped = CharBox(
        XS[1] - 2, Y0, CW + 4, HC + 2
    )  # the band's pad (0.05 hc) keeps 2 rows of the frame
    lat_off, lat_on = build_lattice(boxes, mask, config=off), build_lattice(boxes, mask, config=on)
    assert lat_off is not None and lat_on is not None
    assert clipped not in lat_off.boxes and clipped in lat_on.boxes
    assert read(lat_off, XS, off) == "000000"  # the frame-joined box reads as noise
    assert read(lat_on, XS, on) == "0000000"


def test_a_character_missing_from_the_mask_is_read_from_a_window() -> None:
    for missing in (3, 0):  # inside the row, and at its left end (joined to the band)
        mask = np.zeros((72, 220), bool)
        for k, x in enumerate(XS):
            if k != missing:
                ring(mask, x)
        boxes = [CharBox(x, Y0, CW, HC) for k, x in enumerate(XS) if k != missing]
        off, on = SearchConfig(), SearchConfig(gap_windows=True)
        lat_off, lat_on = (
            build_lattice(boxes, mask, config=off),
            build_lattice(boxes, mask, config=on),
        )
        assert lat_off is not None and lat_on is not None
        assert len(lat_on.pieces) > len(lat_off.pieces)
        assert read(lat_off, XS, off) == "000000"
        assert read(lat_on, XS, on) == "0000000", missing
        # The window's box is the bare window (no ink in the mask) at the missing place.
        assert any(abs(b.cx - (XS[missing] + CW / 2)) <= 2 for b in lat_on.boxes)


def test_a_plain_gap_is_not_filled() -> None:
    """A wide space with nothing in it (the classifier calls the window noise): the
    window is skipped for free, even under a prior that prefers one more character
    only a little."""
    xs = [4, 34, 64, 124, 154, 184]  # 3 + 3 characters with a wide space
    mask = np.zeros((72, 240), bool)
    for x in xs:
        ring(mask, x)
    boxes = [CharBox(x, Y0, CW, HC) for x in xs]
    cfg = SearchConfig(gap_windows=True, clip_to_row=True)
    lat = build_lattice(boxes, mask, config=cfg)
    assert lat is not None and len(lat.pieces) > len(boxes)  # windows were offered
    lp = oracle(xs)
    table = {b: lp(b) for b in lat.boxes}
    best = search_lattice(lat, table, noise_index=NOISE, length_logp={6: -0.5, 7: 0.0}, config=cfg)[
        0
    ]
    assert len(best.classes) == 6
    assert [b.x for b in best.boxes] == xs


def test_the_row_band_ignores_a_box_joined_to_the_frame() -> None:
    """With the new candidates on, the row is fitted through the boxes of typical
    height: a tall box does not raise the band's height (the default fit is kept
    when both are off)."""
    mask = np.zeros((72, 220), bool)
    for x in XS:
        ring(mask, x)
    boxes = [CharBox(x, Y0, CW, HC) for x in XS]
    boxes[1] = CharBox(XS[1], Y0, CW, HC + 12)
    typical = build_lattice(boxes, mask, config=SearchConfig(clip_to_row=True))
    plain = build_lattice(boxes, mask, config=SearchConfig())
    assert typical is not None and plain is not None
    assert abs(typical.row.hc - HC) < 0.5 and typical.row.height_slope == 0.0
    assert plain.row.hc > HC + 0.5 or plain.row.height_slope != 0.0


def test_without_end_windows_a_six_character_row_gets_no_seventh() -> None:
    """Round 2 (``window_ends=False``): a 6-character row whose right end holds
    something the classifier would call a character (the frame's edge read as "I")
    gets a 7th character from the end window under a prior expecting 7 characters;
    without end windows it keeps its 6, and a character missing inside the row is
    still read from its window."""
    xs = XS[:6]
    mask = np.zeros((72, 220), bool)
    for x in xs:
        ring(mask, x)
    boxes = [CharBox(x, Y0, CW, HC) for x in xs]
    end = XS[6]  # where the end window lies: the oracle reads it as a character
    ends, inside = SearchConfig(gap_windows=True), SearchConfig(gap_windows=True, window_ends=False)
    lat_ends, lat_inside = (
        build_lattice(boxes, mask, config=ends),
        build_lattice(boxes, mask, config=inside),
    )
    assert lat_ends is not None and lat_inside is not None
    assert read(lat_ends, [*xs, end], ends) == "0000000"
    assert len(lat_inside.pieces) == len(boxes)
    assert read(lat_inside, [*xs, end], inside) == "000000"
    gap = [x for k, x in enumerate(XS) if k != 3]
    mask = np.zeros((72, 220), bool)
    for x in gap:
        ring(mask, x)
    lat = build_lattice([CharBox(x, Y0, CW, HC) for x in gap], mask, config=inside)
    assert read(lat, XS, inside) == "0000000"


def test_the_window_cost_is_charged_once_per_window_read() -> None:
    """A character read from a window costs ``window_logp``: the best path's score
    moves by exactly the change of that cost."""
    gap = [x for k, x in enumerate(XS) if k != 3]
    mask = np.zeros((72, 220), bool)
    for x in gap:
        ring(mask, x)
    boxes = [CharBox(x, Y0, CW, HC) for x in gap]
    lp = oracle(XS)
    scores = {}
    for cost in (-1.0, -3.0):
        cfg = SearchConfig(gap_windows=True, window_ends=False, window_logp=cost)
        lat = build_lattice(boxes, mask, config=cfg)
        assert lat is not None
        best = search_lattice(
            lat, {b: lp(b) for b in lat.boxes}, noise_index=NOISE, length_logp=LENGTH, config=cfg
        )[0]
        assert len(best.classes) == 7
        scores[cost] = best.score
    assert abs(scores[-3.0] - scores[-1.0] + 2.0) < 1e-9
