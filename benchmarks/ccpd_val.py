"""CCPD validation at LPRNet's crop size: how CRNN weights read the validation plates of
the CCPD train split (never the test frames, never the LPRNet test crops) shrunk to
94x24, as the 1,000 LPRNet crops are.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ccpd_val.py --data-dir ../shared/data/ccpd \\
        --weights crnn-ccpd --weights runs/crnn-ccpd-cn/crnn.pt

The validation plates are the sequence trainer's (:mod:`segocr.training.sequence`):
15% of the train split's plates, grouped by text, ``group_split`` seed 1 (the config's
seed 0 + 1); each read twice, as the rectified plate and as the bbox crop (``-D
crop=both``), shrunk to 94x24 (area interpolation), and also at their own size. Both
the shipped ``crnn-ccpd`` and a run trained with ``val_resize: [24, 94]`` held these
plates out. ``--synthetic N`` adds N held-out synthetic ``cn`` plates (test split of
seed 99) shrunk the same way (a secondary figure: in the new model's own distribution).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.splits import group_split
from segocr.evaluation import metrics as M

#: (height, width) of the LPRNet test crops.
LPRNET_SIZE = (24, 94)


def val_samples(data_dir: Path, *, val_fraction: float = 0.15, seed: int = 1) -> list[PlateSample]:
    """The trainer's validation part of CCPD's train split, each frame twice (rectified
    and bbox crop)."""
    train = load_dataset("ccpd", data_dir, crop="both").samples("train")
    _, val = group_split(list(train), test_fraction=val_fraction, seed=seed)
    return val


def shrink(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``image`` resized to ``size`` (h, w) by area interpolation (None: as it is).

    >>> shrink(np.zeros((46, 144, 3), np.uint8), (24, 94)).shape
    (24, 94, 3)
    """
    if size is None:
        return image
    out: np.ndarray = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return out


def score(weights: str, images: Sequence[np.ndarray], texts: Sequence[str]) -> dict[str, float]:
    """Plate accuracy and CER of the CRNN ``weights`` (a shipped name or a path) on ``images``."""
    from segocr.api import load_recognizer

    rec = load_recognizer("crnn", weights=weights, device="cpu", runtime="torch")
    preds = [p.text for p in rec.predict(list(images))]
    return {
        "n": len(texts),
        "plate_accuracy": M.plate_accuracy(list(texts), preds),
        "cer": M.character_error_rate(list(texts), preds),
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the ccpd folder")
    ap.add_argument("--weights", action="append", required=True, help="shipped name or .pt path (repeatable)")
    ap.add_argument("--synthetic", type=int, default=0, help="held-out synthetic cn plates to add (0: none)")
    args = ap.parse_args(argv)
    val = val_samples(args.data_dir)
    sets: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    raw = [(s.load(), s.text, "bbox" if s.id.endswith("#bbox") else "rectify") for s in val]
    for size, tag in ((LPRNET_SIZE, "94x24"), (None, "own size")):
        sets[f"ccpd val, both crops, {tag}"] = ([shrink(im, size) for im, _, _ in raw], [t for _, t, _ in raw])
        for mode in ("rectify", "bbox"):
            sets[f"ccpd val, {mode}, {tag}"] = ([shrink(im, size) for im, _, m in raw if m == mode], [t for _, t, m in raw if m == mode])
    if args.synthetic:
        from segocr.datasets.synthetic import open_synthetic

        syn = open_synthetic(n_train=0, n_test=args.synthetic, seed=99, style="cn").samples("test")
        sets["synthetic cn (seed 99), 94x24"] = ([shrink(s.load(), LPRNET_SIZE) for s in syn], [s.text for s in syn])
    print(f"{len({s.text for s in val})} validation plates, {len(val)} crops")
    print("| set | " + " | ".join(args.weights) + " |")
    print("|---|" + "---|" * len(args.weights))
    for name, (images, texts) in sets.items():
        cells = []
        for w in args.weights:
            r = score(w, images, texts)
            cells.append(f"{100 * r['plate_accuracy']:.1f}% (CER {100 * r['cer']:.1f}%, n={r['n']})")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
