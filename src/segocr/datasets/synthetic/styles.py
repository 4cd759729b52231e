"""Plate styles: a registry of national layouts, each with its text pattern and its
drawing.

A :class:`PlateStyle` draws texts from its national pattern (:meth:`PlateStyle.text`)
and draws any text of its alphabet as a flat scene with per-character boxes
(:meth:`PlateStyle.scene`); :func:`segocr.datasets.synthetic.render_plate` warps and
degrades the scene. Register a new style with :func:`register_style`; an unknown name
is an error listing the valid ones.

=============  ===========================================================  ==========
style          look                                                          text
=============  ===========================================================  ==========
``cz``         Czech: EU band ``CZ``, sticker rings, DejaVu (first gen.)     ``DLA DDDD``
``generic``    plain light or dark plate, 5..8 alphanumerics (first gen.)    any
``eu``         EU band with a country code and that country's pattern        per country
``es``         Spain: EU band ``E``, DIN face                                ``DDDD CCC``
``us``         US: state name above, slogan below, pictured or drawn ground  5..7 mixed
``br``         Brazil before 2018: grey (red) plate, city line, hyphen       ``LLL-DDDD``
``mercosur``   Brazil Mercosur: white, blue ``BRASIL`` band, flag            ``LLLDLDD``
``co``         Colombia: yellow, black rim, city below                       ``LLL DDD``
``cn``         China: blue (white ink) or new-energy green (8 characters)    ``P M·XXXXX``
``eu-2row``    EU square plate, two rows                                     per country
``br-2row``    Mercosur motorcycle plate: ``LLL`` over ``DLDD``              ``LLLDLDD``
``cn-2row``    Chinese yellow two-row plate: ``P M`` over ``XXXXX``          ``PMXXXXX``
=============  ===========================================================  ==========

(L letter, D digit, C Spanish consonant, P CCPD province character, M letter without
I and O, X letter (M) or digit, mostly digits.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segocr.charset import CCPD_PROVINCES, DIGITS, LATIN, LETTERS
from segocr.datasets.synthetic import legacy
from segocr.datasets.synthetic.config import SyntheticConfig
from segocr.datasets.synthetic.fonts import CJK, DIN, HIGHWAY_GOTHIC, Face, draw_text, pick
from segocr.datasets.synthetic.pictures import find_designs_dir, picture_background
from segocr.datasets.synthetic.scene import (
    PlateDrawing,
    Row,
    Scene,
    choose,
    compose,
    draw_row,
    gradient,
    jitter,
    plate_canvas,
    rgb,
    rim,
    u,
)
from segocr.errors import DatasetError
from segocr.registry import Registry

SceneFn = Callable[[str, np.random.Generator, SyntheticConfig, int], Scene]


@dataclass(frozen=True)
class PlateStyle:
    """A registered plate style.

    ``text(rng)`` draws a text from the national pattern, which ``pattern`` (a regular
    expression) matches; ``scene(text, rng, config, hp)`` draws any text of
    ``alphabet`` (1..12 characters) at plate height ``hp`` px; ``rows`` is the number of
    text rows (boxes of a two-row plate are ordered top row first, each row left to
    right).
    """

    name: str
    description: str
    text: Callable[[np.random.Generator], str]
    scene: SceneFn
    pattern: str
    alphabet: str = LATIN
    rows: int = 1
    #: Output plate height relative to ``config.plate_height``: plates whose characters
    #: are a smaller share of their height (US, two-row) are drawn taller, so that
    #: character sizes stay comparable across styles.
    height_scale: float = 1.0
    #: Car body visible around the plate relative to ``config.margin`` (Chinese crops,
    #: as CCPD's, are cut tight).
    margin_scale: float = 1.0


#: The style registry (:class:`segocr.registry.Registry`; an unknown name is a
#: ``ValueError`` listing the valid ones).
STYLE_REGISTRY: Registry[PlateStyle] = Registry("plate style", builtin=(), error=ValueError)
#: The registered styles in registration order (the order of pictures and tables).
STYLES: dict[str, PlateStyle] = {}


def register_style(style: PlateStyle) -> PlateStyle:
    """Register ``style`` under its name (another style under a taken name is an error)."""
    STYLE_REGISTRY.add(style.name, style)
    STYLES[style.name] = style
    return style


def get_style(name: str) -> PlateStyle:
    """The style registered as ``name``; an unknown name raises :class:`ValueError`
    listing the valid ones.

    >>> get_style("us").rows
    1
    >>> get_style("xx")
    Traceback (most recent call last):
    ...
    ValueError: unknown plate style 'xx'; choose one of: br, br-2row, cn, cn-2row, co, cz, es, eu, eu-2row, generic, mercosur, us
    """
    return STYLE_REGISTRY.get(name)


def style_names() -> list[str]:
    """Registered style names, in registration order."""
    return list(STYLES)


# ----------------------------------------------------------------------------------
# text patterns

#: Letters and digits of Chinese plates (no I, O).
CN_ALNUM = "".join(c for c in DIGITS + LETTERS if c not in "IO")
#: Consonants of Spanish plates (no vowels, no Ñ, Q).
ES_LETTERS = "BCDFGHJKLMNPRSTVWXYZ"
#: CCPD's provinces without the police and learner marks (plain civil plates).
CN_PROVINCES = CCPD_PROVINCES.replace("警", "").replace("学", "")

_CLASSES = {"M": CN_ALNUM[10:], "L": LETTERS, "D": DIGITS, "A": DIGITS + LETTERS, "C": ES_LETTERS, "X": CN_ALNUM, "P": CN_PROVINCES}


def from_pattern(rng: np.random.Generator, pattern: str) -> str:
    """A text for ``pattern``: ``L`` letter, ``D`` digit, ``A`` either, ``C`` Spanish
    consonant, ``X`` Chinese alphanumeric, ``M`` Chinese letter (no I, O), ``P``
    province; other characters (separators) are skipped.

    >>> t = from_pattern(np.random.default_rng(0), "LLL-DDDD")
    >>> len(t), t[:3].isalpha(), t[3:].isdigit()
    (7, True, True)
    """
    out = []
    for c in pattern:
        pool = _CLASSES.get(c)
        if pool is not None:
            out.append(pool[int(rng.integers(len(pool)))])
    return "".join(out)


def _kind(c: str) -> str:
    return "D" if c.isdigit() else ("L" if c.isascii() else "P")


def groups(text: str) -> list[int]:
    """Positions (1-based, "after the k-th character") where letters turn into digits or
    back.

    >>> groups("ABC1234"), groups("7ABC123"), groups("1234")
    ([3], [1, 4], [])
    """
    return [i for i in range(1, len(text)) if _kind(text[i]) != _kind(text[i - 1])]


# ----------------------------------------------------------------------------------
# helpers shared by the drawings


def _weight(rng: np.random.Generator, cfg: SyntheticConfig) -> int:
    r = rng.random()
    return -2 if r < cfg.p_weight else (3 if r < 2 * cfg.p_weight else 0)


def _latin_face(rng: np.random.Generator, cfg: SyntheticConfig, fonts: dict[str, float], cap_h: float, aspect: tuple[float, float]) -> Face:
    return Face.make(pick(rng, fonts), _weight(rng, cfg), cap_h, u(rng, aspect))


def _eu_band(img: np.ndarray, rng: np.random.Generator, code: str, x0: int, x1: int, y0: int, y1: int) -> None:
    """The blue EU band between x0 and x1: a ring of 12 yellow stars and the country
    code in white below it."""
    import math

    import cv2

    hp = y1 - y0
    img[y0:y1, x0:x1] = jitter(rng, (10, 56, 160), 0.12)
    cx, cy, rad = (x0 + x1) / 2, y0 + hp * 0.3, min(hp * 0.105, (x1 - x0) * 0.3)
    star = rgb(jitter(rng, (250, 210, 20), 0.05))
    dot = max(1, round(hp * 0.017))
    for k in range(12):
        ang = 2 * math.pi * k / 12
        cv2.circle(img, (round(cx + rad * math.cos(ang)), round(cy + rad * math.sin(ang))), dot, star, -1, cv2.LINE_AA)
    draw_text(img, (x0, round(y0 + hp * 0.5), x1, round(y0 + hp * 0.9)), code, (245, 245, 245), font="DejaVuSans-Bold.ttf", fill=0.75)


def _finish(img: np.ndarray, rows: list[Row], rng: np.random.Generator, cfg: SyntheticConfig, face_of: Callable[[str], Face],
            ink: np.ndarray, *, gap: float, mono: bool = False, mark_colour: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Draw the rows; (boxes, row index of each box)."""
    boxes, idx = [], []
    for r, row in enumerate(rows):
        if row.chars:
            boxes.append(draw_row(img, row, face_of, gap=gap, ink=ink, mono=mono, mark_colour=mark_colour))
            idx += [r] * len(row.chars)
    return np.concatenate(boxes), np.array(idx, np.int64)


def _marks(text: str, at: list[int], kinds: str, rng: np.random.Generator, width: tuple[float, float] = (0.3, 0.6)) -> dict[int, tuple[float, str]]:
    """A mark drawn from ``kinds`` (e.g. ``" -"``; ``" "`` is a blank) after each of
    ``at``, with a gap of ``width`` cap heights."""
    out: dict[int, tuple[float, str]] = {}
    for k in at:
        if 0 < k < len(text):
            m = choose(rng, list(kinds))
            out[k] = (u(rng, width), m.strip())
    return out


def _side_screws(boxes: np.ndarray, band: float, wp: int, hp: int) -> tuple[tuple[float, float], ...]:
    """Screw centres (plate heights) halfway between the band and the first character
    and between the last character and the plate's end."""
    return (((band + boxes[0, 0]) / 2 / hp, 0.5), ((boxes[-1, 2] + wp) / 2 / hp, 0.5))


def _split_rows(text: str, first: int) -> tuple[str, str]:
    """Split ``text`` after ``first`` characters (at least one per row when possible)."""
    k = min(max(1, first), len(text) - 1) if len(text) > 1 else len(text)
    return text[:k], text[k:]


# ----------------------------------------------------------------------------------
# EU (generic) and Spain

#: Country code -> (national patterns, ink colour, plate colours).
EU_COUNTRIES: dict[str, tuple[tuple[str, ...], tuple[int, int, int], tuple[tuple[int, int, int], ...]]] = {
    "D": (("L*LL DDDD", "LL*L DDD", "LLL*LL DDD", "L*L DDDD"), (22, 22, 24), ((246, 246, 242),)),
    "F": (("LL-DDD-LL",), (22, 22, 24), ((246, 246, 242),)),
    "I": (("LL DDD LL",), (22, 22, 24), ((246, 246, 242),)),
    "NL": (("LL-DDD-L", "DD-LLL-D", "L-DDD-LL"), (22, 22, 24), ((250, 204, 20),)),
    "PL": (("LL DDDDD", "LLL DDLL", "LL DDDLL"), (22, 22, 24), ((246, 246, 242),)),
    "B": (("D-LLL-DDD",), (170, 24, 36), ((246, 246, 242),)),
    "P": (("LL-DD-LL", "DD-LL-DD"), (22, 22, 24), ((246, 246, 242),)),
    "SK": (("LL*DDDLL",), (22, 22, 24), ((246, 246, 242),)),
    "RO": (("LL DD LLL", "L DDD LLL"), (22, 22, 24), ((246, 246, 242),)),
    "A": (("L*DDD LL", "LL*DDDD L"), (22, 22, 24), ((246, 246, 242),)),
    "LT": (("LLL DDD",), (22, 22, 24), ((246, 246, 242),)),
    "FIN": (("LLL-DDD",), (22, 22, 24), ((246, 246, 242),)),
    "GB": (("LLDD LLL",), (22, 22, 24), ((246, 246, 242), (250, 204, 20))),
    "HR": (("LL DDD-LL", "LL DDDD-L"), (22, 22, 24), ((246, 246, 242),)),
}
_EU_LATIN = LATIN


def _eu_text(rng: np.random.Generator) -> str:
    code = choose(rng, list(EU_COUNTRIES))
    return from_pattern(rng, choose(rng, EU_COUNTRIES[code][0]))


def _pattern_shape(p: str) -> str:
    return "".join("D" if c == "D" else "L" for c in p if c in "LDAC")


def _eu_layout(text: str, rng: np.random.Generator) -> tuple[str, dict[int, str]]:
    """A country whose pattern fits ``text`` (random among those that do) and the marks
    of that pattern; ``(code, {after: mark})``. Texts no pattern fits get a random code
    and blanks between letter and digit groups."""
    shape = "".join("D" if c.isdigit() else "L" for c in text)
    fits = [(code, p) for code, (ps, _, _) in EU_COUNTRIES.items() for p in ps if _pattern_shape(p) == shape]
    if not fits:
        return choose(rng, list(EU_COUNTRIES)), {k: " " for k in groups(text)}
    code, p = fits[int(rng.integers(len(fits)))]
    marks, k = {}, 0
    for c in p:
        if c in "LDAC":
            k += 1
        else:
            marks[k] = c
    return code, marks


def _eu_drawing(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int, *, code: str | None = None,
                two_row: bool = False) -> PlateDrawing:  # fmt: skip
    country, marks = _eu_layout(text, rng)
    code = code or country
    _, ink_rgb, grounds = EU_COUNTRIES.get(code, ((), (22, 22, 24), ((246, 246, 242),)))
    ground = jitter(rng, grounds[int(rng.integers(len(grounds)))], 0.03)
    ink = jitter(rng, ink_rgb, 0.2)
    dark_ink = rng.random() >= 0.06  # else an old black plate with white characters
    if not dark_ink:
        ground, ink, ink_rgb = jitter(rng, (22, 22, 24), 0.3), jitter(rng, (236, 236, 232), 0.05), (236, 236, 232)
    if two_row:
        wp = round(hp * rng.uniform(1.35, 1.5))
        band = round(hp * rng.uniform(0.16, 0.2))
    else:
        wp = round(hp * rng.uniform(4.4, 4.8))
        band = round(hp * rng.uniform(0.33, 0.38))
    img = plate_canvas(hp, wp, ground)
    rw = max(1, round(hp * rng.uniform(0.012, 0.025)))
    rim(img, jitter(rng, ink_rgb, 0.2), rw, round(hp * rng.uniform(0.0, 0.03)), radius=round(hp * 0.06))
    _eu_band(img, rng, code, rw + 1, band, rw + 1, hp - rw - 1)
    mark_kinds = {"*": "o", "-": "-", " ": ""}
    fonts = DIN if code not in ("D", "A") else {"OSP-DIN.ttf": 0.6, "DejaVuSansCondensed-Bold-plates.ttf": 0.4}
    weight = _weight(rng, cfg)
    font = pick(rng, fonts)
    lo, hi = band + hp * rng.uniform(0.06, 0.14), wp - hp * rng.uniform(0.06, 0.12)
    if not two_row:
        cap_h = hp * u(rng, cfg.char_height)
        face = Face.make(font, weight, cap_h, u(rng, (0.5, 0.62)))
        mk = {k: (u(rng, (0.35, 0.7)), mark_kinds.get(m, "")) for k, m in marks.items()}
        rows = [Row(text, (hp - cap_h) / 2 + hp * rng.uniform(-0.025, 0.025), lo, hi, mk, rng.uniform(0.35, 0.65))]
    else:
        cut = min(marks, key=lambda k: (abs(2 * k - len(text)), k)) if marks else (len(text) + 1) // 2
        top, bottom = _split_rows(text, cut)
        cap_h = hp * rng.uniform(0.34, 0.4)
        face = Face.make(font, weight, cap_h, u(rng, (0.5, 0.62)))
        mk = {k - len(top): (u(rng, (0.35, 0.7)), mark_kinds.get(m, "")) for k, m in marks.items() if k > len(top)}
        y0 = hp * rng.uniform(0.06, 0.1)
        top_hi = hi
        if rng.random() < 0.5:  # a coat of arms or sticker right of the top row
            r = cap_h * rng.uniform(0.3, 0.45)
            cx, cy = hi - r, y0 + cap_h / 2
            _emblem(img, rng, cx, cy, r)
            top_hi = cx - r * 1.6
        rows = [Row(top, y0, lo, top_hi, {}, rng.uniform(0.3, 0.6)), Row(bottom, hp - y0 - cap_h, lo, hi, mk, 0.5)]
    seal = jitter(rng, (40, 90, 160), 0.2)
    boxes, idx = _finish(img, rows, rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, cfg.char_gap), mark_colour=seal)
    return PlateDrawing(img, boxes, idx, dark_ink, screws=_side_screws(boxes, band, wp, hp) if not two_row else (), region="eu")


def _emblem(img: np.ndarray, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    """A small coat of arms (a two-colour shield) or a round sticker centred at (cx, cy)."""
    import cv2

    c1 = rgb(jitter(rng, [(200, 30, 30), (30, 110, 50), (30, 60, 160), (230, 190, 30)][int(rng.integers(4))], 0.1))
    c2 = rgb(jitter(rng, [(240, 240, 240), (230, 190, 30), (20, 20, 20)][int(rng.integers(3))], 0.05))
    if rng.random() < 0.6:
        pts = np.array([(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + 0.2 * r), (cx, cy + r), (cx - r, cy + 0.2 * r)])
        cv2.fillPoly(img, [np.round(pts).astype(np.int32)], c1, cv2.LINE_AA)
        band = np.array([(cx - r, cy - 0.25 * r), (cx + r, cy - 0.25 * r), (cx + r, cy + 0.15 * r), (cx - r, cy + 0.15 * r)])
        cv2.fillPoly(img, [np.round(band).astype(np.int32)], c2, cv2.LINE_AA)
    else:
        cv2.circle(img, (round(cx), round(cy)), max(1, round(r)), c1, -1, cv2.LINE_AA)
        cv2.circle(img, (round(cx), round(cy)), max(1, round(r * 0.6)), c2, -1, cv2.LINE_AA)


def _eu_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    return compose(_eu_drawing(text, rng, cfg, hp), rng, cfg)


def _eu2_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    return compose(_eu_drawing(text, rng, cfg, hp, two_row=True), rng, cfg)


def _es_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, "DDDD CCC")


def _es_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    ink = jitter(rng, (22, 22, 24), 0.2)
    img = plate_canvas(hp, round(hp * rng.uniform(4.5, 4.8)), jitter(rng, (246, 246, 242), 0.03))
    wp = img.shape[1]
    rw = max(1, round(hp * rng.uniform(0.012, 0.025)))
    rim(img, ink, rw, round(hp * rng.uniform(0.0, 0.03)), radius=round(hp * 0.06))
    band = round(hp * rng.uniform(0.33, 0.38))
    _eu_band(img, rng, "E", rw + 1, band, rw + 1, hp - rw - 1)
    cap_h = hp * u(rng, cfg.char_height)
    face = _latin_face(rng, cfg, {"OSP-DIN.ttf": 0.5, "DejaVuSansCondensed-Bold-plates.ttf": 0.3, "RG2014D.ttf": 0.2}, cap_h, (0.5, 0.62))
    mk = _marks(text, groups(text)[:1], "  -", rng, (0.4, 0.8))
    row = Row(text, (hp - cap_h) / 2 + hp * rng.uniform(-0.025, 0.025), band + hp * rng.uniform(0.08, 0.15), wp - hp * rng.uniform(0.06, 0.12), mk, rng.uniform(0.4, 0.6))
    boxes, idx = _finish(img, [row], rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, cfg.char_gap))
    return compose(PlateDrawing(img, boxes, idx, True, screws=_side_screws(boxes, band, wp, hp), region="es"), rng, cfg)


# ----------------------------------------------------------------------------------
# United States

US_STATES = (
    "ALABAMA", "ALASKA", "ARIZONA", "ARKANSAS", "CALIFORNIA", "COLORADO", "CONNECTICUT", "DELAWARE", "FLORIDA",
    "GEORGIA", "HAWAII", "IDAHO", "ILLINOIS", "INDIANA", "IOWA", "KANSAS", "KENTUCKY", "LOUISIANA", "MAINE",
    "MARYLAND", "MASSACHUSETTS", "MICHIGAN", "MINNESOTA", "MISSISSIPPI", "MISSOURI", "MONTANA", "NEBRASKA",
    "NEVADA", "NEW HAMPSHIRE", "NEW JERSEY", "NEW MEXICO", "NEW YORK", "NORTH CAROLINA", "NORTH DAKOTA", "OHIO",
    "OKLAHOMA", "OREGON", "PENNSYLVANIA", "RHODE ISLAND", "SOUTH CAROLINA", "SOUTH DAKOTA", "TENNESSEE", "TEXAS",
    "UTAH", "VERMONT", "VIRGINIA", "WASHINGTON", "WEST VIRGINIA", "WISCONSIN", "WYOMING",
)  # fmt: skip
US_SLOGANS = (
    "Sunshine State", "Land of Lincoln", "Great Lakes Splendor", "Live Free or Die", "Empire State",
    "Garden State", "Lone Star State", "Grand Canyon State", "The Natural State", "Famous Potatoes",
    "Green Mountains", "First in Flight", "Wild, Wonderful", "America's Dairyland", "Big Sky Country",
    "The Last Frontier", "Aloha State", "Peach State", "Land of Enchantment", "Great Faces. Great Places.",
    "Discover Louisiana", "Pure Michigan", "10,000 Lakes", "Ocean State", "Heart of Dixie", "Explore Minnesota",
    "www.dmv.gov", "In God We Trust", "Volunteer State", "Centennial", "Treasure State", "Keystone State",
)  # fmt: skip
US_PATTERNS = ("DLLLDDD", "LLL DDDD", "LLL DDD", "DDD LLL", "LL DDDDD", "DDDD LL", "LLL*DDDD", "DDD*LLL", "LLDDLLL", "DLL DDDD", "AAAAA", "AAAAAA", "AAAAAAA")  # fmt: skip


def _us_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, choose(rng, US_PATTERNS))


_US_INKS = ((22, 32, 92), (16, 16, 18), (150, 20, 26), (20, 70, 40), (92, 20, 40), (24, 60, 130))
_US_GROUNDS = (
    ((250, 250, 248), (250, 250, 248)), ((238, 244, 252), (190, 214, 240)), ((252, 236, 200), (236, 160, 90)),
    ((250, 214, 60), (250, 214, 60)), ((250, 250, 250), (200, 230, 250)), ((236, 246, 232), (170, 210, 160)),
    ((248, 240, 220), (210, 180, 140)), ((230, 230, 240), (150, 160, 200)),
)  # fmt: skip
_US_DARK = ((16, 28, 80), (18, 18, 20), (24, 60, 40), (90, 20, 30))


#: Rows (fractions of the height) of a DMV design cleared of its placeholder text.
US_TEXT_BAND = (0.2, 0.84)


def _us_ground(rng: np.random.Generator, cfg: SyntheticConfig, hp: int, wp: int) -> tuple[np.ndarray, bool, bool]:
    """(background, dark ink?, pictured?): a picture when designs are found, else drawn."""
    root = find_designs_dir(cfg.designs_dir)
    # the draw is made with or without pictures, so plates that do not use one are the
    # same on machines with and without the designs folder
    if rng.random() < cfg.p_picture and root is not None:
        pic = picture_background(rng, Path(root), hp, wp, US_TEXT_BAND)
        if pic is not None:
            mid = pic[round(US_TEXT_BAND[0] * hp) : round(US_TEXT_BAND[1] * hp)].astype(np.float32).mean()
            return pic, bool(mid > 110), True
    if rng.random() < 0.14:  # dark plate, light ink
        return plate_canvas(hp, wp, jitter(rng, _US_DARK[int(rng.integers(len(_US_DARK)))], 0.15)), False, False
    top, bottom = _US_GROUNDS[int(rng.integers(len(_US_GROUNDS)))]
    t, b = jitter(rng, top, 0.04), jitter(rng, bottom, 0.06)
    if rng.random() < 0.5:
        t, b = b, t
    img = gradient(hp, wp, t, b, horizontal=rng.random() < 0.3)
    if rng.random() < 0.5:  # a drawn picture: mountains, a sun or waves, pale
        import cv2

        colour = jitter(rng, [(120, 160, 200), (200, 150, 90), (110, 170, 110), (170, 140, 200)][int(rng.integers(4))], 0.1)
        over = img.copy()
        kind = int(rng.integers(3))
        if kind == 0:
            xs = np.linspace(0, wp, int(rng.integers(3, 7)))
            pts = [(0, hp)] + [(int(x), int(hp * rng.uniform(0.35, 0.75))) for x in xs] + [(wp, hp)]
            cv2.fillPoly(over, [np.array(pts, np.int32)], rgb(colour))
        elif kind == 1:
            cv2.circle(over, (int(wp * rng.uniform(0.2, 0.8)), int(hp * rng.uniform(0.3, 0.7))), int(hp * rng.uniform(0.25, 0.5)), rgb(colour), -1, cv2.LINE_AA)
        else:
            for k in range(int(rng.integers(2, 5))):
                y = int(hp * rng.uniform(0.5, 0.95))
                wx = np.arange(0, wp + 8, 8, dtype=np.float64)
                wy = y + np.sin(wx / wp * rng.uniform(4, 10) + k) * hp * 0.05
                cv2.polylines(over, [np.stack([wx, wy], 1).astype(np.int32)], False, rgb(colour), max(1, hp // 25), cv2.LINE_AA)
        a = rng.uniform(0.2, 0.45)
        img = np.clip(img * (1 - a) + over * a + 0.5, 0, 255).astype(np.uint8)
    return img, True, False


def _us_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    wp = round(hp * rng.uniform(1.95, 2.05))
    cap_h = hp * rng.uniform(0.4, 0.52)
    cap_top = hp * 0.5 - cap_h / 2 + hp * rng.uniform(-0.04, 0.06)
    img, dark_ink, pictured = _us_ground(rng, cfg, hp, wp)
    ink = jitter(rng, _US_INKS[int(rng.integers(len(_US_INKS)))], 0.15) if dark_ink else jitter(rng, (242, 242, 240) if rng.random() < 0.7 else (250, 210, 50), 0.05)
    accent = jitter(rng, _US_INKS[int(rng.integers(len(_US_INKS)))], 0.15) if dark_ink else jitter(rng, (235, 235, 235), 0.05)
    if rng.random() < 0.6:
        rim(img, accent, max(1, round(hp * 0.02)), round(hp * rng.uniform(0.01, 0.04)), radius=round(hp * 0.08))
    # state name above, slogan below (a picture has its own)
    if rng.random() < (0.0 if pictured else 0.85):
        font = pick(rng, {"DejaVuSans-Bold.ttf": 0.4, "RG2014D.ttf": 0.3, "OSP-DIN.ttf": 0.15, "DejaVuSans.ttf": 0.15})
        draw_text(img, (round(wp * 0.12), round(hp * 0.03), round(wp * 0.88), round(cap_top - hp * 0.04)), choose(rng, US_STATES), accent, font=font, fill=rng.uniform(0.7, 0.95))
    if rng.random() < (0.0 if pictured else 0.7):
        draw_text(img, (round(wp * 0.15), round(cap_top + cap_h + hp * 0.05), round(wp * 0.85), round(hp * 0.96)), choose(rng, US_SLOGANS), accent, font=pick(rng, {"DejaVuSans.ttf": 0.5, "DejaVuSans-Bold.ttf": 0.3, "RG2014C.ttf": 0.2}), fill=rng.uniform(0.55, 0.85))
    if rng.random() < 0.5:  # registration stickers in the top corners
        import cv2

        for x0 in ([wp * 0.04], [wp * 0.8], [wp * 0.04, wp * 0.8])[int(rng.integers(3))]:
            c = jitter(rng, [(220, 40, 40), (40, 120, 220), (240, 200, 40), (60, 170, 80)][int(rng.integers(4))], 0.1)
            cv2.rectangle(img, (round(x0), round(hp * 0.04)), (round(x0 + wp * 0.16), round(min(cap_top - 2, hp * 0.22))), rgb(c), -1)
    face = _latin_face(rng, cfg, HIGHWAY_GOTHIC, cap_h, (0.48, 0.64))
    marks = _marks(text, groups(text)[:1] if rng.random() < 0.7 else [], "  -o", rng, (0.3, 0.8))
    row = Row(text, cap_top, wp * rng.uniform(0.04, 0.1), wp * rng.uniform(0.9, 0.96), marks, rng.uniform(0.4, 0.6))
    boxes, idx = _finish(img, [row], rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, (0.06, 0.14)), mark_colour=accent)
    screws = ((wp / hp * 0.25, 0.1), (wp / hp * 0.75, 0.1), (wp / hp * 0.25, 0.9), (wp / hp * 0.75, 0.9))
    return compose(PlateDrawing(img, boxes, idx, dark_ink, screws=screws, frame_p=0.6, region="us"), rng, cfg)


# ----------------------------------------------------------------------------------
# Brazil, Colombia

BR_CITIES = (
    "SÃO PAULO - SP", "RIO DE JANEIRO - RJ", "BELO HORIZONTE - MG", "CURITIBA - PR", "PORTO ALEGRE - RS",
    "SALVADOR - BA", "RECIFE - PE", "FORTALEZA - CE", "CAMPINAS - SP", "GOIÂNIA - GO", "MANAUS - AM",
    "BELÉM - PA", "FLORIANÓPOLIS - SC", "SANTOS - SP", "BRASÍLIA - DF", "NATAL - RN", "VITÓRIA - ES",
)  # fmt: skip
CO_CITIES = ("BOGOTA D.C.", "MEDELLIN", "CALI", "BARRANQUILLA", "CARTAGENA", "BUCARAMANGA", "PEREIRA", "MANIZALES", "SABANETA", "ENVIGADO", "CHIA", "ITAGUI")  # fmt: skip


def _br_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, "LLL-DDDD")


def _br_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    red = rng.random() < 0.2
    ground = jitter(rng, (172, 30, 34) if red else (196, 198, 196), 0.08)
    ink = jitter(rng, (238, 238, 236) if red else (22, 22, 24), 0.06 if red else 0.25)
    wp = round(hp * rng.uniform(3.0, 3.15))
    img = plate_canvas(hp, wp, ground)
    rim(img, ink, max(1, round(hp * 0.02)), round(hp * rng.uniform(0.01, 0.04)))
    line_y = hp * rng.uniform(0.22, 0.26)
    city, uf = choose(rng, BR_CITIES).split(" - ")
    line = f"{uf} - {city}" if rng.random() < 0.5 else f"{city} - {uf}"
    draw_text(img, (round(wp * 0.08), round(hp * 0.05), round(wp * 0.92), round(line_y)), line, ink, font="DejaVuSans-Bold.ttf", fill=0.8)
    cap_h = hp * rng.uniform(0.52, 0.62)
    face = _latin_face(rng, cfg, {"OSP-DIN.ttf": 0.4, "DejaVuSansCondensed-Bold-plates.ttf": 0.3, "RG2014C.ttf": 0.3}, cap_h, (0.5, 0.66))
    marks = _marks(text, groups(text)[:1] or ([3] if len(text) > 4 else []), "..-", rng, (0.45, 0.8))
    cap_top = line_y + (hp - line_y - cap_h) / 2 + hp * rng.uniform(-0.02, 0.02)
    row = Row(text, cap_top, wp * 0.05, wp * 0.95, marks, rng.uniform(0.45, 0.55))
    boxes, idx = _finish(img, [row], rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, (0.06, 0.14)))
    return compose(PlateDrawing(img, boxes, idx, not red, screws=((0.25, 0.14), (wp / hp - 0.25, 0.14)), region="br"), rng, cfg)


def _mercosur_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, "LLLDLDD")


def _mercosur_band(img: np.ndarray, rng: np.random.Generator, band_h: int) -> None:
    import cv2

    wp = img.shape[1]
    img[:band_h] = jitter(rng, (24, 60, 150), 0.1)
    draw_text(img, (round(wp * 0.2), 0, round(wp * 0.8), band_h), "BRASIL", (245, 245, 245), font="DejaVuSans-Bold.ttf", fill=0.72)
    # Mercosur emblem left (white arcs and stars), Brazilian flag right
    r = max(2, round(band_h * 0.32))
    cv2.ellipse(img, (round(wp * 0.07), band_h // 2), (r, r), 0, 200, 340, (240, 240, 240), max(1, r // 3), cv2.LINE_AA)
    fx0, fy0, fx1, fy1 = round(wp - band_h * 1.7), round(band_h * 0.2), round(wp - band_h * 0.3), round(band_h * 0.8)
    cv2.rectangle(img, (fx0, fy0), (fx1, fy1), (20, 140, 60), -1)
    cx, cy = (fx0 + fx1) // 2, (fy0 + fy1) // 2
    dw, dh = (fx1 - fx0) // 2 - 1, (fy1 - fy0) // 2 - 1
    cv2.fillPoly(img, [np.array([(cx - dw, cy), (cx, cy - dh), (cx + dw, cy), (cx, cy + dh)], np.int32)], (250, 210, 30))
    cv2.circle(img, (cx, cy), max(1, dh // 2), (30, 50, 130), -1, cv2.LINE_AA)


def _mercosur_drawing(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int, two_row: bool) -> PlateDrawing:
    wp = round(hp * (rng.uniform(1.12, 1.22) if two_row else rng.uniform(3.0, 3.15)))
    img = plate_canvas(hp, wp, jitter(rng, (246, 246, 244), 0.03))
    band_h = round(hp * (rng.uniform(0.17, 0.2) if two_row else rng.uniform(0.2, 0.24)))
    _mercosur_band(img, rng, band_h)
    rim(img, jitter(rng, (22, 22, 24), 0.2), max(1, round(hp * 0.015)), 0)
    ink = jitter(rng, (16, 16, 18), 0.25) if rng.random() < 0.85 else jitter(rng, [(170, 24, 30), (24, 60, 150), (20, 110, 50)][int(rng.integers(3))], 0.1)
    fonts = {"DejaVuSansCondensed-Bold-plates.ttf": 0.4, "OSP-DIN.ttf": 0.4, "RG2014D.ttf": 0.2}
    if not two_row:
        cap_h = hp * rng.uniform(0.5, 0.6)
        face = _latin_face(rng, cfg, fonts, cap_h, (0.52, 0.66))
        cap_top = band_h + (hp - band_h - cap_h) / 2 + hp * rng.uniform(-0.02, 0.03)
        rows = [Row(text, cap_top, wp * 0.05, wp * 0.95, {}, rng.uniform(0.45, 0.55))]
    else:
        top, bottom = _split_rows(text, 3)
        cap_h = hp * rng.uniform(0.3, 0.34)
        face = _latin_face(rng, cfg, fonts, cap_h, (0.55, 0.7))
        gap_y = (hp - band_h - 2 * cap_h) / 3
        rows = [Row(top, band_h + gap_y, wp * 0.06, wp * 0.94, {}, 0.5), Row(bottom, band_h + 2 * gap_y + cap_h, wp * 0.06, wp * 0.94, {}, 0.5)]
    boxes, idx = _finish(img, rows, rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, (0.05, 0.12)))
    return PlateDrawing(img, boxes, idx, True, region="br")


def _mercosur_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    return compose(_mercosur_drawing(text, rng, cfg, hp, False), rng, cfg)


def _br2_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    return compose(_mercosur_drawing(text, rng, cfg, hp, True), rng, cfg)


def _co_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, "LLL DDD")


def _co_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    ink = jitter(rng, (16, 16, 18), 0.25)
    wp = round(hp * rng.uniform(2.0, 2.12))
    img = plate_canvas(hp, wp, jitter(rng, (246, 200, 24), 0.06))
    rim(img, ink, max(1, round(hp * rng.uniform(0.025, 0.04))), round(hp * rng.uniform(0.0, 0.03)), radius=round(hp * 0.06))
    cap_h = hp * rng.uniform(0.5, 0.6)
    cap_top = hp * rng.uniform(0.1, 0.16)
    face = _latin_face(rng, cfg, {"RG2014C.ttf": 0.3, "RG2014D.ttf": 0.3, "OSP-DIN.ttf": 0.25, "DejaVuSansCondensed-Bold-plates.ttf": 0.15}, cap_h, (0.5, 0.64))
    marks = _marks(text, groups(text)[:1], "  -.", rng, (0.3, 0.7))
    row = Row(text, cap_top, wp * 0.06, wp * 0.94, marks, rng.uniform(0.45, 0.55))
    boxes, idx = _finish(img, [row], rng, cfg, lambda c: face, ink, gap=cap_h * u(rng, (0.06, 0.13)))
    draw_text(img, (round(wp * 0.15), round(cap_top + cap_h + hp * 0.06), round(wp * 0.85), round(hp * 0.93)), choose(rng, CO_CITIES), ink, font="DejaVuSans-Bold.ttf", fill=0.8)
    return compose(PlateDrawing(img, boxes, idx, True, screws=((0.16, 0.86), (wp / hp - 0.16, 0.86)), frame_p=0.5, region="co"), rng, cfg)


# ----------------------------------------------------------------------------------
# China


def _cn_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.15:  # new-energy green plate: 8 characters
        return from_pattern(rng, "PM") + (choose(rng, ["D", "F"]) + from_pattern(rng, "XDDDD") if rng.random() < 0.7 else from_pattern(rng, "DDDDD") + choose(rng, ["D", "F"]))
    return from_pattern(rng, "PM") + _cn_serial(rng, 5)


def _cn_serial(rng: np.random.Generator, n: int) -> str:
    """``n`` characters of a Chinese serial: mostly digits, a letter (no I, O) with
    probability 0.3 per position, as on real plates."""
    return "".join(from_pattern(rng, "M" if rng.random() < 0.3 else "D") for _ in range(n))


def _cn_face_of(rng: np.random.Generator, cfg: SyntheticConfig, cap_h: float) -> Callable[[str], Face]:
    latin = _latin_face(rng, cfg, {"RG2014B.ttf": 0.35, "RG2014C.ttf": 0.25, "DejaVuSansCondensed-Bold-plates.ttf": 0.2, "OSP-DIN.ttf": 0.2}, cap_h, (0.44, 0.54))
    cjk = pick(rng, CJK)
    han = Face.make(cjk, 2 if "Regular" in cjk and rng.random() < 0.5 else 0, cap_h, 0.5)
    return lambda c: han if not c.isascii() else latin


def _cn_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    green = len(text) == 8 or (len(text) != 7 and rng.random() < 0.3)
    wp = round(hp * (rng.uniform(3.35, 3.5) if green else rng.uniform(3.1, 3.2)))
    if green:
        img = gradient(hp, wp, jitter(rng, (236, 248, 238), 0.03), jitter(rng, (90, 200, 120), 0.08))
        ink = jitter(rng, (16, 16, 18), 0.25)
        border = ink
    else:
        img = plate_canvas(hp, wp, jitter(rng, (20, 70, 190), 0.12))
        ink = jitter(rng, (244, 244, 244), 0.04)
        border = ink
    rim(img, border, max(1, round(hp * rng.uniform(0.015, 0.03))), round(hp * rng.uniform(0.03, 0.06)), radius=round(hp * 0.08))
    cap_h = hp * rng.uniform(0.62, 0.7)
    face_of = _cn_face_of(rng, cfg, cap_h)
    marks = {2: (u(rng, (0.3, 0.5)), ".")} if len(text) > 2 and not text[:2].isdigit() else {}
    row = Row(text, (hp - cap_h) / 2 + hp * rng.uniform(-0.02, 0.02), wp * 0.05, wp * 0.95, marks, 0.5)
    boxes, idx = _finish(img, [row], rng, cfg, face_of, ink, gap=cap_h * u(rng, (0.06, 0.14)))
    return compose(PlateDrawing(img, boxes, idx, green, frame_p=0.15, region="cn"), rng, cfg)


def _cn2_text(rng: np.random.Generator) -> str:
    return from_pattern(rng, "PM") + _cn_serial(rng, 5)


def _cn2_scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
    wp = round(hp * rng.uniform(1.95, 2.05))
    img = plate_canvas(hp, wp, jitter(rng, (246, 196, 20), 0.06))
    ink = jitter(rng, (16, 16, 18), 0.25)
    rim(img, ink, max(1, round(hp * 0.02)), round(hp * rng.uniform(0.02, 0.04)), radius=round(hp * 0.06))
    top, bottom = _split_rows(text, 2)
    cap_top_h, cap_bottom_h = hp * rng.uniform(0.26, 0.3), hp * rng.uniform(0.44, 0.5)
    face_top = _cn_face_of(rng, cfg, cap_top_h)
    face_bottom = _cn_face_of(rng, cfg, cap_bottom_h)
    y0 = hp * rng.uniform(0.07, 0.1)
    top_row = Row(top, y0, wp * 0.28, wp * 0.72, {1: (u(rng, (0.5, 1.0)), "")} if len(top) == 2 else {}, 0.5)
    bottom_row = Row(bottom, hp - y0 - cap_bottom_h, wp * 0.06, wp * 0.94, {}, 0.5)
    b0 = draw_row(img, top_row, face_top, gap=cap_top_h * 0.1, ink=ink)
    b1 = draw_row(img, bottom_row, face_bottom, gap=cap_bottom_h * u(rng, (0.08, 0.16)), ink=ink) if bottom else np.zeros((0, 4))
    boxes = np.concatenate([b0, b1])
    idx = np.array([0] * len(top) + [1] * len(bottom), np.int64)
    return compose(PlateDrawing(img, boxes, idx, True, frame_p=0.3, region="cn"), rng, cfg)


# ----------------------------------------------------------------------------------
# registration

_CN_ALPHABET = LATIN + CCPD_PROVINCES


def _legacy(style: str) -> SceneFn:
    def scene(text: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int) -> Scene:
        return legacy.draw_scene(text, style, rng, cfg, hp)

    scene.__name__ = f"_{style}_scene"
    return scene


def _legacy_text(style: str) -> Callable[[np.random.Generator], str]:
    def text(rng: np.random.Generator) -> str:
        return legacy.legacy_text(rng, style)

    return text


_CZ_L = legacy.CZ_LETTERS
_CN_PATTERN = rf"^[{CN_PROVINCES}][{CN_ALNUM[10:]}]([{CN_ALNUM}]{{5}}|[DF][{CN_ALNUM}][0-9]{{4}}|[0-9]{{5}}[DF])$"
_ALL = "[0-9A-Z]"
for _style in (
    PlateStyle("cz", "Czech (IWT4S look): EU band CZ, sticker rings, DejaVu", _legacy_text("cz"), _legacy("cz"), rf"^[1-9][{_CZ_L}][{_CZ_L}0-9][0-9]{{4}}$"),
    PlateStyle("generic", "plain light or dark plate, 5..8 alphanumerics", _legacy_text("generic"), _legacy("generic"), rf"^{_ALL}{{5,8}}$"),
    PlateStyle("eu", "EU band with a country code; the country's pattern (D F I NL PL B P SK RO A LT FIN GB HR)", _eu_text, _eu_scene, rf"^{_ALL}{{4,9}}$"),
    PlateStyle("es", "Spain: EU band E, DIN face", _es_text, _es_scene, rf"^[0-9]{{4}}[{ES_LETTERS}]{{3}}$"),
    PlateStyle("us", "US: state name above, slogan below, pictured or drawn ground, highway gothic", _us_text, _us_scene, rf"^{_ALL}{{5,7}}$", height_scale=1.35),
    PlateStyle("br", "Brazil before Mercosur: grey (or red) plate, city line, LLL-DDDD", _br_text, _br_scene, r"^[A-Z]{3}[0-9]{4}$", margin_scale=0.5),
    PlateStyle("mercosur", "Brazil Mercosur: blue BRASIL band, flag, LLLDLDD", _mercosur_text, _mercosur_scene, r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$"),
    PlateStyle("co", "Colombia: yellow, black rim, city below, LLL DDD", _co_text, _co_scene, r"^[A-Z]{3}[0-9]{3}$", height_scale=1.2),
    PlateStyle("cn", "China: blue (white ink) or new-energy green, province + letter + 5 (6)", _cn_text, _cn_scene, _CN_PATTERN, _CN_ALPHABET, margin_scale=0.35),
    PlateStyle("eu-2row", "EU square plate, two rows, a coat of arms sometimes", _eu_text, _eu2_scene, rf"^{_ALL}{{4,9}}$", rows=2, height_scale=1.7, margin_scale=0.6),
    PlateStyle("br-2row", "Mercosur motorcycle plate: LLL over DLDD", _mercosur_text, _br2_scene, r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$", rows=2, height_scale=1.9),
    PlateStyle("cn-2row", "Chinese yellow two-row plate: province + letter over 5", _cn2_text, _cn2_scene, rf"^[{CN_PROVINCES}][{CN_ALNUM[10:]}][{CN_ALNUM}]{{5}}$", _CN_ALPHABET, rows=2, height_scale=1.6, margin_scale=0.5),
):
    register_style(_style)


def check_text(style: PlateStyle, text: str) -> None:
    """Raise ``ValueError`` unless ``text`` can be drawn in ``style`` (1..12 characters of
    its alphabet)."""
    if not 1 <= len(text) <= 12:
        raise ValueError(f"plate text must have 1..12 characters, got {text!r}")
    bad = "".join(dict.fromkeys(c for c in text if c not in style.alphabet))
    if bad:
        raise ValueError(f"characters not in the {style.name} plate alphabet: {bad!r} in {text!r}")


def matches_pattern(style: str, text: str) -> bool:
    """Whether ``text`` follows ``style``'s national pattern.

    >>> matches_pattern("es", "1234BCD"), matches_pattern("es", "1234ABC")
    (True, False)
    """
    return re.match(get_style(style).pattern, text) is not None


__all__ = ["STYLES", "DatasetError", "PlateStyle", "get_style", "matches_pattern", "register_style", "style_names"]
