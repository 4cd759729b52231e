"""Synthetic licence plates with exact character boxes: the embedded default dataset.

:func:`render_plate` draws a plate crop the way IWT4S shows them (style ``cz``: the
blue EU band with stars and ``CZ``, three characters, a gap with the two inspection
sticker rings, four digits, a thin black rim, the dealer's plastic frame with its
text strip, screws, car body around) or a plain plate (style ``generic``: 5..8
alphanumerics, light or dark background, sometimes reversed polarity). The scene is
drawn flat at a working resolution, warped by a random tilt and perspective, cropped
with a margin of car body, resized to the output size and degraded (exposure and
HDR-like tone curves, illumination gradient, colour cast, gaussian and motion blur,
low resolution, noise, JPEG). Every step draws from the ``rng`` passed in, so the same
text, seed and config give byte-identical pixels.

Each character's box is the bounds of its glyph's ink rectangle after every geometric
transform (the four corners are mapped, then clipped to the image): what a segmenter
should find and what a character classifier may crop. Boxes are ordered left to right
and never overlap horizontally.

Glyphs are DejaVu Sans Bold and DejaVu Sans Mono Bold (shipped with matplotlib),
rendered by Pillow and squeezed horizontally to the narrow, DIN-like proportions of
Czech plates (matplotlib ships no condensed face).

The dataset ``synthetic`` (:func:`open_synthetic`) generates sample ``i`` of a split
from ``(seed, split, i)`` alone; a text is a test text exactly when
:func:`is_test_text` says so, so no text is ever on both sides.

Run ``python -m segocr.datasets.synthetic data/samples --n 6`` to write sample PNGs.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from segocr.charset import DIGITS, LATIN, LETTERS, Charset
from segocr.datasets.base import SPLITS, PlateSample, register_dataset
from segocr.errors import DatasetError
from segocr.segment.boxes import CharBox

Style = Literal["cz", "generic"]
STYLES: tuple[Style, ...] = ("cz", "generic")

#: Letters of Czech plates (no G, O, Q, W).
CZ_LETTERS = "".join(c for c in LETTERS if c not in "GOQW")
#: Relative weights of the letters drawn for ``cz`` plates: uniform, with extra weight
#: on letters that are rare in IWT4S (whose plates are mostly Brno ``B``), so that a
#: classifier trained on synthetic plates sees them often.
CZ_LETTER_WEIGHTS: Mapping[str, float] = {
    c: (2.0 if c in "KNDTEHXFPVRUY" else 1.0) for c in CZ_LETTERS
}
#: Fonts from matplotlib's ``mpl-data/fonts/ttf`` with their probability.
FONTS: Mapping[str, float] = {"DejaVuSans-Bold.ttf": 0.6, "DejaVuSansMono-Bold.ttf": 0.4}
#: A test text is one whose CRC-32 is divisible by this (one text in eight).
TEST_BUCKETS = 8

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
_SPLIT_CODE = {"train": 0, "test": 1}
_REF_SIZE = 128  # font size glyphs are rasterised at before scaling


class SyntheticConfig(BaseModel):
    """How synthetic plates look: style mix, sizes, layout jitter and degradations.

    Ranges are ``(low, high)`` and sampled uniformly unless said otherwise; ``p_*`` is
    the probability that a step is applied to a plate. Lengths relative to the plate
    are in plate heights (the plate without its frame).

    >>> SyntheticConfig(n_test=50).n_test
    50
    >>> try:
    ...     SyntheticConfig(colour="red")
    ... except ValueError as e:
    ...     print(type(e).__name__, e.errors()[0]["type"])
    ValidationError extra_forbidden
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    n_train: int = Field(default=2000, ge=0)
    n_test: int = Field(default=200, ge=0)
    #: Relative weight of each style.
    style_mix: dict[Style, float] = {"cz": 1.0}

    # -- size and layout ---------------------------------------------------------
    #: Height of the plate in the output image (px), sampled log-uniformly.
    plate_height: tuple[float, float] = (24.0, 220.0)
    #: Frame and car body visible around the plate, in plate heights (scaled by 0.65
    #: at the top and 0.5 at the sides).
    margin: tuple[float, float] = (0.03, 0.4)
    #: Character height / plate height.
    char_height: tuple[float, float] = (0.66, 0.76)
    #: Width / height of a full-width glyph ("8") after the horizontal squeeze.
    char_aspect: tuple[float, float] = (0.47, 0.62)
    #: Gap between characters, in character heights.
    char_gap: tuple[float, float] = (0.07, 0.16)
    #: Probability of a thinner (eroded) or bolder (stroked) glyph, each.
    p_weight: Prob = 0.3
    #: The plastic dealer frame (``generic``: 0.4 times this); its bottom strip carries
    #: dealer text.
    p_frame: Prob = 0.85
    p_dealer_text: Prob = 0.75
    #: ``cz``: the two inspection-sticker rings in the gap after the third character.
    p_stickers: Prob = 0.7
    p_screws: Prob = 0.3
    #: ``generic``: light ink on a dark plate.
    p_reversed: Prob = 0.35
    #: ``generic``: a gap in the text, and a hyphen or dot inside it.
    p_text_gap: Prob = 0.4
    p_separator: Prob = 0.2

    # -- geometry ----------------------------------------------------------------
    #: Probability of a tilt, keystone and shear; the squeeze applies always.
    p_tilt: Prob = 0.8
    #: In-plane rotation bound (degrees). Reduced per plate when boxes would overlap.
    max_tilt_deg: float = Field(default=8.0, ge=0.0, le=30.0)
    #: Keystone / foreshortening bound (fraction of the plate size).
    max_perspective: float = Field(default=0.08, ge=0.0, le=0.4)
    #: Horizontal squeeze of the whole plate (oblique views), width factor.
    view_squeeze: tuple[float, float] = (0.8, 1.05)

    # -- photometric -------------------------------------------------------------
    p_exposure: Prob = 0.5
    p_hdr: Prob = 0.25
    p_gradient: Prob = 0.35
    p_color_cast: Prob = 0.4
    color_cast: float = Field(default=0.05, ge=0.0, le=1.0)
    p_chroma_shift: Prob = 0.15

    # -- optics and sensor ---------------------------------------------------------
    p_blur: Prob = 0.55
    #: Gaussian sigma in plate heights.
    blur_sigma: tuple[float, float] = (0.004, 0.022)
    p_motion_blur: Prob = 0.15
    #: Motion blur length in plate heights.
    motion_length: tuple[float, float] = (0.03, 0.09)
    p_lowres: Prob = 0.25
    #: Plate height (px) a low-resolution plate is first downscaled to.
    lowres_height: tuple[float, float] = (14.0, 60.0)
    #: Probability a low-resolution plate is upscaled back to its size.
    p_upscale: Prob = 0.5
    p_noise: Prob = 0.6
    #: Gaussian noise sigma in grey levels (0..255).
    noise_sigma: tuple[float, float] = (1.0, 6.0)
    p_jpeg: Prob = 0.4
    jpeg_quality: tuple[int, int] = (25, 92)

    @model_validator(mode="after")
    def _check(self) -> SyntheticConfig:
        for name, value in self:
            if isinstance(value, tuple):
                lo, hi = value
                if not 0 <= lo <= hi:
                    raise ValueError(f"{name}: need 0 <= low <= high, got {value}")
        if (
            not self.style_mix
            or any(w < 0 for w in self.style_mix.values())
            or sum(self.style_mix.values()) <= 0
        ):
            raise ValueError(
                f"style_mix: need non-negative weights with a positive sum, got {self.style_mix}"
            )
        if self.plate_height[0] < 8:
            raise ValueError(
                f"plate_height: plates under 8 px are unreadable, got {self.plate_height}"
            )
        if self.lowres_height[0] < 8:
            raise ValueError(
                f"lowres_height: plates under 8 px are unreadable, got {self.lowres_height}"
            )
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality: need 1 <= low <= high <= 100, got {self.jpeg_quality}")
        if self.margin[1] > 2 or self.char_height[1] > 0.95:
            raise ValueError("margin must be <= 2 plate heights and char_height <= 0.95")
        for name in ("char_height", "char_aspect", "view_squeeze"):
            if getattr(self, name)[0] < 0.2:
                raise ValueError(f"{name}: the low end must be >= 0.2, got {getattr(self, name)}")
        return self

    def clean(self) -> SyntheticConfig:
        """This config with every geometric and photometric degradation switched off
        (flat, sharp, noiseless plates; layout jitter kept).

        >>> SyntheticConfig().clean().p_blur
        0.0
        """
        off = {name: 0.0 for name in type(self).model_fields if name.startswith("p_")}
        keep = (
            "p_weight",
            "p_frame",
            "p_dealer_text",
            "p_stickers",
            "p_screws",
            "p_reversed",
            "p_text_gap",
            "p_separator",
        )
        for name in keep:
            off.pop(name)
        return self.model_copy(update=off)


DEFAULT_CONFIG = SyntheticConfig()


@dataclass(frozen=True)
class RenderedPlate:
    """A synthetic plate crop and its ground truth.

    ``image`` is uint8 RGB (H, W, 3); ``boxes`` has one :class:`CharBox` per character
    of ``text``, left to right, in ``image`` coordinates; ``plate_quad`` is the plate's
    corners (top-left, top-right, bottom-right, bottom-left) as (x, y) in pixel-edge
    coordinates of ``image`` (may lie outside it); ``dark_ink`` says the characters are
    darker than the plate.
    """

    image: np.ndarray = field(repr=False, compare=False)
    text: str
    boxes: tuple[CharBox, ...]
    style: Style = "cz"
    dark_ink: bool = True
    plate_quad: tuple[tuple[float, float], ...] = ()


# ----------------------------------------------------------------------------------
# texts


_CZ_LETTERS_P = (
    list(CZ_LETTER_WEIGHTS),
    np.array(list(CZ_LETTER_WEIGHTS.values())) / sum(CZ_LETTER_WEIGHTS.values()),
)


def random_plate_text(rng: np.random.Generator, style: Style = "cz") -> str:
    """A random plate text.

    ``cz``: digit 1..9, letter, letter or digit, four digits (``9B52145``), letters from
    :data:`CZ_LETTERS` weighted by :data:`CZ_LETTER_WEIGHTS`. ``generic``: 5..8
    characters from digits and Latin capitals.

    >>> rng = np.random.default_rng(0)
    >>> t = random_plate_text(rng, "cz")
    >>> len(t), t[0].isdigit(), t[1] in CZ_LETTERS, t[3:].isdigit()
    (7, True, True, True)
    >>> 5 <= len(random_plate_text(rng, "generic")) <= 8
    True
    """
    if style == "cz":
        letters, w = _CZ_LETTERS_P
        first = DIGITS[1 + int(rng.integers(9))]
        second = letters[int(rng.choice(len(letters), p=w))]
        if rng.random() < 0.6:
            third = DIGITS[int(rng.integers(10))]
        else:
            third = letters[int(rng.choice(len(letters), p=w))]
        return first + second + third + "".join(DIGITS[int(d)] for d in rng.integers(10, size=4))
    if style == "generic":
        n = int(rng.integers(5, 9))
        return "".join(LATIN[int(i)] for i in rng.integers(len(LATIN), size=n))
    raise ValueError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")


def is_test_text(text: str) -> bool:
    """Whether ``text`` belongs to the synthetic test split (CRC-32 bucket): train and
    test texts are disjoint for every seed.

    >>> is_test_text("9B52145") == (zlib.crc32(b"9B52145") % TEST_BUCKETS == 0)
    True
    """
    return zlib.crc32(text.encode("utf-8")) % TEST_BUCKETS == 0


# ----------------------------------------------------------------------------------
# glyphs


def _font_path(name: str) -> Path:
    """``name`` in matplotlib's ``mpl-data/fonts/ttf`` (found without importing it)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise DatasetError("matplotlib is not installed; its DejaVu fonts draw the plates")
    path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name
    if not path.is_file():
        raise DatasetError(f"font {name} not found at {path} (it ships with matplotlib)")
    return path


@lru_cache(maxsize=256)
def _font(name: str, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_path(name)), size)


@dataclass(frozen=True)
class _Glyph:
    mask: np.ndarray  # float32 (h, w) coverage in [0, 1], cropped to the ink
    top: int  # ink top relative to the cap top of "H" (px at _REF_SIZE)


def _raster(font: str, char: str, weight: int) -> np.ndarray:
    """``char`` drawn white on black, uint8 (2 * _REF_SIZE, 2 * _REF_SIZE); ``weight``
    > 0 strokes it that many pixels bolder, < 0 erodes it."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (2 * _REF_SIZE, 2 * _REF_SIZE), 0)
    ImageDraw.Draw(img).text(
        (_REF_SIZE // 2, _REF_SIZE // 2),
        char,
        font=_font(font, _REF_SIZE),
        fill=255,
        stroke_width=max(0, weight),
        stroke_fill=255,
    )
    a = np.array(img)
    if weight < 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * -weight + 1, 2 * -weight + 1))
        a = cv2.erode(a, k)
    if not a.any():
        raise ValueError(f"font {font} has no ink for {char!r}")
    return a


@lru_cache(maxsize=64)
def _cap(font: str, weight: int) -> tuple[int, int, int]:
    """(cap top, cap height, width of "8") of ``font`` at the reference size (px)."""
    ys, _ = np.nonzero(_raster(font, "H", weight))
    _, xs = np.nonzero(_raster(font, "8", weight))
    return int(ys.min()), int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


@lru_cache(maxsize=2048)
def _glyph(font: str, char: str, weight: int) -> _Glyph:
    """The glyph of ``char`` at the reference size, cropped to its ink, made more like
    the Czech plate font: the monospace zero loses its dot (the letter O is drawn), the
    one loses its foot, and a descender (J) is pulled up to the baseline."""
    mono = "Mono" in font
    a = _raster(font, "O" if (mono and char == "0") else char, weight)
    cap_top, cap_h, _ = _cap(font, weight)
    ys, xs = np.nonzero(a)
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    if char == "1" or (char == "I" and mono):  # drop the foot (and the I's serifs)
        cols = np.nonzero(a[y0 + int(0.55 * (y1 - y0))] > 127)[0]
        c0, c1 = int(cols.min()), int(cols.max()) + 1
        a = a.copy()
        for r0, r1 in (
            (y0 + int(0.7 * (y1 - y0)), y1),
            (y0, y0 + int(0.3 * (y1 - y0)) if char == "I" else y0),
        ):
            a[r0:r1, :c0] = 0
            a[r0:r1, c1:] = 0
    ys, xs = np.nonzero(a)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    mask: np.ndarray = a[y0:y1, x0:x1].astype(np.float32) / 255.0
    base = cap_top + cap_h
    if char != "Q" and y1 > base + 0.04 * cap_h:
        mask = cv2.resize(mask, (x1 - x0, max(1, base - y0)), interpolation=cv2.INTER_AREA)
    mask.setflags(write=False)
    return _Glyph(mask, y0 - cap_top)


@dataclass(frozen=True)
class _Face:
    """A font at a size: scale factors from the reference size to the target."""

    font: str
    weight: int
    sx: float
    sy: float

    @classmethod
    def make(cls, font: str, weight: int, cap_height: float, aspect: float) -> _Face:
        _, cap_h, w8 = _cap(font, weight)
        sy = cap_height / cap_h
        return cls(font, weight, aspect * cap_height / w8, sy)

    def size(self, char: str) -> tuple[int, int]:
        """(w, h) in pixels of ``char``'s ink at this face's size."""
        g = _glyph(self.font, char, self.weight)
        return max(1, round(g.mask.shape[1] * self.sx)), max(1, round(g.mask.shape[0] * self.sy))


def _paste(
    canvas: np.ndarray, face: _Face, char: str, x: int, cap_top: float, colour: np.ndarray
) -> tuple[int, int, int, int]:
    """Draw ``char`` with its ink's left edge at ``x`` and its cap top at ``cap_top``;
    returns the ink rectangle (x0, y0, x1, y1), pixel edges, clipped to the canvas."""
    g = _glyph(face.font, char, face.weight)
    w, h = face.size(char)
    y = round(cap_top + g.top * face.sy)
    interp = cv2.INTER_AREA if w < g.mask.shape[1] else cv2.INTER_LINEAR
    m = cv2.resize(g.mask, (w, h), interpolation=interp)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return x0, y0, max(x0, x1), max(y0, y1)
    a = m[y0 - y : y1 - y, x0 - x : x1 - x, None]
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (roi * (1.0 - a) + colour.astype(np.float32) * a + 0.5).astype(np.uint8)
    return x0, y0, x1, y1


# ----------------------------------------------------------------------------------
# scene


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def _jitter(rng: np.random.Generator, rgb: Sequence[float], amount: float) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) * (1.0 + rng.uniform(-amount, amount)) + rng.uniform(
        -12, 12, size=3
    )
    return np.clip(c, 0, 255).astype(np.uint8)


def _tuple(c: np.ndarray) -> tuple[int, int, int]:
    return int(c[0]), int(c[1]), int(c[2])


_BODY_COLOURS = (
    (205, 206, 210),
    (236, 236, 234),
    (24, 25, 28),
    (62, 64, 68),
    (150, 22, 24),
    (32, 52, 118),
    (118, 118, 122),
    (44, 72, 46),
    (182, 156, 116),
    (205, 90, 24),
    (235, 235, 240),
)
_CITIES = (
    "BRNO",
    "PRAHA",
    "HODONÍN",
    "ZLÍN",
    "OLOMOUC",
    "JIHLAVA",
    "MIKULOV",
    "BLANSKO",
    "ZNOJMO",
    "KYJOV",
)
_NAMES = (
    "auto",
    "car",
    "palace",
    "bazar",
    "top",
    "centrum",
    "moto",
    "jocar",
    "bs",
    "tomica",
    "servis",
    "lux",
    "nova",
    "drive",
)


def _dealer_text(rng: np.random.Generator) -> str:
    name = "".join(_NAMES[int(i)] for i in rng.integers(len(_NAMES), size=int(rng.integers(1, 3))))
    city = _CITIES[int(rng.integers(len(_CITIES)))]
    phone = (
        f"{int(rng.integers(500, 800))} {int(rng.integers(100, 999))} {int(rng.integers(100, 999))}"
    )
    options = (
        f"www.{name}.cz",
        f"{name.upper()} {city}",
        "ČESKÁ REPUBLIKA",
        f"{name.upper()} {city}   www.{name}.cz",
        f"AUTO {name.upper()}  {city}  tel: {phone}",
    )
    return options[int(rng.integers(len(options)))]


def _draw_text_strip(
    canvas: np.ndarray,
    rect: tuple[int, int, int, int],
    text: str,
    colour: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Dealer text centred in ``rect`` (x0, y0, x1, y1) of ``canvas``."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 4:
        return
    font_name = "DejaVuSans-Bold.ttf" if rng.random() < 0.7 else "DejaVuSans.ttf"
    size = max(4, int(h * rng.uniform(0.65, 0.9)))
    font = _font(font_name, size)
    length = font.getlength(text)
    if length > 0.94 * w:
        size = max(4, int(size * 0.94 * w / length))
        font = _font(font_name, size)
        length = font.getlength(text)
    img = Image.fromarray(np.ascontiguousarray(canvas[y0:y1, x0:x1]))
    draw = ImageDraw.Draw(img)
    draw.text(((w - length) / 2, h / 2), text, font=font, fill=_tuple(colour), anchor="lm")
    canvas[y0:y1, x0:x1] = np.asarray(img)


@dataclass
class _Scene:
    image: np.ndarray  # uint8 RGB
    boxes: np.ndarray  # (n, 4) float x0, y0, x1, y1 pixel edges
    plate: np.ndarray  # (4, 2) plate corners, pixel edges
    outer: np.ndarray  # (4, 2) outer corners of plate + frame, pixel edges
    dark_ink: bool


def _rect_corners(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _layout(
    text: str, faces: _Face, gap: float, wide_gap_after: int, wide_gap: float, mono: bool
) -> tuple[list[float], float]:
    """Left edges of each glyph's slot relative to the text start, and the total width."""
    widths = [faces.size(c)[0] for c in text]
    pitch = max(faces.size(c)[0] for c in "08") if mono else 0.0
    xs, x = [], 0.0
    for i, w in enumerate(widths):
        slot = max(pitch, w)
        xs.append(x + (slot - w) / 2)
        x += slot + gap
        if i + 1 == wide_gap_after:
            x += wide_gap
    return xs, x - gap


def _draw_scene(
    text: str, style: Style, rng: np.random.Generator, cfg: SyntheticConfig, hp: int
) -> _Scene:
    """The flat scene: car body, frame, plate and characters at plate height ``hp``."""
    font = list(FONTS)[
        int(rng.choice(len(FONTS), p=np.array(list(FONTS.values())) / sum(FONTS.values())))
    ]
    r = rng.random()
    weight = -2 if r < cfg.p_weight else (3 if r < 2 * cfg.p_weight else 0)
    ch = hp * _u(rng, cfg.char_height)
    face = _Face.make(font, weight, ch, _u(rng, cfg.char_aspect))
    gap = ch * _u(rng, cfg.char_gap)
    mono = font.startswith("DejaVuSansMono") or rng.random() < 0.6
    n = len(text)

    # plate width and the text's place on it
    if style == "cz":
        wide_after = 3 if n >= 5 else 0
        wide = ch * rng.uniform(0.5, 0.8) if wide_after else 0.0
        wp = round(hp * rng.uniform(4.55, 4.8))
        band_w = hp * rng.uniform(0.33, 0.38)
        lo, hi = band_w + hp * rng.uniform(0.08, 0.2), wp - hp * rng.uniform(0.06, 0.14)
        xs, total = _layout(text, face, gap, wide_after, wide, mono)
        if total > hi - lo:  # too long for the plate: squeeze horizontally
            k = (hi - lo) / total
            face = _Face(face.font, face.weight, face.sx * k, face.sy)
            gap, wide = gap * k, wide * k
            xs, total = _layout(text, face, gap, wide_after, wide, mono)
        start = lo + (hi - lo - total) * rng.uniform(0.35, 0.65)
        plate_rgb = _jitter(rng, (246, 246, 242), 0.03)
        ink = _jitter(rng, (28, 28, 32), 0.3)
        dark_ink = True
    else:
        wide_after = int(rng.integers(2, n - 1)) if n >= 4 and rng.random() < cfg.p_text_gap else 0
        wide = ch * rng.uniform(0.25, 0.6) if wide_after else 0.0
        xs, total = _layout(text, face, gap, wide_after, wide, mono)
        side = hp * rng.uniform(0.12, 0.35)
        wp = round(total + 2 * side)
        start = side
        band_w = 0.0
        dark_ink = rng.random() >= cfg.p_reversed
        if dark_ink:
            bg = [(246, 246, 242), (250, 212, 20), (222, 224, 226), (236, 240, 250)][
                int(rng.integers(4))
            ]
            plate_rgb, ink = _jitter(rng, bg, 0.04), _jitter(rng, (26, 26, 30), 0.3)
        else:
            bg = [(20, 20, 22), (22, 40, 110), (24, 80, 40), (120, 20, 24), (60, 60, 64)][
                int(rng.integers(5))
            ]
            fg = [(240, 240, 236), (250, 210, 40), (200, 202, 206)][int(rng.integers(3))]
            plate_rgb, ink = _jitter(rng, bg, 0.15), _jitter(rng, fg, 0.05)

    # frame around the plate
    framed = rng.random() < (cfg.p_frame if style == "cz" else cfg.p_frame * 0.4)
    ft = hp * rng.uniform(0.03, 0.09) if framed else 0.0
    dealer = framed and rng.random() < cfg.p_dealer_text
    fb = hp * rng.uniform(0.17, 0.32) if dealer else ft * rng.uniform(1.0, 1.8)
    fw, fh = wp + 2 * ft, hp + ft + fb

    # scene canvas: car body around the frame; the warp replicates its edge where a
    # tilted crop reaches beyond it
    mb = hp * (cfg.margin[1] * 0.65 + 0.05) + 2
    mb_x = hp * (cfg.margin[1] * 0.5 + 0.05) + 2
    ws, hs = math.ceil(fw + 2 * mb_x), math.ceil(fh + 2 * mb)
    fx0, fy0 = mb_x, mb
    px0, py0 = fx0 + ft, fy0 + ft
    px1, py1 = px0 + wp, py0 + hp

    # car body: colour, vertical shading, an edge and maybe a grille below
    body = _jitter(rng, _BODY_COLOURS[int(rng.integers(len(_BODY_COLOURS)))], 0.15).astype(
        np.float32
    )
    shade = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.6, 1.1), hs, dtype=np.float32)
    column = np.clip(shade[:, None] * body[None, :], 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(np.broadcast_to(column[:, None, :], (hs, ws, 3)))
    if rng.random() < 0.5:  # bumper edge above the plate
        y = int(fy0 - hp * rng.uniform(0.05, 0.4))
        c = np.clip(body * rng.uniform(0.3, 1.5), 0, 255)
        cv2.rectangle(img, (0, 0), (ws, y), _tuple(c), -1)
    if rng.random() < 0.4:  # grille below
        y = int(fy0 + fh + hp * rng.uniform(0.02, 0.2))
        cv2.rectangle(img, (0, y), (ws, hs), (18, 18, 20), -1)
        step = max(3, int(hp * rng.uniform(0.08, 0.2)))
        for yy in range(y + step // 2, hs, step):
            cv2.line(img, (0, yy), (ws, yy), (60, 60, 64), max(1, step // 4))

    if framed:
        frame_rgb = (
            _jitter(rng, (24, 24, 26), 0.3)
            if rng.random() < 0.85
            else _jitter(rng, (200, 200, 204), 0.1)
        )
        cv2.rectangle(
            img,
            (round(fx0), round(fy0)),
            (round(fx0 + fw) - 1, round(fy0 + fh) - 1),
            _tuple(frame_rgb),
            -1,
        )
        if dealer:
            sx0, sy0 = round(px0 + hp * 0.05), round(py1 + fb * 0.12)
            sx1, sy1 = round(px1 - hp * 0.05), round(fy0 + fh - fb * 0.1)
            if rng.random() < 0.3:  # a printed strip
                strip = _jitter(
                    rng,
                    [(240, 240, 240), (250, 210, 30), (30, 60, 160)][int(rng.integers(3))],
                    0.05,
                )
                cv2.rectangle(img, (sx0, sy0), (sx1 - 1, sy1 - 1), _tuple(strip), -1)
                tc = _jitter(rng, (200, 30, 30) if strip.mean() > 128 else (240, 240, 240), 0.1)
            else:
                tc = _jitter(
                    rng,
                    [(235, 235, 235), (240, 200, 40), (220, 40, 40)][
                        int(np.searchsorted([0.65, 0.85], rng.random()))
                    ],
                    0.1,
                )
            _draw_text_strip(img, (sx0, sy0, sx1, sy1), _dealer_text(rng), tc, rng)

    # the plate: fill, black rim, EU band
    cv2.rectangle(
        img, (round(px0), round(py0)), (round(px1) - 1, round(py1) - 1), _tuple(plate_rgb), -1
    )
    rim = max(1, round(hp * rng.uniform(0.012, 0.025)))
    inset = round(hp * rng.uniform(0.0, 0.03))
    if style == "cz" or rng.random() < 0.6:
        rim_c = _tuple(ink if style != "cz" else _jitter(rng, (20, 20, 22), 0.2))
        cv2.rectangle(
            img,
            (round(px0) + inset, round(py0) + inset),
            (round(px1) - 1 - inset, round(py1) - 1 - inset),
            rim_c,
            rim,
        )
    if style == "cz":
        b0 = round(px0) + inset + rim
        bx1 = round(px0 + band_w)
        blue = _jitter(rng, (10, 56, 160), 0.12)
        cv2.rectangle(
            img,
            (b0, round(py0) + inset + rim),
            (bx1, round(py1) - 1 - inset - rim),
            _tuple(blue),
            -1,
        )
        cx, cy, rad = (b0 + bx1) / 2, py0 + hp * 0.3, hp * 0.105
        star = _tuple(_jitter(rng, (250, 210, 20), 0.05))
        dot = max(1, round(hp * 0.017))
        for k in range(12):
            ang = 2 * math.pi * k / 12
            cv2.circle(
                img,
                (round(cx + rad * math.cos(ang)), round(cy + rad * math.sin(ang))),
                dot,
                star,
                -1,
                cv2.LINE_AA,
            )
        cz_face = _Face.make("DejaVuSans-Bold.ttf", 0, hp * 0.17, 0.62)
        cw = cz_face.size("C")[0] + cz_face.size("Z")[0] + hp * 0.02
        x = round(cx - cw / 2)
        white = np.array([245, 245, 245], dtype=np.uint8)
        x1c = _paste(img, cz_face, "C", x, py0 + hp * 0.62, white)[2]
        _paste(img, cz_face, "Z", x1c + round(hp * 0.02), py0 + hp * 0.62, white)

    # characters
    cap_top = py0 + (hp - ch) / 2 + hp * rng.uniform(-0.025, 0.025)
    boxes = np.zeros((n, 4), dtype=np.float64)
    for i, c in enumerate(text):
        boxes[i] = _paste(img, face, c, round(px0 + start + xs[i]), cap_top, ink)

    # stickers and screws in the wide gap (or the plate's ends)
    if wide_after:
        gx0, gx1 = boxes[wide_after - 1, 2], boxes[wide_after, 0]
        gcx = (gx0 + gx1) / 2
        r = min((gx1 - gx0) * 0.42, hp * 0.17)
        if style == "cz" and rng.random() < cfg.p_stickers and r > 2:
            ring = _tuple(np.clip(plate_rgb.astype(np.int32) - rng.integers(10, 45), 0, 255))
            # sometimes a small coloured emission sticker inside one ring
            dot = int(rng.integers(2)) if rng.random() < 0.2 else -1
            colour = _tuple(
                _jitter(
                    rng,
                    [(150, 200, 150), (220, 120, 110), (120, 150, 210)][int(rng.integers(3))],
                    0.05,
                )
            )
            for k, cyy in enumerate((py0 + hp * 0.3, py0 + hp * 0.7)):
                cv2.circle(
                    img,
                    (round(gcx), round(cyy)),
                    round(r),
                    ring,
                    max(1, round(hp * 0.012)),
                    cv2.LINE_AA,
                )
                if k == dot:
                    cv2.circle(
                        img,
                        (round(gcx), round(cyy)),
                        max(1, round(r * 0.55)),
                        colour,
                        -1,
                        cv2.LINE_AA,
                    )
        elif style == "generic" and rng.random() < cfg.p_separator and r > 2:
            cy_mid = round(cap_top + ch / 2)
            if rng.random() < 0.5:
                cv2.rectangle(
                    img,
                    (round(gcx - r * 0.6), round(cy_mid - ch * 0.05)),
                    (round(gcx + r * 0.6), round(cy_mid + ch * 0.05)),
                    _tuple(ink),
                    -1,
                )
            else:
                cv2.circle(
                    img,
                    (round(gcx), cy_mid),
                    max(1, round(ch * 0.06)),
                    _tuple(ink),
                    -1,
                    cv2.LINE_AA,
                )
    if rng.random() < cfg.p_screws:
        sr = max(1, round(hp * rng.uniform(0.04, 0.07)))
        metal = _tuple(_jitter(rng, (150, 150, 150), 0.3))
        if wide_after and style == "cz":
            sx = [(boxes[wide_after - 1, 2] + boxes[wide_after, 0]) / 2]
            sy = [py0 + hp * 0.12, py1 - hp * 0.12] if rng.random() < 0.5 else [py0 + hp * 0.5]
        else:
            sx = [(px0 + band_w + boxes[0, 0]) / 2, (boxes[-1, 2] + px1) / 2]
            sy = [py0 + hp * 0.5]
        for scx in sx:
            for scy in sy:
                cv2.circle(img, (round(scx), round(scy)), sr, metal, -1, cv2.LINE_AA)
                cv2.circle(img, (round(scx), round(scy)), sr, (40, 40, 40), 1, cv2.LINE_AA)

    return _Scene(
        image=img,
        boxes=boxes,
        plate=_rect_corners(px0, py0, px1, py1),
        outer=_rect_corners(fx0, fy0, fx0 + fw, fy0 + fh)
        if framed
        else _rect_corners(px0, py0, px1, py1),
        dark_ink=dark_ink,
    )


# ----------------------------------------------------------------------------------
# geometry


def _apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (n, 2) pixel-edge points through the homography ``h`` (which maps pixel
    centres, as OpenCV does)."""
    c = np.concatenate([pts - 0.5, np.ones((len(pts), 1))], axis=1) @ h.T
    return c[:, :2] / c[:, 2:3] + 0.5


def _box_bounds(h: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n, 4) bounds of each box's four mapped corners."""
    out = np.empty_like(boxes)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        p = _apply_h(h, _rect_corners(x0, y0, x1, y1))
        out[i] = p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()
    return out


def _overlaps(b: np.ndarray) -> bool:
    return bool(len(b) > 1 and np.any(b[1:, 0] - b[:-1, 2] < 0.25))


def _homography(scene: _Scene, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """A random tilt + keystone + squeeze about the plate's centre; the tilt and
    keystone are reduced until the mapped boxes no longer overlap horizontally."""
    src = scene.outer
    centre = src.mean(axis=0)
    h = src[3, 1] - src[0, 1]
    tilted = rng.random() < cfg.p_tilt
    # mostly small angles, sometimes up to the bound
    theta = (
        math.radians(cfg.max_tilt_deg * float(np.clip(rng.normal(0, 0.45), -1, 1)))
        if tilted
        else 0.0
    )
    persp = (
        np.clip(rng.normal(0, 0.5, size=4), -1, 1) * cfg.max_perspective if tilted else np.zeros(4)
    )
    squeeze = _u(rng, cfg.view_squeeze)
    ok = _overlaps(scene.boxes)
    for attempt in range(8):
        k = 0.6**attempt if attempt < 7 else 0.0
        d = (src - centre) * [squeeze, 1.0]
        # keystone: left/right edge heights and top/bottom edge widths change
        d[:, 1] *= 1 + k * persp[0] * np.sign(d[:, 0])
        d[:, 0] *= 1 + k * persp[1] * np.sign(d[:, 1])
        d[:, 1] += k * persp[2] * h * np.sign(d[:, 0]) * 0.5  # vertical shear
        c, s = math.cos(k * theta), math.sin(k * theta)
        dst = d @ np.array([[c, s], [-s, c]]) + centre
        m = cv2.getPerspectiveTransform(
            (src - 0.5).astype(np.float32), (dst - 0.5).astype(np.float32)
        )
        if ok or not _overlaps(_box_bounds(m, scene.boxes)):
            return m
    return m


# ----------------------------------------------------------------------------------
# photometric degradations (float32 RGB in [0, 1])


def _tone(img: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    hgt, wid = img.shape[:2]
    if rng.random() < cfg.p_gradient:  # illumination falls off across the plate
        ang = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:hgt, 0:wid].astype(np.float32)
        t = (xx / wid - 0.5) * math.cos(ang) + (yy / hgt - 0.5) * math.sin(ang)
        amp = rng.uniform(0.2, 0.7)
        img = img * (1 + amp * t)[..., None]
    if rng.random() < cfg.p_exposure:
        mode = int(rng.integers(4))
        if mode == 0:  # over-exposed, highlights clip
            img = img * rng.uniform(1.2, 1.8)
        elif mode == 1:  # dark
            img = img * rng.uniform(0.25, 0.6)
            img = np.power(np.clip(img, 0, 1), rng.uniform(1.0, 1.5))
        elif mode == 2:  # low contrast
            m = rng.uniform(0.3, 0.7)
            img = m + (img - m) * rng.uniform(0.35, 0.7)
        else:
            img = np.power(np.clip(img, 0, 1), rng.uniform(0.6, 1.6))
    if rng.random() < cfg.p_hdr:  # tone-mapped HDR: lifted shadows, pale colours
        img = np.power(np.clip(img, 0, 1), 1 / rng.uniform(1.4, 2.6))
        lo = rng.uniform(0.0, 0.2)
        img = lo + (1 - lo) * img
        grey = img.mean(axis=2, keepdims=True)
        img = grey + (img - grey) * rng.uniform(0.35, 0.9)
        if rng.random() < 0.5:
            img = img * rng.uniform(0.55, 0.9)
    if rng.random() < cfg.p_color_cast:
        gains = 1 + rng.normal(0, cfg.color_cast, size=3)
        img = img * (gains / gains.mean()).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def _blur(
    img: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig, plate_h: float
) -> np.ndarray:
    if rng.random() < cfg.p_blur:
        sigma = plate_h * _u(rng, cfg.blur_sigma)
        if sigma > 0.2:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < cfg.p_motion_blur:
        length = max(2.0, plate_h * _u(rng, cfg.motion_length))
        ang = math.radians(rng.uniform(-25, 25) + (90 if rng.random() < 0.25 else 0))
        size = math.ceil(length) | 1
        k = np.zeros((size, size), dtype=np.float32)
        c = size // 2
        dx, dy = math.cos(ang) * length / 2, math.sin(ang) * length / 2
        cv2.line(
            k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA
        )
        img = cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)
    if rng.random() < cfg.p_chroma_shift:
        shift = rng.uniform(-1.5, 1.5)
        m = np.array([[1, 0, shift], [0, 1, 0]], dtype=np.float32)
        img = img.copy()
        img[..., 0] = cv2.warpAffine(
            img[..., 0], m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE
        )
    return img


# ----------------------------------------------------------------------------------
# rendering


def _int_boxes(b: np.ndarray, width: int, height: int) -> tuple[CharBox, ...]:
    """Integer boxes (floor/ceil of the float bounds, clipped to the image); a 1-pixel
    overlap made by rounding is split at the middle of the float gap."""
    x0 = np.clip(np.floor(b[:, 0] + 1e-6), 0, width - 1).astype(int)
    y0 = np.clip(np.floor(b[:, 1] + 1e-6), 0, height - 1).astype(int)
    x1 = np.clip(np.ceil(b[:, 2] - 1e-6), 1, width).astype(int)
    y1 = np.clip(np.ceil(b[:, 3] - 1e-6), 1, height).astype(int)
    for i in range(len(b) - 1):
        if x1[i] > x0[i + 1]:
            mid = round((b[i, 2] + b[i + 1, 0]) / 2)
            x1[i], x0[i + 1] = mid, mid
    return tuple(
        CharBox(int(x0[i]), int(y0[i]), max(1, int(x1[i] - x0[i])), max(1, int(y1[i] - y0[i])))
        for i in range(len(b))
    )


def render_plate(
    text: str,
    *,
    rng: np.random.Generator,
    config: SyntheticConfig = DEFAULT_CONFIG,
    style: Style | None = None,
) -> RenderedPlate:
    """Render ``text`` as a degraded plate crop with its character boxes.

    ``style`` defaults to one drawn from ``config.style_mix``. The same ``text``,
    ``rng`` state and ``config`` give byte-identical images. ``text`` must be 1..12
    characters of :data:`segocr.charset.LATIN`.

    >>> p = render_plate("9B52145", rng=np.random.default_rng(0))
    >>> p.image.dtype, p.image.ndim, p.image.shape[2], len(p.boxes)
    (dtype('uint8'), 3, 3, 7)
    >>> all(a.x2 <= b.x for a, b in zip(p.boxes, p.boxes[1:]))
    True
    """
    if not 1 <= len(text) <= 12:
        raise ValueError(f"plate text must have 1..12 characters, got {text!r}")
    bad = Charset(LATIN).unknown(text)
    if bad:
        raise ValueError(f"characters not in the Latin plate alphabet: {bad!r} in {text!r}")
    if style is None:
        names = sorted(config.style_mix)
        w = np.array([config.style_mix[s] for s in names], dtype=np.float64)
        style = names[int(rng.choice(len(names), p=w / w.sum()))]
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")

    # output plate height (log-uniform) and the working resolution drawn at
    lo, hi = config.plate_height
    hf = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    hp = int(np.clip(round(hf * 1.3), 40, 150))
    scene = _draw_scene(text, style, rng, config, hp)

    # geometry: warp + crop with car-body margins, at the working resolution
    m = _homography(scene, rng, config)
    pq = _apply_h(m, scene.plate)
    mg = [
        hp * _u(rng, config.margin) * f for f in (0.5, 0.65, 0.5, 1.0)
    ]  # left, top, right, bottom
    x0, y0 = math.floor(pq[:, 0].min() - mg[0]), math.floor(pq[:, 1].min() - mg[1])
    x1, y1 = math.ceil(pq[:, 0].max() + mg[2]), math.ceil(pq[:, 1].max() + mg[3])
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    m = shift @ m
    cw, chh = x1 - x0, y1 - y0
    work = cv2.warpPerspective(
        scene.image, m, (cw, chh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    boxes = _box_bounds(m, scene.boxes)
    plate = _apply_h(m, scene.plate)

    # output size
    s = hf / hp
    ow, oh = max(8, round(cw * s)), max(8, round(chh * s))
    img = cv2.resize(work, (ow, oh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    scale = np.array([ow / cw, oh / chh, ow / cw, oh / chh])
    boxes, plate = boxes * scale, plate * scale[:2]

    f = _tone(img.astype(np.float32) / 255.0, rng, config)
    f = _blur(f, rng, config, hf)
    if rng.random() < config.p_lowres:
        target = _u(rng, config.lowres_height)
        if target < hf * 0.9:
            k = target / hf
            lw, lh = max(4, round(ow * k)), max(4, round(oh * k))
            f = cv2.resize(f, (lw, lh), interpolation=cv2.INTER_AREA)
            if rng.random() < config.p_upscale:
                interp = cv2.INTER_CUBIC if rng.random() < 0.5 else cv2.INTER_LINEAR
                f = np.clip(cv2.resize(f, (ow, oh), interpolation=interp), 0, 1)
            else:
                sc = np.array([lw / ow, lh / oh, lw / ow, lh / oh])
                boxes, plate = boxes * sc, plate * sc[:2]
    if rng.random() < config.p_noise:
        sigma = _u(rng, config.noise_sigma) / 255.0
        luma = rng.standard_normal(size=f.shape[:2] + (1,), dtype=np.float32)
        chroma = rng.standard_normal(size=f.shape, dtype=np.float32)
        f = f + (luma + 0.3 * chroma) * np.float32(sigma)
    out = (np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < config.p_jpeg:
        q = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q]
        )
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    out = np.ascontiguousarray(out)
    return RenderedPlate(
        image=out,
        text=text,
        boxes=_int_boxes(boxes, out.shape[1], out.shape[0]),
        style=style,
        dark_ink=scene.dark_ink,
        plate_quad=tuple((float(x), float(y)) for x, y in plate),
    )


# ----------------------------------------------------------------------------------
# dataset


@dataclass
class SyntheticDataset:
    """Synthetic plates generated on demand: sample ``i`` of ``split`` depends only on
    ``config.seed``, the split and ``i``. A split's samples are rendered on the first
    :meth:`samples` call and kept."""

    config: SyntheticConfig = DEFAULT_CONFIG
    name: str = "synthetic"
    charset: Charset = field(default_factory=lambda: Charset(LATIN))
    _cache: dict[str, list[PlateSample]] = field(default_factory=dict, repr=False, compare=False)

    #: Where the data came from (set from the config).
    source: str = field(init=False)

    def __post_init__(self) -> None:
        styles = "+".join(s for s in sorted(self.config.style_mix) if self.config.style_mix[s] > 0)
        self.source = f"synthetic plates ({styles}), seed {self.config.seed}, generated by segocr.datasets.synthetic"

    def size(self, split: str) -> int:
        return {"train": self.config.n_train, "test": self.config.n_test}[split]

    def sample(self, split: str, i: int) -> PlateSample:
        """Sample ``i`` of ``split`` (``train`` or ``test``), rendered now."""
        if split not in _SPLIT_CODE:
            raise DatasetError(f"unknown split {split!r}; choose train or test")
        rng = np.random.default_rng([self.config.seed, _SPLIT_CODE[split], i])
        names = sorted(self.config.style_mix)
        w = np.array([self.config.style_mix[s] for s in names], dtype=np.float64)
        style = names[int(rng.choice(len(names), p=w / w.sum()))]
        while True:
            text = random_plate_text(rng, style)
            if is_test_text(text) == (split == "test"):
                break
        p = render_plate(text, rng=rng, config=self.config, style=style)
        return PlateSample(
            id=f"synthetic/{split}/{i:05d}",
            text=text,
            subset=style,
            group=text,
            meta={
                "boxes": p.boxes,
                "style": style,
                "dark_ink": p.dark_ink,
                "plate_quad": p.plate_quad,
                "seed": self.config.seed,
                "split": split,
                "index": i,
            },
            image=p.image,
        )

    def samples(self, split: str = "all") -> list[PlateSample]:
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
        if split == "all":
            return self.samples("train") + self.samples("test")
        if split not in self._cache:
            self._cache[split] = [self.sample(split, i) for i in range(self.size(split))]
        return list(self._cache[split])


_STYLE_MIXES: dict[str, dict[Style, float]] = {
    "cz": {"cz": 1.0},
    "generic": {"generic": 1.0},
    "mixed": {"cz": 0.75, "generic": 0.25},
}


@register_dataset("synthetic")
def open_synthetic(
    data_dir: Path | None = None,
    *,
    n_train: int = 2000,
    n_test: int = 200,
    seed: int = 0,
    style: str = "cz",
) -> SyntheticDataset:
    """The synthetic dataset (``data_dir`` is ignored): ``style`` is ``cz``,
    ``generic`` or ``mixed`` (3/4 ``cz``).

    >>> ds = open_synthetic(n_train=3, n_test=2)
    >>> [len(ds.samples(s)) for s in ("train", "test", "all")]
    [3, 2, 5]
    """
    if style not in _STYLE_MIXES:
        raise DatasetError(
            f"unknown synthetic style {style!r}; choose one of: {', '.join(_STYLE_MIXES)}"
        )
    return SyntheticDataset(
        SyntheticConfig(n_train=n_train, n_test=n_test, seed=seed, style_mix=_STYLE_MIXES[style])
    )


# ----------------------------------------------------------------------------------
# sample files

#: Degradations for the committed samples: realistic but readable.
SAMPLES_CONFIG = SyntheticConfig(
    plate_height=(30.0, 60.0),
    lowres_height=(22.0, 40.0),
    p_lowres=0.3,
    p_hdr=0.3,
    noise_sigma=(1.0, 5.0),
    jpeg_quality=(50, 92),
    blur_sigma=(0.004, 0.014),
)


def write_samples(
    out_dir: Path | str, n: int = 6, *, seed: int = 0, config: SyntheticConfig = SAMPLES_CONFIG
) -> list[Path]:
    """Write ``n`` plates as ``<TEXT>.png`` plus ``labels.csv`` (``path,text``, paths
    relative to ``out_dir``); every third plate is ``generic``, the others ``cz``.
    Returns the PNG paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    paths: list[Path] = []
    for i in range(n):
        rng = np.random.default_rng([seed, 2, i])
        style: Style = "generic" if i % 3 == 2 else "cz"
        p = render_plate(random_plate_text(rng, style), rng=rng, config=config, style=style)
        name = f"{p.text}.png"
        k = 1
        while any(r[0] == name for r in rows):
            name, k = f"{p.text}_{k}.png", k + 1
        ok, buf = cv2.imencode(
            ".png", cv2.cvtColor(p.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]
        )
        if not ok:
            raise DatasetError(f"could not encode {name}")
        (out / name).write_bytes(buf.tobytes())
        rows.append((name, p.text))
        paths.append(out / name)
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["path", "text"])
        w.writerows(rows)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m segocr.datasets.synthetic OUT_DIR [--n N] [--seed S]``."""
    ap = argparse.ArgumentParser(
        prog="python -m segocr.datasets.synthetic", description="Write synthetic plate samples."
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--n", type=int, default=6, help="number of plates (default 6)")
    ap.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    args = ap.parse_args(argv)
    for p in write_samples(args.out_dir, args.n, seed=args.seed):
        print(p)


if __name__ == "__main__":
    main()
