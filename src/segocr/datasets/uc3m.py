"""UC3M-LP OCR part (Ramajo-Ballester et al. 2024; ODbL, commercial use needs the
authors' consent): Spanish plate crops in the YOLO layout of the release,
``OCR/images/{train,val}/<id>_<type>-<TEXT>.jpg`` with ``OCR/labels/{train,val}/*.txt``
(one line per *visible* character: ``class cx cy w h``, relative; classes ``0-9`` then
``A-Z``).

Two characters of every plate are greyed out in the image for anonymity, written ``-``
in the file name (``00001_AN-074-C-V``: the text ``074-C-V``). They become
:data:`segocr.datasets.masked.MASK_CHAR` in :attr:`PlateSample.text` (``074?C?V``):
nothing is trained on a guess of them; sequence models leave these plates out, the
segcnn classifier takes the visible characters from their boxes
(:func:`visible_boxes`), and scores count the visible positions only
(:mod:`segocr.datasets.masked`).

The type code is two letters: the plate type (``A`` one-row white, ``B`` two-row
motorcycle, ``C`` yellow, ``D`` taxi blue, ``E`` trailer red) and the light (``D`` day,
``N`` night: the subset). The split is the project's group split (80:20), not the
release's train/val: one plate appears in several images, and since the hidden
positions differ, plates are grouped when their labels agree on at least four visible
positions and nowhere disagree (:func:`plate_groups`).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from segocr.charset import DIGITS, LATIN, LETTERS, Charset
from segocr.datasets.base import PlateSample, register_dataset
from segocr.datasets.indexed import ListedDataset, find_folder
from segocr.datasets.info import DatasetProblem
from segocr.datasets.masked import MASK_CHAR
from segocr.segment.boxes import CharBox

PUBLISHED_AT = "https://github.com/ramajoballester/UC3M-LP (ODbL; commercial use: ask the authors)"
LICENCE = "ODbL 1.0; commercial use needs the UC3M-LP authors' consent"
#: YOLO class id -> character (``cfg/UC3M-LP-ocr.yaml``).
CLASSES = DIGITS + LETTERS
_NAME = re.compile(r"^(?P<id>\d+)_(?P<type>[A-Z])(?P<light>[DN])-(?P<text>[A-Z0-9-]+)$")
_LIGHT = {"D": "day", "N": "night"}


def plate_groups(texts: Sequence[str], *, min_agree: int = 4) -> dict[str, str]:
    """Masked label -> group key: labels of equal length that agree on at least
    ``min_agree`` positions visible in both, and disagree on none, are (transitively)
    one group, keyed by its smallest label.

    >>> g = plate_groups(["12?4AB?", "1?34AB?", "99?9ZZ?"])
    >>> g["12?4AB?"] == g["1?34AB?"], g["99?9ZZ?"]
    (True, '99?9ZZ?')
    """
    unique = sorted(set(texts))
    parent = {t: t for t in unique}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Candidates share ``min_agree`` visible positions with equal characters: bucket
    # every label under each such choice of positions (a few keys per label).
    buckets: dict[tuple[int, tuple[int, ...], str], list[str]] = defaultdict(list)
    for t in unique:
        shown = [i for i, c in enumerate(t) if c != MASK_CHAR]
        for pos in itertools.combinations(shown, min_agree):
            buckets[(len(t), pos, "".join(t[i] for i in pos))].append(t)
    for same in buckets.values():
        for a, b in itertools.combinations(same, 2):
            if all(x == y or MASK_CHAR in (x, y) for x, y in zip(a, b)):
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    return {t: find(t) for t in unique}


def visible_boxes(sample: PlateSample, shape: tuple[int, ...]) -> list[tuple[str, CharBox]]:
    """The visible characters of a UC3M-LP sample with their boxes in pixels of its
    image (``shape``: the image's (H, W, ...)), in label order.

    >>> s = PlateSample("x", "1?", meta={"boxes": (("1", 0.25, 0.5, 0.2, 0.8),)})
    >>> visible_boxes(s, (40, 100, 3))
    [('1', CharBox(x=15, y=4, w=20, h=32))]
    """
    H, W = shape[0], shape[1]
    out = []
    for char, cx, cy, w, h in sample.meta.get("boxes", ()):
        x0, y0 = round((cx - w / 2) * W), round((cy - h / 2) * H)
        x1, y1 = round((cx + w / 2) * W), round((cy + h / 2) * H)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        if x1 > x0 and y1 > y0:
            out.append((char, CharBox(x0, y0, x1 - x0, y1 - y0)))
    return out


def _read_boxes(path: Path) -> tuple[tuple[str, float, float, float, float], ...]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        k, cx, cy, w, h = line.split()
        out.append((CLASSES[int(k)], float(cx), float(cy), float(w), float(h)))
    return tuple(out)


@register_dataset("uc3m-ocr")
def open_uc3m_ocr(
    data_dir: Path | None = None, *, strict: bool = True, test_fraction: float = 0.2, seed: int = 0
) -> ListedDataset:
    """The UC3M-LP ``OCR/`` folder (``data_dir``: it, ``uc3m-lp/`` or a data root)."""
    root = find_folder(
        data_dir, subpath="uc3m-lp/OCR", what="UC3M-LP OCR/",
        is_release=lambda p: (p / "images").is_dir() and (p / "labels").is_dir(), published=PUBLISHED_AT,
    )  # fmt: skip
    rows: list[
        tuple[Path, str, re.Match[str], tuple[tuple[str, float, float, float, float], ...]]
    ] = []
    problems: list[DatasetProblem] = []
    for folder in sorted(p for p in (root / "images").iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            rel = f"{folder.name}/{path.name}"
            m = _NAME.match(path.stem)
            if not m:
                problems.append(
                    DatasetProblem("bad-name", rel, "expected <id>_<type><D|N>-<TEXT>.jpg")
                )
                continue
            label = root / "labels" / folder.name / f"{path.stem}.txt"
            try:
                boxes = _read_boxes(label)
            except (OSError, ValueError, IndexError) as e:
                problems.append(
                    DatasetProblem("bad-row", rel, f"labels/{folder.name}/{label.name}: {e}")
                )
                continue
            visible = m["text"].replace("-", "")
            if "".join(b[0] for b in boxes) != visible:
                problems.append(
                    DatasetProblem(
                        "bad-row",
                        rel,
                        f"the boxes read {''.join(b[0] for b in boxes)!r}, the name {visible!r}",
                    )
                )
                continue
            rows.append((path, rel, m, boxes))
    groups = plate_groups([m["text"].replace("-", MASK_CHAR) for _, _, m, _ in rows])
    samples = []
    for path, rel, m, boxes in rows:
        text = m["text"].replace("-", MASK_CHAR)
        samples.append(
            PlateSample(
                id=rel, text=text, path=path, subset=_LIGHT[m["light"]], group=groups[text],
                meta={"plate_type": m["type"], "release_split": path.parent.name, "boxes": boxes},
            )
        )  # fmt: skip
    return ListedDataset(
        "uc3m-ocr", root, f"UC3M-LP OCR/ at {root} ({LICENCE}); {MASK_CHAR} marks a greyed-out character",
        Charset(LATIN), samples, problems, strict, test_fraction, seed,
    )  # fmt: skip
