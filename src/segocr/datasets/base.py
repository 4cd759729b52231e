"""Plate samples, the dataset protocol and the registry of named datasets."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from segocr.charset import Charset
from segocr.errors import DatasetError
from segocr.registry import Registry

SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class PlateSample:
    """One labelled plate crop.

    ``id`` is stable across runs (a path relative to the dataset root, or a synthetic
    index); ``group`` is what the leak-free split groups by (the plate text for real
    data); ``subset`` names a slice reported apart (IWT4S: ``hdr`` or ``normal``).
    Either ``path`` or ``image`` (uint8 RGB, (H, W, 3)) gives the pixels.
    """

    id: str
    text: str
    path: Path | None = None
    subset: str = ""
    group: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)

    def load(self) -> np.ndarray:
        """The sample's pixels as uint8 RGB (H, W, 3); raises
        :class:`segocr.errors.ImageReadError` for a bad file."""
        if self.image is not None:
            return self.image
        if self.path is None:
            raise DatasetError(f"sample {self.id!r} has neither a path nor an image")
        from segocr.io import read_image

        return read_image(self.path)


@runtime_checkable
class Dataset(Protocol):
    """A named, labelled set of plate crops with a fixed train/test split."""

    name: str
    charset: Charset
    @property
    def source(self) -> str:
        """A short description of where the data came from (shown by the benchmark)."""
        ...

    def samples(self, split: str = "all") -> list[PlateSample]:
        """The samples of ``split`` (one of ``train``, ``test``, ``all``), in a stable order."""
        ...


DatasetFactory = Callable[..., Dataset]
DATASETS: Registry[DatasetFactory] = Registry(
    "dataset",
    builtin=(
        "segocr.datasets.ccpd",
        "segocr.datasets.cparking",
        "segocr.datasets.folder",
        "segocr.datasets.iwt4s",
        "segocr.datasets.mix",
        "segocr.datasets.openalpr",
        "segocr.datasets.synthetic",
        "segocr.datasets.uc3m",
    ),
    error=lambda message: DatasetError(message),
)


def register_dataset(name: str) -> Callable[[DatasetFactory], DatasetFactory]:
    """Decorator: register ``factory(data_dir: Path | None = None, **options) -> Dataset``."""
    return DATASETS.register(name)


def dataset_names() -> list[str]:
    return DATASETS.names()


def load_dataset(name: str, data_dir: Path | str | None = None, **options: Any) -> Dataset:
    """Open the dataset registered as ``name``. An unknown name raises
    :class:`DatasetError` listing the valid ones; absent data raises it saying where to
    put the data."""
    return DATASETS.get(name)(Path(data_dir) if data_dir is not None else None, **options)


def resolve_data_dir(data_dir: Path | None, *, subdir: str) -> Path | None:
    """Where to look for a dataset: ``data_dir`` if given, else ``$SEGOCR_DATA/subdir``,
    else ``data/subdir`` (relative to the working directory). Returns the first that
    exists, or ``None``."""
    candidates: list[Path] = []
    if data_dir is not None:
        return data_dir if data_dir.exists() else None
    env = os.environ.get("SEGOCR_DATA")
    if env:
        candidates += [Path(env) / subdir, Path(env)]
    candidates.append(Path("data") / subdir)
    for c in candidates:
        if c.exists():
            return c
    return None


def split_samples(samples: list[PlateSample], split: str, *, test_fraction: float = 0.2, seed: int = 0) -> list[PlateSample]:
    """Select ``split`` from ``samples`` with :func:`segocr.datasets.splits.group_split`."""
    from segocr.datasets.splits import group_split

    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if split == "all":
        return list(samples)
    train, test = group_split(samples, test_fraction=test_fraction, seed=seed)
    return train if split == "train" else test
