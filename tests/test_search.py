"""The segmentation search on hand-made images: touching characters are split, a
broken character is merged, a frame bar and a screw are not read as characters.

The classifier here is a hand-made oracle that scores a box by its shape, as a
character CNN would: a box about one character wide is a confident character, a
sliver (half a character) a weak one, a box two characters wide a poor one.
"""

from __future__ import annotations

import cv2
import numpy as np

from segocr.segment.boxes import CharBox
from segocr.segment.characters import SegmentConfig, WorkImage
from segocr.segment.search import (
    Lattice,
    SearchConfig,
    build_lattice,
    lattices,
    merge_paths,
    search_lattice,
)

HC = 40  # character height in the hand-made images
CW = 22  # character width
NOISE = 3  # class index of noise in the oracle (classes 0: "0", 1: "I", 2: "M")
CHARS = "0IM"


def oracle(box: CharBox) -> np.ndarray:
    """Log-probabilities (4,) of a box: "0", "I", "M", noise."""
    r = box.w / HC
    if 0.4 <= r <= 0.7:
        lp = [-0.05, -4.0, -5.0, -5.0]
    elif r < 0.4:
        lp = [-3.0, -1.5, -6.0, -1.0]
    else:
        lp = [-3.0, -6.0, -1.5, -2.5]
    return np.array(lp)


def ring(mask: np.ndarray, x: int, y: int = 16, *, w: int = CW, h: int = HC, t: int = 4) -> None:
    mask[y : y + h, x : x + w] = True
    mask[y + t : y + h - t, x + t : x + w - t] = False


def read(lat: Lattice | None, length_logp: dict[int, float] | None = None) -> str:
    assert lat is not None
    table = {b: oracle(b) for b in lat.boxes}
    paths = search_lattice(
        lat, table, noise_index=NOISE, length_logp=length_logp, config=SearchConfig()
    )
    return "".join(CHARS[c] for c in paths[0].classes)


def test_two_touching_characters_are_split() -> None:
    mask = np.zeros((72, 260), bool)
    xs = [4 + 30 * k for k in range(7)]
    for x in xs:
        ring(mask, x)
    mask[50:56, xs[2] + CW : xs[3]] = True  # characters 3 and 4 touch at the bottom
    boxes = [CharBox(x, 16, CW, HC) for k, x in enumerate(xs) if k not in (2, 3)]
    boxes.append(CharBox(xs[2], 16, xs[3] + CW - xs[2], HC))  # the segmenter's one wide box
    lat = build_lattice(boxes, mask, config=SearchConfig())
    assert lat is not None
    # The classifier alone decides (no length prior): the split reads two characters.
    assert read(lat) == "0000000"
    # Without cuts the wide box can only be one poor character.
    flat = build_lattice(
        boxes, mask, config=SearchConfig(cut_minima=False, cut_concavities=False, cut_pitch=False)
    )
    assert flat is not None and read(flat) == "00M000"


def test_a_broken_character_is_merged() -> None:
    mask = np.zeros((72, 260), bool)
    xs = [4 + 30 * k for k in range(7)]
    for x in xs:
        ring(mask, x)
    mask[16 : 16 + HC, xs[4] + 10 : xs[4] + 13] = False  # character 5 broken in two
    boxes = [CharBox(x, 16, CW, HC) for k, x in enumerate(xs) if k != 4]
    boxes += [CharBox(xs[4], 16, 10, HC), CharBox(xs[4] + 13, 16, CW - 13, HC)]
    lat = build_lattice(boxes, mask, config=SearchConfig())
    assert lat is not None
    assert read(lat) == "0000000"
    assert read(build_lattice(boxes, mask, config=SearchConfig(merge_boxes=False))) != "0000000"


def test_a_frame_bar_and_a_screw_are_not_read_as_characters() -> None:
    gray = np.full((72, 280), 220, np.uint8)
    mask = np.zeros(gray.shape, bool)
    xs = [12 + 34 * k for k in range(7)]
    for x in xs:
        ring(mask, x)
    mask[4:68, 250:256] = True  # the frame's side, taller than the row
    gray[mask] = 30
    cv2.circle(gray, (xs[3] + CW + 6, 36), 4, 60, -1)  # a screw between characters 4 and 5
    work = WorkImage(gray, 0, ("dark",), (1.0, 1.0))
    seg = SegmentConfig()
    from segocr.segment.binarize import BinarizeConfig

    lats = lattices(work, (BinarizeConfig(method="otsu"),), segment=seg, config=SearchConfig())
    assert lats
    # A classifier that would read anything it is shown as a character, and a length
    # prior that rewards long readings: only the lattice keeps bar and screw out.
    keen = {7: -3.0, 8: -1.5, 9: 0.0}
    per = []
    for lat in lats:
        table = {b: np.array([-0.01, -5.0, -5.0, -6.0]) for b in lat.boxes}
        per.append(
            search_lattice(lat, table, noise_index=NOISE, length_logp=keen, config=SearchConfig())
        )
    best, _ = merge_paths(per, 1)[0]
    assert len(best.classes) == 7, best.boxes
    assert all(b.x2 <= 250 for b in best.boxes)  # not the bar
    screw_x = xs[3] + CW + 6
    assert not any(
        b.x <= screw_x - 3 and screw_x + 3 <= b.x2 and b.w < 0.4 * HC for b in best.boxes
    )
    assert [round(b.cx) for b in best.boxes] == [x + CW // 2 for x in xs]


def test_n_best_and_a_position_mask() -> None:
    mask = np.zeros((72, 100), bool)
    for x in (4, 34, 64):
        ring(mask, x)
    boxes = [CharBox(x, 16, CW, HC) for x in (4, 34, 64)]
    lat = build_lattice(boxes, mask, config=SearchConfig())
    assert lat is not None
    table = {b: oracle(b) for b in lat.boxes}
    paths = search_lattice(lat, table, noise_index=NOISE, config=SearchConfig(n_best=4))
    assert len(paths) == 4 and paths[0].score >= paths[1].score >= paths[3].score
    assert "".join(CHARS[c] for c in paths[0].classes) == "000"
    # The format hook: position 2 must be an "M".
    allowed = np.ones((3, 3), bool)
    allowed[1] = [False, False, True]
    forced = search_lattice(
        lat, table, noise_index=NOISE, position_masks=allowed, config=SearchConfig()
    )
    assert "".join(CHARS[c] for c in forced[0].classes) == "0M0"


def test_the_recognizer_searches_unconfident_plates_in_one_batch() -> None:
    """segcnn with the search on: an untrained classifier is never confident, so every
    plate is searched; each reading carries its N best and boxes inside the image,
    and the old cascade stays selectable (``search=None``)."""
    from untrained import untrained_model

    from segocr.charset import LATIN, Charset
    from segocr.datasets.synthetic import DEFAULT_CONFIG, render_plate
    from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer

    rng = np.random.default_rng(3)
    images = [
        render_plate(t, rng=rng, config=DEFAULT_CONFIG.clean(), style="cz").image
        for t in ("1AB2345", "7C01234")
    ]
    calls: list[int] = []
    rec = SegCNNRecognizer(
        untrained_model(), Charset(LATIN), SegCNNConfig(search=SearchConfig()), device="cpu"
    )
    net = rec.net

    def counting(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return net(x)

    rec.net = counting  # type: ignore[assignment]
    preds = rec.predict(images)
    assert all(p.info.get("search") for p in preds)
    assert all(1 <= len(p.info["n_best"]) <= 3 and p.info["n_best"][0][0] == p.text for p in preds)
    for img, p in zip(images, preds, strict=True):
        assert all(
            0 <= c.box.x and c.box.x2 <= img.shape[1] + 1 for c in p.chars if c.box is not None
        )
    # Cascade: two stages; search: one batch for all plates together.
    assert len(calls) == 3
    old = SegCNNRecognizer(net, Charset(LATIN), SegCNNConfig(search=None), device="cpu").predict(
        images
    )
    assert not any(p.info.get("search") for p in old)
