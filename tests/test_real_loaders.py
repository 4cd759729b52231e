"""Loaders of the multi-country data: tiny hand-made copies of each release layout
(always run), and the real folders in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from segocr.datasets.base import dataset_names, load_dataset
from segocr.datasets.info import dataset_info
from segocr.datasets.masked import MASK_CHAR, masked_cer, visible_accuracy, visible_correct
from segocr.datasets.uc3m import plate_groups, visible_boxes
from segocr.errors import DatasetError
from segocr.io import write_image


def _img(path: Path, h: int = 20, w: int = 60, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    write_image(
        path,
        rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        if value == 0
        else np.full((h, w, 3), value, np.uint8),
    )


def test_registered() -> None:
    for name in (
        "openalpr-br",
        "openalpr-eu2",
        "uc3m-ocr",
        "cparking-co",
        "openalpr-chars",
        "openalpr-sheets",
    ):
        assert name in dataset_names()


def test_br_names_and_groups(tmp_path: Path) -> None:
    root = tmp_path / "openalpr-train-detector" / "br"
    names = [
        "##########_CC_011241_AXK3125.JPG_0000_0428_0037_0103_0042.jpg",
        "##########_CV_011242_AXK3125.JPG_0000_0329_0119_0116_0051.jpg",
        "##########_CV_011243_BWS4043.JPG_0000_0440_0107_0097_0048.jpg",
        "broken.JPG_1.jpg",
    ]
    for n in names:
        _img(root / n)
    ds = load_dataset("openalpr-br", tmp_path, strict=False)  # a data root works
    assert sorted(s.text for s in ds.samples()) == ["AXK3125", "AXK3125", "BWS4043"]
    assert {s.subset for s in ds.samples()} == {"CC", "CV"}
    info = dataset_info(ds)
    assert [p.kind for p in info.problems] == ["bad-name"]
    train, test = {s.group for s in ds.samples("train")}, {s.group for s in ds.samples("test")}
    assert not train & test
    with pytest.raises(DatasetError, match="bad-name"):
        load_dataset("openalpr-br", root).samples()


def test_eu2_names(tmp_path: Path) -> None:
    root = tmp_path / "eu2"
    for n in (
        "crop_b_1-aze-381.jpg",
        "crop_b_1-aze-381_close.jpg",
        "crop_dk_dt71804_rear_close.jpg",
        "crop_lv_to33_close.jpg",
        "crop_n_kt62264_front.jpg",
    ):
        _img(root / n)
    ds = load_dataset("openalpr-eu2", root)
    got = {s.id: (s.text, s.subset) for s in ds.samples()}
    assert got["crop_b_1-aze-381_close.jpg"] == ("1AZE381", "b")
    assert got["crop_dk_dt71804_rear_close.jpg"] == ("DT71804", "dk")
    assert got["crop_lv_to33_close.jpg"] == ("TO33", "lv")
    assert got["crop_n_kt62264_front.jpg"] == ("KT62264", "n")
    # The two crops of one plate are one group: never on both sides.
    sides = {s.id: split for split in ("train", "test") for s in ds.samples(split)}
    assert sides["crop_b_1-aze-381.jpg"] == sides["crop_b_1-aze-381_close.jpg"]


def test_cparking(tmp_path: Path) -> None:
    root = tmp_path / "cparking-co" / "co"
    for n in ("1010722MOR56487-0.jpg", "14370GEL53292-0.jpg", "14370GEL53292-1.jpg"):
        _img(root / n)
    ds = load_dataset("cparking-co", tmp_path / "cparking-co")
    assert sorted(s.text for s in ds.samples()) == ["GEL532", "GEL532", "MOR564"]


def _uc3m(tmp_path: Path) -> Path:
    root = tmp_path / "uc3m-lp" / "OCR"
    rows = {
        "train/00001_AN-074-C-V": "0 0.1 0.5 0.1 0.8\n7 0.25 0.5 0.1 0.8\n4 0.4 0.5 0.1 0.8\n12 0.7 0.5 0.1 0.8\n31 0.9 0.5 0.1 0.8\n",
        "train/00002_AD-07-4AC-": "0 0.1 0.5 0.1 0.8\n7 0.25 0.5 0.1 0.8\n4 0.55 0.5 0.1 0.8\n10 0.7 0.5 0.1 0.8\n12 0.8 0.5 0.1 0.8\n",
        "val/00003_BN--385-MW": "3 0.2 0.5 0.1 0.8\n8 0.3 0.5 0.1 0.8\n5 0.4 0.5 0.1 0.8\n22 0.7 0.5 0.1 0.8\n32 0.9 0.5 0.1 0.8\n",
        "val/00004_AD-12-3-XY": "1 0.1 0.5 0.1 0.8\n",  # boxes disagree with the name
    }
    for stem, labels in rows.items():
        split, name = stem.split("/")
        _img(root / "images" / split / f"{name}.jpg", h=40, w=100)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{name}.txt").write_text(labels)
    return root


def test_uc3m_masks_boxes_groups(tmp_path: Path) -> None:
    root = _uc3m(tmp_path)
    ds = load_dataset("uc3m-ocr", tmp_path, strict=False)
    by_id = {s.id: s for s in ds.samples()}
    assert set(by_id) == {
        "train/00001_AN-074-C-V.jpg",
        "train/00002_AD-07-4AC-.jpg",
        "val/00003_BN--385-MW.jpg",
    }
    s = by_id["train/00001_AN-074-C-V.jpg"]
    assert (
        s.text == f"074{MASK_CHAR}C{MASK_CHAR}V"
        and s.subset == "night"
        and s.meta["plate_type"] == "A"
    )
    boxes = visible_boxes(s, s.load().shape)
    assert [c for c, _ in boxes] == list("074CV")
    assert boxes[0][1].x == 5 and boxes[0][1].h == 32  # (0.1 - 0.05) * 100, 0.8 * 40
    # 074?C?V and 07?4AC? disagree at position 4 (C, A): different plates.
    assert by_id["train/00002_AD-07-4AC-.jpg"].group != s.group
    info = dataset_info(ds)
    assert [p.kind for p in info.problems] == [
        "bad-row"
    ]  # the mask is not an outside-charset problem
    with pytest.raises(DatasetError):
        load_dataset("uc3m-ocr", root).samples()


def test_plate_groups_transitive() -> None:
    # a~b on 4 positions, b~c on 4, a and c only on 3: one group through b.
    g = plate_groups(["12345??", "?2345?7", "?23?567", "9999?9?"])
    assert g["12345??"] == g["?2345?7"] == g["?23?567"] != g["9999?9?"]
    assert plate_groups(["12345??", "?23?567"])["?23?567"] == "?23?567"


def test_masked_scoring() -> None:
    assert (
        visible_correct("AB?1", "ABX1")
        and visible_correct("AB?1", "AB1")
        and not visible_correct("AB?1", "AC91")
    )
    assert visible_accuracy(["AB?1", "XY"], ["ABZ1", "XY"]) == 1.0
    assert masked_cer(["AB?1"], ["AB1"]) == 0.0 and masked_cer(["AB?1"], ["B1"]) == pytest.approx(
        1 / 3
    )


def test_chars_and_sheets(tmp_path: Path) -> None:
    root = tmp_path / "openalpr-train-ocr"
    for n in ("0-0-10_0MB0B16.jpg", "m-1-10_0MB0B16.jpg", "a-0-3_GZA217Q.jpg"):
        _img(root / "br" / "chars" / n, h=40, w=20)
    _img(root / "gb" / "chars" / "Z-2-CROPPED_GU60RZB.jpg", h=40, w=20)
    ds = load_dataset("openalpr-chars", root)
    texts = {s.id: (s.text, s.group) for s in ds.samples()}
    assert texts["br/chars/m-1-10_0MB0B16.jpg"] == ("M", "br/10_0MB0B16")
    assert texts["br/chars/0-0-10_0MB0B16.jpg"][1] == "br/10_0MB0B16"
    # A sheet 100 x 60 with a dark 'character' at rows 10..29 (top-left): y from the bottom is 30..50.
    sheet = np.full((60, 100, 3), 255, np.uint8)
    sheet[10:30, 40:52] = 0
    (root / "eu" / "input").mkdir(parents=True)
    write_image(root / "eu" / "input" / "leu.test.exp0.tif", sheet)
    (root / "eu" / "input" / "leu.test.exp0.box").write_text(
        "A 40 30 52 50 0\n@ 1 1 2 2 0\nB 5 5 4 4 0\n"
    )
    sh = load_dataset("openalpr-sheets", root, countries="eu", strict=False)
    (only,) = sh.samples()
    assert only.text == "A" and only.box.y == 10 and only.box.h == 20
    crop = only.load()
    assert crop.shape[0] == 20 + 2 * 3 and crop.min() == 0  # box + margin, the dark part inside
    assert sorted(p.kind for p in dataset_info(sh).problems) == ["bad-row", "bad-row"]


def test_absent_folder_says_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("openalpr-br", tmp_path / "nowhere")


REAL = {
    "openalpr-br": (1144, 530),
    "openalpr-eu2": (258, None),
    "uc3m-ocr": (2547, None),
    "cparking-co": (149, None),
}


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_plate_sets(name: str) -> None:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    ds = load_dataset(name, SHARED_DATA)
    everything = ds.samples("all")
    n, distinct = REAL[name]
    assert len(everything) == n
    if distinct is not None:
        assert len({s.text for s in everything}) == distinct
    train, test = ds.samples("train"), ds.samples("test")
    assert len(train) + len(test) == n and 0.1 < len(test) / n < 0.3
    assert not {s.group for s in train} & {s.group for s in test}
    assert all(s.text and 4 <= len(s.text) <= 10 for s in everything)


@pytest.mark.real_data
def test_real_char_sets() -> None:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    chars = load_dataset("openalpr-chars", SHARED_DATA)
    assert len(chars.samples()) == 3598 + 1772
    sheets = load_dataset("openalpr-sheets", SHARED_DATA)
    s = sheets.samples()[0]
    img = s.load()
    assert img.ndim == 3 and 20 < img.shape[0] < 100 and len(s.text) == 1
