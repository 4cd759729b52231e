"""benchmarks/generalization.py: the per-source table and the leave-one-source-out plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmark_modules import load_benchmark

from segocr.datasets.base import PlateSample
from segocr.datasets.mix import read_mix_config
from segocr.recognizers.base import Prediction
from segocr.training.mixdata import score_visible

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen():
    return load_benchmark("generalization")


def test_loso_plan_names_real_sources_and_existing_configs(gen) -> None:
    cfg, _ = read_mix_config("general")
    names = {s.dataset for s in cfg.sources}
    for held, exclude in gen.LOSO.items():
        assert held in {s.short for s in gen.SOURCES}
        assert {x.partition(":")[0] for x in exclude.split(",")} <= names
    for model, path in gen.LOSO_CONFIGS.items():
        assert (ROOT / path).is_file()
        with_ = gen.loso_command(Path("runs/loso"), model, None, Path("d"))
        without = gen.loso_command(Path("runs/loso"), model, "br", Path("d"))
        # Same options but the exclusion and the run folder.
        assert (
            without.replace(f" -D exclude={gen.LOSO['br']}", "").replace("-without-br", "-full")
            == with_
        )
    with pytest.raises(SystemExit):
        gen.loso_models("segcnn,holistic")


def test_report_has_accuracy_cer_and_ece_per_source(gen) -> None:
    truths = ["AB1", "CD2", "EF3", "GH4"]
    preds = [
        Prediction("AB1", 0.9),
        Prediction("CD2", 0.8),
        Prediction("XX3", 0.7),
        Prediction("GH4", 0.6),
    ]
    m = score_visible(truths, preds)
    results = {"m": {"br": m, "all": m}, "ccpd-only": {"ccpd": m}}
    sources = [gen.Source("br", "openalpr-br"), gen.Source("ccpd", "folder", union=False)]
    lines = gen.report(results, {"br": 4, "ccpd": 4}, {"m": {3: m}}, sources=sources, command="cmd")
    text = "\n".join(lines)
    assert "| model | br | ccpd | all |" in text
    row = next(line for line in lines if line.startswith("| m |"))
    assert "75.0% (" in row and "/ 16.7%" in row  # 2 of 12 characters wrong
    ccpd_row = next(line for line in lines if line.startswith("| ccpd-only |"))
    assert ccpd_row.split("|")[2].strip() == "-" and ccpd_row.split("|")[3].strip().startswith(
        "75.0%"
    )
    assert "all = the Latin sources' union, 4 plates" in text


def test_can_read_checks_the_charset(gen) -> None:
    assert gen.can_read("ABC123", [PlateSample("a", "AB?1"), PlateSample("b", "C3")])
    assert not gen.can_read("ABC123", [PlateSample("a", "皖A12")])


def test_run_loso_reads_each_held_out_source_with_and_without(
    gen, tmp_path: Path, monkeypatch
) -> None:
    import numpy as np

    class Fixed:
        """Reads every plate as ``text`` (from its run folder's ``read.txt``)."""

        def __init__(self, text: str) -> None:
            self.name, self.text, self.charset = "fixed", text, None

        def predict(self, images, **kwargs):
            return [Prediction(self.text, 0.5) for _ in images]

    img = np.zeros((20, 60, 3), np.uint8)
    monkeypatch.setattr(
        gen,
        "load_test",
        lambda src, root: [PlateSample(str(i), "AB1", image=img) for i in range(4)],
    )
    monkeypatch.setattr(
        gen,
        "load_recognizer",
        lambda model, weights, **kw: Fixed((Path(weights).parent / "read.txt").read_text()),
    )
    for held, text in (("br", "XX1"), (None, "AB1")):
        run = gen.loso_run(tmp_path, "crnn", held)
        run.mkdir(parents=True)
        (run / "crnn.pt").write_bytes(b"")
        (run / "read.txt").write_text(text)
    lines = gen.run_loso(tmp_path, Path("data"), ["crnn"], rows="one")
    br = next(line for line in lines if line.startswith("| crnn | br |"))
    without, with_ = (c.strip() for c in br.split("|")[5:7])
    assert without.startswith("0.0%") and without.endswith("/ 66.7%")
    assert with_.startswith("100.0%") and with_.endswith("/ 0.0%")
    eu2 = next(line for line in lines if line.startswith("| crnn | eu2 |"))
    assert eu2.split("|")[5].strip() == "-"  # no run folder: reported as missing
    assert not any(
        line.startswith("| crnn | es |") for line in lines
    )  # the CRNN never trains on ES
