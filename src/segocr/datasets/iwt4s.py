"""IWT4S HDR LP (BUT FIT, AVSS 2017): cropped Czech plates, each track captured twice,
``crop_mN/`` (normal exposure) and ``crop_hN/`` (HDR), N = camera set 1..4.

The release's ``trainVal.csv`` has ``track_id,image_path,lp,train`` with ``./``-prefixed
paths; ``train`` is 0 on every row, so the project defines the split
(:func:`segocr.datasets.splits.group_split`, grouped by plate text).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample, register_dataset, resolve_data_dir, split_samples
from segocr.errors import DatasetError

RELEASE_DIR = "2017-IWT4S-HDR_LP-dataset"
INDEX_FILE = "trainVal.csv"
PUBLISHED_AT = "https://medusa.fit.vutbr.cz/traffic/datasets/ (IWT4S HDR LP, CC BY-NC-SA 4.0)"
_VARIANT = re.compile(r"crop_([hm])(\d+)")


def find_release(data_dir: Path | None) -> Path:
    """The folder holding ``trainVal.csv``: ``data_dir`` itself, or its
    ``2017-IWT4S-HDR_LP-dataset`` or ``iwt4s/2017-IWT4S-HDR_LP-dataset`` subfolder.
    Raises :class:`DatasetError` saying where to put the data when none is found."""
    base = resolve_data_dir(data_dir, subdir="iwt4s")
    tried = [data_dir] if data_dir is not None else []
    if base is not None:
        for cand in (base, base / RELEASE_DIR, base / "iwt4s" / RELEASE_DIR):
            if (cand / INDEX_FILE).is_file():
                return cand
            tried.append(cand)
    where = f"looked in: {', '.join(dict.fromkeys(map(str, tried)))}" if tried else "no --data-dir given, $SEGOCR_DATA not set, no data/iwt4s here"
    raise DatasetError(
        f"IWT4S not found ({where}). Download it from {PUBLISHED_AT}, unpack it "
        f"so that {RELEASE_DIR}/{INDEX_FILE} exists, and pass --data-dir to that folder "
        "or set SEGOCR_DATA to its parent."
    )


@dataclass
class IWT4S:
    """The IWT4S dataset read from its release folder."""

    root: Path
    test_fraction: float = 0.2
    seed: int = 0
    name: str = "iwt4s"
    charset: Charset = field(default_factory=lambda: Charset(LATIN))

    @property
    def source(self) -> str:
        return f"IWT4S HDR LP at {self.root}"

    def _all(self) -> list[PlateSample]:
        index = self.root / INDEX_FILE
        problems: list[str] = []
        out: list[PlateSample] = []
        with index.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"track_id", "image_path", "lp"} - set(reader.fieldnames or [])
            if missing:
                raise DatasetError(f"{index}: missing columns {sorted(missing)}")
            for line, row in enumerate(reader, start=2):
                rel = row["image_path"].strip().removeprefix("./")
                text = row["lp"].strip().upper()
                m = _VARIANT.search(rel)
                if not rel or not text:
                    problems.append(f"{index}:{line}: empty path or label")
                    continue
                out.append(
                    PlateSample(
                        id=rel,
                        text=text,
                        path=self.root / rel,
                        subset={"h": "hdr", "m": "normal"}[m.group(1)] if m else "",
                        group=text,
                        meta={
                            "track_id": row["track_id"].strip().removeprefix("./"),
                            "variant": m.group(1) if m else "",
                            "camera_set": int(m.group(2)) if m else 0,
                        },
                    )
                )
        if problems:
            raise DatasetError("IWT4S index problems:\n  " + "\n  ".join(problems))
        return out

    def samples(self, split: str = "all") -> list[PlateSample]:
        return split_samples(self._all(), split, test_fraction=self.test_fraction, seed=self.seed)


@register_dataset("iwt4s")
def open_iwt4s(data_dir: Path | None = None, *, test_fraction: float = 0.2, seed: int = 0) -> IWT4S:
    """Open IWT4S (see :func:`find_release` for where it is looked for)."""
    return IWT4S(find_release(data_dir), test_fraction=test_fraction, seed=seed)
