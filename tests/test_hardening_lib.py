"""Issue 14, the library side: atomic report folders, duplicate dataset rows, empty
datasets, and the annotation drawing (items 3, 7, 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from segocr.annotate import annotate, draw_quadrilateral
from segocr.cli import main
from segocr.io import atomic_folder
from segocr.recognizers.base import CharPrediction, Prediction
from segocr.segment.boxes import CharBox

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


# ------------------------------------------------------------------ atomic folders


def test_atomic_folder_leaves_nothing_when_the_writer_fails(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with pytest.raises(OSError, match="disk full"), atomic_folder(out) as work:
        (work / "half.json").write_text("{")
        raise OSError(28, "disk full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_replaces_only_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError), atomic_folder(out) as work:
        (work / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # the temporary one is gone
    with atomic_folder(out, overwrite=True) as work:
        (work / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_atomic_folder_under_a_file_is_an_os_error(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError), atomic_folder(a_file / "report"):
        pass  # pragma: no cover - never entered


# ------------------------------------------------------------------ datasets


def _folder(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    root = tmp_path / "plates"
    root.mkdir()
    shutil.copy(SAMPLES / "9KE0410.png", root / "a.png")
    shutil.copy(SAMPLES / "1H296.png", root / "b.png")
    (root / "labels.csv").write_text("path,text\n" + "".join(f"{p},{t}\n" for p, t in rows))
    return root


def _benchmark(root: Path, tmp_path: Path) -> object:
    return CliRunner().invoke(
        main,
        ["benchmark", "--dataset", "folder", "--data-dir", str(root), "--split", "all",
         "--models", "segcnn", "--device", "cpu", "--quiet", "--out", str(tmp_path / "out")],
    )  # fmt: skip


def test_benchmark_counts_a_repeated_row_once_with_a_warning(tmp_path: Path) -> None:
    root = _folder(tmp_path, [("a.png", "9KE0410"), ("a.png", "9KE0410"), ("b.png", "1H296")])
    res = _benchmark(root, tmp_path)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "warning: " in res.stderr and "a.png is listed 2 times with the same label" in res.stderr  # type: ignore[attr-defined]
    assert "segcnn  all     2 " in res.stdout  # type: ignore[attr-defined]


def test_benchmark_refuses_conflicting_labels(tmp_path: Path) -> None:
    root = _folder(tmp_path, [("a.png", "9KE0410"), ("a.png", "9KE0411"), ("b.png", "1H296")])
    res = _benchmark(root, tmp_path)
    assert res.exit_code == 1  # type: ignore[attr-defined]
    assert "1 image(s) listed with conflicting labels" in res.stderr  # type: ignore[attr-defined]
    assert "'9KE0410' (a.png), '9KE0411' (a.png)" in res.stderr  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()


def test_datasets_info_on_an_empty_folder_is_a_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["datasets", "info", "folder", "--data-dir", str(empty)])
    assert res.exit_code == 1
    assert "empty  folder: no samples at all" in res.stdout


# ------------------------------------------------------------------ annotate


def _prediction() -> Prediction:
    chars = [CharPrediction("A", 0.95, CharBox(4, 3, 8, 14)), CharPrediction("7", 0.2, CharBox(14, 3, 8, 14))]
    return Prediction.from_chars(chars, "test")


def test_annotate_draws_boxes_in_confidence_colours_and_a_caption() -> None:
    image = np.full((20, 40, 3), 128, np.uint8)
    out = annotate(image, _prediction())
    scale = out.shape[1] / 40
    assert scale >= 6 and out.shape[0] > 20 * scale  # scaled up, with a caption strip below
    green_edge = out[round(3 * scale), round(8 * scale)]  # top edge of the confident box
    red_edge = out[round(3 * scale), round(18 * scale)]  # top edge of the unsure box
    assert green_edge[1] > green_edge[0] and red_edge[0] > red_edge[1]
    caption = out[round(20 * scale) :]
    assert (caption < 200).any() and (image == 128).all()  # text drawn; the input untouched


def test_annotate_draws_a_quadrilateral_in_input_pixels() -> None:
    image = np.zeros((50, 100, 3), np.uint8)
    quad = [(10, 10), (90, 12), (88, 40), (12, 38)]
    out = annotate(image, _prediction(), quadrilateral=quad)
    scale = out.shape[1] / 100
    y, x = round(11 * scale), round(50 * scale)  # on the top edge, half-way
    assert out[y - 2 : y + 3, x, 2].max() > 200  # the quadrilateral's blue
    assert out[round(25 * scale), x, 2] == 0  # not inside it
    with pytest.raises(ValueError, match="4 finite"):
        draw_quadrilateral(out, [(0, 0), (1, 1), (2, 2)])
    with pytest.raises(ValueError, match="uint8 RGB"):
        annotate(np.zeros((5, 5), np.uint8), _prediction())


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs here")
def test_datasets_info_and_benchmark_survive_a_fifo_and_dev_zero(tmp_path: Path) -> None:
    """Hashing and reading a folder dataset that holds a FIFO and a link to /dev/zero:
    each is a problem line, nothing hangs or fills memory."""
    import os
    import time

    root = tmp_path / "plates"
    root.mkdir()
    shutil.copy(SAMPLES / "9KE0410.png", root / "9KE0410.png")
    os.mkfifo(root / "AB123.png")
    (root / "CD456.png").symlink_to("/dev/zero")
    start = time.monotonic()
    res = CliRunner().invoke(main, ["datasets", "info", "folder", "--data-dir", str(root)])
    assert res.exit_code == 1, res.output
    assert "unreadable-image  AB123.png: " in res.stdout and "a named pipe (FIFO)" in res.stdout
    assert "unreadable-image  CD456.png: " in res.stdout and "a character device" in res.stdout
    res = _benchmark(root, tmp_path)
    assert res.exit_code == 1
    assert "2 image(s) could not be read and were left out" in res.stderr
    assert time.monotonic() - start < 60
