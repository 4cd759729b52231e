"""Choose the plate-format strictness and the fusion rule on validation plates only.

    python benchmarks/fusion_validation.py --data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset

The validation part is the one the trainers held out (``group_split`` of the IWT4S
train split, 15 % of the plates, seed 1; see segocr.training); the test split is
never read. For every recognizer it prints per-image accuracy under each format
setting (none, cz, cz-current, with and without a fallback margin, auto) and per-track
accuracy of each fusion rule. Output: a markdown table on stdout and
benchmarks/results/fusion_validation.json.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import click

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.datasets.splits import group_split
from segocr.formats.decoding import DecodeOptions, plan
from segocr.fusion import RULES, fuse

SETTINGS: dict[str, DecodeOptions] = {
    "none": DecodeOptions(topn=5),
    "cz strict": DecodeOptions(format="cz", margin=None, topn=5),
    "cz margin 2": DecodeOptions(format="cz", margin=2.0, topn=5),
    "cz margin 5": DecodeOptions(format="cz", margin=5.0, topn=5),
    "cz-current strict": DecodeOptions(format="cz-current", margin=None, topn=5),
    "cz-current margin 5": DecodeOptions(format="cz-current", margin=5.0, topn=5),
    "auto (margin 1)": DecodeOptions(format="auto", auto_margin=1.0, topn=5),
    "auto (margin 2)": DecodeOptions(format="auto", auto_margin=2.0, topn=5),
    "auto (margin 5)": DecodeOptions(format="auto", auto_margin=5.0, topn=5),
}


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--models", default="segcnn-iwt4s,crnn-iwt4s,holistic", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("benchmarks/results/fusion_validation.json"), show_default=True)
def main(data_dir: Path, models: str, out: Path) -> None:
    ds = load_dataset("iwt4s", data_dir)
    _, val = group_split(ds.samples("train"), test_fraction=0.15, seed=1)
    images = [s.load() for s in val]
    tracks: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(val):
        tracks[str(s.meta.get("track_id", s.id))].append(i)
    results: dict[str, dict[str, dict[str, float]]] = {}
    click.echo(f"validation part: {len(val)} images, {len(tracks)} tracks\n")
    click.echo("| model | format setting | per image | " + " | ".join(f"track {r}" for r in RULES) + " |")
    click.echo("|:--|:--|--:|" + "--:|" * len(RULES))
    for name in models.split(","):
        rec = load_recognizer(name)
        results[name] = {}
        for label, opts in SETTINGS.items():
            preds = rec.predict(images, options=opts)  # type: ignore[call-arg]
            per_image = sum(p.text == s.text for p, s in zip(preds, val)) / len(val)
            fplan = plan(opts, rec.charset)  # type: ignore[attr-defined]
            aut = fplan.candidates[0] if fplan is not None and not fplan.auto else None
            row = {"image": per_image}
            for rule in RULES:
                ok = 0
                for idx in tracks.values():
                    f = fuse([preds[i] for i in idx], rec.charset, rule=rule, automaton=aut)  # type: ignore[arg-type,attr-defined]
                    ok += f.text == val[idx[0]].text
                row[f"track {rule}"] = ok / len(tracks)
            results[name][label] = row
            click.echo(f"| {name} | {label} | {per_image:.1%} | " + " | ".join(f"{row[f'track {r}']:.1%}" for r in RULES) + " |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"n_images": len(val), "n_tracks": len(tracks), "results": results}, indent=2) + "\n")
    click.echo(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
