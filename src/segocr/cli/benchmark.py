"""`segocr benchmark`: every recognizer on one dataset split, with a report folder.

The work lives in :mod:`segocr.evaluation`; this module parses options and prints.
"""

from __future__ import annotations

from pathlib import Path

import click

from segocr.datasets.base import SPLITS
from segocr.errors import DatasetError
from segocr.evaluation.harness import choose_dataset, evaluate, load_recognizers
from segocr.evaluation.report import attribution_lines, format_table, write_report
from segocr.runtime import RUNTIMES


def _split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("give at least one model name", param_hint="--models")
    return names


@click.command()
@click.option(
    "--dataset",
    default=None,
    metavar="NAME",
    help="Registered dataset name.  [default: iwt4s if found, else the embedded synthetic set]",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the dataset lives (else $SEGOCR_DATA or ./data). Never falls back to synthetic.",
)
@click.option(
    "--models",
    default=None,
    metavar="A,B,...",
    help="Comma-separated recognizers, e.g. segcnn,crnn,holistic.  [default: every registered one]",
)
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Report folder.  [default: runs/benchmark-<dataset>-<split>]",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="auto",
    show_default=True,
    help="Inference backend: onnx, torch, or auto (onnx when installed and exported).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N samples.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--format",
    "format_spec",
    metavar="NAME|auto|FILE.yaml",
    default=None,
    help="Decode under a plate format (see segocr read --format).  [default: none]",
)
@click.option(
    "--fusion/--no-fusion",
    default=True,
    show_default=True,
    help="Also score one fused reading per track when samples share a track id (IWT4S).",
)
@click.option("--quiet", is_flag=True, help="Print only the results table.")
def benchmark(
    dataset: str | None,
    data_dir: Path | None,
    models: str | None,
    split: str,
    out: Path | None,
    device: str,
    runtime: str,
    limit: int | None,
    batch_size: int,
    format_spec: str | None,
    fusion: bool,
    quiet: bool,
) -> None:
    """Run recognizers on a dataset split and write a report (results.json,
    predictions.csv, report.md with an error gallery).

    Exits with status 1 when some images could not be read (they are listed in the
    report and left out of every figure).
    """

    def say(msg: str) -> None:
        if not quiet:
            click.echo(msg)

    try:
        choice = choose_dataset(dataset, data_dir)
        samples = choice.dataset.samples(split)
    except DatasetError as err:
        raise click.ClickException(str(err)) from None
    ds = choice.dataset
    if choice.fallback_reason is not None:
        say(f"No IWT4S data, so using the embedded {ds.name!r} set instead. ({choice.fallback_reason})")
    if limit is not None:
        samples = samples[:limit]
    if not samples:
        raise click.ClickException(f"dataset {ds.name!r} has no samples in the {split!r} split")
    say(f"data: {ds.name} ({ds.source}), {split} split, {len(samples)} plates")

    loaded = load_recognizers(_split_names(models), device=device, runtime=runtime)
    for name, why in loaded.skipped.items():
        click.echo(f"{name}: {why}, skipped", err=True)
    if not loaded.recognizers:
        raise click.ClickException("no usable recognizer to benchmark")
    say(f"models: {', '.join(loaded.recognizers)} (device {device})")

    from segocr.errors import ConfigError
    from segocr.formats.decoding import DecodeOptions, plan

    options = DecodeOptions(format=format_spec) if format_spec else None
    try:
        for rec in loaded.recognizers.values():
            if options is not None and getattr(rec, "charset", None) is not None:
                plan(options, rec.charset)  # type: ignore[attr-defined]
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    if options is not None:
        say(f"format: {format_spec}")
    result = evaluate(
        loaded.recognizers, samples, batch_size=batch_size, progress=not quiet, options=options, fusion=fusion
    )
    out_dir = out if out is not None else Path("runs") / f"benchmark-{ds.name}-{split}"
    files = write_report(
        result,
        out_dir,
        dataset=ds.name,
        split=split,
        source=ds.source,
        model_cards=loaded.cards,
        device=device,
    )

    say("")
    click.echo(format_table(result))
    say("")
    for line in attribution_lines(result):
        say(line)
    say(f"report: {files.report_md} (with results.json, predictions.csv, {files.gallery_png.name})")
    if result.n_failed:
        for failure in result.failures:
            click.echo(f"error: {failure.error}", err=True)
        click.echo(
            f"{result.n_failed} image(s) could not be read and were left out (listed in {files.report_md})",
            err=True,
        )
        raise click.exceptions.Exit(1)
