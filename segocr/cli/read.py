"""`segocr read IMAGE...`: one line (or JSON object) per image.

Bad files are reported one by one on stderr and the rest are still read; the exit
code is 1 when any image failed, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np

from segocr.errors import ImageReadError, SegocrError
from segocr.io import iter_image_paths, read_image
from segocr.recognizers.base import Prediction, recognizer_names

STDIN = "-"


def _sources(images: tuple[str, ...]) -> Iterator[str]:
    """Expand directories to their images; keep ``-`` (stdin) and files as given."""
    for item in images:
        if item == STDIN:
            yield STDIN
        else:
            yield from (str(p) for p in iter_image_paths([Path(item)]))


def _load(source: str) -> np.ndarray:
    if source == STDIN:
        return read_image(sys.stdin.buffer.read(), name="<stdin>")
    return read_image(Path(source))


def _emit(source: str, pred: Prediction, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"path": source, **pred.to_dict(), "error": None}, ensure_ascii=False))
    else:
        click.echo(f"{source}\t{pred.text}\t{pred.confidence:.3f}")


def _fail(source: str, message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"path": source, "text": None, "error": message}, ensure_ascii=False))
    click.echo(f"error: {message}", err=True)


@click.command()
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image (text, confidence, per-character values, confidences and boxes).")
@click.option("--model", default="segcnn", show_default=True, help="Recognizer: " + ", ".join(recognizer_names()) + ".")
@click.option("--weights", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="Weight file (its .json card beside it). [default: shipped]")
@click.option("--device", default="auto", show_default=True, help="auto (GPU when present), cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
def read(images: tuple[str, ...], as_json: bool, model: str, weights: Path | None, device: str, batch_size: int) -> None:
    """Read the plate text of each IMAGE (files, directories of images, or - for
    image bytes on stdin). Prints path, text and plate confidence, tab-separated."""
    from segocr.api import load_recognizer

    try:
        recognizer = load_recognizer(model, weights=str(weights) if weights else None, device=device)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    except (SegocrError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    failed = 0
    batch: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if batch:
            for (src, _), pred in zip(batch, recognizer.predict([img for _, img in batch])):
                _emit(src, pred, as_json)
            batch.clear()

    for source in _sources(images):
        try:
            batch.append((source, _load(source)))
        except ImageReadError as exc:
            flush()  # keep the output in input order
            _fail(source, str(exc), as_json)
            failed += 1
            continue
        if len(batch) >= batch_size:
            flush()
    flush()
    if failed:
        click.echo(f"{failed} image(s) could not be read", err=True)
        sys.exit(1)
