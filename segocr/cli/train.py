"""`segocr train --model segcnn`: train a recognizer and write weights with their card."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from segocr.errors import ConfigError, SegocrError

MODELS = ("segcnn",)


def _load_config(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of options")
    return data


@click.command()
@click.option("--model", type=click.Choice(MODELS), default="segcnn", show_default=True)
@click.option("--dataset", default="iwt4s", show_default=True, help="Registered dataset to train on (its train split).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where the dataset lives (else $SEGOCR_DATA or ./data).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="YAML file of training options (validated; unknown keys are errors).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("runs/train-segcnn"), show_default=True, help="Run folder: weights, card, config, log.")
@click.option("--seed", type=int, default=None, help="Overrides the config's seed.")
@click.option("--eval-test/--no-eval-test", default=True, show_default=True, help="Measure the finished model once on the test split, for its card.")
def train(model: str, dataset: str, data_dir: Path | None, config_path: Path | None, out: Path, seed: int | None, eval_test: bool) -> None:
    """Train a recognizer on a dataset's train split. The checkpoint is chosen on a
    validation part of the train split, never on the test split. To ship the result,
    copy OUT/segcnn.pt and OUT/segcnn.json into segocr/weights/."""
    from pydantic import ValidationError

    from segocr.datasets.base import load_dataset
    from segocr.training.segcnn import SegCNNTrainConfig, run_segcnn_training

    try:
        options = _load_config(config_path)
        if seed is not None:
            options["seed"] = seed
        try:
            cfg = SegCNNTrainConfig.model_validate(options)
        except ValidationError as exc:
            raise ConfigError(f"invalid training config:\n{exc}") from None
        ds = load_dataset(dataset, data_dir)
        parts = ["segocr", "train", "--model", model, "--dataset", dataset]
        if data_dir is not None:
            parts += ["--data-dir", str(data_dir)]
        if config_path is not None:
            parts += ["--config", str(config_path)]
        if seed is not None:
            parts += ["--seed", str(seed)]
        command = " ".join(shlex.quote(p) for p in parts)
        card = run_segcnn_training(ds, out, cfg, command=command, evaluate_test=eval_test, log=click.echo)
    except SegocrError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out / 'segcnn.pt'} ({card['size_bytes'] / 1024:.0f} KB) and its card {out / 'segcnn.json'}")
