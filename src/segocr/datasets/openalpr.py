"""OpenALPR's public training data (AGPL-3.0), read in its repositories' layouts.

Plates (``openalpr/train-detector``):

- ``openalpr-br``: ``br/`` Brazilian plates (old grey and red Parana styles), tight
  low-quality crops named ``##########_CC_011241_AXK3125.JPG_0000_0428_0037_0103_0042.jpg``:
  the text is the 7 characters before ``.JPG``; ``CC`` / ``CV`` (the subset) is the
  source's own code of the capture series. The numbers after ``.JPG`` are where the
  crop was cut from the original frame.
- ``openalpr-eu2``: ``eu2/`` plates of ~24 European countries, many two-row, named
  ``crop_<country>_<text>[_front|_rear][_close].jpg``, text in lower case with the
  plate's own dashes (dropped here); ``_close`` marks a tighter crop of the same plate.
  The subset is the country code.

Single characters (``openalpr/train-ocr``), for the segcnn character classifier:

- ``openalpr-chars``: ``{gb,br}/chars/<char>-<position>-<plate>.jpg`` (black on white;
  Brazil writes letters in lower case); the group is the plate the character was cut
  from, so a plate's characters stay on one side of the split.
- ``openalpr-sheets``: Tesseract training sheets ``<country>/input/l<lang>.<font>.exp0.tif``
  with ``.box`` files, one line per character ``char x1 y1 x2 y2 page``, **y counted
  from the bottom of the page**. Each box is a sample (cut lazily from its sheet). The
  sheets are sorted by character (a row of ``0``, a row of ``1``...), so which plate a
  character came from is unknown: each box is its own group, and these samples only
  ever train the character classifier (no plate is scored on them). The ``gb`` and ``br``
  sheets hold the same characters as the ``chars`` folders, so by default only the
  ``eu`` and ``fr`` sheets are read (``countries=``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample, register_dataset
from segocr.datasets.indexed import ListedDataset, find_folder, image_files
from segocr.datasets.info import DatasetProblem
from segocr.errors import DatasetError, ImageReadError
from segocr.segment.boxes import CharBox

DETECTOR = "https://github.com/openalpr/train-detector (AGPL-3.0)"
OCR = "https://github.com/openalpr/train-ocr (AGPL-3.0)"
LICENCE = "AGPL-3.0 (OpenALPR training data)"

_BR_NAME = re.compile(
    r"^#*_(?P<series>[A-Z]{2})_\d+_(?P<text>[A-Za-z0-9]+)\.JPG_[\d_]+$", re.IGNORECASE
)
_EU2_NAME = re.compile(
    r"^crop_(?P<country>[a-z]+)_(?P<text>[a-z0-9-]+?)(?P<view>_front|_rear)?(?P<close>_close)?$"
)
_CHAR_NAME = re.compile(r"^(?P<char>[A-Za-z0-9])-(?P<pos>\d+)-(?P<plate>.+)$")


def _plates(
    name: str,
    root: Path,
    parse: re.Pattern[str],
    text_of: Callable[[re.Match[str]], str],
    subset_of: Callable[[re.Match[str]], str],
    source: str,
) -> ListedDataset:
    """A sample per image of ``root`` whose name ``parse`` matches."""
    samples: list[PlateSample] = []
    problems: list[DatasetProblem] = []
    for path in image_files(root):
        m = parse.match(path.stem)
        text = text_of(m) if m else ""
        if not m or not text.isalnum():
            problems.append(
                DatasetProblem("bad-name", path.name, "the file name does not encode a plate text")
            )
            continue
        samples.append(
            PlateSample(
                id=path.name,
                text=text,
                path=path,
                subset=subset_of(m),
                group=text,
                meta=dict(m.groupdict()),
            )
        )
    return ListedDataset(name, root, source, Charset(LATIN), samples, problems)


@register_dataset("openalpr-br")
def open_openalpr_br(
    data_dir: Path | None = None, *, strict: bool = True, test_fraction: float = 0.2, seed: int = 0
) -> ListedDataset:
    """Brazilian plate crops of ``openalpr-train-detector/br`` (``data_dir``: that
    folder or a data root above it)."""
    root = find_folder(
        data_dir, subpath="openalpr-train-detector/br", what="openalpr train-detector br/",
        is_release=lambda p: any(p.glob("*.JPG_*.jpg")), published=DETECTOR,
    )  # fmt: skip
    ds = _plates(
        "openalpr-br", root, _BR_NAME, lambda m: m["text"].upper(), lambda m: m["series"].upper(),
        f"OpenALPR train-detector br/ at {root} ({LICENCE})",
    )  # fmt: skip
    ds.strict, ds.test_fraction, ds.seed = strict, test_fraction, seed
    return ds


@register_dataset("openalpr-eu2")
def open_openalpr_eu2(
    data_dir: Path | None = None, *, strict: bool = True, test_fraction: float = 0.2, seed: int = 0
) -> ListedDataset:
    """European plate crops of ``openalpr-train-detector/eu2``."""
    root = find_folder(
        data_dir, subpath="openalpr-train-detector/eu2", what="openalpr train-detector eu2/",
        is_release=lambda p: any(p.glob("crop_*.jpg")), published=DETECTOR,
    )  # fmt: skip
    ds = _plates(
        "openalpr-eu2", root, _EU2_NAME, lambda m: m["text"].replace("-", "").upper(), lambda m: m["country"],
        f"OpenALPR train-detector eu2/ at {root} ({LICENCE})",
    )  # fmt: skip
    ds.strict, ds.test_fraction, ds.seed = strict, test_fraction, seed
    return ds


# ----------------------------------------------------------------- single characters

CHAR_COUNTRIES = ("gb", "br")
SHEET_COUNTRIES = ("eu", "fr")


@register_dataset("openalpr-chars")
def open_openalpr_chars(
    data_dir: Path | None = None, *, countries: str = ",".join(CHAR_COUNTRIES), strict: bool = True,
    test_fraction: float = 0.2, seed: int = 0,
) -> ListedDataset:  # fmt: skip
    """Single real characters of ``openalpr-train-ocr/<country>/chars`` (``countries``:
    comma-separated, default ``gb,br``); text: the character, upper case."""
    wanted = [c.strip() for c in countries.split(",") if c.strip()]
    root = find_folder(
        data_dir, subpath="openalpr-train-ocr", what="openalpr train-ocr",
        is_release=lambda p: any((p / c / "chars").is_dir() for c in wanted), published=OCR,
    )  # fmt: skip
    samples: list[PlateSample] = []
    problems: list[DatasetProblem] = []
    for country in wanted:
        folder = root / country / "chars"
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} not found (countries with chars/: {', '.join(CHAR_COUNTRIES)})"
            )
        for path in image_files(folder):
            m = _CHAR_NAME.match(path.stem)
            rel = f"{country}/chars/{path.name}"
            if not m:
                problems.append(
                    DatasetProblem("bad-name", rel, "expected <char>-<position>-<plate>.jpg")
                )
                continue
            text = m["char"].upper()
            samples.append(
                PlateSample(id=rel, text=text, path=path, subset=country, group=f"{country}/{m['plate']}",
                            meta={"position": int(m["pos"]), "kind": "char"})
            )  # fmt: skip
    ds = ListedDataset(
        "openalpr-chars", root, f"OpenALPR train-ocr chars/ ({', '.join(wanted)}) at {root} ({LICENCE})",
        Charset(LATIN), samples, problems, strict, test_fraction, seed,
    )  # fmt: skip
    return ds


_SHEETS: OrderedDict[Path, np.ndarray] = OrderedDict()
_SHEETS_LOCK = threading.Lock()


def _sheet(path: Path) -> np.ndarray:
    """The sheet's pixels as uint8 RGB, a few kept in memory (sheets are ~10-30 MB)."""
    with _SHEETS_LOCK:
        if path in _SHEETS:
            _SHEETS.move_to_end(path)
            return _SHEETS[path]
    from segocr.io import read_image

    image = read_image(path)
    with _SHEETS_LOCK:
        _SHEETS[path] = image
        while len(_SHEETS) > 3:
            _SHEETS.popitem(last=False)
    return image


@dataclass(frozen=True)
class SheetCharSample(PlateSample):
    """One character box of a Tesseract sheet; :meth:`load` cuts it (with a margin of
    ``margin`` x the box height on every side) from the sheet file ``sheet``. ``box``
    is in top-left image coordinates. (``path`` stays None: many samples share a sheet.)"""

    sheet: Path = Path()
    box: CharBox = field(default_factory=lambda: CharBox(0, 0, 1, 1))
    margin: float = 0.15

    def load(self) -> np.ndarray:
        sheet = _sheet(self.sheet)
        H, W = sheet.shape[:2]
        b, m = self.box, round(self.margin * self.box.h)
        x0, y0, x1, y1 = max(0, b.x - m), max(0, b.y - m), min(W, b.x2 + m), min(H, b.y2 + m)
        if x1 <= x0 or y1 <= y0:
            raise ImageReadError(f"{self.sheet}: box {b} lies outside the {W}x{H} sheet")
        return np.ascontiguousarray(sheet[y0:y1, x0:x1])


def parse_box_line(line: str, page_height: int) -> tuple[str, CharBox]:
    """A Tesseract box line ``char x1 y1 x2 y2 page`` (y from the bottom) as the
    character and its box in top-left coordinates.

    >>> parse_box_line("O 237 3016 264 3061 0", 3300)
    ('O', CharBox(x=237, y=239, w=27, h=45))
    """
    parts = line.split()
    if len(parts) != 6:
        raise ValueError(f"expected 6 fields (char x1 y1 x2 y2 page), got {len(parts)}")
    char = parts[0]
    x1, y1, x2, y2 = (int(v) for v in parts[1:5])
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"empty box {x1},{y1},{x2},{y2}")
    return char, CharBox(x1, page_height - y2, x2 - x1, y2 - y1)


def _page_height(tif: Path) -> int:
    """Pixel rows of a sheet (box files count y from its bottom)."""
    full = cv2.imread(str(tif), cv2.IMREAD_GRAYSCALE)
    if full is None:
        raise ImageReadError(f"{tif}: cannot read the sheet")
    return int(full.shape[0])


@register_dataset("openalpr-sheets")
def open_openalpr_sheets(
    data_dir: Path | None = None, *, countries: str = ",".join(SHEET_COUNTRIES), strict: bool = True,
    test_fraction: float = 0.2, seed: int = 0,
) -> ListedDataset:  # fmt: skip
    """Character boxes of the Tesseract sheets ``openalpr-train-ocr/<country>/input``
    (``countries``: comma-separated, default ``eu,fr``; ``gb`` and ``br`` repeat the
    ``chars`` folders)."""
    wanted = [c.strip() for c in countries.split(",") if c.strip()]
    root = find_folder(
        data_dir, subpath="openalpr-train-ocr", what="openalpr train-ocr",
        is_release=lambda p: any((p / c / "input").is_dir() for c in wanted), published=OCR,
    )  # fmt: skip
    samples: list[PlateSample] = []
    problems: list[DatasetProblem] = []
    for country in wanted:
        folder = root / country / "input"
        if not folder.is_dir():
            raise DatasetError(f"{folder} not found")
        for box_file in sorted(folder.glob("*.box")):
            tif = box_file.with_suffix(".tif")
            rel_box = f"{country}/input/{box_file.name}"
            if not tif.is_file():
                problems.append(
                    DatasetProblem("missing-file", rel_box, f"{tif.name} does not exist")
                )
                continue
            try:
                height = _page_height(tif)
            except ImageReadError as e:
                problems.append(DatasetProblem("unreadable-image", rel_box, str(e)))
                continue
            font = box_file.name.split(".")[1] if box_file.name.count(".") >= 2 else box_file.stem
            for n, line in enumerate(
                box_file.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
            ):
                if not line.strip():
                    continue
                where = f"{rel_box}:{n}"
                try:
                    char, box = parse_box_line(line, height)
                except ValueError as e:
                    problems.append(DatasetProblem("bad-row", where, str(e)))
                    continue
                if not char.isalnum() or len(char) != 1:
                    problems.append(
                        DatasetProblem("bad-row", where, f"{char!r} is not one letter or digit")
                    )
                    continue
                samples.append(
                    SheetCharSample(
                        id=where, text=char.upper(), sheet=tif, subset=f"{country}/{font}",
                        group=where, meta={"kind": "char"}, box=box,
                    )
                )  # fmt: skip
    return ListedDataset(
        "openalpr-sheets", root, f"OpenALPR train-ocr Tesseract sheets ({', '.join(wanted)}) at {root} ({LICENCE})",
        Charset(LATIN), samples, problems, strict, test_fraction, seed,
    )  # fmt: skip
