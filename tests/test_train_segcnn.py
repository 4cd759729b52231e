"""segcnn training on a handful of synthetic plates: an interrupted run (in either
stage) resumed from its checkpoint ends with the same weights and log as an
uninterrupted one, through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from segocr.cli import main
from segocr.datasets.base import load_dataset
from segocr.errors import ConfigError
from segocr.training.registry import get_trainer
from segocr.training.segcnn import SegCNNTrainConfig

TINY = SegCNNTrainConfig(epochs_stage1=2, epochs=2, synthetic_plates=4, width=4, batch_size=64, val_fraction=0.25)


class Interrupt(Exception):
    pass


def _run(out: Path, *, stop_at: str | None = None, resume: bool = False) -> dict[str, Any]:
    ds = load_dataset("synthetic", n_train=12, n_test=2)

    def log(line: str) -> None:
        if stop_at is not None and line.startswith(stop_at):
            raise Interrupt

    return get_trainer("segcnn").run(ds, out, TINY, command="test", resume=resume, device="cpu", evaluate_test=False, log=log)


def _same_weights(a: Path, b: Path) -> bool:
    x = torch.load(a / "segcnn.pt", weights_only=True)
    y = torch.load(b / "segcnn.pt", weights_only=True)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full")
    card = _run(out)
    assert card["training"]["device"] == "cpu"
    return out


@pytest.mark.parametrize("stop_at", ["stage 1 epoch  1", "stage 2 epoch  1"])
def test_an_interrupted_run_resumes_to_the_same_weights(full_run: Path, tmp_path: Path, stop_at: str) -> None:
    with pytest.raises(Interrupt):
        _run(tmp_path, stop_at=stop_at)
    assert not (tmp_path / "segcnn.pt").exists() and (tmp_path / "checkpoint.pt").is_file()
    assert len(pd.read_csv(tmp_path / "log.csv")) == (1 if stop_at.startswith("stage 1") else 3)
    with pytest.raises(ConfigError, match="--resume"):
        _run(tmp_path)
    _run(tmp_path, resume=True)
    assert _same_weights(full_run, tmp_path)
    cols = ["stage", "epoch", "loss", "val_plate_accuracy"]
    pd.testing.assert_frame_equal(pd.read_csv(full_run / "log.csv")[cols], pd.read_csv(tmp_path / "log.csv")[cols])


def test_resume_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["train", "--model", "segcnn", "--dataset", "synthetic", "-D", "n_train=12", "-D", "n_test=2", "--out", str(out)]
    (tmp_path / "tiny.yaml").write_text("epochs_stage1: 1\nepochs: 1\nsynthetic_plates: 0\nwidth: 4\nval_fraction: 0.25\n")
    res = CliRunner().invoke(main, [*base, "--config", str(tmp_path / "tiny.yaml"), "--no-eval-test"])
    assert res.exit_code == 0, res.output
    assert (out / "config.yaml").is_file() and (out / "curves.png").is_file()
    res = CliRunner().invoke(main, [*base, "--resume"])  # a finished run: nothing left but writing the weights again
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, [*base, "--resume", "--seed", "3"])
    assert res.exit_code != 0 and "differ" in res.output


def test_the_search_harvest_adds_its_crops_to_stage_2_and_the_card(full_run: Path, tmp_path: Path) -> None:
    """``search_harvest`` on: the log names the forced search's crops, and the card counts
    them (max_unsure: the tiny stage-1 net is sure of nothing); off, the card has no such
    fields (the earlier recipe, as the other tests run it)."""
    from segocr.training.harvest import SearchHarvestConfig

    ds = load_dataset("synthetic", n_train=12, n_test=2)
    cfg = TINY.model_copy(update={"search_harvest": SearchHarvestConfig(max_unsure=12)})
    lines: list[str] = []
    card = get_trainer("segcnn").run(ds, tmp_path, cfg, command="test", device="cpu", evaluate_test=False, log=lines.append)
    assert any("by the forced search" in line for line in lines)
    facts = card["training"]
    assert facts["search_char_crops"] > 0 and facts["search_noise_crops"] >= 0
    assert facts["train_config"]["search_harvest"]["max_unsure"] == 12
    assert "search_char_crops" not in json.loads((full_run / "segcnn.json").read_text())["training"]


def test_distillation_trains_from_a_teacher_and_refuses_a_misfit_one(full_run: Path, tmp_path: Path) -> None:
    """``distill``: a tiny run distils the tiny full run's classifier (same charset and
    crop size) into a new classifier; a teacher reading other crop sizes is refused."""
    from segocr.training.segcnn import DistillConfig

    ds = load_dataset("synthetic", n_train=12, n_test=2)
    teacher = str(full_run / "segcnn.pt")
    cfg = TINY.model_copy(update={"width": 4, "distill": DistillConfig(teacher=teacher)})
    card = get_trainer("segcnn").run(ds, tmp_path / "kd", cfg, command="test", device="cpu", evaluate_test=False, log=lambda _: None)
    assert card["training"]["train_config"]["distill"]["teacher"] == teacher
    assert (tmp_path / "kd" / "segcnn.pt").is_file()
    small = TINY.recognizer.model_copy(update={"input_size": 24})
    bad = TINY.model_copy(update={"recognizer": small, "distill": DistillConfig(teacher=teacher)})
    with pytest.raises(ConfigError, match="crop size"):
        get_trainer("segcnn").run(ds, tmp_path / "bad", bad, command="test", device="cpu", evaluate_test=False, log=lambda _: None)


def test_fit_fraction_cuts_whole_plates_from_the_fit_part_only() -> None:
    from segocr.datasets.base import PlateSample
    from segocr.training.segcnn import fit_val_split

    # 40 plates, two captures each (one group per plate)
    samples = [PlateSample(id=f"{p:02d}{c}", text=f"P{p:02d}", group=f"P{p:02d}") for p in range(40) for c in "nh"]
    full_fit, full_val = fit_val_split(samples, SegCNNTrainConfig(seed=3, val_fraction=0.25))
    half_fit, half_val = fit_val_split(samples, SegCNNTrainConfig(seed=3, val_fraction=0.25, fit_fraction=0.5))
    assert [s.id for s in half_val] == [s.id for s in full_val] and len({s.group for s in full_val}) == 10
    assert {s.id for s in half_fit} < {s.id for s in full_fit}
    groups = {s.group for s in half_fit}
    assert len(groups) == 15 and len(half_fit) == 30  # half of the 30 fit plates, both captures of each
    assert not groups & {s.group for s in full_val}
