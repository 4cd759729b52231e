"""`segocr export --model NAME --to onnx`: a recognizer's network as an ONNX file with
its card (see :mod:`segocr.runtime.export`). Needs torch and onnx (``segocr[train]``)."""

from __future__ import annotations

from pathlib import Path

import click

from segocr.errors import SegocrError
from segocr.names import printable
from segocr.recognizers.base import get_recognizer_factory, recognizer_names


@click.command()
@click.option(
    "--model",
    default="segcnn",
    show_default=True,
    help="Recognizer: " + ", ".join(recognizer_names()) + ".",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Weight file (.pt, its .json card beside it).  [default: shipped]",
)
@click.option("--to", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True, help="Export format.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output .onnx file (its card is written beside it as OUT.json).  [default: beside the weights]",
)
@click.option("--opset", type=click.IntRange(min=13, max=21), default=17, show_default=True, help="ONNX opset.")
def export(model: str, weights: Path | None, fmt: str, out: Path | None, opset: int) -> None:
    """Export a recognizer's network to ONNX, checked against torch on sample inputs;
    `segocr read --runtime auto` then serves it with ONNX Runtime (no torch needed)."""
    from segocr.runtime import torch_available

    try:
        get_recognizer_factory(model)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if not torch_available():
        raise click.ClickException("exporting needs torch and onnx: pip install 'segocr[train]'")
    from segocr.runtime.export import export_onnx

    try:
        path, card = export_onnx(model, weights, out, opset=opset)
    except (SegocrError, ValueError) as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None
    info = card["onnx"]
    click.echo(
        f"{path}\t{card['size_bytes']} bytes\tsha256 {card['sha256'][:12]}\t"
        f"max |onnx - torch| {info['max_abs_diff_vs_torch']:.2g} (tolerance {info['tolerance']:g})"
    )
