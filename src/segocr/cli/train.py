"""`segocr train`: train a recognizer and write weights with their card."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from segocr.cli.options import DEVICE_HELP, check_device, check_name, parse_key_values
from segocr.errors import ConfigError, SegocrError

MODELS_HELP = "segcnn, crnn or holistic (the trainer registry)"


@click.command()
@click.option("--model", default="segcnn", show_default=True, help=f"What to train: {MODELS_HELP}.")
@click.option("--dataset", default="iwt4s", show_default=True, help="Registered dataset to train on (its train split).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where the dataset lives (else $SEGOCR_DATA or ./data).")
@click.option("--dataset-option", "-D", "dataset_option", multiple=True, metavar="KEY=VALUE", help="Option for the dataset, e.g. n_train=500 for synthetic (repeatable).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="YAML file of training options (validated; unknown keys are errors).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None, help="Run folder: weights, card, config, log, curves, checkpoint.  [default: runs/train-MODEL]")
@click.option("--seed", type=int, default=None, help="Overrides the config's seed.")
@click.option("--resume", is_flag=True, help="Go on with the interrupted run in --out (its config.yaml is used).")
@click.option("--device", default="auto", show_default=True, callback=check_device, help=DEVICE_HELP)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch (default: torch's choice).")
@click.option("--eval-test/--no-eval-test", default=True, show_default=True, help="Measure the finished model once on the test split, for its card.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
def train(
    model: str, dataset: str, data_dir: Path | None, dataset_option: tuple[str, ...], config_path: Path | None,
    out: Path | None, seed: int | None, resume: bool, device: str, threads: int | None, eval_test: bool, progress: bool,
) -> None:
    """Train a recognizer on a dataset's train split. The checkpoint is chosen on a
    validation part of the train split, never on the test split. To ship the result,
    copy OUT/MODEL.pt and OUT/MODEL.json into src/segocr/weights/."""
    import torch

    from segocr.datasets.base import dataset_names, load_dataset
    from segocr.models.weights import resolve_device
    from segocr.training.registry import get_trainer, load_options, trainer_names, validate_options

    check_name("model", model, trainer_names(), param_hint="--model")
    check_name("dataset", dataset, dataset_names(), param_hint="--dataset")
    out = out if out is not None else Path("runs") / f"train-{model}"
    try:
        try:
            trainer = get_trainer(model)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
        if resume and not trainer.supports_resume:
            raise ConfigError(f"the {model} trainer cannot resume; start it again without --resume")
        source = str(config_path) if config_path else "options"
        if resume and config_path is None and seed is None:
            config_path = out / "config.yaml"
            if not config_path.is_file():
                raise ConfigError(f"nothing to resume: {config_path} does not exist")
            source = str(config_path)
        options = load_options(config_path)
        if seed is not None:
            options["seed"] = seed
        cfg = validate_options(trainer.config_class, options, source=source)
        resolve_device(device)  # a bad --device fails before any work
        ds = load_dataset(dataset, data_dir, **parse_key_values(dataset_option))
        if threads is not None:
            torch.set_num_threads(threads)
        parts = ["segocr", "train", "--model", model, "--dataset", dataset]
        if data_dir is not None:
            parts += ["--data-dir", str(data_dir)]
        for opt in dataset_option:
            parts += ["--dataset-option", opt]
        if config_path is not None and not resume:
            parts += ["--config", str(config_path)]
        if seed is not None:
            parts += ["--seed", str(seed)]
        if threads is not None:
            parts += ["--threads", str(threads)]
        if device != "auto":
            parts += ["--device", device]
        if out != Path("runs") / f"train-{model}":
            parts += ["--out", str(out)]
        if resume:
            parts += ["--resume"]
        command = " ".join(shlex.quote(p) for p in parts)
        card = trainer.run(
            ds, out, cfg, command=command, resume=resume, device=device, evaluate_test=eval_test, progress=progress, log=click.echo
        )
    except SegocrError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # e.g. a bad --device
        raise click.ClickException(str(exc)) from None
    name = card.get("model", model)
    click.echo(f"wrote {out / f'{name}.pt'} ({card['size_bytes'] / 1024:.0f} KB) and its card {out / f'{name}.json'}")
