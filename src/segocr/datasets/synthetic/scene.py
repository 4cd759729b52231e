"""The flat scene a plate is drawn in, and the drawing helpers the styles share: rows of
labelled characters with their ink boxes, separators, the car body, the dealer frame
and screws around the plate.

Coordinates are pixel edges of the scene canvas; a box is ``(x0, y0, x1, y1)`` of a
character's ink rectangle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from segocr.datasets.synthetic.config import SyntheticConfig
from segocr.datasets.synthetic.fonts import Face, draw_text, paste


@dataclass
class Scene:
    """A drawn, undistorted scene: ``image`` uint8 RGB, ``boxes`` (n, 4) float ink
    rectangles, ``rows`` (n,) the text row of each character (0 top), ``plate`` and
    ``outer`` (4, 2) corners of the plate and of plate + frame."""

    image: np.ndarray
    boxes: np.ndarray
    plate: np.ndarray
    outer: np.ndarray
    dark_ink: bool
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.boxes):
            self.rows = np.zeros(len(self.boxes), np.int64)


def u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def jitter(rng: np.random.Generator, rgb: Sequence[float], amount: float) -> np.ndarray:
    """``rgb`` with a random brightness change of up to ``amount`` and +-12 per channel."""
    c = np.asarray(rgb, dtype=np.float64) * (1.0 + rng.uniform(-amount, amount)) + rng.uniform(-12, 12, size=3)
    return np.clip(c, 0, 255).astype(np.uint8)


def rgb(c: np.ndarray | Sequence[float]) -> tuple[int, int, int]:
    return int(c[0]), int(c[1]), int(c[2])


def rect_corners(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def choose(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


BODY_COLOURS = (
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


# ----------------------------------------------------------------------------------
# rows of characters


@dataclass(frozen=True)
class Row:
    """A row of labelled characters placed on a plate canvas.

    ``chars`` are drawn between ``x_lo`` and ``x_hi`` with their cap tops at
    ``cap_top``; ``marks`` maps "after the k-th character" (1-based) to (extra gap in
    cap heights, mark): ``""`` a blank, ``"-"`` a hyphen, ``"."`` a dot, ``"o"`` a round
    emblem (a seal or a state shape), never part of the label. ``align`` places the text
    in its range (0 left, 0.5 centred, 1 right).
    """

    chars: str
    cap_top: float
    x_lo: float
    x_hi: float
    marks: dict[int, tuple[float, str]] = field(default_factory=dict)
    align: float = 0.5


def draw_row(
    canvas: np.ndarray,
    row: Row,
    face_of: Callable[[str], Face],
    *,
    gap: float,
    ink: np.ndarray,
    mono: bool = False,
    mark_colour: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``row`` on ``canvas``; returns its characters' boxes (n, 4). ``gap`` is the
    space between characters (px); the row is squeezed horizontally when it is too long
    for its range."""
    faces = [face_of(c) for c in row.chars]
    ref = face_of("8")
    cap_h = ref.sy * _cap_px(ref)
    room = row.x_hi - row.x_lo
    xs, total = _positions(row, faces, ref, gap, cap_h, mono)
    if total > room:  # too long for its range: squeeze glyphs and gaps horizontally
        k = room / total * 0.999
        faces, ref = [f.squeezed(k) for f in faces], ref.squeezed(k)
        xs, total = _positions(row, faces, ref, gap * k, cap_h * k, mono)
    start = row.x_lo + (row.x_hi - row.x_lo - total) * row.align
    boxes = np.zeros((len(row.chars), 4), dtype=np.float64)
    for i, c in enumerate(row.chars):
        boxes[i] = paste(canvas, faces[i], c, round(start + xs[i]), row.cap_top, ink)
    mc = ink if mark_colour is None else mark_colour
    for after, (_, mark) in row.marks.items():
        if not mark or not 0 < after < len(row.chars):
            continue
        gx0, gx1 = boxes[after - 1, 2], boxes[after, 0]
        gcx, cy = (gx0 + gx1) / 2, row.cap_top + cap_h / 2
        room = gx1 - gx0
        if room < 3:
            continue
        if mark == "-":
            hw = min(room * 0.32, cap_h * 0.22)
            cv2.rectangle(canvas, (round(gcx - hw), round(cy - cap_h * 0.05)), (round(gcx + hw) - 1, round(cy + cap_h * 0.05)), rgb(mc), -1)
        elif mark == ".":
            cv2.circle(canvas, (round(gcx), round(cy)), max(1, round(min(room * 0.2, cap_h * 0.07))), rgb(mc), -1, cv2.LINE_AA)
        elif mark == "o":
            r = max(1, round(min(room * 0.36, cap_h * 0.3)))
            cv2.circle(canvas, (round(gcx), round(cy)), r, rgb(mc), -1, cv2.LINE_AA)
            cv2.circle(canvas, (round(gcx), round(cy)), max(1, r // 2), rgb(np.clip(mc.astype(int) + 90, 0, 255)), -1, cv2.LINE_AA)
    return boxes


def _cap_px(face: Face) -> float:
    from segocr.datasets.synthetic.fonts import cap_metrics

    return float(cap_metrics(face.font, face.weight)[1])


def _positions(row: Row, faces: list[Face], ref: Face, gap: float, cap_h: float, mono: bool) -> tuple[list[float], float]:
    """Left edge of each glyph relative to the row start, and the row's width."""
    widths = [f.size(c)[0] for f, c in zip(faces, row.chars)]
    pitch = max(ref.size(c)[0] for c in "08") if mono else 0.0
    xs, x = [], 0.0
    for i, w in enumerate(widths):
        slot = max(pitch, w) if row.chars[i].isascii() else w
        xs.append(x + (slot - w) / 2)
        x += slot + gap
        if i + 1 in row.marks:
            x += row.marks[i + 1][0] * cap_h
    return xs, x - gap


# ----------------------------------------------------------------------------------
# plate canvases and what goes around them


@dataclass
class PlateDrawing:
    """A plate drawn flat: ``image`` (hp, wp, 3) uint8, ``boxes`` (n, 4) and ``rows`` (n,)
    in its coordinates; ``screws`` are (x, y) centres in plate heights from the top-left
    where holes or screws may go (may be empty)."""

    image: np.ndarray
    boxes: np.ndarray
    rows: np.ndarray
    dark_ink: bool
    screws: tuple[tuple[float, float], ...] = ()
    frame_p: float = 1.0  # multiplies cfg.p_frame
    region: str = "eu"  # words of the dealer frame's text (see dealer_text)


def plate_canvas(hp: int, wp: int, colour: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(colour.astype(np.uint8), (hp, wp, 3)))


def gradient(hp: int, wp: int, top: np.ndarray, bottom: np.ndarray, *, horizontal: bool = False) -> np.ndarray:
    """A linear gradient from ``top`` to ``bottom`` (or left to right), uint8 (hp, wp, 3)."""
    n = wp if horizontal else hp
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    line = (1 - t) * top.astype(np.float32) + t * bottom.astype(np.float32)
    img = np.broadcast_to(line[None, :, :], (hp, wp, 3)) if horizontal else np.broadcast_to(line[:, None, :], (hp, wp, 3))
    return np.ascontiguousarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))


def rim(img: np.ndarray, colour: np.ndarray, width: int, inset: int = 0, radius: int = 0) -> None:
    """A border line ``width`` px wide, ``inset`` px inside the canvas edge."""
    h, w = img.shape[:2]
    if radius <= 0:
        cv2.rectangle(img, (inset, inset), (w - 1 - inset, h - 1 - inset), rgb(colour), width)
        return
    x0, y0, x1, y1 = inset, inset, w - 1 - inset, h - 1 - inset
    c = rgb(colour)
    for a, b in (((x0 + radius, y0), (x1 - radius, y0)), ((x0 + radius, y1), (x1 - radius, y1)),
                 ((x0, y0 + radius), (x0, y1 - radius)), ((x1, y0 + radius), (x1, y1 - radius))):  # fmt: skip
        cv2.line(img, a, b, c, width, cv2.LINE_AA)
    for (cx, cy), ang in (((x0 + radius, y0 + radius), 180), ((x1 - radius, y0 + radius), 270),
                          ((x1 - radius, y1 - radius), 0), ((x0 + radius, y1 - radius), 90)):  # fmt: skip
        cv2.ellipse(img, (cx, cy), (radius, radius), ang, 0, 90, c, width, cv2.LINE_AA)


_CITIES = ("BRNO", "PRAHA", "HODONÍN", "ZLÍN", "OLOMOUC", "JIHLAVA", "MIKULOV", "BLANSKO", "ZNOJMO", "KYJOV")
_NAMES = ("auto", "car", "palace", "bazar", "top", "centrum", "moto", "jocar", "bs", "tomica", "servis", "lux", "nova", "drive")
#: Dealer-frame words per region: (cities, words, web domain, formats); ``{n}`` name,
#: ``{N}`` name in capitals, ``{c}`` city, ``{d}`` domain, ``{p}`` phone.
_REGIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, tuple[str, ...]]] = {
    "eu": (
        ("MÜNCHEN", "LYON", "MILANO", "UTRECHT", "KRAKÓW", "GENT", "PORTO", "WIEN", "VILNIUS", "ZAGREB"),
        ("auto", "car", "motors", "haus", "center", "garage", "star", "drive", "top", "plus"),
        "eu",
        ("www.{n}.{d}", "{N} {c}", "AUTO {N}  {c}", "{N}  {c}  {p}"),
    ),
    "us": (
        ("DALLAS, TX", "PHOENIX, AZ", "ORLANDO, FL", "DENVER, CO", "TOLEDO, OH", "FRESNO, CA", "AUSTIN, TX", "TULSA, OK"),
        ("auto", "motors", "ford", "chevy", "toyota", "honda", "city", "north", "valley", "premier", "family"),
        "com",
        ("{N} {c}", "www.{n}.{d}", "{N} MOTORS", "{N}  {c}", "THINK {N}"),
    ),
    "br": (
        ("SÃO PAULO", "CAMPINAS", "CURITIBA", "RECIFE", "BELÉM", "GOIÂNIA", "SANTOS", "NATAL"),
        ("auto", "veículos", "motors", "center", "nova", "brasil", "prime", "top"),
        "com.br",
        ("{N} VEÍCULOS - {c}", "www.{n}.{d}", "{N}  {p}", "{N} {c}"),
    ),
    "es": (
        ("MADRID", "SEVILLA", "VALENCIA", "BILBAO", "MÁLAGA", "ZARAGOZA", "GETAFE", "LEGANÉS"),
        ("auto", "motor", "coches", "sur", "norte", "centro", "garaje", "plus"),
        "es",
        ("{N} - {c}", "www.{n}.{d}", "{N} MOTOR  {c}", "{N}  {p}"),
    ),
    "co": (
        ("BOGOTÁ", "MEDELLÍN", "CALI", "ENVIGADO", "CHÍA", "PEREIRA"),
        ("autos", "motor", "andina", "centro", "casa", "norte"),
        "com.co",
        ("{N} - {c}", "www.{n}.{d}", "{N}  {p}"),
    ),
    "cn": (("BEIJING", "SHANGHAI", "GUANGZHOU", "HEFEI", "WUHAN"), ("auto", "4s", "qiche", "motor"), "cn", ("www.{n}.{d}", "{N} {c}")),
}


def dealer_text(rng: np.random.Generator, region: str = "cz") -> str:
    """Text of a dealer's plate frame, in the words of ``region`` (``cz``: Czech, as the
    first-generation plates; ``eu``, ``us``, ``br``, ``es``, ``co``, ``cn``)."""
    if region != "cz":
        cities, words, domain, formats = _REGIONS[region]
        name = "".join(words[int(i)] for i in rng.integers(len(words), size=int(rng.integers(1, 3))))
        phone = f"{int(rng.integers(100, 999))} {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}"
        fmt = formats[int(rng.integers(len(formats)))]
        return fmt.format(n=name, N=name.upper(), c=cities[int(rng.integers(len(cities)))], d=domain, p=phone)
    name = "".join(_NAMES[int(i)] for i in rng.integers(len(_NAMES), size=int(rng.integers(1, 3))))
    city = _CITIES[int(rng.integers(len(_CITIES)))]
    phone = f"{int(rng.integers(500, 800))} {int(rng.integers(100, 999))} {int(rng.integers(100, 999))}"
    options = (
        f"www.{name}.cz",
        f"{name.upper()} {city}",
        "ČESKÁ REPUBLIKA",
        f"{name.upper()} {city}   www.{name}.cz",
        f"AUTO {name.upper()}  {city}  tel: {phone}",
    )
    return options[int(rng.integers(len(options)))]


def car_body(rng: np.random.Generator, hs: int, ws: int, frame_top: float, frame_bottom: float, hp: int) -> np.ndarray:
    """The car body around a plate: colour, vertical shading, maybe a bumper edge above
    and a grille below. uint8 (hs, ws, 3)."""
    body = jitter(rng, BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))], 0.15).astype(np.float32)
    shade = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.6, 1.1), hs, dtype=np.float32)
    column = np.clip(shade[:, None] * body[None, :], 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(np.broadcast_to(column[:, None, :], (hs, ws, 3)))
    if rng.random() < 0.5:  # bumper edge above the plate
        y = int(frame_top - hp * rng.uniform(0.05, 0.4))
        c = np.clip(body * rng.uniform(0.3, 1.5), 0, 255)
        cv2.rectangle(img, (0, 0), (ws, y), rgb(c), -1)
    if rng.random() < 0.4:  # grille below
        y = int(frame_bottom + hp * rng.uniform(0.02, 0.2))
        cv2.rectangle(img, (0, y), (ws, hs), (18, 18, 20), -1)
        step = max(3, int(hp * rng.uniform(0.08, 0.2)))
        for yy in range(y + step // 2, hs, step):
            cv2.line(img, (0, yy), (ws, yy), (60, 60, 64), max(1, step // 4))
    return img


def compose(drawing: PlateDrawing, rng: np.random.Generator, cfg: SyntheticConfig) -> Scene:
    """Put a drawn plate on a car: body, maybe the plastic dealer frame (with text on its
    bottom strip) and screws."""
    hp, wp = drawing.image.shape[:2]
    framed = rng.random() < cfg.p_frame * drawing.frame_p
    ft = hp * rng.uniform(0.03, 0.09) if framed else 0.0
    dealer = framed and rng.random() < cfg.p_dealer_text
    fb = hp * rng.uniform(0.12, 0.25) if dealer else ft * rng.uniform(1.0, 1.8)
    fw, fh = wp + 2 * ft, hp + ft + fb
    mb = hp * (cfg.margin[1] * 0.65 + 0.05) + 2
    mb_x = hp * (cfg.margin[1] * 0.5 + 0.05) + 2
    ws, hs = math.ceil(fw + 2 * mb_x), math.ceil(fh + 2 * mb)
    fx0, fy0 = mb_x, mb
    px0, py0 = round(fx0 + ft), round(fy0 + ft)
    img = car_body(rng, hs, ws, fy0, fy0 + fh, hp)
    if framed:
        frame_rgb = jitter(rng, (24, 24, 26), 0.3) if rng.random() < 0.85 else jitter(rng, (200, 200, 204), 0.1)
        cv2.rectangle(img, (round(fx0), round(fy0)), (round(fx0 + fw) - 1, round(fy0 + fh) - 1), rgb(frame_rgb), -1)
        if dealer:
            tc = jitter(rng, [(235, 235, 235), (240, 200, 40), (220, 40, 40)][int(np.searchsorted([0.65, 0.85], rng.random()))], 0.1)
            rect = (round(px0 + hp * 0.05), round(py0 + hp + fb * 0.12), round(px0 + wp - hp * 0.05), round(fy0 + fh - fb * 0.1))
            draw_text(img, rect, dealer_text(rng, drawing.region), tc, font="DejaVuSans-Bold.ttf" if rng.random() < 0.7 else "DejaVuSans.ttf", fill=rng.uniform(0.65, 0.9))
    img[py0 : py0 + hp, px0 : px0 + wp] = drawing.image
    if drawing.screws and rng.random() < cfg.p_screws:
        sr = max(1, round(hp * rng.uniform(0.035, 0.06)))
        metal = rgb(jitter(rng, (150, 150, 150), 0.3))
        for sx, sy in drawing.screws:
            c = (round(px0 + sx * hp), round(py0 + sy * hp))
            cv2.circle(img, c, sr, metal, -1, cv2.LINE_AA)
            cv2.circle(img, c, sr, (40, 40, 40), 1, cv2.LINE_AA)
    boxes = drawing.boxes + np.array([px0, py0, px0, py0], dtype=np.float64)
    plate = rect_corners(px0, py0, px0 + wp, py0 + hp)
    outer = rect_corners(fx0, fy0, fx0 + fw, fy0 + fh) if framed else plate
    return Scene(img, boxes, plate, outer, drawing.dark_ink, np.asarray(drawing.rows, np.int64))
