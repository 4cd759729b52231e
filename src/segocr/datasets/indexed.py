"""Shared pieces of the loaders of released plate collections that keep their source
layout (:mod:`segocr.datasets.openalpr`, :mod:`segocr.datasets.uc3m`,
:mod:`segocr.datasets.cparking`): finding the folder, and a dataset built from a list
of samples plus the index problems met while listing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from segocr.charset import Charset
from segocr.datasets.base import PlateSample, split_samples
from segocr.datasets.info import DatasetProblem, IndexScan, problems_error
from segocr.errors import DatasetError


def find_folder(
    data_dir: Path | None,
    *,
    subpath: str,
    is_release: Callable[[Path], bool],
    what: str,
    published: str,
) -> Path:
    """The folder of a release whose path below a data root is ``subpath`` (e.g.
    ``openalpr-train-detector/br``).

    ``data_dir`` may be the folder itself, the data root, or any folder on the way
    (``.../openalpr-train-detector``); without it ``$SEGOCR_DATA`` and ``./data`` are
    tried as data roots. The first candidate for which ``is_release`` holds wins;
    none raises :class:`DatasetError` saying where it looked and where to get the data.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); (root / "a" / "b").mkdir(parents=True)
    >>> find_folder(root, subpath="a/b", is_release=lambda p: p.name == "b", what="x", published="y") == root / "a" / "b"
    True
    """
    parts = PurePosixPath(subpath).parts
    tails = [Path(*parts[k:]) for k in range(len(parts))]
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(data_dir)
        candidates += [data_dir / t for t in tails]
    else:
        env = os.environ.get("SEGOCR_DATA")
        roots = ([Path(env)] if env else []) + [Path("data")]
        candidates += [r / subpath for r in roots]
    for c in candidates:
        if c.is_dir() and is_release(c):
            return c
    where = ", ".join(str(c) for c in candidates)
    raise DatasetError(
        f"{what} not found (looked in: {where}). Get it from {published} and pass --data-dir "
        f"to its folder (or to the data root holding {subpath}), or set SEGOCR_DATA to that root."
    )


@dataclass
class ListedDataset:
    """A dataset whose samples were listed once: the project's group split by
    ``PlateSample.group`` (80:20 by default), and the index problems kept apart
    (``strict``: :meth:`samples` raises listing them; ``segocr datasets info`` lists them
    either way)."""

    name: str
    root: Path
    source: str
    charset: Charset
    all_samples: list[PlateSample] = field(repr=False)
    problems: list[DatasetProblem] = field(default_factory=list, repr=False)
    strict: bool = True
    test_fraction: float = 0.2
    seed: int = 0

    def scan(self, split: str = "all") -> IndexScan:
        """The samples of ``split`` and the problems of the whole index."""
        samples = split_samples(
            self.all_samples, split, test_fraction=self.test_fraction, seed=self.seed
        )
        return IndexScan(tuple(samples), tuple(self.problems))

    def samples(self, split: str = "all") -> list[PlateSample]:
        scan = self.scan(split)
        if self.strict and scan.problems:
            raise problems_error(
                f"{self.root}: {len(scan.problems)} problem(s) in the index", scan.problems
            )
        return list(scan.samples)


def image_files(folder: Path, suffixes: tuple[str, ...] = (".jpg", ".jpeg", ".png")) -> list[Path]:
    """The image files directly in ``folder`` (not hidden), sorted by name."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )
