"""`segocr ablate`: which preprocessing step of segcnn earns its place?

The work lives in :mod:`segocr.ablation`; this module parses options and
prints.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import click

from segocr.cli.options import check_name, parse_key_values
from segocr.datasets.base import SPLITS
from segocr.errors import ConfigError, DatasetError, SegocrError


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@click.command()
@click.option(
    "--dataset", default="iwt4s", show_default=True, help="Registered dataset to evaluate on."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the dataset lives (else $SEGOCR_DATA or ./data).",
)
@click.option(
    "--dataset-option",
    "-D",
    "dataset_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the dataset, e.g. n_test=50 for synthetic (repeatable).",
)
@click.option(
    "--grid",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="YAML grid of variants.  [default: the shipped src/segocr/configs/ablation_default.yaml]",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="segcnn weights whose card gives the base config and whose classifier is kept.  [default: the shipped ones]",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Result folder.  [default: runs/ablation-<dataset>-<split>]",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Variants run in parallel.",
)
@click.option(
    "--retrain",
    is_flag=True,
    help="Retrain the classifier per variant on the train split (slow; the fair comparison).",
)
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Use only the first N samples."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap intervals."
)
@click.option("--quiet", is_flag=True, help="Print only the results table.")
def ablate(
    dataset: str,
    data_dir: Path | None,
    dataset_option: tuple[str, ...],
    grid: Path | None,
    weights: Path | None,
    out: Path | None,
    jobs: int,
    retrain: bool,
    split: str,
    limit: int | None,
    seed: int,
    quiet: bool,
) -> None:
    """Run every variant of a grid (a base segcnn config and named changes to it) on
    one dataset split and compare each with the base, plate by plate. Writes
    ablation.md, ablation.json, ablation.png and predictions.csv."""
    from segocr.datasets.base import dataset_names, load_dataset

    check_name("dataset", dataset, dataset_names(), param_hint="--dataset")  # usage error: exit 2
    from segocr.ablation import (
        RetrainSettings,
        display_frame,
        load_base,
        load_grid,
        resolve_grid,
        run_ablation,
        with_images,
        write_ablation,
    )
    from segocr.evaluation.report import fixed_width
    from segocr.models.weights import default_weights_path

    start = time.perf_counter()

    def say(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    if retrain and split != "test":
        raise click.BadParameter(
            "--retrain trains on the train split, so evaluate on --split test", param_hint="--split"
        )
    weights_path = weights if weights is not None else default_weights_path("segcnn")
    try:
        spec = load_grid(grid)
        base_rec = load_base(weights_path)
        variants = resolve_grid(spec, base_rec.config)
        ds = load_dataset(dataset, data_dir, **parse_key_values(dataset_option))
        samples = ds.samples(split)
    except (SegocrError, FileNotFoundError) as err:
        hint = ""
        if (
            isinstance(err, SegocrError)
            and not isinstance(err, (ConfigError, DatasetError))
            and weights is None
        ):
            hint = " (train segcnn weights with `segocr train` or pass --weights)"
        raise click.ClickException(f"{err}{hint}") from None
    if limit is not None:
        samples = samples[:limit]
    if not samples:
        raise click.ClickException(f"dataset {ds.name!r} has no samples in the {split!r} split")
    say(f"data: {ds.name} ({ds.source}), {split} split, {len(samples)} plates")
    say(
        f"grid: {grid or 'shipped default'}; {len(variants)} variants incl. the base; {jobs} job(s)"
    )

    settings = None
    if retrain:
        from segocr.training.segcnn import SegCNNTrainConfig

        base_train = dict(base_rec.card.get("training", {}).get("train_config", {}))
        try:
            train_cfg = SegCNNTrainConfig.model_validate({**base_train, **spec.train})
            train = with_images(ds.samples("train"))
        except (SegocrError, ValueError) as err:
            raise click.ClickException(f"cannot set up retraining: {err}") from None
        settings = RetrainSettings(train, ds.charset, train_cfg)
        say(f"retraining the classifier per variant on {len(train)} train plates")

    try:
        result = run_ablation(
            variants,
            samples,
            weights=weights_path,
            retrain=settings,
            jobs=jobs,
            seed=seed,
            progress=say,
        )
    except SegocrError as err:  # no image readable, weights a worker cannot load, a dead pool
        raise click.ClickException(str(err)) from None
    out_dir = out if out is not None else Path("runs") / f"ablation-{ds.name}-{split}"
    wall = time.perf_counter() - start
    card = base_rec.card
    files = write_ablation(
        result,
        out_dir,
        dataset=ds.name,
        split=split,
        source=ds.source,
        grid_source=str(grid)
        if grid is not None
        else "src/segocr/configs/ablation_default.yaml (shipped)",
        grid=spec,
        weights={
            "path": _shown(weights_path),
            "sha256": card.get("sha256"),
            "trained_on": card.get("training", {}).get("dataset"),
        },
        command="segocr " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["ablate"] else "",
        wall_seconds=wall,
        seed=seed,
    )
    if not quiet:
        click.echo("")
    click.echo(fixed_width(display_frame(result), left=("variant", "change")))
    say("")
    say(
        f"{len(result.variants)} variants ({result.n_configs} distinct configs, "
        f"{result.n_preparations} distinct preparations) in {time.perf_counter() - start:.1f} s"
    )
    say(
        f"report: {files.markdown} (with {files.json.name}, {files.chart.name}, {files.predictions.name})"
    )
    if result.failures:
        for failure in result.failures:
            click.echo(f"error: {failure.error}", err=True)
        click.echo(f"{len(result.failures)} image(s) could not be read and were left out", err=True)
        raise click.exceptions.Exit(1)
