"""`segocr datasets`: list the registered datasets, and check one (`info`).

`segocr datasets info NAME` prints counts, label lengths, image sizes and every
problem found (:func:`segocr.datasets.info.dataset_info`); it exits with status 1 when
there is any problem, so CI can run it on the data it depends on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segocr.cli.options import check_name, parse_key_values
from segocr.datasets.base import dataset_names, load_dataset
from segocr.datasets.info import dataset_info, format_info
from segocr.errors import DatasetError


@click.group()
def datasets() -> None:
    """List the datasets segocr knows and check their data."""


@datasets.command("list")
def list_datasets() -> None:
    """Print the names of the registered datasets, one a line."""
    for name in dataset_names():
        click.echo(name)


@datasets.command("info")
@click.argument("name")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the dataset is. Default: $SEGOCR_DATA/NAME, else data/NAME.",
)
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the dataset's loader, e.g. labels=labels.csv (folder) or crop=bbox (ccpd). Repeatable.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar. Default: when stderr is a terminal.",
)
def info(name: str, data_dir: Path | None, options: tuple[str, ...], progress: bool | None) -> None:
    """Count, measure and check dataset NAME, reading every image.

    Exits with status 1 when a problem was found (all of them are listed; a dataset
    with no samples at all is one), 2 for an unknown NAME.
    """
    check_name("dataset", name, dataset_names(), param_hint="NAME")
    kwargs = parse_key_values(options, option="--option")
    try:
        dataset = load_dataset(name, data_dir, **kwargs)
    except DatasetError as e:
        raise click.ClickException(str(e)) from None
    except TypeError as e:
        if "unexpected keyword argument" not in str(e):
            raise
        raise click.ClickException(
            f"dataset {name!r} does not take option(s) {', '.join(kwargs)} ({e})"
        ) from None
    report = dataset_info(dataset, progress=sys.stderr.isatty() if progress is None else progress)
    click.echo(format_info(report))
    if not report.ok:
        click.get_current_context().exit(1)
