"""Whole photos with their plates marked, for measuring the locator.

Two sources (they live in ``../shared/data``, never in the repository):

* **CCPD** full frames (720x1160): the four plate corners and the text come from the
  file name (:func:`segocr.datasets.ccpd.parse_ccpd_name`); the release's ``train/`` and
  ``test/`` folders are the splits.
* **UC3M-LP** scenes (``uc3m-lp/LP``, downscaled to 320x240 in the shared copy):
  ``labels/<split>/<id>.txt`` holds one YOLO line per plate (``0 cx cy w h``, relative);
  the text of the scene's plates is in the names of the OCR crops
  ``uc3m-lp/OCR/images/*/<id>_<type>-<TEXT>.jpg``, where ``-`` marks a character that is
  greyed out in the image (anonymised). The OCR crops do not say which box they belong
  to, so a scene carries its texts as a set (:attr:`Scene.texts`). Splits: ``train``
  (300) and ``val`` (100; UC3M-LP's own test part, as shipped here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from segocr.errors import DatasetError
from segocr.locate.geometry import Quad, box_quad, order_quad

SOURCES = ("ccpd", "uc3m")


@dataclass(frozen=True)
class Scene:
    """One photo: its path, the plates' quads (each (4, 2), see
    :mod:`segocr.locate.geometry`) and the texts of its plates (for UC3M the visible
    characters only; not aligned with ``quads`` there, see the module docstring)."""

    path: Path
    quads: tuple[Quad, ...]
    texts: tuple[str, ...]
    source: str

    @property
    def id(self) -> str:
        return self.path.name


def ccpd_scenes(root: Path, split: str) -> list[Scene]:
    """CCPD frames of ``root/<split>/`` (``root``: a folder holding ``train/`` and
    ``test/``, e.g. ``ccpd/CCPD2019-sample``)."""
    from segocr.datasets.ccpd import parse_ccpd_name
    from segocr.io import iter_image_paths

    folder = root / split
    if not folder.is_dir():
        raise DatasetError(f"no CCPD {split} folder at {folder}")
    out = []
    for path in iter_image_paths([folder]):
        rec = parse_ccpd_name(path.name)
        rb, lb, lt, rt = rec.vertices
        quad = np.array([lt, rt, rb, lb], dtype=np.float32)
        out.append(Scene(path, (quad,), (rec.text,), "ccpd"))
    return out


def uc3m_text(ocr_name: str) -> str:
    """The visible characters of a UC3M-LP OCR crop name (``-``: greyed out).

    >>> uc3m_text("00014_AN-07-6-YR.jpg")
    '076YR'
    """
    stem = Path(ocr_name).stem
    _, _, rest = stem.partition("_")
    _, _, text = rest.partition("-")
    return text.replace("-", "")


def uc3m_scenes(root: Path, split: str) -> list[Scene]:
    """UC3M-LP scenes of ``split`` (``train`` or ``val``); ``root`` is the ``uc3m-lp``
    folder (holding ``LP/`` and ``OCR/``)."""
    images = root / "LP" / "images" / split
    labels = root / "LP" / "labels" / split
    if not images.is_dir() or not labels.is_dir():
        raise DatasetError(f"no UC3M-LP scenes at {images} / {labels}")
    texts: dict[str, list[str]] = {}
    for crop in sorted((root / "OCR" / "images").glob("*/*.jpg")):
        texts.setdefault(crop.name.split("_", 1)[0], []).append(uc3m_text(crop.name))
    out = []
    for path in sorted(images.glob("*.jpg")):
        label = labels / f"{path.stem}.txt"
        if not label.exists():
            raise DatasetError(f"{path}: no label file {label}")
        pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            raise DatasetError(f"{path}: not a readable image")
        h, w = pixels.shape[:2]
        quads = []
        for line in label.read_text().split("\n"):
            if not line.strip():
                continue
            _, cx, cy, bw, bh = (float(v) for v in line.split())
            quads.append(
                order_quad(
                    box_quad(
                        (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h
                    )
                )
            )
        out.append(Scene(path, tuple(quads), tuple(texts.get(path.stem, [])), "uc3m"))
    return out


def load_scenes(source: str, root: Path, split: str) -> list[Scene]:
    """The scenes of ``source`` (``ccpd`` or ``uc3m``); unknown names raise listing the valid ones."""
    if source == "ccpd":
        return ccpd_scenes(root, split)
    if source == "uc3m":
        return uc3m_scenes(root, split)
    raise DatasetError(f"unknown scene source {source!r}; choose one of: {', '.join(SOURCES)}")
