"""CCPD (Chinese City Parking Dataset, ECCV 2018; https://github.com/detectRecog/CCPD, MIT):
full 720x1160 frames, one plate each, annotated in the file name only.

A name has seven ``-``-separated fields,
``area-tilt-bbox-vertices-indices-brightness-blur.jpg``, e.g.
``025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg``:

- area: the plate's share of the frame, written without ``0.`` (``025`` is 0.025);
- tilt: horizontal and vertical tilt in degrees (``95_113``);
- bbox: left-top and right-bottom corners (``x&y_x&y``);
- vertices: the plate's four corners, starting from the right-bottom one, i.e.
  right-bottom, left-bottom, left-top, right-top;
- indices: one per character, into CCPD's tables: the first into :data:`PROVINCES`, the
  second into :data:`ALPHABETS`, the rest into :data:`ADS`. 7 indices for CCPD2019's blue
  plates, 8 for CCPD2020's green (new-energy) plates. Each table ends with the letter
  ``O``, which CCPD uses as "no character" (Chinese plates have no O): it is dropped;
- brightness and blur of the plate region.

A sample's pixels (:meth:`CCPDSample.load`) are the plate cut from its frame: by default
rectified from the four vertices to :data:`RECTIFIED_SIZE` (46x144, the 3.14:1 shape of
a 440x140 mm plate), or the bbox crop as is (``crop="bbox"``). The frame is read lazily.

The split is the release's own when its files sit in ``train/``, ``val/`` (counted as
train) and ``test/`` folders (as ``CCPD2019-sample/`` and CCPD2020's ``ccpd_green/``);
otherwise the project's group split by plate text. Other folders (``ccpd_blur``, ...)
name the sample's subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath
from typing import Literal

import cv2
import numpy as np

from segocr.charset import CCPD_CHARSET, CCPD_PROVINCES, Charset
from segocr.datasets.base import (
    SPLITS,
    PlateSample,
    register_dataset,
    resolve_data_dir,
    split_samples,
)
from segocr.datasets.info import DatasetProblem, IndexScan, problems_error
from segocr.errors import DatasetError
from segocr.io import IMAGE_SUFFIXES, iter_image_paths

#: CCPD's tables exactly as its README gives them, "O" (no character) last.
PROVINCES = CCPD_PROVINCES + "O"
ALPHABETS = "ABCDEFGHJKLMNPQRSTUVWXYZO"
ADS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789O"
#: CCPD's mark for "no character" in every table.
NO_CHAR = "O"
#: (H, W) of a rectified plate: 144/46 = 3.13, the 440x140 mm Chinese plate's 3.14:1.
RECTIFIED_SIZE = (46, 144)
PUBLISHED_AT = "https://github.com/detectRecog/CCPD (CCPD2019 and CCPD2020, MIT)"
#: Folders (relative to the dataset root, sub-folders in the full releases) known to hold CCPD.
RELEASE_DIRS = ("CCPD2019-sample", "CCPD2019", "CCPD2020")
_SPLIT_DIRS = {"train": "train", "val": "train", "test": "test"}
_POINT = re.compile(r"^(\d+)&(\d+)$")

Point = tuple[int, int]
CropMode = Literal["rectify", "bbox"]
#: The ``crop`` option of the dataset: one mode, or ``both`` (two samples per frame, the
#: rectified plate and the bbox crop, whose id ends in ``#bbox``; same text and group).
CropOption = Literal["rectify", "bbox", "both"]


@dataclass(frozen=True)
class CCPDRecord:
    """The annotation in one CCPD file name (see the module docstring for each field).

    ``bbox`` is (x1, y1, x2, y2); ``vertices`` are (x, y) in CCPD's order: right-bottom,
    left-bottom, left-top, right-top; ``text`` is decoded from ``indices``.
    """

    area: float
    tilt: tuple[int, int]
    bbox: tuple[int, int, int, int]
    vertices: tuple[Point, Point, Point, Point]
    indices: tuple[int, ...]
    text: str
    brightness: int
    blur: int


def decode_indices(indices: tuple[int, ...] | list[int]) -> str:
    """The plate text of CCPD's character indices (7 for blue plates, 8 for green ones):
    first a province, then a letter, then letters or digits; ``O`` entries mean "no
    character" and are dropped. Raises :class:`DatasetError` for a wrong count or index.

    >>> decode_indices([0, 0, 22, 27, 27, 33, 16])
    '皖AY339S'
    >>> decode_indices([0, 0, 3, 24, 24, 32, 28, 30])  # CCPD2020 green plate
    '皖AD00846'
    >>> decode_indices([0, 0, 22, 27, 27, 33, 34])  # 34: "O", no character
    '皖AY339'
    """
    if len(indices) not in (7, 8):
        raise DatasetError(
            f"CCPD plates have 7 or 8 character indices, got {len(indices)}: {list(indices)}"
        )
    chars = []
    for pos, i in enumerate(indices):
        table, table_name = (
            (PROVINCES, "provinces")
            if pos == 0
            else (ALPHABETS, "alphabets")
            if pos == 1
            else (ADS, "ads")
        )
        if not 0 <= i < len(table):
            raise DatasetError(
                f"character index {i} at position {pos} is outside CCPD's {table_name} table (0..{len(table) - 1})"
            )
        if table[i] != NO_CHAR:
            chars.append(table[i])
    return "".join(chars)


def _ints(text: str, sep: str, n: int | None, what: str) -> tuple[int, ...]:
    parts = text.split(sep)
    if (n is not None and len(parts) != n) or not all(p.isdigit() for p in parts):
        raise DatasetError(f"{what} {text!r} is not {n or 'some'} {sep!r}-separated integers")
    return tuple(int(p) for p in parts)


def _points(text: str, n: int, what: str) -> tuple[Point, ...]:
    parts = text.split("_")
    matches = [_POINT.match(p) for p in parts]
    if len(parts) != n or not all(matches):
        raise DatasetError(f"{what} {text!r} is not {n} '_'-separated x&y points")
    return tuple((int(m.group(1)), int(m.group(2))) for m in matches if m)


def parse_ccpd_name(name: str) -> CCPDRecord:
    """Parse a CCPD file name (a bare name or a path; the suffix is ignored). Raises
    :class:`DatasetError` naming the file and the field that does not parse.

    >>> r = parse_ccpd_name("025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg")
    >>> r.text, r.area, r.tilt, r.bbox, r.brightness, r.blur
    ('皖AY339S', 0.025, (95, 113), (154, 383, 386, 473), 37, 15)
    >>> r.vertices  # right-bottom, left-bottom, left-top, right-top
    ((386, 473), (177, 454), (154, 383), (363, 402))
    >>> parse_ccpd_name("京PL3N67.jpg")
    Traceback (most recent call last):
    segocr.errors.DatasetError: 京PL3N67.jpg: not a CCPD name (7 '-'-separated fields expected, got 1)
    """
    base = PurePath(name).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    fields = stem.split("-")
    try:
        if len(fields) != 7:
            raise DatasetError(
                f"not a CCPD name (7 '-'-separated fields expected, got {len(fields)})"
            )
        area, tilt, bbox, vertices, indices, brightness, blur = fields
        if not area.isdigit():
            raise DatasetError(f"area {area!r} is not digits")
        (x1, y1), (x2, y2) = _points(bbox, 2, "bbox")
        v = _points(vertices, 4, "vertices")
        idx = _ints(indices, "_", None, "indices")
        h_tilt, v_tilt = _ints(tilt, "_", 2, "tilt")
        return CCPDRecord(
            area=float("0." + area),
            tilt=(h_tilt, v_tilt),
            bbox=(x1, y1, x2, y2),
            vertices=(v[0], v[1], v[2], v[3]),
            indices=idx,
            text=decode_indices(idx),
            brightness=_ints(brightness, "_", 1, "brightness")[0],
            blur=_ints(blur, "_", 1, "blur")[0],
        )
    except DatasetError as e:
        raise DatasetError(f"{base}: {e}") from None


def crop_bbox(image: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """``image[y1:y2, x1:x2]`` (a copy) of ``bbox`` = (x1, y1, x2, y2), clipped to the image.
    ``image``: (H, W) or (H, W, C). Raises :class:`DatasetError` when nothing is left.

    >>> crop_bbox(np.zeros((10, 20, 3), np.uint8), (5, 2, 25, 6)).shape
    (4, 15, 3)
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = bbox
    x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
    y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
    if x2 <= x1 or y2 <= y1:
        raise DatasetError(f"bbox {bbox} leaves nothing of the {w}x{h} image")
    return image[y1:y2, x1:x2].copy()


def rectify_plate(
    image: np.ndarray,
    vertices: tuple[Point, Point, Point, Point],
    *,
    size: tuple[int, int] = RECTIFIED_SIZE,
) -> np.ndarray:
    """The plate inside ``vertices`` (CCPD's order: right-bottom, left-bottom, left-top,
    right-top; (x, y) pixels), warped by the perspective transform that maps it onto an
    upright ``size`` = (H, W) rectangle; bilinear, borders replicated.
    ``image``: (H, W) or (H, W, C) uint8; returns ``size`` (+ C), same dtype.

    >>> img = np.zeros((100, 200, 3), np.uint8)
    >>> img[20:60, 30:150] = 255
    >>> out = rectify_plate(img, ((149, 59), (30, 59), (30, 20), (149, 20)))
    >>> out.shape, out.dtype, int(out.min())
    ((46, 144, 3), dtype('uint8'), 255)
    """
    out_h, out_w = size
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be positive (H, W), got {size}")
    rb, lb, lt, rt = vertices
    src = np.array([lt, rt, rb, lb], dtype=np.float32)
    dst = np.array(
        [[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


@dataclass(frozen=True, kw_only=True)
class CCPDSample(PlateSample):
    """A CCPD plate: ``path`` (or ``image``) is the whole frame; :meth:`load` cuts the plate."""

    record: CCPDRecord
    crop: CropMode = "rectify"
    size: tuple[int, int] = RECTIFIED_SIZE

    def load(self) -> np.ndarray:
        """The plate as uint8 RGB: (46, 144, 3) rectified by default (``size``), or the
        bbox crop, (y2 - y1, x2 - x1, 3). Raises :class:`segocr.errors.ImageReadError`
        for a bad frame."""
        frame = super().load()
        if self.crop == "bbox":
            return crop_bbox(frame, self.record.bbox)
        return rectify_plate(frame, self.record.vertices, size=self.size)


def _looks_like_ccpd(folder: Path) -> bool:
    """A folder with train/, val/ or test/, ccpd_* subsets, or CCPD-named images."""
    if not folder.is_dir():
        return False
    if any((folder / d).is_dir() for d in _SPLIT_DIRS) or any(
        p.is_dir() for p in folder.glob("ccpd_*")
    ):
        return True
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    for p in images[:5]:
        try:
            parse_ccpd_name(p.name)
            return True
        except DatasetError:
            continue
    return False


def find_release(data_dir: Path | None) -> Path:
    """The CCPD root: ``data_dir`` (else ``$SEGOCR_DATA/ccpd``, else ``data/ccpd``) or its
    ``CCPD2019-sample``, ``CCPD2019`` or ``CCPD2020`` subfolder, whichever holds CCPD first.
    Raises :class:`DatasetError` saying where CCPD is published when none does."""
    base = resolve_data_dir(data_dir, subdir="ccpd")
    tried = [str(data_dir)] if data_dir is not None and base is None else []
    if base is not None:
        for cand in (base, *(base / d for d in RELEASE_DIRS)):
            if _looks_like_ccpd(cand):
                return cand
            tried.append(str(cand))
    where = f"looked in: {', '.join(dict.fromkeys(tried))}" if tried else "no --data-dir given, $SEGOCR_DATA not set, no data/ccpd here"
    raise DatasetError(
        f"CCPD not found ({where}). Download CCPD2019 or CCPD2020 from {PUBLISHED_AT}, "
        "unpack it, and pass --data-dir to the folder holding its images (or their train/ and "
        "test/ folders), or set SEGOCR_DATA to a folder holding ccpd/."
    )


@dataclass
class _Index:
    samples: list[CCPDSample]
    splits: list[str | None]  # the release's split of each sample, from its folders
    problems: list[DatasetProblem]


@dataclass
class CCPD:
    """CCPD read from a folder of CCPD-named images (any depth below ``root``)."""

    root: Path
    crop: CropOption = "rectify"
    size: tuple[int, int] = RECTIFIED_SIZE
    strict: bool = True
    test_fraction: float = 0.2
    seed: int = 0
    name: str = "ccpd"
    charset: Charset = field(default_factory=lambda: Charset(CCPD_CHARSET))
    source: str = field(init=False)

    def __post_init__(self) -> None:
        if self.crop not in ("rectify", "bbox", "both"):
            raise DatasetError(f"unknown crop {self.crop!r}; choose one of: rectify, bbox, both")
        self.source = f"CCPD at {self.root} ({self.crop} crops)"

    @cached_property
    def _index(self) -> _Index:
        out = _Index([], [], [])
        for path in iter_image_paths([self.root]):
            rel = path.relative_to(self.root)
            try:
                record = parse_ccpd_name(path.name)
            except DatasetError as e:
                out.problems.append(
                    DatasetProblem(
                        "bad-name", rel.as_posix(), str(e).removeprefix(f"{path.name}: ")
                    )
                )
                continue
            folders = rel.parts[:-1]
            split_dirs = [_SPLIT_DIRS[d] for d in folders if d in _SPLIT_DIRS]
            modes: tuple[CropMode, ...] = ("rectify", "bbox") if self.crop == "both" else (self.crop,)
            for mode in modes:
                out.splits.append(split_dirs[-1] if split_dirs else None)
                out.samples.append(self._sample(rel, path, folders, record, mode))
        return out

    def _sample(self, rel: PurePath, path: Path, folders: tuple[str, ...], record: CCPDRecord, mode: CropMode) -> CCPDSample:
        """The sample of one frame cut in ``mode`` (a ``#bbox`` id suffix under ``both``)."""
        suffix = "#bbox" if self.crop == "both" and mode == "bbox" else ""
        return CCPDSample(
            id=rel.as_posix() + suffix,
            text=record.text,
            path=path,
            subset="/".join(d for d in folders if d not in _SPLIT_DIRS),
            group=record.text,
            meta={
                "area": record.area,
                "tilt": record.tilt,
                "brightness": record.brightness,
                "blur": record.blur,
            },
            record=record,
            crop=mode,
            size=self.size,
        )

    def scan(self, split: str = "all") -> IndexScan:
        """The samples of ``split`` and the names that could not be parsed (whole index)."""
        index = self._index
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
        samples: list[PlateSample] = list(index.samples)
        if split != "all":
            if index.splits and all(s is not None for s in index.splits):
                samples = [
                    s for s, sp in zip(index.samples, index.splits, strict=True) if sp == split
                ]
            else:
                samples = split_samples(
                    samples, split, test_fraction=self.test_fraction, seed=self.seed
                )
        return IndexScan(tuple(samples), tuple(index.problems))

    def samples(self, split: str = "all") -> list[PlateSample]:
        scan = self.scan(split)
        if self.strict and scan.problems:
            raise problems_error(
                f"CCPD at {self.root}: {len(scan.problems)} file name(s) do not parse",
                scan.problems,
            )
        return list(scan.samples)


@register_dataset("ccpd")
def open_ccpd(
    data_dir: Path | None = None,
    *,
    crop: CropOption = "rectify",
    strict: bool = True,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> CCPD:
    """Open CCPD (see :func:`find_release` for where it is looked for); ``crop``:
    ``rectify`` (46x144, from the vertices), ``bbox``, or ``both`` (two samples per frame)."""
    return CCPD(
        find_release(data_dir), crop=crop, strict=strict, test_fraction=test_fraction, seed=seed
    )
