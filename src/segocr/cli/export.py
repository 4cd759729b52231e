"""`segocr export --model NAME --to onnx`: a recognizer's network as an ONNX file with
its card (see :mod:`segocr.runtime.export`). Needs torch and onnx (``segocr[train]``)."""

from __future__ import annotations

from pathlib import Path

import click

from segocr.cli.options import WeightsFile
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
    type=WeightsFile(),
    default=None,
    help="Weight file (.pt, its .json card beside it), or shipped weights by name (crnn-ccpd, segcnn-iwt4s, ...).  [default: shipped]",
)
@click.option("--to", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True, help="Export format.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output .onnx file; its card goes beside it as OUT.json (x.onnx -> x.onnx.json).  [default: beside the weights]",
)
@click.option("--opset", type=click.IntRange(min=13, max=21), default=17, show_default=True, help="ONNX opset.")
@click.option(
    "--int8",
    is_flag=True,
    help="Quantize to int8 (static, calibrated on train-split plates of --dataset, the "
    "calibration method chosen on its validation plates; fails if accuracy drops more than "
    "--max-drop there). Writes NAME-int8.onnx by default.",
)
@click.option("--dataset", default="iwt4s", show_default=True, help="With --int8: calibration and validation data.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="With --int8: where the dataset lives (else $SEGOCR_DATA or ./data).",
)
@click.option("--calibration-plates", type=click.IntRange(min=1), default=200, show_default=True)
@click.option(
    "--max-drop",
    type=click.FloatRange(min=0, max=1),
    default=0.0,
    show_default=True,
    help="With --int8: largest validation plate-accuracy loss accepted.",
)
def export(
    model: str,
    weights: Path | None,
    fmt: str,
    out: Path | None,
    opset: int,
    int8: bool,
    dataset: str,
    data_dir: Path | None,
    calibration_plates: int,
    max_drop: float,
) -> None:
    """Export a recognizer's network to ONNX, checked against torch on sample inputs;
    `segocr read --runtime auto` then serves it with ONNX Runtime (no torch needed).
    With --int8, an int8 model to pass as --weights NAME-int8.onnx."""
    from segocr.runtime import torch_available

    try:
        get_recognizer_factory(model)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    from segocr.ensemble import ENSEMBLES

    if model in ENSEMBLES:
        members = ", ".join(ENSEMBLES[model])
        raise click.UsageError(f"{model} has no network of its own: export its members ({members}) one by one")
    if not torch_available():
        raise click.ClickException("exporting needs torch and onnx: pip install 'segocr[train]'")
    from segocr.runtime.export import export_onnx

    try:
        if int8:
            from segocr.runtime.quantize import export_int8

            path, card = export_int8(
                model, weights, out, dataset=dataset, data_dir=data_dir,
                calibration_plates=calibration_plates, max_drop=max_drop,
            )  # fmt: skip
        else:
            path, card = export_onnx(model, weights, out, opset=opset)
    except (SegocrError, ValueError) as exc:
        raise click.ClickException(printable(" ".join(str(exc).split()))) from None
    info = card["onnx"]
    if int8:
        q = info["quantization"]
        v = q["validation"]
        click.echo(
            f"{path}\t{card['size_bytes']} bytes\tsha256 {card['sha256'][:12]}\tcalibration {q['method']}\t"
            f"validation plate accuracy {v['plate_accuracy_int8'][q['method']]:.3f} "
            f"(float {v['plate_accuracy_float']:.3f}, {v['plates']} plates)"
        )
        return
    click.echo(
        f"{path}\t{card['size_bytes']} bytes\tsha256 {card['sha256'][:12]}\t"
        f"max |onnx - torch| {info['max_abs_diff_vs_torch']:.2g} (tolerance {info['tolerance']:g})"
    )
