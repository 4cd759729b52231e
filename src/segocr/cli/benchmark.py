"""`segocr benchmark`: every recognizer on one dataset split, with a report folder.

The work lives in :mod:`segocr.evaluation`; this module parses options and prints.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import click

from segocr.cli.options import DEVICE_HELP, check_device, check_name
from segocr.datasets.base import SPLITS, dataset_names
from segocr.datasets.info import deduplicate
from segocr.errors import DatasetError
from segocr.evaluation.harness import choose_dataset, evaluate, load_recognizers
from segocr.evaluation.report import attribution_lines, format_table, write_report
from segocr.io import atomic_folder
from segocr.names import printable
from segocr.rows import DEFAULT_ROWS, ROWS_MODES, with_rows
from segocr.runtime import RUNTIMES


def _fallback_notice(used: str, reason: str) -> str:
    """Why the demo runs on ``used`` (the embedded set), naming only the folders that
    were actually looked in (``$SEGOCR_DATA`` ones only when it is set)."""
    env = os.environ.get("SEGOCR_DATA")
    places = [Path(env) / "iwt4s", Path(env)] if env else []
    places.append(Path("data") / "iwt4s")
    if any(p.exists() for p in places):  # a folder is there but unusable: say why
        return f"IWT4S could not be opened, so the embedded {used!r} set is used instead ({reason})"
    looked = ", ".join(printable(p.absolute()) for p in places)
    return (
        f"no IWT4S data in {looked}, so the embedded {used!r} set is used instead "
        "(pass --dataset iwt4s --data-dir DIR, or set SEGOCR_DATA; see README, Datasets)"
    )


def _speed_context(dataset: str) -> str:
    """What the plates/s column means here, so that it is not read as the README's."""
    cpus = os.cpu_count() or 1
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # pragma: no cover - no getloadavg on this system
        load = ""
    text = (
        f"plates/s: recognizer time over the decoded images of this one run, on this machine "
        f"as it is now ({cpus} CPUs{load}); it moves with the load, the thread count and the "
        "first run's warm-up. The README's figures are medians of 5 runs on the project's "
        "2-core machine, on IWT4S, each table with the load it was measured under"
    )
    if dataset == "synthetic":
        text += (
            "; these are generated plates, clean and of one style, so neither their speed "
            "nor their accuracy stands for real plates"
        )
    return text + "."


def _check_under_folder(out: Path) -> None:
    """An --out below a file can never be written: say so before any work (exit 1)."""
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise click.ClickException(f"{printable(parent)}: Not a directory (--out {printable(out)} lies under a file)")
            return


def _holds_files(folder: Path) -> bool:
    """True when ``folder`` exists and is not an empty directory."""
    try:
        return folder.is_dir() and any(folder.iterdir())
    except OSError:
        return True


def _split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("give at least one model name", param_hint="--models")
    from segocr.recognizers.base import recognizer_names

    for name in names:
        check_name("recognizer", name, recognizer_names(), param_hint="--models")
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
    help="Comma-separated recognizers, e.g. segcnn,crnn,holistic.  [default: every registered one but the source-specific crnn-ccpd]",
)
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Report folder; it must be absent or empty unless --overwrite.  "
    "[default: runs/benchmark-<dataset>-<split>, replaced on each run]",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the report folder given by --out if it holds files.",
)
@click.option("--device", default="auto", show_default=True, callback=check_device, help=DEVICE_HELP)
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
@click.option(
    "--rows",
    type=click.Choice(ROWS_MODES),
    default=DEFAULT_ROWS,
    show_default=True,
    help="Two-row plates (see segocr read --rows): auto, two (always split), one (never).",
)
@click.option("--quiet", is_flag=True, help="Print only the results table.")
def benchmark(
    dataset: str | None,
    data_dir: Path | None,
    models: str | None,
    split: str,
    out: Path | None,
    overwrite: bool,
    device: str,
    runtime: str,
    limit: int | None,
    batch_size: int,
    format_spec: str | None,
    fusion: bool,
    rows: str,
    quiet: bool,
) -> None:
    """Run recognizers on a dataset split and write a report (results.json,
    predictions.csv, report.md with an error gallery).

    Exits with status 1 when some images could not be read (they are listed in the
    report and left out of every figure). The report is written to a temporary folder
    beside the destination and renamed into place when complete, so a failure (a full
    disk) leaves no half report and two runs cannot mix their files.
    """

    def say(msg: str) -> None:
        if not quiet:
            click.echo(msg)

    if dataset is not None:
        check_name("dataset", dataset, dataset_names(), param_hint="--dataset")
    _split_names(models)  # an unknown model is a usage error (exit 2), before any work
    if out is not None:
        _check_under_folder(out)
    if out is not None and not overwrite and _holds_files(out):
        raise click.UsageError(
            f"--out {printable(out)} already holds files; give --overwrite to replace them, "
            "or another folder"
        )
    try:
        choice = choose_dataset(dataset, data_dir)
        samples = choice.dataset.samples(split)
    except DatasetError as err:
        raise click.ClickException(str(err)) from None
    ds = choice.dataset
    if choice.fallback_reason is not None:
        click.echo(f"note: {_fallback_notice(ds.name, choice.fallback_reason)}", err=True)
    try:
        samples, dropped = deduplicate(samples)
    except DatasetError as err:
        raise click.ClickException(str(err)) from None
    for line in dropped:
        click.echo(f"warning: {line}", err=True)
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
    recognizers = {name: with_rows(rec, rows) for name, rec in loaded.recognizers.items()}
    result = evaluate(
        recognizers, samples, batch_size=batch_size, progress=not quiet, options=options, fusion=fusion
    )
    out_dir = out if out is not None else Path("runs") / f"benchmark-{ds.name}-{split}"
    with atomic_folder(out_dir, overwrite=overwrite or out is None) as tmp:
        written = write_report(
            result,
            tmp,
            dataset=ds.name,
            split=split,
            source=ds.source,
            model_cards=loaded.cards,
            device=device,
        )
    files = replace(
        written,
        out_dir=out_dir,
        **{
            field: out_dir / getattr(written, field).name
            for field in ("results_json", "predictions_csv", "report_md", "gallery_png")
        },
    )

    say("")
    click.echo(format_table(result))
    say("")
    say(_speed_context(ds.name))
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
