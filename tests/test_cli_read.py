"""`segocr read` through click's CliRunner, and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import segocr
from segocr.cli import main
from segocr.io import write_image
from segocr.models.weights import SHIPPED_DIR

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture()
def plates(tmp_path: Path) -> Path:
    folder = tmp_path / "plates dir ěšč"
    folder.mkdir()
    for name in sorted(SAMPLES.glob("*.png"))[:3]:
        (folder / name.name).write_bytes(name.read_bytes())
    return folder


def test_read_prints_path_text_confidence(plates: Path) -> None:
    files = sorted(plates.glob("*.png"))
    res = CliRunner().invoke(main, ["read", *map(str, files)])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 3
    for line, f in zip(lines, files):
        path, text, conf = line.split("\t")
        assert path == str(f) and 0.0 <= float(conf) <= 1.0 and text.isalnum()


@pytest.mark.parametrize("model", ["segcnn", None])
def test_directory_expands_and_json_has_boxes(plates: Path, model: str | None) -> None:
    """segcnn locates every character; the default ensemble gives segcnn's boxes where
    segcnn took part in the reading and null where crnn's reading was taken alone."""
    res = CliRunner().invoke(main, ["read", "--json", str(plates), *(["--model", model] if model else [])])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.strip().splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert set(row) >= {"path", "text", "confidence", "chars", "error"} and row["error"] is None
        assert len(row["chars"]) == len(row["text"])
        boxes = [ch["box"] for ch in row["chars"]]
        assert all(set(ch) == {"char", "confidence", "box"} for ch in row["chars"])
        if model == "segcnn":
            assert all(len(b) == 4 for b in boxes)
        else:
            assert all(b is None for b in boxes) or all(len(b) == 4 for b in boxes)


def test_a_bad_file_is_reported_and_the_rest_still_read(plates: Path) -> None:
    bad = plates / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    missing = plates / "missing.png"
    res = CliRunner().invoke(main, ["read", str(missing), *map(str, sorted(plates.glob("*.png")))])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "missing.png" in res.output and "broken.png" in res.output
    good_lines = [line for line in res.output.splitlines() if line.count("\t") == 2]
    assert len(good_lines) == 3


def test_stdin_and_usage_errors(plates: Path) -> None:
    data = min(plates.glob("*.png")).read_bytes()
    res = CliRunner().invoke(main, ["read", "-"], input=data)
    assert res.exit_code == 0 and res.output.startswith("-\t")
    res = CliRunner().invoke(main, ["read", "-"], input=b"not an image")
    assert res.exit_code == 1 and "<stdin>" in res.output
    assert CliRunner().invoke(main, ["read"]).exit_code == 2
    assert CliRunner().invoke(main, ["read", "--model", "nope", "x.png"]).exit_code == 2
    res = CliRunner().invoke(main, ["read", "--device", "tpu", "x.png"])
    assert res.exit_code == 2 and "'tpu' is not a device" in res.output


def test_weights_that_fail_their_hash_are_a_clear_error(tmp_path: Path) -> None:
    from segocr.models.weights import default_weights_path

    src = default_weights_path("segcnn")
    bad = tmp_path / "segcnn.pt"
    bad.write_bytes(src.read_bytes()[:-10] + b"0123456789")
    (tmp_path / "segcnn.json").write_text(src.with_suffix(".json").read_text())
    res = CliRunner().invoke(main, ["read", "--weights", str(bad), str(SAMPLES / "labels.csv")])
    assert res.exit_code == 1 and "sha256" in res.output and "Traceback" not in res.output


def test_python_api_reads_paths_bytes_and_arrays() -> None:
    path = min(SAMPLES.glob("*.png"))
    a = segocr.read(path)
    b = segocr.read(path.read_bytes())
    from segocr.io import read_image

    c = segocr.read(read_image(path))
    assert a.text == b.text == c.text and a.recognizer == "ensemble"  # the default reader
    assert isinstance(a, segocr.Prediction)


def test_blank_image_reads_as_empty(tmp_path: Path) -> None:
    f = tmp_path / "blank.png"
    write_image(f, np.full((40, 120, 3), 255, np.uint8))
    res = CliRunner().invoke(main, ["read", "--json", str(f)])
    assert res.exit_code == 0
    row = json.loads(res.output)
    assert row["text"] == "" and row["confidence"] == 0.0


def test_weights_by_shipped_name(plates: Path, tmp_path: Path) -> None:
    """``--weights`` takes shipped weights by name as the README writes them, and a path;
    a name that is neither is a usage error listing the shipped names."""
    one = str(min(plates.glob("*.png")))
    by_name = CliRunner().invoke(main, ["read", "--json", "--weights", "crnn-general-int8.onnx", one])
    by_path = CliRunner().invoke(
        main, ["read", "--json", "--weights", str(SHIPPED_DIR / "crnn-general-int8.onnx"), one]
    )
    assert by_name.exit_code == 0 and json.loads(by_name.stdout)["text"] == json.loads(by_path.stdout)["text"]
    assert CliRunner().invoke(main, ["read", "--weights", "segcnn-iwt4s", one]).exit_code == 0
    bad = CliRunner().invoke(main, ["read", "--weights", "no-such-weights", one])
    assert bad.exit_code == 2 and "crnn-general-int8.onnx" in bad.output and "no such file" in bad.output
    assert CliRunner().invoke(main, ["read", "--weights", str(tmp_path), one]).exit_code == 2  # a directory
    torch_onnx = CliRunner().invoke(main, ["read", "--weights", "crnn-general-int8.onnx", "--runtime", "torch", one])
    assert torch_onnx.exit_code == 2 and "ONNX file" in torch_onnx.output  # a usage error, as the README's table says
