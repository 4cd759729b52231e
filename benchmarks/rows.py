"""Two-row plates (:mod:`segocr.rows`): plate accuracy and CER per source, model and ``--rows`` mode.

For each dataset split and model, the plates are read with rows ``one`` (the
recognizer alone), then ``auto`` and ``two`` (:class:`segocr.rows.RowsRecognizer`).
Reported per mode: plate accuracy and CER (UC3M-LP scored on the visible characters,
:func:`segocr.training.mixdata.score_visible`), how many images were split, and how many
readings differ from ``one``'s (``changed``: the no-change check for one-row sources).

A one-row image is passed on to the recognizer untouched by the wrapper, so its reading
is ``one``'s: only the images a mode splits are read again (the recognizers read each
image independently of its batch), which keeps this quick on a shared CPU.

Choices (thresholds, the default mode) were made with ``--split train`` (the training
split of each source's own group split; nothing of the test split); the test split is
run once at the end::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rows.py --split train --sources eu2
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rows.py --split train --sources iwt4s,br,es,co \
        --modes one,auto --only-split     # the no-change check: what auto splits, and how it reads
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rows.py --split test --out benchmarks/results/rows.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.recognizers.base import Prediction
from segocr.rows import RowsConfig, RowsRecognizer
from segocr.training.mixdata import score_visible

SOURCES = {
    "eu2": "openalpr-eu2",
    "iwt4s": "iwt4s",
    "br": "openalpr-br",
    "es": "uc3m-ocr",
    "co": "cparking-co",
}
MODELS = ("segcnn", "crnn")


def read_modes(
    rec: object, images: list, modes: list[str], config: RowsConfig, batch: int = 64
) -> dict[str, tuple[list[Prediction], int]]:
    """Predictions per mode for ``images`` and the number of images each mode split."""
    base: list[Prediction] = []
    for i in range(0, len(images), batch):
        base.extend(rec.predict(images[i : i + batch]))  # type: ignore[attr-defined]
    out = {"one": (base, 0)}
    for mode in modes:
        if mode == "one":
            continue
        wrapper = RowsRecognizer(rec, config.model_copy(update={"mode": mode}))
        _, layouts = wrapper.prepare(images)
        split = [i for i, st in enumerate(layouts) if st is not None]
        preds = list(base)
        for j in range(0, len(split), batch):
            idx = split[j : j + batch]
            for i, p in zip(idx, wrapper.predict([images[k] for k in idx]), strict=True):
                preds[i] = p
        out[mode] = (preds, len(split))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--split", choices=("train", "test"), default="train")
    ap.add_argument(
        "--sources", default=",".join(SOURCES), help="comma-separated: " + ", ".join(SOURCES)
    )
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--modes", default="one,auto,two")
    ap.add_argument(
        "--config", default="{}", help="RowsConfig fields as JSON (e.g. '{\"pad\": 0.3}')"
    )
    ap.add_argument("--limit", type=int, default=None, help="first N plates of each source")
    ap.add_argument(
        "--only-split",
        action="store_true",
        help="read only the plates that --modes other than one split (the others read the same in every mode)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="also write a markdown table here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = RowsConfig.model_validate(json.loads(args.config))
    modes = args.modes.split(",")
    recs = {m: load_recognizer(m, device="cpu") for m in args.models.split(",")}
    lines = [
        f"# Two-row plates: `--rows` on the {args.split} split of each source",
        "",
        (
            f"`OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rows.py {' '.join(sys.argv[1:])}` "
            "(RowsConfig: defaults unless --config). Plate accuracy / CER; split: images read as "
            "two rows; changed: readings that differ from `one`."
            + (
                " n: the plates split (the others read the same in every mode)."
                if args.only_split
                else ""
            )
        ),
        "",
        "| source | n | model | "
        + " | ".join(modes)
        + " | split ("
        + ", ".join(m for m in modes if m != "one")
        + ") | changed |",
        "|:--|--:|:--|" + "--:|" * len(modes) + "--:|--:|",
    ]
    for short in args.sources.split(","):
        t0 = time.perf_counter()
        samples = load_dataset(SOURCES[short], args.data_dir).samples(args.split)[: args.limit]
        images = [s.load() for s in samples]
        if args.only_split:
            keep = set()
            for mode in modes:
                if mode != "one":
                    _, layouts = RowsRecognizer(
                        None, config.model_copy(update={"mode": mode})
                    ).prepare(images)
                    keep |= {i for i, st in enumerate(layouts) if st is not None}
            print(f"{short}: {len(keep)} of {len(samples)} plates split", file=sys.stderr)
            samples = [s for i, s in enumerate(samples) if i in keep]
            images = [im for i, im in enumerate(images) if i in keep]
            if not samples:
                lines.append(f"| {short} | 0 | - |" + " - |" * len(modes) + " 0 | 0 |")
                continue
        truths = [s.text for s in samples]
        for name, rec in recs.items():
            got = read_modes(rec, images, modes, config)
            base = [p.text for p in got["one"][0]]
            cells, splits, changed = [], [], []
            for mode in modes:
                preds, n_split = got[mode]
                m = score_visible(truths, preds)
                cells.append(f"{100 * m['plate_accuracy']:.1f}% / {100 * m['cer']:.1f}%")
                if mode != "one":
                    splits.append(str(n_split))
                    changed.append(str(sum(p.text != b for p, b in zip(preds, base, strict=True))))
            lines.append(
                f"| {short} | {len(samples)} | {name} | "
                + " | ".join(cells)
                + f" | {', '.join(splits)} | {', '.join(changed)} |"
            )
            print(lines[-1], flush=True)
        print(f"{short}: {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
