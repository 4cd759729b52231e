"""The first-generation styles, ``cz`` and ``generic``, drawn as before the generator
became a package (so models trained on them see the same plates).

``cz``: the blue EU band with stars and ``CZ``, three characters, a gap with the two
inspection sticker rings, four digits, a thin black rim, the dealer's plastic frame
with its text strip, screws, car body around; DejaVu Sans Bold or Sans Mono Bold
squeezed to the narrow, DIN-like proportions of Czech plates. ``generic``: 5..8
alphanumerics on a light or dark plate, sometimes reversed polarity, a gap with a
hyphen or dot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import cv2
import numpy as np

from segocr.charset import DIGITS, LATIN, LETTERS
from segocr.datasets.synthetic.config import SyntheticConfig
from segocr.datasets.synthetic.fonts import DEJAVU, Face, draw_text, paste, pick
from segocr.datasets.synthetic.scene import (
    BODY_COLOURS,
    Scene,
    dealer_text,
    jitter,
    rect_corners,
    rgb,
    u,
)

#: Letters of Czech plates (no G, O, Q, W).
CZ_LETTERS = "".join(c for c in LETTERS if c not in "GOQW")
#: Relative weights of the letters drawn for ``cz`` plates: uniform, with extra weight
#: on letters that are rare in IWT4S (whose plates are mostly Brno ``B``), so that a
#: classifier trained on synthetic plates sees them often.
CZ_LETTER_WEIGHTS: Mapping[str, float] = {c: (2.0 if c in "KNDTEHXFPVRUY" else 1.0) for c in CZ_LETTERS}
#: Fonts of the ``cz`` and ``generic`` styles with their probability (matplotlib's DejaVu).
FONTS: Mapping[str, float] = DEJAVU

_CZ_LETTERS_P = (
    list(CZ_LETTER_WEIGHTS),
    np.array(list(CZ_LETTER_WEIGHTS.values())) / sum(CZ_LETTER_WEIGHTS.values()),
)


def legacy_text(rng: np.random.Generator, style: str = "cz") -> str:
    """A random plate text.

    ``cz``: digit 1..9, letter, letter or digit, four digits (``9B52145``), letters from
    :data:`CZ_LETTERS` weighted by :data:`CZ_LETTER_WEIGHTS`. ``generic``: 5..8
    characters from digits and Latin capitals.

    >>> rng = np.random.default_rng(0)
    >>> t = legacy_text(rng, "cz")
    >>> len(t), t[0].isdigit(), t[1] in CZ_LETTERS, t[3:].isdigit()
    (7, True, True, True)
    >>> 5 <= len(legacy_text(rng, "generic")) <= 8
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
    raise ValueError(f"legacy_text draws cz or generic texts, not {style!r}")


def _layout(
    text: str, faces: Face, gap: float, wide_gap_after: int, wide_gap: float, mono: bool
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


def draw_scene(
    text: str, style: str, rng: np.random.Generator, cfg: SyntheticConfig, hp: int
) -> Scene:
    """The flat scene: car body, frame, plate and characters at plate height ``hp``."""
    font = pick(rng, dict(FONTS))
    r = rng.random()
    weight = -2 if r < cfg.p_weight else (3 if r < 2 * cfg.p_weight else 0)
    ch = hp * u(rng, cfg.char_height)
    face = Face.make(font, weight, ch, u(rng, cfg.char_aspect))
    gap = ch * u(rng, cfg.char_gap)
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
            face = Face(face.font, face.weight, face.sx * k, face.sy)
            gap, wide = gap * k, wide * k
            xs, total = _layout(text, face, gap, wide_after, wide, mono)
        start = lo + (hi - lo - total) * rng.uniform(0.35, 0.65)
        plate_rgb = jitter(rng, (246, 246, 242), 0.03)
        ink = jitter(rng, (28, 28, 32), 0.3)
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
            plate_rgb, ink = jitter(rng, bg, 0.04), jitter(rng, (26, 26, 30), 0.3)
        else:
            bg = [(20, 20, 22), (22, 40, 110), (24, 80, 40), (120, 20, 24), (60, 60, 64)][
                int(rng.integers(5))
            ]
            fg = [(240, 240, 236), (250, 210, 40), (200, 202, 206)][int(rng.integers(3))]
            plate_rgb, ink = jitter(rng, bg, 0.15), jitter(rng, fg, 0.05)

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
    body = jitter(rng, BODY_COLOURS[int(rng.integers(len(BODY_COLOURS)))], 0.15).astype(
        np.float32
    )
    shade = np.linspace(rng.uniform(0.75, 1.15), rng.uniform(0.6, 1.1), hs, dtype=np.float32)
    column = np.clip(shade[:, None] * body[None, :], 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(np.broadcast_to(column[:, None, :], (hs, ws, 3)))
    if rng.random() < 0.5:  # bumper edge above the plate
        y = int(fy0 - hp * rng.uniform(0.05, 0.4))
        c = np.clip(body * rng.uniform(0.3, 1.5), 0, 255)
        cv2.rectangle(img, (0, 0), (ws, y), rgb(c), -1)
    if rng.random() < 0.4:  # grille below
        y = int(fy0 + fh + hp * rng.uniform(0.02, 0.2))
        cv2.rectangle(img, (0, y), (ws, hs), (18, 18, 20), -1)
        step = max(3, int(hp * rng.uniform(0.08, 0.2)))
        for yy in range(y + step // 2, hs, step):
            cv2.line(img, (0, yy), (ws, yy), (60, 60, 64), max(1, step // 4))

    if framed:
        frame_rgb = (
            jitter(rng, (24, 24, 26), 0.3)
            if rng.random() < 0.85
            else jitter(rng, (200, 200, 204), 0.1)
        )
        cv2.rectangle(
            img,
            (round(fx0), round(fy0)),
            (round(fx0 + fw) - 1, round(fy0 + fh) - 1),
            rgb(frame_rgb),
            -1,
        )
        if dealer:
            sx0, sy0 = round(px0 + hp * 0.05), round(py1 + fb * 0.12)
            sx1, sy1 = round(px1 - hp * 0.05), round(fy0 + fh - fb * 0.1)
            if rng.random() < 0.3:  # a printed strip
                strip = jitter(
                    rng,
                    [(240, 240, 240), (250, 210, 30), (30, 60, 160)][int(rng.integers(3))],
                    0.05,
                )
                cv2.rectangle(img, (sx0, sy0), (sx1 - 1, sy1 - 1), rgb(strip), -1)
                tc = jitter(rng, (200, 30, 30) if strip.mean() > 128 else (240, 240, 240), 0.1)
            else:
                tc = jitter(
                    rng,
                    [(235, 235, 235), (240, 200, 40), (220, 40, 40)][
                        int(np.searchsorted([0.65, 0.85], rng.random()))
                    ],
                    0.1,
                )
            draw_text(img, (sx0, sy0, sx1, sy1), dealer_text(rng), tc, font="DejaVuSans-Bold.ttf" if rng.random() < 0.7 else "DejaVuSans.ttf", fill=rng.uniform(0.65, 0.9))

    # the plate: fill, black rim, EU band
    cv2.rectangle(
        img, (round(px0), round(py0)), (round(px1) - 1, round(py1) - 1), rgb(plate_rgb), -1
    )
    rim = max(1, round(hp * rng.uniform(0.012, 0.025)))
    inset = round(hp * rng.uniform(0.0, 0.03))
    if style == "cz" or rng.random() < 0.6:
        rim_c = rgb(ink if style != "cz" else jitter(rng, (20, 20, 22), 0.2))
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
        blue = jitter(rng, (10, 56, 160), 0.12)
        cv2.rectangle(
            img,
            (b0, round(py0) + inset + rim),
            (bx1, round(py1) - 1 - inset - rim),
            rgb(blue),
            -1,
        )
        cx, cy, rad = (b0 + bx1) / 2, py0 + hp * 0.3, hp * 0.105
        star = rgb(jitter(rng, (250, 210, 20), 0.05))
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
        cz_face = Face.make("DejaVuSans-Bold.ttf", 0, hp * 0.17, 0.62)
        cw = cz_face.size("C")[0] + cz_face.size("Z")[0] + hp * 0.02
        x = round(cx - cw / 2)
        white = np.array([245, 245, 245], dtype=np.uint8)
        x1c = paste(img, cz_face, "C", x, py0 + hp * 0.62, white)[2]
        paste(img, cz_face, "Z", x1c + round(hp * 0.02), py0 + hp * 0.62, white)

    # characters
    cap_top = py0 + (hp - ch) / 2 + hp * rng.uniform(-0.025, 0.025)
    boxes = np.zeros((n, 4), dtype=np.float64)
    for i, c in enumerate(text):
        boxes[i] = paste(img, face, c, round(px0 + start + xs[i]), cap_top, ink)

    # stickers and screws in the wide gap (or the plate's ends)
    if wide_after:
        gx0, gx1 = boxes[wide_after - 1, 2], boxes[wide_after, 0]
        gcx = (gx0 + gx1) / 2
        r = min((gx1 - gx0) * 0.42, hp * 0.17)
        if style == "cz" and rng.random() < cfg.p_stickers and r > 2:
            ring = rgb(np.clip(plate_rgb.astype(np.int32) - rng.integers(10, 45), 0, 255))
            # sometimes a small coloured emission sticker inside one ring
            dot = int(rng.integers(2)) if rng.random() < 0.2 else -1
            colour = rgb(
                jitter(
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
                    rgb(ink),
                    -1,
                )
            else:
                cv2.circle(
                    img,
                    (round(gcx), cy_mid),
                    max(1, round(ch * 0.06)),
                    rgb(ink),
                    -1,
                    cv2.LINE_AA,
                )
    if rng.random() < cfg.p_screws:
        sr = max(1, round(hp * rng.uniform(0.04, 0.07)))
        metal = rgb(jitter(rng, (150, 150, 150), 0.3))
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

    return Scene(
        image=img,
        boxes=boxes,
        plate=rect_corners(px0, py0, px1, py1),
        outer=rect_corners(fx0, fy0, fx0 + fw, fy0 + fh)
        if framed
        else rect_corners(px0, py0, px1, py1),
        dark_ink=dark_ink,
    )
