"""dataset_info / format_info and `segocr datasets`: planted problems are all found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from segocr.charset import Charset
from segocr.cli import main
from segocr.datasets.base import PlateSample
from segocr.datasets.ccpd import open_ccpd
from segocr.datasets.folder import open_folder
from segocr.datasets.info import DatasetProblem, dataset_info, format_info
from segocr.errors import DatasetError
from segocr.io import write_image

EXPECTED = {
    ("missing-file", "labels.csv:4"),  # missing.png
    ("unlabelled", "stray.png"),
    ("unreadable-image", "corrupt.png"),
    ("unreadable-image", "notes.png"),
    ("outside-charset", "at.png"),
    ("duplicate-id", "good1.png"),
    ("duplicate-image", "good2.png"),  # copy.png has the same bytes
}


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A labelled folder with one of each problem (and two good crops)."""
    rng = np.random.default_rng(0)
    for name in ("good1.png", "good2.png", "at.png", "stray.png"):
        write_image(tmp_path / name, rng.integers(0, 256, (10, 30 + len(name), 3), dtype=np.uint8))
    (tmp_path / "copy.png").write_bytes((tmp_path / "good2.png").read_bytes())
    (tmp_path / "corrupt.png").write_bytes((tmp_path / "good1.png").read_bytes()[:60])
    (tmp_path / "notes.png").write_text("this is not an image\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_text(
        "path,text\n"
        "good1.png,AB123\n"
        "good2.png,CD456\n"
        "missing.png,EF789\n"
        "corrupt.png,GH012\n"
        "notes.png,JK345\n"
        "at.png,AB@12\n"
        "good1.png,AB123\n"
        "copy.png,CD456\n",
        encoding="utf-8",
    )
    return tmp_path


def test_info_finds_every_planted_problem(planted: Path) -> None:
    ds = open_folder(planted)  # strict: samples() would raise, info goes on regardless
    with pytest.raises(DatasetError, match="missing.png"):
        ds.samples()
    info = dataset_info(ds)
    assert {(p.kind, p.where) for p in info.problems} == EXPECTED
    assert not info.ok
    assert info.counts["all"] == 7 and info.counts["train"] + info.counts["test"] == 7
    assert info.length_histogram == {5: 7}
    assert info.images_read == 4  # good1, good2, at, copy (corrupt and notes fail)
    assert info.height_range == (10, 10) and info.width_range == (36, 39)
    text = format_info(info)
    assert f"problems  {len(EXPECTED)}" in text
    assert all(f"{kind}  {where}" in text for kind, where in EXPECTED)


def test_cli_info_lists_every_problem_and_exits_1(planted: Path) -> None:
    result = CliRunner().invoke(main, ["datasets", "info", "folder", "--data-dir", str(planted)])
    assert result.exit_code == 1, result.output
    assert all(f"{kind}  {where}" in result.output for kind, where in EXPECTED)
    assert "Traceback" not in result.output


def test_cli_info_on_real_crops_exits_0(ccpd_dir: Path) -> None:
    result = CliRunner().invoke(
        main, ["datasets", "info", "folder", "--data-dir", str(ccpd_dir / "lprnet-test-crops")]
    )
    assert result.exit_code == 0, result.output
    assert "train 800, test 200, all 1000" in result.output and "problems  none" in result.output
    assert "height 24..24, width 94..94" in result.output


def test_real_ccpd_info(ccpd_dir: Path) -> None:
    info = dataset_info(open_ccpd(ccpd_dir))
    assert info.ok, format_info(info)
    assert dict(info.counts) == {"train": 240, "test": 100, "all": 340}
    assert info.height_range == (46, 46) and info.width_range == (144, 144)


def test_cli_list_and_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGOCR_DATA", raising=False)
    runner = CliRunner()
    listed = runner.invoke(main, ["datasets", "list"])
    assert listed.exit_code == 0 and {"ccpd", "folder", "iwt4s"} <= set(listed.output.split())
    unknown = runner.invoke(main, ["datasets", "info", "nope"])
    assert unknown.exit_code == 2 and "unknown dataset 'nope'; choose one of: ccpd" in unknown.output
    for args, needle in [
        (["datasets", "info", "ccpd"], "github.com/detectRecog/CCPD"),
        (["datasets", "info", "ccpd", "--data-dir", str(tmp_path / "gone")], "gone"),
        (["datasets", "info", "folder"], "--data-dir"),
        (
            ["datasets", "info", "folder", "--data-dir", str(tmp_path), "-o", "colour=red"],
            "does not take option",
        ),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert needle in result.output and "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)
    bad = runner.invoke(main, ["datasets", "info", "folder", "-o", "novalue"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


class _Broken:
    """A dataset without scan() whose index fails, and one sample outside its charset."""

    name, source, charset = "broken", "test", Charset("AB")

    def samples(self, split: str = "all") -> list[PlateSample]:
        if split == "test":
            raise DatasetError("index.csv: unreadable")
        return [PlateSample(id="x", text="", image=np.zeros((1, 1, 3), np.uint8))]


def test_plain_datasets_and_raising_indexes() -> None:
    info = dataset_info(_Broken())
    assert [(p.kind, p.where) for p in info.problems] == [("index", "broken"), ("empty-label", "x")]
    assert info.counts == {"train": 1, "test": 0, "all": 1}
    with pytest.raises(ValueError, match="unknown problem kind"):
        DatasetProblem("oops", "x", "y")


def test_split_leak_and_duplicate_path(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8))

    class Leaky:
        name, source, charset = "leaky", "test", Charset("AB")

        def samples(self, split: str = "all") -> list[PlateSample]:
            a = PlateSample(id="a", text="AB", path=tmp_path / "a.png")
            b = PlateSample(id="./a", text="AB", path=tmp_path / "a.png")
            return {"train": [a], "test": [b], "all": [a, b]}[split]

    kinds = [p.kind for p in dataset_info(Leaky()).problems]
    assert kinds == ["duplicate-path", "split-leak"]
