"""CCPD: name parsing (checked by hand against CCPD's README tables), crops, split, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segocr.charset import CCPD_CHARSET
from segocr.datasets.base import load_dataset
from segocr.datasets.ccpd import (
    ADS,
    ALPHABETS,
    CCPD,
    PROVINCES,
    RECTIFIED_SIZE,
    CCPDSample,
    decode_indices,
    find_release,
    open_ccpd,
    parse_ccpd_name,
)
from segocr.errors import DatasetError
from segocr.io import write_image

# Real file names from CCPD2019-sample, decoded by hand from the README's tables.
KNOWN = {
    "train/019840756705-88_87-201&434_438&519-432&503_213&518_202&447_421&432-0_3_7_8_27_30_30-103-320.jpg": "皖DHJ366",
    "train/0210177203065-90_91-121&446_408&538-418&526_137&536_132&447_413&437-0_12_11_33_32_26_24-82-457.jpg": "皖NM9820",
    "train/0330531609195-94_84-175&494_438&618-445&616_175&583_166&485_436&518-11_0_33_8_16_29_25-126-380.jpg": "浙A9JS51",
    "train/047816091954-98_66-173&487_487&646-476&651_185&578_170&478_461&551-5_0_0_21_24_27_32-122-291.jpg": "晋AAX038",
    "test/0228017241379-91_91-258&482_548&573-539&572_264&555_263&475_538&492-1_11_27_33_24_25_32-91-280.jpg": "沪M39018",
    "test/0455818965517-90_92-105&504_583&602-570&601_124&609_149&510_595&502-10_1_30_20_11_33_24-101-280.jpg": "苏B6WM90",
}
README_NAME = (
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg"
)


def test_tables_are_the_readmes() -> None:
    assert (len(PROVINCES), len(ALPHABETS), len(ADS)) == (34, 25, 35)
    assert PROVINCES[:3] == "皖沪津" and PROVINCES[-3:] == "警学O"
    assert "I" not in ALPHABETS + ADS and ALPHABETS[-1] == ADS[-1] == "O"


@pytest.mark.parametrize("rel, text", sorted(KNOWN.items()))
def test_known_names_decode(rel: str, text: str) -> None:
    assert parse_ccpd_name(rel).text == text


def test_parse_readme_example() -> None:
    r = parse_ccpd_name(README_NAME)
    assert r.text == "皖AY339S"
    assert r.area == pytest.approx(0.025)
    assert r.indices == (0, 0, 22, 27, 27, 33, 16)
    assert r.vertices[0] == (386, 473) and r.vertices[2] == (154, 383)


def test_area_is_the_frame_share() -> None:
    # The area field times 720*1160 is a whole number of pixels on the real names.
    r = parse_ccpd_name(next(iter(KNOWN)))
    assert r.area * 720 * 1160 == pytest.approx(16571, abs=1e-3)


def test_no_character_mark_and_green_plates() -> None:
    assert decode_indices([0, 0, 22, 27, 27, 33, 34]) == "皖AY339"  # 34 is "O"
    assert decode_indices([33, 24, 0, 1, 2, 3, 4]) == "ABCDE"
    assert decode_indices([0, 0, 3, 24, 24, 32, 28, 30]) == "皖AD00846"


@pytest.mark.parametrize(
    "name, needle",
    [
        ("京PL3N67.jpg", "7 '-'-separated fields"),
        (README_NAME.replace("0_0_22", "0_0_35"), "outside CCPD's ads table"),
        (README_NAME.replace("0_0_22_27_27_33_16", "0_0_22"), "7 or 8 character indices"),
        (README_NAME.replace("154&383_386&473-", "154&383-"), "bbox"),
        (README_NAME.replace("-37-", "-x-"), "brightness"),
    ],
)
def test_bad_names_raise_naming_the_field(name: str, needle: str) -> None:
    with pytest.raises(DatasetError, match=needle):
        parse_ccpd_name(name)


def test_real_sample_counts_and_split(ccpd_dir: Path) -> None:
    ds = open_ccpd(ccpd_dir)
    assert isinstance(ds, CCPD) and ds.root.name == "CCPD2019-sample"
    train, test, every = ds.samples("train"), ds.samples("test"), ds.samples("all")
    assert (len(train), len(test), len(every)) == (240, 100, 340)
    assert all(s.id.startswith("train/") for s in train) and all(
        s.id.startswith("test/") for s in test
    )
    assert not {s.text for s in train} & {s.text for s in test}
    assert {len(s.text) for s in every} == {7}
    assert all(ch in CCPD_CHARSET for s in every for ch in s.text)
    by_id = {s.id: s.text for s in every}
    assert {k: by_id[k] for k in KNOWN} == KNOWN
    assert ds.scan().problems == ()


def test_registry_and_data_dir_forms(ccpd_dir: Path) -> None:
    for where in (ccpd_dir, ccpd_dir / "CCPD2019-sample", ccpd_dir / "CCPD2019-sample" / "test"):
        assert len(load_dataset("ccpd", where).samples()) in (340, 100)


def test_rectified_and_bbox_crops(ccpd_dir: Path) -> None:
    rel = next(iter(KNOWN))
    sample = next(s for s in open_ccpd(ccpd_dir).samples("train") if s.id == rel)
    assert isinstance(sample, CCPDSample)
    crop = sample.load()
    assert crop.shape == (*RECTIFIED_SIZE, 3) and crop.dtype == np.uint8
    x1, y1, x2, y2 = sample.record.bbox
    boxed = next(s for s in open_ccpd(ccpd_dir, crop="bbox").samples("train") if s.id == rel).load()
    assert boxed.shape == (y2 - y1, x2 - x1, 3)
    # A blue plate: blue dominates the rectified crop more than the looser bbox crop.
    assert crop[..., 2].mean() > crop[..., 0].mean() + 40


def _frame(path: Path) -> None:
    img = np.zeros((60, 100, 3), np.uint8)
    img[10:30, 10:60] = (0, 0, 255)
    write_image(path, img)


def test_group_split_without_split_folders_and_lenient_mode(tmp_path: Path) -> None:
    texts = [[0, 0, 22, 27, 27, 33, i] for i in range(10)]
    for i, idx in enumerate(texts):
        name = f"0{i}-90_90-10&10_60&30-59&29_10&29_10&10_59&10-{'_'.join(map(str, idx))}-50-50.png"
        _frame(tmp_path / name)
    _frame(tmp_path / "not-a-ccpd-name.png")
    ds = open_ccpd(tmp_path, strict=False)
    assert isinstance(ds, CCPD)
    train, test = ds.samples("train"), ds.samples("test")
    assert (len(train), len(test)) == (8, 2) and not {s.text for s in train} & {
        s.text for s in test
    }
    (problem,) = ds.scan().problems
    assert problem.kind == "bad-name" and problem.where == "not-a-ccpd-name.png"
    crop = train[0].load()
    assert crop.shape == (46, 144, 3) and (crop == (0, 0, 255)).all()
    with pytest.raises(DatasetError, match="not-a-ccpd-name.png"):
        open_ccpd(tmp_path).samples()


def test_absent_data_says_where_ccpd_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGOCR_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match="github.com/detectRecog/CCPD"):
        find_release(None)
    with pytest.raises(DatasetError, match=r"looked in: .*nowhere"):
        find_release(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="unknown crop"):
        CCPD(tmp_path, crop="warp")  # type: ignore[arg-type]


def test_both_crops_give_two_samples_per_frame_on_one_side_of_the_split(tmp_path: Path) -> None:
    for i in range(10):
        idx = [0, 0, 22, 27, 27, 33, i]
        name = f"0{i}-90_90-10&10_60&30-59&29_10&29_10&10_59&10-{'_'.join(map(str, idx))}-50-50.png"
        _frame(tmp_path / name)
    one, both = open_ccpd(tmp_path), open_ccpd(tmp_path, crop="both")
    assert len(both.samples()) == 2 * len(one.samples()) == 20
    train, test = both.samples("train"), both.samples("test")
    assert (len(train), len(test)) == (16, 4)
    assert {s.text for s in train} == {s.text for s in one.samples("train")}
    by_id = {s.id: s for s in train}
    plain = next(i for i in by_id if not i.endswith("#bbox"))
    rect, boxed = by_id[plain].load(), by_id[plain + "#bbox"].load()
    assert rect.shape == (46, 144, 3) and boxed.shape == (20, 50, 3)
    assert by_id[plain].text == by_id[plain + "#bbox"].text
