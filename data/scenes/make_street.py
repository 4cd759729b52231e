"""Write ``street.jpg``: a synthetic 1280x720 scene with two plates of ``data/samples``
pasted in, one of them tilted, for trying ``segocr read`` on a photo (the project ships
no real car photos: the licensed datasets stay out of the repository).

    .venv/bin/python data/scenes/make_street.py      # rewrites data/scenes/street.jpg

The background is drawn (smooth noise, a dark car-like block, a fence of light bars whose
vertical edges are not characters); the plates are the generator-made samples, enlarged
and warped onto four corners each. Seeded: the same file every time.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"


def paste(scene: np.ndarray, plate: np.ndarray, corners: np.ndarray) -> None:
    """Warp ``plate`` onto ``corners`` (TL, TR, BR, BL; float32 (4, 2)) of ``scene`` in place."""
    h, w = plate.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    size = (scene.shape[1], scene.shape[0])
    warped = cv2.warpPerspective(plate, m, size)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, size) > 0
    scene[mask] = warped[mask]


def street(seed: int = 0) -> np.ndarray:
    """The scene, uint8 BGR (720, 1280, 3)."""
    rng = np.random.default_rng(seed)
    small = rng.normal(110, 25, (90, 160, 3)).clip(0, 255).astype(np.uint8)
    scene = cv2.resize(small, (1280, 720), interpolation=cv2.INTER_CUBIC)
    cv2.rectangle(scene, (300, 200), (1000, 650), (70, 80, 90), -1)
    for x in range(80, 260, 30):
        cv2.rectangle(scene, (x, 100), (x + 8, 600), (200, 200, 190), -1)
    a = cv2.imread(str(SAMPLES / "9KE0410.png"))
    b = cv2.imread(str(SAMPLES / "3J55450.png"))
    a = cv2.resize(a, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)
    b = cv2.resize(b, None, fx=1.3, fy=1.3, interpolation=cv2.INTER_CUBIC)
    ha, wa = a.shape[:2]
    paste(scene, a, np.float32([[560, 520], [560 + wa, 505], [560 + wa, 505 + ha], [560, 520 + ha]]))  # tilted
    hb, wb = b.shape[:2]
    paste(scene, b, np.float32([[880, 260], [880 + wb, 260], [880 + wb, 260 + hb], [880, 260 + hb]]))
    return scene


if __name__ == "__main__":
    cv2.imwrite(str(HERE / "street.jpg"), street(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(HERE / "street.jpg")
