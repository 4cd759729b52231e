"""Brazilian and Spanish test splits, read with and without their plate format.

    python benchmarks/formats_countries.py --data-root ../shared/data

Runs the IWT4S-only recognizers by default (trained on Czech plates: these sets are
out of domain for them; ``--models`` picks others) on the test split of ``openalpr-br`` (format ``br``) and
``uc3m-ocr`` (format ``es``), through the benchmark harness, once without a
format and once with it. UC3M-LP hides two characters of every plate, so its plate
accuracy is scored on the visible positions (segocr.datasets.masked). Writes a
markdown table to stdout and benchmarks/results/formats_countries.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from segocr.datasets.base import load_dataset
from segocr.datasets.masked import masked_cer, visible_accuracy
from segocr.evaluation.harness import evaluate, load_recognizers
from segocr.formats.decoding import DecodeOptions

SETS = (("openalpr-br", "openalpr-train-detector", "br"), ("uc3m-ocr", "uc3m-lp", "es"))


@click.command()
@click.option("--data-root", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--models", default="segcnn-iwt4s,crnn-iwt4s,holistic", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results/formats_countries.json"), show_default=True)
def main(data_root: Path, models: str, out: Path) -> None:
    loaded = load_recognizers(models.split(","))
    rows = []
    click.echo("| dataset (test) | n | model | format | plate acc | CER |")
    click.echo("|:--|--:|:--|:--|--:|--:|")
    for name, folder, fmt in SETS:
        samples = load_dataset(name, data_root / folder).samples("test")
        for label, options in (("none", None), (fmt, DecodeOptions(format=fmt))):
            res = evaluate(loaded.recognizers, samples, progress=False, options=options, fusion=False)
            truths = [s.text for s in res.samples]
            for model, mr in res.models.items():
                texts = [p.text for p in mr.predictions]
                acc, cer = visible_accuracy(truths, texts), masked_cer(truths, texts)
                rows.append({"dataset": name, "n": len(truths), "model": model, "format": label, "plate_accuracy": acc, "cer": cer})
                click.echo(f"| {name} | {len(truths)} | {model} | {label} | {acc:.1%} | {cer:.1%} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    click.echo(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
