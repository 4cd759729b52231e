"""What is in a dataset, and everything wrong with it: ``segocr datasets info``.

Two layers find problems, and both only collect them, never stopping at the first:

- a loader's *index scan* (:class:`Scannable`): the rows or file names it could not turn
  into samples (a CSV row naming a missing file, an unparsable CCPD name, an empty
  label). Such rows are left out of the samples and listed as :class:`DatasetProblem`.
  Loaders opened with ``strict=True`` (the default) raise :class:`DatasetError` from
  ``samples()`` listing all of them; ``dataset_info`` always uses the scan, so it
  reports them whatever the loader's ``strict``.
- :func:`dataset_info` itself, on the samples: missing and unreadable images, labels
  with characters outside the charset, duplicate ids, paths and images (same bytes),
  and plate texts on both sides of the train/test split. It reads every image.

>>> from segocr.charset import Charset
>>> from segocr.datasets.base import PlateSample
>>> class Tiny:
...     name, source, charset = "tiny", "made up", Charset("AB")
...     def samples(self, split="all"):
...         img = np.zeros((2, 5, 3), np.uint8)
...         s = [PlateSample(id="1", text="AB", image=img), PlateSample(id="2", text="A@", image=img)]
...         return s if split != "test" else []
>>> info = dataset_info(Tiny())
>>> dict(info.counts), info.height_range, info.width_range
({'train': 2, 'test': 0, 'all': 2}, (2, 2), (5, 5))
>>> [p.kind for p in info.problems]
['outside-charset', 'duplicate-image']
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from segocr.datasets.base import SPLITS, Dataset, PlateSample
from segocr.datasets.masked import MASK_CHAR
from segocr.errors import DatasetError, ImageReadError, SegocrError
from segocr.names import one_line

#: The kinds of problem, in the order reports list them.
PROBLEM_KINDS = (
    "empty",  # no sample at all (an empty folder, or nothing the loader recognises)
    "index",  # the dataset's index could not be read at all (samples() raised)
    "bad-row",  # a CSV row without a path or a label
    "bad-name",  # a file name that does not encode a label (CCPD)
    "missing-file",  # a listed image that does not exist
    "unlabelled",  # an image in the folder that the labels file does not list
    "unreadable-image",  # an image that does not decode (segocr.errors.ImageReadError)
    "bad-sample",  # an image that decodes but the sample cannot be cut from it
    "empty-label",
    "outside-charset",  # a label with characters the dataset's charset lacks
    "duplicate-id",
    "duplicate-path",  # one file listed under several ids
    "duplicate-image",  # different files with the same bytes
    "split-leak",  # a plate text (group) on both sides of the train/test split
)


@dataclass(frozen=True)
class DatasetProblem:
    """One thing wrong with a dataset: ``kind`` (one of :data:`PROBLEM_KINDS`), ``where``
    (a sample id, a file or ``file:line``) and a human ``detail``.

    >>> str(DatasetProblem("missing-file", "labels.csv:3", "a.png not found"))
    'missing-file  labels.csv:3: a.png not found'
    """

    kind: str
    where: str
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(
                f"unknown problem kind {self.kind!r}; choose one of: {', '.join(PROBLEM_KINDS)}"
            )

    def __str__(self) -> str:
        return f"{self.kind}  {one_line(self.where)}: {one_line(self.detail)}"  # a name's ESC or BEL stays text


@dataclass(frozen=True)
class IndexScan:
    """What a loader made of its index for one split: the samples it could build and
    the rows it had to leave out."""

    samples: tuple[PlateSample, ...]
    problems: tuple[DatasetProblem, ...]


@runtime_checkable
class Scannable(Protocol):
    """A loader that reports the rows it could not turn into samples instead of raising."""

    def scan(self, split: str = "all") -> IndexScan:
        """Samples of ``split`` and the index problems, never raising for a bad row."""
        ...


def problems_error(title: str, problems: Sequence[DatasetProblem]) -> DatasetError:
    """A :class:`DatasetError` listing every problem (what strict loaders raise).

    >>> print(problems_error("x: 1 problem", [DatasetProblem("bad-row", "l.csv:2", "no path")]))
    x: 1 problem (open it with strict=False, or run `segocr datasets info`, to go on without them):
      bad-row  l.csv:2: no path
    """
    lines = "\n  ".join(str(p) for p in problems)
    return DatasetError(
        f"{title} (open it with strict=False, or run `segocr datasets info`, to go on without them):\n  {lines}"
    )


@dataclass(frozen=True)
class DatasetInfo:
    """The summary :func:`dataset_info` returns.

    ``counts``: samples per split (``train``, ``test``, ``all``); ``subset_counts``:
    split -> subset (``""`` when the dataset has none) -> samples; ``length_histogram``:
    label length -> samples (split ``all``); ``height_range`` / ``width_range``: (min, max)
    pixels of the images as :meth:`PlateSample.load` returns them (``None`` when none
    could be read); ``problems``: everything found, sorted by kind.
    """

    name: str
    source: str
    charset: str
    counts: Mapping[str, int]
    subset_counts: Mapping[str, Mapping[str, int]]
    length_histogram: Mapping[int, int]
    height_range: tuple[int, int] | None
    width_range: tuple[int, int] | None
    images_read: int
    problems: tuple[DatasetProblem, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _split(dataset: Dataset, split: str) -> IndexScan:
    """The samples of ``split`` and the index problems, whatever kind of loader."""
    if isinstance(dataset, Scannable):
        return dataset.scan(split)
    try:
        return IndexScan(tuple(dataset.samples(split)), ())
    except DatasetError as e:
        return IndexScan((), (DatasetProblem("index", dataset.name, f"split {split}: {e}"),))


def _digest(sample: PlateSample) -> str | None:
    """sha256 of the sample's file bytes (or of its in-memory pixels), None if unreadable."""
    if sample.image is not None:
        h = hashlib.sha256(str(sample.image.shape).encode())
        h.update(np.ascontiguousarray(sample.image).tobytes())
        return h.hexdigest()
    if sample.path is None:
        return None
    from segocr.io import read_file_bytes

    try:  # a regular file of bounded size only: a FIFO or /dev/zero must not hang or fill memory
        return hashlib.sha256(read_file_bytes(sample.path)).hexdigest()
    except ImageReadError:
        return None


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())


@dataclass(frozen=True)
class _Look:
    """What reading one sample found."""

    file: str  # the file (resolved), or ``id:...`` for in-memory pixels
    digest: str | None
    shape: tuple[int, int] | None
    problem: DatasetProblem | None


def _look(s: PlateSample) -> _Look:
    """Hash and load one sample, turning every failure into a problem."""
    file = _key(s.path) if s.image is None and s.path is not None else f"id:{s.id}"
    if s.image is None and s.path is not None and not s.path.exists():
        return _Look(
            file, None, None, DatasetProblem("missing-file", s.id, f"{s.path} does not exist")
        )
    digest = _digest(s)
    try:
        image = s.load()
    except ImageReadError as e:
        return _Look(file, digest, None, DatasetProblem("unreadable-image", s.id, str(e)))
    except SegocrError as e:
        return _Look(file, digest, None, DatasetProblem("bad-sample", s.id, str(e)))
    return _Look(file, digest, (int(image.shape[0]), int(image.shape[1])), None)


def dataset_info(dataset: Dataset, *, progress: bool = False, workers: int = 8) -> DatasetInfo:
    """Count, measure and check ``dataset``; reads every image once, in ``workers``
    threads (``progress`` shows a tqdm bar on stderr). Never raises for a problem in the
    data: it is listed in :attr:`DatasetInfo.problems`."""
    scans = {split: _split(dataset, split) for split in SPLITS}
    samples = list(scans["all"].samples)
    # Index problems of every split, each once (a scan reports those of its whole index).
    problems = list(dict.fromkeys(p for scan in scans.values() for p in scan.problems))
    if not samples:
        problems.append(
            DatasetProblem("empty", dataset.name, "no samples at all: nothing to train on or measure")
        )
    charset = dataset.charset

    # Labels.
    for s in samples:
        if not s.text:
            problems.append(DatasetProblem("empty-label", s.id, "the label is empty"))
        elif unknown := charset.unknown(s.text.replace(MASK_CHAR, "")):  # hidden characters
            problems.append(
                DatasetProblem(
                    "outside-charset", s.id, f"label {s.text!r} has {unknown!r}, not in the charset"
                )
            )

    # Duplicate ids, and one file under several ids.
    for sid, n in Counter(s.id for s in samples).items():
        if n > 1:
            problems.append(DatasetProblem("duplicate-id", sid, f"listed {n} times"))
    ids_by_path: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        if s.path is not None and s.id not in ids_by_path[_key(s.path)]:
            ids_by_path[_key(s.path)].append(s.id)
    for path, ids in ids_by_path.items():
        if len(ids) > 1:
            problems.append(DatasetProblem("duplicate-path", path, f"listed as {', '.join(ids)}"))

    # Split leaks.
    train_groups = {s.group or s.text for s in scans["train"].samples}
    for group in sorted(train_groups & {s.group or s.text for s in scans["test"].samples}):
        problems.append(DatasetProblem("split-leak", group, "in both train and test"))

    # Images: each distinct sample once, read in threads (decoding releases the GIL).
    heights: list[int] = []
    widths: list[int] = []
    ids_by_digest: dict[str, list[str]] = defaultdict(list)
    seen_files: set[str] = set()  # so that one file under two ids is not also duplicate-image
    unique: dict[str, PlateSample] = {}
    for s in samples:
        unique.setdefault(s.id, s)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        looks = pool.map(_look, unique.values())
        bar = tqdm(
            looks,
            total=len(unique),
            desc=f"reading {dataset.name}",
            unit="img",
            disable=not progress,
        )
        for s, look in zip(unique.values(), bar, strict=True):
            if look.digest is not None and look.file not in seen_files:
                seen_files.add(look.file)
                ids_by_digest[look.digest].append(s.id)
            if look.problem is not None:
                problems.append(look.problem)
            if look.shape is not None:
                heights.append(look.shape[0])
                widths.append(look.shape[1])
    for ids in ids_by_digest.values():
        if len(ids) > 1:
            problems.append(
                DatasetProblem("duplicate-image", ids[0], f"same bytes as {', '.join(ids[1:])}")
            )

    order = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    return DatasetInfo(
        name=dataset.name,
        source=dataset.source,
        charset=charset.chars,
        counts={split: len(scan.samples) for split, scan in scans.items()},
        subset_counts={
            split: dict(sorted(Counter(s.subset for s in scan.samples).items()))
            for split, scan in scans.items()
        },
        length_histogram=dict(sorted(Counter(len(s.text) for s in samples).items())),
        height_range=(min(heights), max(heights)) if heights else None,
        width_range=(min(widths), max(widths)) if widths else None,
        images_read=len(heights),
        problems=tuple(sorted(problems, key=lambda p: order[p.kind])),
    )


def _row_key(sample: PlateSample) -> tuple[str, str]:
    """What makes two rows the same plate: the file (resolved) and the loader's meta
    (e.g. which crop of a frame); in-memory samples by id."""
    if sample.path is None:
        return (f"id:{sample.id}", "")
    return (_key(sample.path), repr(sorted((str(k), repr(v)) for k, v in sample.meta.items())))


def deduplicate(samples: Sequence[PlateSample]) -> tuple[list[PlateSample], list[str]]:
    """``samples`` without repeated rows, and one message per repeated plate.

    Rows naming the same file (and the same crop of it) with the same label are
    kept once, first occurrence, in order: counting one plate twice would weigh it
    double in every figure. Rows naming the same file with *different* labels
    cannot both be right: :class:`DatasetError` lists them all (``datasets info``
    reports the same rows as ``duplicate-path``).

    >>> a = PlateSample(id="a", text="AB1", path=Path("x.png"))
    >>> kept, notes = deduplicate([a, PlateSample(id="a2", text="AB1", path=Path("x.png"))])
    >>> [s.id for s in kept], notes
    (['a'], ['x.png is listed 2 times with the same label (AB1): counted once'])
    >>> deduplicate([a, PlateSample(id="b", text="AB7", path=Path("x.png"))])
    Traceback (most recent call last):
    ...
    segocr.errors.DatasetError: 1 image(s) listed with conflicting labels (fix the labels; `segocr datasets info` lists every problem):
      x.png: 'AB1' (a), 'AB7' (b)
    """
    groups: dict[tuple[str, str], list[PlateSample]] = defaultdict(list)
    for s in samples:
        groups[_row_key(s)].append(s)
    conflicts: list[str] = []
    notes: list[str] = []
    for rows in groups.values():
        if len(rows) == 1:
            continue
        where = str(rows[0].path) if rows[0].path is not None else f"sample {rows[0].id!r}"
        if len({r.text for r in rows}) > 1:
            conflicts.append(f"{where}: " + ", ".join(f"{r.text!r} ({r.id})" for r in rows))
        else:
            notes.append(f"{where} is listed {len(rows)} times with the same label ({rows[0].text}): counted once")
    if conflicts:
        raise DatasetError(
            f"{len(conflicts)} image(s) listed with conflicting labels (fix the labels; "
            "`segocr datasets info` lists every problem):\n  " + "\n  ".join(conflicts)
        )
    kept = [rows[0] for rows in groups.values()]
    first = {id(s) for s in kept}
    return [s for s in samples if id(s) in first], notes


def format_info(info: DatasetInfo) -> str:
    """A plain-text report of ``info``, one fact per line, every problem listed.

    >>> info = DatasetInfo("tiny", "made up", "AB", {"train": 2, "test": 0, "all": 2},
    ...     {"train": {"": 2}, "test": {}, "all": {"": 2}}, {2: 2}, (2, 2), (5, 5), 2,
    ...     (DatasetProblem("outside-charset", "2", "label 'A@' has '@', not in the charset"),))
    >>> print(format_info(info))
    dataset   tiny (made up)
    charset   2 characters: AB
    samples   train 2, test 0, all 2
    lengths   2: 2
    sizes     height 2..2, width 5..5 (2 images read)
    problems  1
      outside-charset  2: label 'A@' has '@', not in the charset
    """
    lines = [
        f"dataset   {info.name} ({info.source})",
        f"charset   {len(info.charset)} characters: {info.charset}",
        "samples   " + ", ".join(f"{split} {n}" for split, n in info.counts.items()),
    ]
    if any(subset for counts in info.subset_counts.values() for subset in counts):
        for split, counts in info.subset_counts.items():
            lines.append(
                f"  {split:<6}  " + ", ".join(f"{k or '(none)'} {n}" for k, n in counts.items())
            )
    lines.append(
        "lengths   " + (", ".join(f"{k}: {n}" for k, n in info.length_histogram.items()) or "-")
    )
    if info.height_range is None or info.width_range is None:
        lines.append("sizes     - (no image could be read)")
    else:
        (h0, h1), (w0, w1) = info.height_range, info.width_range
        lines.append(
            f"sizes     height {h0}..{h1}, width {w0}..{w1} ({info.images_read} images read)"
        )
    if not info.problems:
        lines.append("problems  none")
    else:
        lines.append(f"problems  {len(info.problems)}")
        lines += [f"  {p}" for p in info.problems]
    return "\n".join(lines)
