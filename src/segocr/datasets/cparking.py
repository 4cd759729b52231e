"""cparking-co (AGPL-3.0): Colombian plate crops, greyscale, named
``<n><ABC123><k>-<copy>.jpg``: after a leading number, the plate (3 letters and 3
digits), then another number and a copy index (``1010722MOR56487-0.jpg`` is ``MOR564``).
Two files of one plate stay on one side of the split (grouped by plate text). The
names are another system's readings, not transcriptions: at least 16% of the training
split's labels are wrong by eye (README, "cparking-co's labels are noisy"); nothing is
corrected here.
"""

from __future__ import annotations

import re
from pathlib import Path

from segocr.charset import LATIN, Charset
from segocr.datasets.base import PlateSample, register_dataset
from segocr.datasets.indexed import ListedDataset, find_folder, image_files
from segocr.datasets.info import DatasetProblem

PUBLISHED_AT = "the cparking-co repository (AGPL-3.0; see its LICENSE)"
LICENCE = "AGPL-3.0"
_NAME = re.compile(r"^(?P<lead>\d+)(?P<text>[A-Z]{3}\d{3})(?P<tail>\d*)-(?P<copy>\d+)$")


def plate_text(stem: str) -> str | None:
    """The plate in a cparking-co file stem, or None.

    >>> plate_text("1010722MOR56487-0"), plate_text("nothing")
    ('MOR564', None)
    """
    m = _NAME.match(stem)
    return m["text"] if m else None


@register_dataset("cparking-co")
def open_cparking_co(
    data_dir: Path | None = None, *, strict: bool = True, test_fraction: float = 0.2, seed: int = 0
) -> ListedDataset:
    """The ``cparking-co/co`` folder (``data_dir``: it, ``cparking-co/`` or a data root)."""
    root = find_folder(
        data_dir, subpath="cparking-co/co", what="cparking-co co/",
        is_release=lambda p: any(p.glob("*-[0-9]*.jpg")), published=PUBLISHED_AT,
    )  # fmt: skip
    samples: list[PlateSample] = []
    problems: list[DatasetProblem] = []
    for path in image_files(root):
        text = plate_text(path.stem)
        if text is None:
            problems.append(
                DatasetProblem("bad-name", path.name, "expected <n><ABC123><n>-<k>.jpg")
            )
            continue
        samples.append(PlateSample(id=path.name, text=text, path=path, group=text))
    return ListedDataset(
        "cparking-co", root, f"cparking-co at {root} ({LICENCE})", Charset(LATIN), samples, problems, strict,
        test_fraction, seed,
    )  # fmt: skip
