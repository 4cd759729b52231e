"""One text row or two? Splitting a plate crop into its rows and stitching them side by side.

Two-row plates (European squares, Brazilian motorcycle plates, ...) are read by the
one-row recognizers with their existing weights: :func:`find_rows` decides whether a
crop holds one or two rows of characters and cuts them; :func:`stitch` puts the rows
side by side (top row first, then the bottom row: the reading order, and the order of
the labels of ``openalpr-eu2``, whose text is the top row followed by the bottom row)
as one one-row image; :meth:`Stitched.to_original` maps a character box of the
stitched image back into the crop.

How the rows are found (all on a working copy ``work_height`` px high):

* gray -> ink polarity (:func:`segocr.segment.characters.guess_polarity`) -> a
  binarization (``RowsConfig.binarize``) -> connected components;
* character-like components: height ``char_height`` of the image (a screw or a sticker
  is smaller, a one-row plate's characters are taller), no wider than
  ``max_char_aspect`` heights (a frame bar is a long flat component), ink fill at least
  ``min_fill``;
* sorted by vertical centre, the components are cut into a top and a bottom group at
  every gap; a cut is a two-row layout when each group is a row: at least
  ``min_top`` / ``min_bottom`` components, the groups' median heights within
  ``height_ratio`` of each other, the top group's median bottom above the bottom
  group's median top (less ``overlap`` heights), the two rows overlapping
  horizontally and spanning at least ``min_span`` of the image height. Among valid
  cuts the widest gap wins;
* ``mode="two"`` without such a layout falls back to the minimum of the smoothed
  horizontal ink projection in the middle ``valley_band`` of the height.

A one-row crop (``mode="one"``, or ``auto`` finding no two-row layout) is left as it
is: the readings of one-row plates do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.preprocess import to_gray
from segocr.segment.binarize import BinarizeConfig, binarize
from segocr.segment.boxes import CharBox
from segocr.segment.characters import component_stats, guess_polarity

RowsMode = Literal["auto", "one", "two"]
#: The modes :class:`RowsConfig` accepts (``--rows``).
ROWS_MODES: tuple[RowsMode, ...] = ("auto", "one", "two")
#: The mode of ``segocr read``, ``segocr benchmark`` and :func:`segocr.read`: ``auto``
#: changed no reading of the one-row validation plates (IWT4S, BR, ES, CO training
#: splits; benchmarks/rows.py) and reads two-row plates.
DEFAULT_ROWS: RowsMode = "auto"


class RowsConfig(BaseModel):
    """How plates are split into rows (see the module docstring).

    ``mode``: ``auto`` splits a crop when it finds two rows, ``one`` never splits,
    ``two`` always splits (at the row gap, else at the projection valley). Lengths are
    fractions of the image height unless said otherwise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: RowsMode = "auto"
    work_height: int = Field(96, ge=24, le=512)
    binarize: BinarizeConfig = BinarizeConfig(method="sauvola", window=0.5, k=0.2)
    #: Height range of a character of a two-row plate, as a fraction of the image height.
    char_height: tuple[float, float] = (0.17, 0.55)
    max_char_aspect: float = Field(1.3, gt=0)
    min_fill: float = Field(0.15, ge=0, le=1)
    min_top: int = Field(1, ge=1)
    min_bottom: int = Field(2, ge=1)
    #: Character-like components of both rows together, at least.
    min_total: int = Field(4, ge=2)
    height_ratio: float = Field(1.45, ge=1)
    #: The rows' gap (distance of the fitted centre lines less the mean half-heights)
    #: is at least this many character heights (a character cut in two has none).
    min_gap: float = Field(0.05, ge=-1, le=2)
    #: RMS distance of the centres from their row's line, in character heights.
    max_rms: float = Field(0.15, ge=0, le=2)
    #: When no cut fits with every component: components a cut may then leave out of
    #: its rows (the farthest from its row's line first) to bring the RMS distance
    #: within ``max_rms``: stickers, seals and coats of arms between the rows of EU
    #: plates. A crop that splits with every component is split as before. 0: off (1:
    #: chosen on the EU2 training split, docs/models.md "Two-row plates in the default
    #: reader").
    max_outliers: int = Field(1, ge=0, le=4)
    #: Steepest row (dy/dx) taken for a plate row.
    max_slope: float = Field(0.35, ge=0)
    #: The rows' union spans at least this fraction of the image height.
    min_span: float = Field(0.55, ge=0, le=1)
    #: Horizontal overlap of the two rows, as a fraction of the narrower row's width.
    min_x_overlap: float = Field(0.3, ge=0, le=1)
    #: A lone row (the other row's characters not found): at least this many similar
    #: components, this high (fractions of the image height), lying wholly below
    #: ``lone_offset`` of the height (or above 1 - it); off with ``lone_row=False``.
    lone_row: bool = True
    lone_min_chars: int = Field(3, ge=2)
    lone_char_height: tuple[float, float] = (0.3, 0.55)
    lone_offset: float = Field(0.42, ge=0.3, le=1)
    #: ... in an image at most this wide (width / height): two-row plates are squarish.
    lone_max_aspect: float = Field(1.8, gt=0)
    #: Auto splits only images at most this wide (width / height): two-row plates are
    #: squarish (EU 280x200 mm, Spanish and Brazilian motorcycle plates 220x160 and
    #: 200x170, US motorcycle plates 7x4 in).
    max_aspect: float = Field(1.9, gt=0)
    #: ``two``'s fallback: where the projection valley is searched (fractions of the height).
    valley_band: tuple[float, float] = (0.3, 0.7)
    #: Margin around each row crop, in row heights (filled with the background colour
    #: where the image ends).
    pad: float = Field(0.2, ge=0, le=2)
    #: Blank between the stitched rows, in row heights.
    gap: float = Field(0.6, ge=0, le=4)
    #: ``stitch``: the rows side by side, read as one image; ``separate``: each row
    #: read as an image of its own, the readings joined.
    join: Literal["stitch", "separate"] = "stitch"
    #: Pad the stitched rows to a line recognizer's input aspect (see :func:`stitch`).
    fit_line: bool = True
    #: Cut each row to the columns of its characters (plus ``pad``).
    trim: bool = True
    #: The columns kept beyond the characters when trimming, in row heights (None: ``pad``).
    trim_margin: float | None = Field(0.0, ge=0, le=4)
    #: Trim each row to the columns of its own characters (``row``) or of the
    #: characters of every row (``plate``: a row whose end characters were not found as
    #: components, joined to the frame or the band, keeps them), or (``auto``) ``plate``
    #: for a line recognizer and ``row`` for a segmenting one, which reads the band or
    #: frame a wider cut brings in as characters (:class:`segocr.rows.RowsRecognizer`
    #: resolves it; :func:`stitch` alone takes it as ``row``). Chosen on the EU2
    #: training split, docs/models.md "Round 3" and "Round 4".
    trim_to: Literal["row", "plate", "auto"] = "auto"
    #: Paint pixels more colourful (chroma) than the ink and the background by more
    #: than this in the background colour (:func:`clean_colours`); None: off.
    clean: float | None = Field(40.0, gt=0)


@dataclass(frozen=True)
class RowSplit:
    """The rows of one crop. ``bands``: per row, its (y0, y1) in the crop's pixels,
    top row first (one band spanning the crop for a one-row crop); ``boxes``: the
    character-like components of each row, in crop pixels; ``reason``: how it was
    decided; ``polarity``: the ink's."""

    bands: tuple[tuple[int, int], ...]
    boxes: tuple[tuple[CharBox, ...], ...]
    reason: str
    #: The ink: ``dark`` characters on a light plate or ``light`` on a dark one.
    polarity: str = "dark"

    @property
    def n_rows(self) -> int:
        return len(self.bands)


@dataclass(frozen=True)
class Segment:
    """Where one row lies in a stitched image: columns [x0, x1) of the stitched
    image hold the row band (y0, y1) of the crop from its column ``cx0`` on, scaled by
    ``scale`` (stitched px per crop px) after padding by ``pad_x`` / ``pad_y`` crop px."""

    x0: int
    x1: int
    y0: int
    y1: int
    cx0: int
    scale: float
    pad_x: int
    pad_y: int


@dataclass(frozen=True)
class Stitched:
    """A two-row crop as one row: ``image`` uint8 (h, W, 3), the top row on the left;
    ``segments`` say where each row came from; ``shape`` is the crop's (H, W)."""

    image: np.ndarray
    segments: tuple[Segment, ...]
    shape: tuple[int, int]
    #: Rows of background added above the rows (``line_aspect``), in stitched px.
    top: int = 0

    def to_original(self, box: CharBox) -> CharBox:
        """``box`` (stitched pixels) in the crop's pixels: mapped through the segment
        holding its centre, clipped to the crop.

        >>> img = np.full((40, 60, 3), 200, np.uint8)
        >>> st = stitch(img, RowSplit(((0, 20), (20, 40)), ((), ()), "test"), RowsConfig(pad=0, gap=0))
        >>> st.image.shape, st.to_original(CharBox(65, 2, 10, 16))
        ((20, 120, 3), CharBox(x=5, y=22, w=10, h=16))
        """
        cx = box.x + box.w / 2
        seg = next((s for s in self.segments if cx < s.x1), self.segments[-1])
        H, W = self.shape
        x1 = (box.x - seg.x0) / seg.scale - seg.pad_x + seg.cx0
        x2 = (box.x2 - seg.x0) / seg.scale - seg.pad_x + seg.cx0
        y1 = (box.y - self.top) / seg.scale - seg.pad_y + seg.y0
        y2 = (box.y2 - self.top) / seg.scale - seg.pad_y + seg.y0
        xa, xb = int(np.clip(np.floor(x1), 0, W - 1)), int(np.clip(np.ceil(x2), 1, W))
        ya, yb = int(np.clip(np.floor(y1), 0, H - 1)), int(np.clip(np.ceil(y2), 1, H))
        return CharBox(xa, ya, max(1, xb - xa), max(1, yb - ya))


def _components(
    image: np.ndarray, config: RowsConfig
) -> tuple[list[list[CharBox]], list[np.ndarray], float]:
    """Character-like components of ``image`` (uint8 (H, W) or (H, W, 3)) in working
    pixels, per ink polarity (dark ink first, then light ink: a two-row crop's centre is
    mostly ink, so the polarity is not guessed but both are tried), the working ink
    masks (h, w) and the working scale (working px per crop px)."""
    gray = to_gray(image) if image.ndim == 3 else image
    H, W = gray.shape
    s = config.work_height / H
    work = cv2.resize(
        gray,
        (max(1, round(W * s)), config.work_height),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    h_lo, h_hi = (f * config.work_height for f in config.char_height)
    per_polarity: list[list[CharBox]] = []
    inks = []
    for polarity in ("dark", "light"):
        ink = binarize(work, method=config.binarize, polarity=polarity)
        _, stats = component_stats(ink.astype(np.uint8))
        boxes = []
        for x, y, w, h, area in stats[1:]:
            if (
                h_lo <= h <= h_hi
                and w <= config.max_char_aspect * h
                and area >= config.min_fill * w * h
            ):
                boxes.append(CharBox(int(x), int(y), int(w), int(h)))
        per_polarity.append(boxes)
        inks.append(ink)
    return per_polarity, inks, s


def _row_fit(top: list[CharBox], bottom: list[CharBox]) -> tuple[float, float, float, np.ndarray]:
    """Two parallel lines through the centres of ``top`` and ``bottom`` (one slope):
    the distance between them (bottom minus top, px), the RMS residual, the slope and
    each box's absolute residual (``top`` then ``bottom``, px)."""
    pts = [(b.x + b.w / 2, b.y + b.h / 2, 0.0) for b in top] + [
        (b.x + b.w / 2, b.y + b.h / 2, 1.0) for b in bottom
    ]
    a = np.array([[x, 1.0 - g, g] for x, _, g in pts])
    y = np.array([p[1] for p in pts])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    res = a @ coef - y
    rms = float(np.sqrt(np.mean(res**2)))
    return float(coef[2] - coef[1]), rms, float(coef[0]), np.abs(res)


def _without_outliers(
    top: list[CharBox], bottom: list[CharBox], h: float, config: RowsConfig, outliers: int
) -> tuple[list[CharBox], list[CharBox], float, float, float]:
    """``top`` and ``bottom`` less up to ``outliers`` boxes, the one farthest
    from its row's line first, while the fit's RMS residual exceeds ``config.max_rms``
    character heights ``h`` and both rows keep their minimum counts (a sticker, a seal
    or a coat of arms between the rows is not a character of either); with the fit's
    distance, RMS and slope.

    >>> row = lambda y: [CharBox(x, y, 8, 10) for x in (0, 10, 20)]
    >>> sticker = CharBox(30, 12, 8, 10)  # between the rows, at the top row's end
    >>> top, bottom, *_ = _without_outliers(row(0) + [sticker], row(20), 10.0, RowsConfig(), 1)
    >>> sticker in top, len(top), len(bottom)
    (False, 3, 3)
    """
    dist, rms, slope, res = _row_fit(top, bottom)
    for _ in range(outliers):
        if rms <= config.max_rms * h:
            break
        worst = int(np.argmax(res))
        in_top = worst < len(top)
        if (len(top) - in_top < config.min_top or len(bottom) - (not in_top) < config.min_bottom
                or len(top) + len(bottom) - 1 < config.min_total):  # fmt: skip
            break
        if in_top:
            top = top[:worst] + top[worst + 1 :]
        else:
            bottom = bottom[: worst - len(top)] + bottom[worst - len(top) + 1 :]
        dist, rms, slope, res = _row_fit(top, bottom)
    return top, bottom, dist, rms, slope


def _two_rows(
    boxes: list[CharBox], height: int, config: RowsConfig, outliers: int = 0
) -> tuple[list[CharBox], list[CharBox]] | None:
    """The best valid cut of ``boxes`` (working px, image ``height``) into a top and a
    bottom row, or None; each cut may leave out up to ``outliers`` boxes
    (:func:`_without_outliers`)."""
    order = sorted(boxes, key=lambda b: b.y + b.h / 2)
    best: tuple[float, list[CharBox], list[CharBox]] | None = None
    for k in range(config.min_top, len(order) - config.min_bottom + 1):
        top, bottom = order[:k], order[k:]
        if len(order) < config.min_total:
            break
        ht = float(np.median([b.h for b in top]))
        hb = float(np.median([b.h for b in bottom]))
        h = min(ht, hb)
        if max(ht, hb) > config.height_ratio * h:
            continue
        if outliers:
            top, bottom, dist, rms, slope = _without_outliers(top, bottom, h, config, outliers)
            ht, hb = float(np.median([b.h for b in top])), float(np.median([b.h for b in bottom]))
            h = min(ht, hb)
        else:
            dist, rms, slope, _ = _row_fit(top, bottom)
        gap = dist - (ht + hb) / 2
        if gap < config.min_gap * h or rms > config.max_rms * h or abs(slope) > config.max_slope:
            continue
        span = max(b.y2 for b in bottom) - min(b.y for b in top)
        if span < config.min_span * height:
            continue
        xt = (min(b.x for b in top), max(b.x2 for b in top))
        xb = (min(b.x for b in bottom), max(b.x2 for b in bottom))
        inter = min(xt[1], xb[1]) - max(xt[0], xb[0])
        if inter < config.min_x_overlap * min(xt[1] - xt[0], xb[1] - xb[0]):
            continue
        score = gap / h - rms / h
        if best is None or score > best[0]:
            best = (score, top, bottom)
    return None if best is None else (best[1], best[2])


def _lone_row(
    boxes: list[CharBox], height: int, config: RowsConfig
) -> tuple[list[CharBox], str] | None:
    """A row of at least ``lone_min_chars`` similar components (``lone_char_height``
    of the image high, one line) lying wholly in the bottom or the top part of the
    image (the other row's characters were not found, e.g. joined to the frame):
    the row and ``bottom`` or ``top``; else None."""
    lo, hi = (f * height for f in config.lone_char_height)
    cand = [b for b in boxes if lo <= b.h <= hi]
    if len(cand) < config.lone_min_chars:
        return None
    h = float(np.median([b.h for b in cand]))
    cand = [b for b in cand if abs(b.h - h) <= 0.2 * h]
    if len(cand) < config.lone_min_chars:
        return None
    x = np.array([b.x + b.w / 2 for b in cand])
    y = np.array([b.y + b.h / 2 for b in cand])
    slope, icpt = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(y.mean()))
    if (
        float(np.sqrt(np.mean((slope * x + icpt - y) ** 2))) > config.max_rms * h
        or abs(slope) > config.max_slope
    ):
        return None
    top, bottom = min(b.y for b in cand), max(b.y2 for b in cand)
    if top >= config.lone_offset * height:
        return cand, "bottom"
    if bottom <= (1 - config.lone_offset) * height:
        return cand, "top"
    return None


def _valley(ink: np.ndarray, config: RowsConfig) -> int:
    """Row (working px) of the least ink in the middle band of ``ink`` (h, w)."""
    h = ink.shape[0]
    profile = ink.mean(axis=1).astype(np.float64)
    k = max(1, h // 24) * 2 + 1
    smooth = np.convolve(profile, np.ones(k) / k, mode="same")
    lo, hi = (round(f * h) for f in config.valley_band)
    return lo + int(np.argmin(smooth[lo : max(hi, lo + 1)]))


def find_rows(image: np.ndarray, config: RowsConfig | None = None) -> RowSplit:
    """The text rows of a plate crop ``image`` (uint8 (H, W, 3) or (H, W)), as
    :class:`RowSplit` bands in crop pixels (top row first). See the module docstring.

    >>> img = np.full((60, 80, 3), 230, np.uint8)
    >>> for i, x in enumerate((10, 40)):
    ...     _ = cv2.putText(img, "AB"[i], (x, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    >>> for i, x in enumerate((5, 25, 45)):
    ...     _ = cv2.putText(img, "123"[i], (x, 52), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    >>> find_rows(img).n_rows, find_rows(img, RowsConfig(mode="one")).n_rows
    (2, 1)
    """
    config = config or RowsConfig()
    H, W = image.shape[:2]
    one = RowSplit(((0, H),), ((),), "one row")
    if config.mode == "one" or H < 2:
        return RowSplit(one.bands, one.boxes, "mode one")
    if config.mode == "auto" and W / H > config.max_aspect:
        return RowSplit(one.bands, one.boxes, f"wider than {config.max_aspect} heights")
    per_polarity, inks, s = _components(image, config)
    found: list[tuple[tuple[list[CharBox], list[CharBox]], str]] = []
    for outliers in dict.fromkeys((0, config.max_outliers)):  # every component first
        found = [
            (r, pol)
            for boxes, ink, pol in zip(per_polarity, inks, ("dark", "light"), strict=True)
            if (r := _two_rows(boxes, ink.shape[0], config, outliers))
        ]
        if found:
            break
    if not found:
        polarity: str = guess_polarity(
            cv2.resize(to_gray(image) if image.ndim == 3 else image, inks[0].shape[::-1])
        )
        lone = [
            (lr, pol)
            for boxes, pol in zip(per_polarity, ("dark", "light"), strict=True)
            if (lr := _lone_row(boxes, inks[0].shape[0], config))
        ]
        if lone and config.lone_row and W / H <= config.lone_max_aspect:
            (row, where), pol = max(lone, key=lambda f: len(f[0][0]))
            back_row = tuple(
                CharBox(int(b.x / s), int(b.y / s), max(1, round(b.w / s)), max(1, round(b.h / s)))
                for b in row
            )
            h_row = float(np.median([b.h for b in back_row]))
            if where == "bottom":
                cut = max(1, round(min(b.y for b in back_row) - config.pad * h_row))
                y3 = min(H, round(max(b.y2 for b in back_row) + config.pad * h_row))
                return RowSplit(
                    ((0, cut), (cut, max(y3, cut + 1))), ((), back_row), "a lone row below", pol
                )
            cut = min(H - 1, round(max(b.y2 for b in back_row) + config.pad * h_row))
            y0 = max(0, round(min(b.y for b in back_row) - config.pad * h_row))
            return RowSplit(
                ((y0, max(cut, y0 + 1)), (cut, H)), (back_row, ()), "a lone row above", pol
            )
        if config.mode == "auto":
            return RowSplit(one.bands, one.boxes, "no two-row layout found", polarity)
        cut = min(
            H - 1, max(1, round(_valley(inks[0] if polarity == "dark" else inks[1], config) / s))
        )
        return RowSplit(((0, cut), (cut, H)), ((), ()), "projection valley", polarity)
    (top, bottom), polarity = max(found, key=lambda f: len(f[0][0]) + len(f[0][1]))
    back = [
        tuple(
            CharBox(int(b.x / s), int(b.y / s), max(1, round(b.w / s)), max(1, round(b.h / s)))
            for b in r
        )
        for r in (top, bottom)
    ]
    ht = float(np.median([b.h for b in back[0]]))
    hb = float(np.median([b.h for b in back[1]]))
    top_y2 = max(b.y2 for b in back[0])
    bot_y1 = min(b.y for b in back[1])
    # The rows are cut at the middle of their gap; outside, ``pad`` row heights are kept.
    mid = round(
        (top_y2 + bot_y1) / 2
        if bot_y1 > top_y2
        else (float(np.median([b.y2 for b in back[0]])) + float(np.median([b.y for b in back[1]])))
        / 2
    )
    y0 = max(0, round(min(b.y for b in back[0]) - config.pad * ht))
    y3 = min(H, round(max(b.y2 for b in back[1]) + config.pad * hb))
    return RowSplit(
        ((y0, max(mid + 1, y0 + 1)), (mid, max(y3, mid + 1))),
        (back[0], back[1]),
        "two rows",
        polarity,
    )


def _colours(band: np.ndarray, polarity: str) -> tuple[np.ndarray, np.ndarray]:
    """The ink and the background colour (RGB, float) of a row ``band`` (h, w, 3):
    the medians of the two sides of Otsu's threshold on its gray levels."""
    gray = to_gray(band)
    t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    dark, light = band[gray <= t], band[gray > t]
    ink, bg = (dark, light) if polarity == "dark" else (light, dark)
    flat = band.reshape(-1, 3)
    return (
        np.median(ink if len(ink) else flat, axis=0).astype(np.float64),
        np.median(bg if len(bg) else flat, axis=0).astype(np.float64),
    )


def clean_colours(
    band: np.ndarray, polarity: str, margin: float
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``band`` (h, w, 3) uint8 with every pixel whose chroma (max - min channel)
    exceeds both the ink's and the background's by more than ``margin`` painted in the
    background colour (coats of arms, coloured bands and stickers; characters and the
    grey edges between them and the plate are kept), and that background colour.

    >>> band = np.full((10, 20, 3), 230, np.uint8); band[2:8, 2:8] = 0; band[2:8, 11:13] = (200, 0, 0)
    >>> out, bg = clean_colours(band, "dark", 60.0)
    >>> bg, out[5, 3].tolist(), out[5, 12].tolist()
    ((230, 230, 230), [0, 0, 0], [230, 230, 230])
    """
    ink, bg = _colours(band, polarity)
    chroma = band.max(axis=2).astype(np.int32) - band.min(axis=2)
    limit = max(float(ink.max() - ink.min()), float(bg.max() - bg.min())) + margin
    out = band.copy()
    bg_t = tuple(int(v) for v in np.rint(bg))
    out[chroma > limit] = bg_t
    return out, bg_t


def stitch(
    image: np.ndarray,
    split: RowSplit,
    config: RowsConfig | None = None,
    *,
    line_aspect: float | None = None,
) -> Stitched:
    """The rows of ``split`` cut from ``image`` (uint8 (H, W, 3)), each (with
    ``config.trim``) cut to its characters' columns, cleaned of colours that are
    neither ink nor background (``config.clean``, :func:`clean_colours`), padded by
    ``config.pad`` row heights of background colour where the crop ends, scaled to one
    height h (the tallest row's) and put side by side, top row first, ``config.gap``
    heights apart: uint8 (h, W', 3). With ``line_aspect`` (a line recognizer's input
    width / height), background is added above and below so that W' / h is at most
    that: the recognizer then does not squeeze the rows. A one-row split gives the
    image itself.

    >>> img = np.full((50, 70, 3), 200, np.uint8)
    >>> st = stitch(img, RowSplit(((0, 25), (25, 50)), ((), ()), "test"), RowsConfig(pad=0.2, gap=0.5))
    >>> st.image.shape, len(st.segments)
    ((29, 170, 3), 2)
    """
    config = config or RowsConfig()
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    H, W = image.shape[:2]
    if split.n_rows == 1:
        return Stitched(image, (Segment(0, W, 0, H, 0, 1.0, 0, 0),), (H, W))
    rows = []
    bgs = []
    every = [b for boxes in split.boxes for b in boxes]
    for (y0, y1), boxes in zip(split.bands, split.boxes, strict=True):
        rh = float(np.median([b.h for b in boxes])) if boxes else (y1 - y0) / (1 + 2 * config.pad)
        want = round(config.pad * rh)
        cx0, cx1 = 0, W
        span = every if config.trim_to == "plate" else boxes
        if config.trim and span:
            side = round((config.pad if config.trim_margin is None else config.trim_margin) * rh)
            cx0 = max(0, min(b.x for b in span) - side)
            cx1 = min(W, max(b.x2 for b in span) + side)
        band = image[y0:y1, cx0:cx1]
        if config.clean is not None:
            band, bg = clean_colours(band, split.polarity, config.clean)
        else:
            bg = tuple(int(v) for v in np.rint(_colours(band, split.polarity)[1]))
        bgs.append(bg)
        pad_top = max(0, want - y0)
        pad_bottom = max(0, want - (H - y1))
        pad_x = max(0, want - cx0) if config.trim else want
        pad_r = max(0, want - (W - cx1)) if config.trim else want
        padded = cv2.copyMakeBorder(
            band, pad_top, pad_bottom, pad_x, pad_r, cv2.BORDER_CONSTANT, value=bg
        )
        rows.append((padded, y0, y1, cx0, pad_top, pad_x))
    h = max(r[0].shape[0] for r in rows)
    gap_w = round(config.gap * h)
    gap_colour = tuple(int(v) for v in np.mean(bgs, axis=0).round())
    parts: list[np.ndarray] = []
    segments = []
    x = 0
    for i, (padded, y0, y1, cx0, pad_top, pad_x) in enumerate(rows):
        s = h / padded.shape[0]
        scaled = cv2.resize(
            padded, (max(1, round(padded.shape[1] * s)), h), interpolation=cv2.INTER_LINEAR
        )
        if i:
            parts.append(np.full((h, gap_w, 3), gap_colour, np.uint8))
            x += gap_w
        segments.append(
            Segment(
                x,
                x + scaled.shape[1] + (gap_w // 2 if i + 1 < len(rows) else 0),
                y0,
                y1,
                cx0,
                s,
                pad_x,
                pad_top,
            )
        )
        parts.append(scaled)
        x += scaled.shape[1]
    out = np.hstack(parts)
    top = 0
    if line_aspect is not None and out.shape[1] > line_aspect * h:
        extra = int(np.ceil(out.shape[1] / line_aspect)) - h
        top = extra // 2
        out = cv2.copyMakeBorder(out, top, extra - top, 0, 0, cv2.BORDER_CONSTANT, value=gap_colour)
    return Stitched(np.ascontiguousarray(out), tuple(segments), (H, W), top)
