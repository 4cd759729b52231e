"""`segocr train` through click's CliRunner on a handful of synthetic plates: one
short training per model, an interrupted run resumed to the same weights, and the
validation of YAML options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml
from click.testing import CliRunner

from segocr.cli import main
from segocr.datasets.base import load_dataset
from segocr.errors import ConfigError
from segocr.recognizers.crnn import load_crnn
from segocr.recognizers.holistic import load_holistic
from segocr.training.registry import get_trainer, trainer_names, validate_options
from segocr.training.sequence import CRNNTrainConfig, run_sequence_training

TINY_MODEL = {
    "crnn": {"channels": [4, 4, 8, 8, 8, 8], "hidden": 8},
    "holistic": {"channels": [4, 4, 8, 8, 8], "hidden": 16},
}
DATA = ["--dataset", "synthetic", "-D", "n_train=10", "-D", "n_test=3"]


def tiny_options(model: str, *, finetune_epochs: int = 1) -> dict[str, Any]:
    return {
        "batch_size": 4,
        "val_fraction": 0.25,
        "pretrain": {"plates": 4, "epochs": 1},
        "finetune": {"epochs": finetune_epochs},
        "model": TINY_MODEL[model],
    }


def write_yaml(path: Path, options: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(options), encoding="utf-8")
    return path


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(main, ["train", *args], catch_exceptions=False)


@pytest.mark.parametrize("model", ["crnn", "holistic"])
def test_one_epoch_through_the_cli(model: str, tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "tiny.yaml", tiny_options(model))
    out = tmp_path / "run"
    res = invoke(["--model", model, *DATA, "--config", str(cfg), "--out", str(out), "--device", "cpu", "--no-progress"])
    assert res.exit_code == 0, res.output
    for name in (f"{model}.pt", f"{model}.json", "config.yaml", "log.csv", "curves.png", "checkpoint.pt"):
        assert (out / name).is_file(), name
    card = json.loads((out / f"{model}.json").read_text())
    assert card["model"] == model and card["training"]["dataset"] == "synthetic"
    assert card["command"].startswith(f"segocr train --model {model} --dataset synthetic")
    assert card["metrics"]["split"] == "test" and card["metrics"]["n"] == 3
    if model == "holistic":  # calibrated on the validation plates after training
        assert 0.2 <= card["config"]["temperature"] <= 3.0
    log = pd.read_csv(out / "log.csv")
    assert list(log["stage"]) == ["pretrain", "finetune"]
    assert {"loss", "val_loss", "val_plate_accuracy", "val_cer", "lr"} <= set(log.columns)
    loader = load_crnn if model == "crnn" else load_holistic
    rec = loader(weights=out / f"{model}.pt", device="cpu")
    ds = load_dataset("synthetic", n_train=1, n_test=1)
    assert len(rec.predict([ds.samples("test")[0].load()])) == 1
    # The resolved config reproduces the run.
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["model"]["hidden"] == TINY_MODEL[model]["hidden"] and resolved["batch_size"] == 4


class Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    ds = load_dataset("synthetic", n_train=10, n_test=2)
    cfg = CRNNTrainConfig.model_validate(tiny_options("crnn", finetune_epochs=2))
    head_run = get_trainer("crnn").run
    common: dict[str, Any] = {"command": "test", "evaluate_test": False, "progress": False, "log": lambda s: None, "device": "cpu"}
    full = tmp_path / "full"
    head_run(ds, full, cfg, **common)

    def stop_after_first(row: dict[str, Any]) -> None:
        if row["stage"] == "finetune" and row["epoch"] == 1:
            raise Interrupt

    part = tmp_path / "part"
    from segocr.training.sequence import CTCHead

    with pytest.raises(Interrupt):
        run_sequence_training(CTCHead(), ds, part, cfg, on_epoch=stop_after_first, **common)
    assert not (part / "crnn.pt").exists()
    assert len(pd.read_csv(part / "log.csv")) == 2
    # Starting again without --resume refuses to overwrite; with it, the run goes on.
    with pytest.raises(ConfigError, match="--resume"):
        head_run(ds, part, cfg, **common)
    head_run(ds, part, cfg, resume=True, **common)
    a = torch.load(full / "crnn.pt", weights_only=True)
    b = torch.load(part / "crnn.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    cols = ["stage", "epoch", "loss", "val_loss", "val_plate_accuracy", "val_cer"]
    pd.testing.assert_frame_equal(pd.read_csv(full / "log.csv")[cols], pd.read_csv(part / "log.csv")[cols])


def test_resume_through_the_cli_uses_the_runs_config(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "tiny.yaml", tiny_options("crnn"))
    out = tmp_path / "run"
    base = ["--model", "crnn", *DATA, "--out", str(out), "--no-progress", "--no-eval-test"]
    assert invoke([*base, "--config", str(cfg)]).exit_code == 0
    res = invoke([*base, "--resume"])
    assert res.exit_code == 0, res.output
    assert "--resume" in json.loads((out / "crnn.json").read_text())["command"]
    other = write_yaml(tmp_path / "other.yaml", {**tiny_options("crnn"), "seed": 5})
    res = CliRunner().invoke(main, ["train", *base, "--resume", "--config", str(other)])
    assert res.exit_code != 0 and "differ" in res.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 3}, "epochs: unknown option (valid here: augment, batch_size"),
        ({"finetune": {"epoch": 3}}, "finetune.epoch: unknown option (valid here: balance, balance_cap, early_stop_patience, epochs"),
        ({"augment": {"rotation": 3}}, "augment.rotation: unknown option"),
        ({"batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
        ({"line": {"height": 30}}, "multiples of 16"),
        ({"model": {"channels": [1, 2]}}, "model.channels"),
    ],
)
def test_bad_yaml_options_are_clear_errors(options: dict[str, Any], message: str, tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "bad.yaml", options)
    res = CliRunner().invoke(main, ["train", "--model", "crnn", *DATA, "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "bad.yaml: invalid options for CRNNTrainConfig" in res.output
    assert message in res.output
    assert not (tmp_path / "o").exists()


def test_other_user_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- 1\n- 2\n")
    cases = [
        (["--model", "nope", *DATA], "unknown model 'nope'; choose one of: crnn, holistic, segcnn"),
        (["--model", "crnn", *DATA, "--config", str(not_a_mapping)], "must be a mapping"),
        (["--model", "crnn", *DATA, "--out", str(tmp_path / "none"), "--resume"], "nothing to resume"),
        (["--model", "segcnn", *DATA, "--out", str(tmp_path / "none2"), "--resume"], "nothing to resume"),
        (["--model", "crnn", "--dataset", "synthetic", "-D", "n_train"], "expected KEY=VALUE"),
        (["--model", "holistic", *DATA, "--device", "tpu", "--out", str(tmp_path / "d")], "'tpu' is not a device"),
    ]
    for args, message in cases:
        res = runner.invoke(main, ["train", *args])
        assert res.exit_code != 0, args
        assert message in res.output, (args, res.output)


def test_every_trainer_validates_its_options() -> None:
    assert trainer_names() == ["crnn", "holistic", "segcnn"]
    for name in trainer_names():
        cls = get_trainer(name).config_class
        assert validate_options(cls, {"seed": 3}).seed == 3  # type: ignore[attr-defined]
        with pytest.raises(ConfigError, match="unknown option"):
            validate_options(cls, {"no_such_option": 1})
