"""The benchmark harness and the report files, with a fake recognizer on in-memory plates."""

from __future__ import annotations

import importlib
import json
import math
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segocr.datasets.base import PlateSample
from segocr.errors import ImageReadError
from segocr.evaluation.harness import NO_SUBSET, BenchmarkResult, evaluate, subset_names
from segocr.evaluation.report import (
    format_table,
    gallery_indices,
    markdown_table,
    results_frame,
    write_report,
)
from segocr.recognizers.base import CharPrediction, Prediction

TEXTS = ["1AB2345", "2CD3456", "3EF4567", "4GH5678", "5JK6789", "6LM7890"]


def plate(i: int) -> np.ndarray:
    """A tiny uint8 RGB image whose pixel value encodes the sample index."""
    return np.full((12, 40, 3), i, dtype=np.uint8)


class FakeRecognizer:
    """Reads the index from the pixels; gets the plates in ``wrong`` wrong (odd index:
    last character substituted; even: last character dropped, a wrong segment count)."""

    def __init__(self, name: str = "fake", *, wrong: tuple[int, ...] = (0, 3), segments: bool = True) -> None:
        self.name = name
        self.wrong = wrong
        self.segments = segments
        self.calls: list[int] = []

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        self.calls.append(len(images))
        out = []
        for img in images:
            i = int(img[0, 0, 0])
            text = TEXTS[i % len(TEXTS)]
            if i in self.wrong:
                text = text[:-1] + "Z" if i % 2 else text[:-1]
            chars = [CharPrediction(c, 0.9 if i in self.wrong else 0.99) for c in text]
            info = {"n_segments": len(text)} if self.segments else {}
            out.append(Prediction.from_chars(chars, self.name, **info))
        return out


@pytest.fixture()
def samples() -> list[PlateSample]:
    return [
        PlateSample(id=f"s{i}", text=TEXTS[i], subset="hdr" if i % 2 else "normal", image=plate(i))
        for i in range(len(TEXTS))
    ]


@pytest.fixture()
def corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PlateSample:
    """A sample whose file is not an image. Uses the real ``segocr.io`` when it exists,
    else a stand-in that fails the way it would."""
    path = tmp_path / "broken.png"
    path.write_bytes(b"this is not a png")
    try:
        importlib.import_module("segocr.io")
    except ImportError:
        stub = types.ModuleType("segocr.io")

        def read_image(source: object) -> np.ndarray:
            raise ImageReadError(f"{source}: not an image")

        stub.read_image = read_image  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "segocr.io", stub)
    return PlateSample(id="broken.png", text="9ZZ9999", path=path, subset="normal")


def test_scores_and_failures(samples: list[PlateSample], corrupt: PlateSample) -> None:
    fake, clean = FakeRecognizer("fake"), FakeRecognizer("clean", wrong=(), segments=False)
    mixed = samples[:3] + [corrupt] + samples[3:]
    result = evaluate({"fake": fake, "clean": clean}, mixed, batch_size=4, progress=False)

    assert result.n_failed == 1
    assert result.failures[0].id == "broken.png"
    assert "broken.png" in result.failures[0].error
    assert [s.id for s in result.samples] == [s.id for s in samples]

    m = result.models["fake"].overall
    assert m.n == 6
    assert m.plate_accuracy == pytest.approx(4 / 6)  # s0 and s3 wrong
    # s0 loses a character (1 deletion), s3 one substitution: 2 edits over 42 characters
    assert m.cer == pytest.approx(2 / 42)
    assert m.char_accuracy == pytest.approx(40 / 42)
    assert m.ci_low <= m.plate_accuracy <= m.ci_high
    assert len(m.risk_coverage) == 10
    assert m.segmentation is not None
    assert (m.segmentation.wrong_count, m.segmentation.misread, m.segmentation.correct) == (1, 1, 4)
    assert result.models["fake"].confusions == (("8", "Z", 1),)

    c = result.models["clean"].overall
    assert c.plate_accuracy == 1.0 and c.cer == 0.0 and c.segmentation is None
    assert result.models["clean"].plates_per_s > 0

    assert set(result.models["fake"].subsets) == {"hdr", "normal"}
    assert result.models["fake"].subsets["normal"].n == 3
    # every image was read once and seen by both models: one warm-up call, then batches
    assert fake.calls == [1, 3, 3] and clean.calls == [1, 3, 3]


def test_all_failed_gives_nan_figures(corrupt: PlateSample) -> None:
    result = evaluate({"fake": FakeRecognizer()}, [corrupt], progress=False)
    assert result.n_failed == 1 and result.samples == ()
    assert result.models["fake"].overall.n == 0
    assert math.isnan(result.models["fake"].overall.plate_accuracy)
    assert "fake" in format_table(result)


def test_wrong_prediction_count_is_an_error(samples: list[PlateSample]) -> None:
    class Short:
        name = "short"

        def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
            return [Prediction("", 0.0)]

    with pytest.raises(RuntimeError, match="returned 1 predictions for 6 images"):
        evaluate({"short": Short()}, samples, progress=False)


def test_subset_names() -> None:
    assert subset_names([PlateSample("a", "A"), PlateSample("b", "B")]) == []
    assert subset_names([PlateSample("a", "A", subset="x"), PlateSample("b", "B")]) == [NO_SUBSET, "x"]


def _result(samples: list[PlateSample], corrupt: PlateSample) -> BenchmarkResult:
    return evaluate(
        {"fake": FakeRecognizer(), "clean": FakeRecognizer("clean", wrong=(), segments=False)},
        [*samples, corrupt],
        progress=False,
    )


def test_table_and_frame(samples: list[PlateSample], corrupt: PlateSample) -> None:
    result = _result(samples, corrupt)
    df = results_frame(result)
    assert list(df["subset"]) == ["all", "hdr", "normal"] * 2
    assert df.loc[0, "plate_accuracy"] == pytest.approx(4 / 6)
    table = format_table(result)
    lines = table.splitlines()
    assert "plate acc" in lines[0] and "95% CI" in lines[0] and "plates/s" in lines[0]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 8  # header, rule, (all, hdr, normal) x 2 models
    assert lines[2].split()[:4] == ["fake", "all", "6", "66.7%"]
    assert lines[3].split()[0] == "hdr"
    assert markdown_table(pd.DataFrame({"a|b": ["x|y"]})) == "| a\\|b |\n|:--|\n| x\\|y |"


def test_gallery_order(samples: list[PlateSample], corrupt: PlateSample) -> None:
    result = _result(samples, corrupt)
    idx = gallery_indices(result, max_rows=4)
    # the misread plates first, most confident first, then the least sure right ones
    assert idx[:2] == [0, 3]
    assert len(idx) == 4


def test_write_report(samples: list[PlateSample], corrupt: PlateSample, tmp_path: Path) -> None:
    result = _result(samples, corrupt)
    files = write_report(
        result,
        tmp_path / "out",
        dataset="tiny",
        split="test",
        source="in-memory plates",
        model_cards={"fake": {"charset": "LATIN", "sha256": "00"}},
    )
    info = json.loads(files.results_json.read_text(encoding="utf-8"))
    assert info["dataset"] == {"name": "tiny", "source": "in-memory plates", "split": "test"}
    assert info["n_scored"] == 6 and info["n_failed"] == 1
    assert info["failures"][0]["id"] == "broken.png"
    assert info["models"]["fake"]["card"]["charset"] == "LATIN"
    assert info["models"]["clean"]["card"] is None
    fake = info["models"]["fake"]
    assert fake["overall"]["plate_accuracy"] == pytest.approx(4 / 6)
    assert fake["overall"]["segmentation"]["wrong_count"] == 1
    assert len(fake["overall"]["risk_coverage"]) == 10
    assert set(fake["subsets"]) == {"hdr", "normal"}
    assert info["git_commit"] is None or len(info["git_commit"]) == 40
    assert {"platform", "cpu_count", "torch", "device"} <= set(info["machine"])

    csv = pd.read_csv(files.predictions_csv, keep_default_na=False)
    assert list(csv.columns) == [
        "model", "id", "subset", "truth", "prediction", "confidence", "correct", "n_segments",
    ]
    assert len(csv) == 12
    first = csv.iloc[0]
    assert (first["id"], first["truth"], first["prediction"], bool(first["correct"])) == (
        "s0", "1AB2345", "1AB234", False,
    )
    assert str(first["n_segments"]) == "6"
    assert (csv[csv.model == "clean"]["n_segments"] == "").all()

    md = files.report_md.read_text(encoding="utf-8")
    assert "# segocr benchmark: tiny (test split)" in md
    assert "![error gallery](error_gallery.png)" in md
    assert "broken.png" in md
    assert "Where segmentation loses plates" in md
    assert files.gallery_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
