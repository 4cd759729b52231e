"""`segocr benchmark` through click's CliRunner, with fake recognizers and datasets
registered for the test (the real registries are restored afterwards)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

import segocr.datasets.base as dsbase
import segocr.recognizers.base as recbase
from segocr.api import load_recognizer
from segocr.charset import LATIN, Charset
from segocr.cli import main
from segocr.datasets.base import PlateSample
from segocr.errors import DatasetError, WeightsError
from segocr.recognizers.base import CharPrediction, Prediction

TEXTS = ["1AB2345", "2CD3456", "3EF4567", "4GH5678", "5JK6789", "6LM7890", "7NP8901", "8RS9012"]


class Reader:
    """Reads the plate index from the pixels; misreads plate 2 (a substitution)."""

    name = "fake"
    card: ClassVar[dict[str, str]] = {"charset": LATIN, "trained_on": "nothing"}

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        out = []
        for img in images:
            i = int(img[0, 0, 0])
            text = TEXTS[i] if i != 2 else TEXTS[i][:-1] + "X"
            chars = [CharPrediction(c, 0.95) for c in text]
            out.append(Prediction.from_chars(chars, "fake", n_segments=len(text)))
        return out


def fake_factory(weights: str | None = None, device: str = "auto") -> Reader:
    return Reader()


def no_weights(weights: str | None = None, device: str = "auto") -> Reader:
    raise WeightsError("no weights shipped yet for nothing.pt")


@dataclass
class Tiny:
    """An in-memory dataset; ``broken`` adds a sample whose file is not an image."""

    broken: Path | None = None
    name: str = "synthetic"
    source: str = "tiny in-memory plates"
    charset: Charset = field(default_factory=lambda: Charset(LATIN))

    def samples(self, split: str = "all") -> list[PlateSample]:
        out = [
            PlateSample(f"p{i}", t, subset="hdr" if i % 2 else "normal", image=np.full((10, 30, 3), i, np.uint8))
            for i, t in enumerate(TEXTS)
        ]
        if self.broken is not None:
            out.insert(1, PlateSample("bad.png", "9ZZ9999", path=self.broken))
        return out


class Blank:
    """Reads nothing, on any image."""

    name = "blank"

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        return [Prediction("", 0.0, recognizer="blank") for _ in images]


@pytest.fixture()
def recognizers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A fake recognizer registry: ``fake``, ``blank`` and ``nothing`` (no weights);
    the working directory is ``tmp_path``."""
    registry = {"fake": fake_factory, "blank": lambda weights=None, device="auto": Blank(), "nothing": no_weights}
    monkeypatch.setattr(recbase.RECOGNIZERS, "_entries", registry)
    monkeypatch.setattr(recbase.RECOGNIZERS, "_loaded", True)
    monkeypatch.chdir(tmp_path)
    load_recognizer.cache_clear()
    yield
    load_recognizer.cache_clear()


@pytest.fixture()
def registries(recognizers: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake recognizers (above) and datasets: ``iwt4s`` (absent) and ``synthetic``
    (tiny, in memory). Returns the dataset options to tweak."""
    opts: dict[str, Any] = {"broken": None}

    def absent_iwt4s(data_dir: Path | None = None, **_: Any) -> Tiny:
        raise DatasetError("IWT4S not found (looked in: data/iwt4s)")

    monkeypatch.setattr(dsbase.DATASETS, "_entries", {"iwt4s": absent_iwt4s, "synthetic": lambda d=None, **o: Tiny(**opts)})
    monkeypatch.setattr(dsbase.DATASETS, "_loaded", True)
    return opts


def test_default_falls_back_to_synthetic(
    registries: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEGOCR_DATA", raising=False)
    res = CliRunner().invoke(main, ["benchmark"])
    assert res.exit_code == 0, res.output
    # The notice goes to stderr and names only the places looked in.
    looked = str((tmp_path / "data" / "iwt4s").absolute())
    assert f"note: no IWT4S data in {looked}, so the embedded 'synthetic' set" in res.stderr
    assert "SEGOCR_DATA/iwt4s" not in res.stderr and "No IWT4S" not in res.stdout
    # plates/s on the demo set are put in context.
    assert "plates/s: recognizer time over the decoded images of this one run" in res.stdout
    assert "generated plates, clean and of one style" in res.stdout
    assert "data: synthetic (tiny in-memory plates), test split, 8 plates" in res.stdout
    assert "nothing: no usable weights (no weights shipped yet for nothing.pt), skipped" in res.stderr
    assert "plate acc" in res.stdout and "87.5%" in res.stdout
    out = tmp_path / "runs" / "benchmark-synthetic-test"
    assert f"report: {Path('runs/benchmark-synthetic-test/report.md')}" in res.stdout
    info = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert info["dataset"]["name"] == "synthetic" and info["dataset"]["split"] == "test"
    assert list(info["models"]) == ["blank", "fake"]
    assert info["models"]["fake"]["card"]["trained_on"] == "nothing"
    assert (out / "predictions.csv").read_text(encoding="utf-8").count("\n") == 1 + 2 * 8
    assert (out / "error_gallery.png").exists()


def test_quiet_prints_only_the_table(registries: dict[str, Any], tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["benchmark", "--quiet", "--models", "fake", "--out", "r", "--limit", "4"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["model", "subset", "n"]
    assert len(lines) == 2 + 3  # header, rule, all/hdr/normal
    assert lines[2].split()[:4] == ["fake", "all", "4", "75.0%"]
    assert (tmp_path / "r" / "report.md").exists()


def test_unreadable_image_exits_1(registries: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    registries["broken"] = bad
    res = CliRunner().invoke(main, ["benchmark", "--models", "fake", "--quiet"])
    assert res.exit_code == 1
    assert "1 image(s) could not be read" in res.stderr
    info = json.loads((tmp_path / "runs/benchmark-synthetic-test/results.json").read_text(encoding="utf-8"))
    assert info["n_failed"] == 1 and info["n_scored"] == 8
    assert info["failures"][0]["id"] == "bad.png"


def test_unknown_and_unusable_models(registries: dict[str, Any]) -> None:
    res = CliRunner().invoke(main, ["benchmark", "--models", "nothing,crnn"])
    assert res.exit_code == 2  # a usage error, before any work
    assert "unknown recognizer 'crnn'; choose one of: blank, fake, nothing" in res.stderr
    res = CliRunner().invoke(main, ["benchmark", "--models", "nothing"])
    assert res.exit_code == 1
    assert "nothing: no usable weights" in res.stderr
    assert "Error: no usable recognizer to benchmark" in res.stderr


def test_named_dataset_never_falls_back(registries: dict[str, Any], tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["benchmark", "--dataset", "iwt4s"])
    assert res.exit_code == 1 and "Error: IWT4S not found" in res.stderr
    res = CliRunner().invoke(main, ["benchmark", "--data-dir", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and "Error: IWT4S not found" in res.stderr


def test_help_lists_options() -> None:
    res = CliRunner().invoke(main, ["benchmark", "--help"])
    assert res.exit_code == 0
    for opt in ("--dataset", "--data-dir", "--models", "--split", "--out", "--device", "--quiet", "--limit"):
        assert opt in res.output


def test_real_synthetic_dataset(recognizers: None, tmp_path: Path) -> None:
    pytest.importorskip("segocr.datasets.synthetic")
    res = CliRunner().invoke(main, ["benchmark", "--dataset", "synthetic", "--models", "blank", "--limit", "3"])
    assert res.exit_code == 0, res.output
    assert "data: synthetic" in res.stdout and "3 plates" in res.stdout
    assert (tmp_path / "runs/benchmark-synthetic-test/report.md").exists()


@pytest.mark.real_data
def test_real_iwt4s(recognizers: None, iwt4s_dir: Path, tmp_path: Path) -> None:
    args = ["benchmark", "--data-dir", str(iwt4s_dir), "--models", "blank", "--limit", "5", "--out", "o"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "data: iwt4s (IWT4S HDR LP at" in res.stdout
    info = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    assert info["n_scored"] == 5 and info["dataset"]["source"].startswith("IWT4S")
    assert info["models"]["blank"]["overall"]["plate_accuracy"] == 0.0
