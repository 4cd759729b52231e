"""The folder dataset: labels from file names (the real LPRNet crops) or from a CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segocr.charset import CCPD_CHARSET, LATIN
from segocr.datasets.base import load_dataset
from segocr.datasets.folder import FolderDataset, infer_charset, label_from_stem, open_folder
from segocr.errors import DatasetError
from segocr.io import write_image

LPRNET = "lprnet-test-crops"
# Real names from lprnet-test-crops (the label is the stem).
KNOWN_CROPS = {
    "京PL3N67.jpg": "京PL3N67",
    "川X90621.jpg": "川X90621",
    "苏E9CD08.jpg": "苏E9CD08",
    "皖A00E66.jpg": "皖A00E66",
}


def _img(path: Path, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.full((8, 20, 3), value, np.uint8))
    return path


def test_lprnet_crops(ccpd_dir: Path) -> None:
    ds = load_dataset("folder", ccpd_dir / LPRNET)
    every, train, test = ds.samples(), ds.samples("train"), ds.samples("test")
    assert (len(every), len(train), len(test)) == (1000, 800, 200)
    assert not {s.text for s in train} & {s.text for s in test}
    assert ds.charset.chars == CCPD_CHARSET
    by_id = {s.id: s for s in every}
    assert {k: by_id[k].text for k in KNOWN_CROPS} == KNOWN_CROPS
    assert by_id["京PL3N67.jpg"].load().shape == (24, 94, 3)
    assert {len(s.text) for s in every} == {7}


@pytest.mark.parametrize(
    "stem, text",
    [
        ("皖A00E66", "皖A00E66"),
        ("皖A00E66_1", "皖A00E66"),
        ("皖A00E66-12", "皖A00E66"),
        ("AB1234_", "AB1234_"),
        ("_1", "_1"),
    ],
)
def test_label_from_stem(stem: str, text: str) -> None:
    assert label_from_stem(stem) == text


def test_duplicates_in_names_share_a_group(tmp_path: Path) -> None:
    for name in (
        "AB123.png",
        "AB123_1.png",
        "AB123-2.png",
        "CD456.png",
        "EF789.png",
        "sub/GH012.png",
    ):
        _img(tmp_path / name)
    ds = open_folder(tmp_path)
    texts = {s.id: s.text for s in ds.samples()}
    assert texts["AB123_1.png"] == texts["AB123-2.png"] == "AB123"
    assert {s.subset for s in ds.samples()} == {"", "sub"}
    assert ds.charset.chars == LATIN
    train_ids = {s.id for s in ds.samples("train")}
    assert len({n in train_ids for n in ("AB123.png", "AB123_1.png", "AB123-2.png")}) == 1


def test_csv_labels(tmp_path: Path) -> None:
    _img(tmp_path / "imgs" / "a.png")
    _img(tmp_path / "b.png")
    (tmp_path / "labels.csv").write_text(
        "\ufeffpath,text,note\nimgs/a.png,AB123,x\n./b.png, 皖A00E66 ,\n\n", encoding="utf-8"
    )
    ds = open_folder(tmp_path)
    assert [(s.id, s.text, s.subset) for s in ds.samples()] == [
        ("imgs/a.png", "AB123", "imgs"),
        ("b.png", "皖A00E66", ""),
    ]
    assert ds.charset.chars == CCPD_CHARSET
    # The same CSV given explicitly, from elsewhere, with the folder taken from it.
    other = tmp_path / "other.csv"
    other.write_text("path,text\nb.png,CD456\n", encoding="utf-8")
    ds2 = load_dataset("folder", None, labels=str(other), strict=False)
    assert isinstance(ds2, FolderDataset)
    assert [s.text for s in ds2.samples()] == ["CD456"]
    assert {p.kind for p in ds2.scan().problems} == {"unlabelled"}  # imgs/a.png


def test_missing_file_row_is_recorded_not_raised_when_lenient(tmp_path: Path) -> None:
    _img(tmp_path / "a.png")
    (tmp_path / "labels.csv").write_text(
        "path,text\na.png,AB1\nmissing.png,CD2\n,EF3\n", encoding="utf-8"
    )
    lenient = open_folder(tmp_path, strict=False)
    assert isinstance(lenient, FolderDataset)
    assert [s.id for s in lenient.samples()] == ["a.png"]
    assert [(p.kind, p.where) for p in lenient.scan().problems] == [
        ("missing-file", "labels.csv:3"),
        ("bad-row", "labels.csv:4"),
    ]
    with pytest.raises(DatasetError) as err:
        open_folder(tmp_path).samples()
    assert "missing.png" in str(err.value) and "labels.csv:4" in str(err.value)


@pytest.mark.parametrize(
    "csv_text, needle",
    [("", "empty"), ("file,label\na.png,AB\n", "missing column\\(s\\) path, text")],
)
def test_unusable_csv_raises(tmp_path: Path, csv_text: str, needle: str) -> None:
    (tmp_path / "labels.csv").write_text(csv_text, encoding="utf-8")
    with pytest.raises(DatasetError, match=needle):
        open_folder(tmp_path, strict=False)


def test_control_characters_in_the_labels_file_reach_no_terminal(tmp_path: Path) -> None:
    """An ESC or BEL in the header or a row is shown as text (``\\x1b``), never sent raw."""
    (tmp_path / "labels.csv").write_text("pa\x1b[31mth,te\x07xt\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        open_folder(tmp_path)
    assert "(header: pa\\x1b[31mth,te\\x07xt)" in str(err.value)
    (tmp_path / "labels.csv").write_text("path,text\n1H\x1b[2J.png,AB\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        open_folder(tmp_path).samples()
    assert "1H\\x1b[2J.png does not exist" in str(err.value) and "\x1b" not in str(err.value)


def test_where_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--data-dir"):
        open_folder(None)
    with pytest.raises(DatasetError, match="not found"):
        open_folder(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="labels file"):
        open_folder(tmp_path, labels="nope.csv")


def test_infer_charset() -> None:
    assert infer_charset(["AB123"]).chars == LATIN
    assert infer_charset(["皖A00E66", "AB1"]).chars == CCPD_CHARSET
    union = infer_charset(["AB1", "ÖZ9 @"]).chars
    assert union.startswith(LATIN) and "Ö" in union and "@" not in union and " " not in union
