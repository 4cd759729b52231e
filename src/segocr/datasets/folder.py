"""Any folder of plate crops, labelled either by a CSV or by the file names.

- CSV: columns ``path,text`` (other columns are ignored; a UTF-8 BOM is fine), each
  ``path`` relative to the CSV. The CSV is ``labels.csv`` in the folder, or any file
  given as ``labels=``. Images in the folder that the CSV does not list are reported
  (``unlabelled``).
- File names: every image below the folder (recursively; hidden files skipped) is
  labelled by its stem, e.g. ``lprnet-test-crops/皖A00E66.jpg`` -> ``皖A00E66``. A
  trailing ``_N`` or ``-N`` (1 to 3 digits) marks a second copy of a plate and is
  dropped, so plate texts written in file names cannot end so; use a CSV for those.

A CSV row without a path or label, or naming a file that does not exist, does not
become a sample: it is an index problem (:class:`segocr.datasets.info.DatasetProblem`).
``strict=True`` (the default) makes :meth:`FolderDataset.samples` raise listing them
all; ``strict=False`` goes on without them; ``segocr datasets info`` lists them either way.

The charset is inferred from the labels (:func:`infer_charset`) unless ``charset=`` is
given; the split is the project's group split by plate text (80:20 by default).
Sub-folders name the samples' subsets.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from segocr.charset import CCPD_CHARSET, CCPD_PROVINCES, LATIN, Charset
from segocr.datasets.base import PlateSample, register_dataset, split_samples
from segocr.datasets.info import DatasetProblem, IndexScan, problems_error
from segocr.errors import DatasetError
from segocr.io import iter_image_paths
from segocr.names import one_line, printable

LABELS_FILE = "labels.csv"
_DUPLICATE_MARK = re.compile(r"^(?P<text>.+?)[_-]\d{1,3}$")


def label_from_stem(stem: str) -> str:
    """The plate text a file stem stands for: the stem, NFC-normalized, without a
    trailing duplicate mark ``_N`` / ``-N`` (N: 1 to 3 digits).

    >>> label_from_stem("皖A00E66"), label_from_stem("皖A00E66_1"), label_from_stem("4S12345-2")
    ('皖A00E66', '皖A00E66', '4S12345')
    """
    stem = unicodedata.normalize("NFC", stem.strip())
    m = _DUPLICATE_MARK.match(stem)
    return m.group("text") if m else stem


def infer_charset(texts: Iterable[str]) -> Charset:
    """The alphabet of ``texts``: :data:`~segocr.charset.LATIN` if every character is in
    it, else :data:`~segocr.charset.CCPD_CHARSET` if that covers them, else the union:
    LATIN (or CCPD_CHARSET when a Chinese province occurs) followed by the other
    letters and digits of the labels, sorted. Punctuation and spaces never enter the
    inferred charset, so a label like ``AB@12`` shows up as a problem.

    >>> infer_charset(["9B51234", "AB@12"]).chars == LATIN
    True
    >>> infer_charset(["皖A00E66"]).chars == CCPD_CHARSET
    True
    >>> infer_charset(["ÄB12", "皖A1"]).chars[len(CCPD_CHARSET):]
    'Ä'
    """
    chars = set("".join(texts))
    if chars <= set(LATIN):
        return Charset(LATIN)
    if chars <= set(CCPD_CHARSET):
        return Charset(CCPD_CHARSET)
    base = CCPD_CHARSET if chars & set(CCPD_PROVINCES) else LATIN
    extra = sorted(c for c in chars if c.isalnum() and c not in base)
    return Charset(base + "".join(extra))


def _read_csv(csv_path: Path, root: Path) -> tuple[list[PlateSample], list[DatasetProblem]]:
    """Samples of the CSV's rows, and the rows that could not become samples."""
    samples: list[PlateSample] = []
    problems: list[DatasetProblem] = []
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{csv_path}: cannot read the labels file ({e})") from e
    if not rows:
        raise DatasetError(f"{csv_path}: the labels file is empty (expected a header: path,text)")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("path", "text") if c not in header]
    if missing:
        raise DatasetError(
            f"{one_line(csv_path)}: missing column(s) {', '.join(missing)} (header: {one_line(','.join(rows[0]))})"
        )
    i_path, i_text = header.index("path"), header.index("text")
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        where = f"{csv_path.name}:{line}"
        written = row[i_path].strip() if i_path < len(row) else ""
        text = unicodedata.normalize("NFC", row[i_text].strip()) if i_text < len(row) else ""
        if not written or not text:
            what = "path" if not written else "label"
            problems.append(DatasetProblem("bad-row", where, f"no {what} in row {row}"))
            continue
        path = csv_path.parent / written
        if not path.is_file():
            problems.append(
                DatasetProblem("missing-file", where, f"{written} does not exist ({printable(path)})")
            )
            continue
        try:
            rel = path.resolve().relative_to(root.resolve())
            sid, subset = rel.as_posix(), rel.parent.as_posix().removeprefix(".")
        except ValueError:  # outside the folder
            sid, subset = Path(os.path.normpath(written)).as_posix(), ""
        samples.append(PlateSample(id=sid, text=text, path=path, subset=subset, group=text))
    return samples, problems


def _read_names(root: Path) -> list[PlateSample]:
    """A sample per image below ``root``, labelled by its file name."""
    out = []
    for path in iter_image_paths([root]):
        rel = path.relative_to(root)
        text = label_from_stem(printable(path.stem))  # undecodable name bytes -> \xNN
        out.append(
            PlateSample(
                id=printable(rel.as_posix()),
                text=text,
                path=path,
                subset=printable(rel.parent.as_posix().removeprefix(".")),
                group=text,
            )
        )
    return out


@dataclass
class FolderDataset:
    """Plate crops in ``root``, labelled by ``labels`` (a CSV) or, when ``labels`` is
    None, by the file names. ``alphabet`` fixes the charset (else inferred)."""

    root: Path
    labels: Path | None = None
    alphabet: str | None = None
    strict: bool = True
    test_fraction: float = 0.2
    seed: int = 0
    name: str = "folder"
    charset: Charset = field(init=False)
    source: str = field(init=False)
    _all: list[PlateSample] = field(init=False, repr=False)
    _problems: list[DatasetProblem] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        labels = printable(self.labels) if self.labels else "file names"
        self.source = f"plate crops in {printable(self.root)} (labels: {labels})"
        if self.labels is not None:
            self._all, self._problems = _read_csv(self.labels, self.root)
            listed = {s.path.resolve() for s in self._all if s.path is not None}
            for path in iter_image_paths([self.root]):
                if path.resolve() not in listed:
                    rel = printable(path.relative_to(self.root).as_posix())
                    self._problems.append(
                        DatasetProblem("unlabelled", rel, f"not listed in {self.labels.name}")
                    )
        else:
            self._all, self._problems = _read_names(self.root), []
        self.charset = (
            Charset(self.alphabet) if self.alphabet else infer_charset(s.text for s in self._all)
        )

    def scan(self, split: str = "all") -> IndexScan:
        """The samples of ``split`` and the rows of the whole index that are not samples."""
        samples = split_samples(self._all, split, test_fraction=self.test_fraction, seed=self.seed)
        return IndexScan(tuple(samples), tuple(self._problems))

    def samples(self, split: str = "all") -> list[PlateSample]:
        scan = self.scan(split)
        if self.strict and scan.problems:
            raise problems_error(
                f"{self.root}: {len(scan.problems)} problem(s) in the labels", scan.problems
            )
        return list(scan.samples)


@register_dataset("folder")
def open_folder(
    data_dir: Path | None = None,
    *,
    labels: Path | str | None = None,
    charset: str | None = None,
    strict: bool = True,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> FolderDataset:
    """Open a folder of plate crops: ``data_dir`` (else the folder of ``labels``);
    ``labels``: a CSV (absolute, relative to the working directory, or to
    ``data_dir``), default ``data_dir/labels.csv`` when it exists, else the file names;
    ``charset``: the alphabet, default inferred from the labels."""
    csv_path = Path(labels) if labels is not None else None
    if (
        csv_path is not None
        and not csv_path.is_file()
        and data_dir is not None
        and (data_dir / csv_path).is_file()
    ):
        csv_path = data_dir / csv_path
    if csv_path is not None and not csv_path.is_file():
        raise DatasetError(f"labels file {csv_path} not found")
    root = data_dir if data_dir is not None else csv_path.parent if csv_path is not None else None
    if root is None:
        raise DatasetError(
            "the folder dataset needs a folder: pass --data-dir FOLDER (plate crops labelled by "
            f"{LABELS_FILE} with columns path,text, or by their file names) or labels=CSV"
        )
    if not root.is_dir():
        raise DatasetError(f"folder {root} not found (or not a folder)")
    if csv_path is None and (root / LABELS_FILE).is_file():
        csv_path = root / LABELS_FILE
    return FolderDataset(
        root,
        labels=csv_path,
        alphabet=charset,
        strict=strict,
        test_fraction=test_fraction,
        seed=seed,
    )
