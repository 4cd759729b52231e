"""Inference-only probes of segcnn on the validation parts of the repeated-split
comparison (issue 13; ``benchmarks/segcnn_select.py``): what the shipped classifiers of
splits 1-3 read when the plate is preprocessed differently, or when the classifier
averages shifted crops. Nothing is trained and nothing is shipped; the test split is
never read. A probe, not a choice.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/segcnn_probe.py \\
        [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset] [--out benchmarks/results/segcnn_probe.md]

Variants (each alone, the rest of the shipped reader unchanged):

- preprocessing: CLAHE clip limit 4 (``clip4``), working height 96 (``h96``), a 1-99
  percentile stretch of the input (``stretch``), gamma 0.6 / 1.6 on the input, no unsharp
  mask (``nounsharp``), and as a yardstick every input value moved by one grey level
  (``lsb``: how many plates noise alone moves); and, per plate, the more confident of the baseline's and each
  variant's reading (``maxconf base+NAME``: what a second reading of unsure plates could
  reach at best without a better classifier);
- classifier test-time augmentation: the mean log-softmax over the crop and its copies
  shifted by one pixel (``tta5``: 4 shifts; ``tta3x``: horizontal only).

Printed and written: plates read right per split and in all (228), HDR plates right.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segocr.datasets.base import load_dataset
from segocr.datasets.splits import group_split
from segocr.recognizers.segcnn import SegCNNConfig, SegCNNRecognizer, load_segcnn

ROOT = Path(__file__).resolve().parents[1]
#: The baseline classifier of each split of the repeated-split comparison (docs/models.md).
BASELINES = {1: "src/segocr/weights/segcnn.pt", 2: "runs/s13/base-s1/segcnn.pt", 3: "runs/h13k/base-s2/segcnn.pt"}
Image = np.ndarray


def stretch(img: Image) -> Image:
    """A 1-99 percentile contrast stretch of a uint8 image."""
    g = img.astype(np.float32)
    a, b = np.percentile(g, 1), np.percentile(g, 99)
    return np.clip((g - a) * 255.0 / max(float(b - a), 1.0), 0, 255).astype(np.uint8)


def flip_lowest_bit(img: Image) -> Image:
    """Every value moved by one grey level (its lowest bit flipped): a change no eye sees,
    to measure how many plates such noise alone moves.

    >>> flip_lowest_bit(np.array([0, 1, 254, 255], np.uint8)).tolist()
    [1, 0, 255, 254]
    """
    return img ^ np.uint8(1)


def gamma(gm: float) -> Callable[[Image], Image]:
    lut = (255 * (np.arange(256) / 255.0) ** gm).astype(np.uint8)
    return lambda img: lut[img]


def preprocessing_variants(base: SegCNNConfig) -> dict[str, tuple[SegCNNConfig, Callable[[Image], Image]]]:
    """Name -> (recognizer config, change of the input image)."""
    seg = base.segment
    steps = seg.preprocess.steps
    same: Callable[[Image], Image] = lambda img: img

    def with_steps(new: tuple[Any, ...]) -> SegCNNConfig:
        return base.model_copy(update={"segment": seg.model_copy(update={"preprocess": seg.preprocess.model_copy(update={"steps": new})})})

    return {
        "base": (base, same),
        "clip4": (with_steps((steps[0], steps[1].model_copy(update={"clip_limit": 4.0}), *steps[2:])), same),
        "h96": (base.model_copy(update={"segment": seg.model_copy(update={"work_height": 96})}), same),
        "stretch": (base, stretch),
        "gamma0.6": (base, gamma(0.6)),
        "gamma1.6": (base, gamma(1.6)),
        "nounsharp": (with_steps(tuple(s for s in steps if s.op != "unsharp")), same),
        "lsb": (base, flip_lowest_bit),
    }


def shifted(crops: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(n, S, S) crops moved by (dx, dy) pixels, edges replicated."""
    p = np.pad(crops, ((0, 0), (1, 1), (1, 1)), mode="edge")
    s = crops.shape[1]
    return p[:, 1 + dy : 1 + dy + s, 1 + dx : 1 + dx + s]


def with_tta(rec: SegCNNRecognizer, shifts: list[tuple[int, int]]) -> Callable[..., np.ndarray]:
    """A ``logits`` for ``rec`` averaging the log-softmax over the crops and ``shifts``."""
    plain = rec.logits

    def logits(crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
        outs = []
        for dx, dy in [(0, 0), *shifts]:
            z = plain(crops if (dx, dy) == (0, 0) else shifted(crops, dx, dy), batch_size)
            z = z - z.max(axis=1, keepdims=True)
            outs.append(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
        return np.mean(outs, axis=0)

    return logits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    train = list(load_dataset("iwt4s", args.data_dir).samples("train"))
    right: dict[str, dict[int, list[bool]]] = {}
    hdr: dict[int, list[bool]] = {}
    for split, w in BASELINES.items():
        rec = load_segcnn(ROOT / w, device="cpu", runtime="torch")
        assert isinstance(rec, SegCNNRecognizer)
        _, val = group_split(train, test_fraction=0.15, seed=split)
        images, truth = [s.load() for s in val], [s.text for s in val]
        hdr[split] = [s.subset == "hdr" for s in val]
        base_cfg = rec.config
        reads: dict[str, list[Any]] = {}
        for name, (cfg, change) in preprocessing_variants(base_cfg).items():
            rec.config = cfg
            reads[name] = rec.predict([change(im) for im in images])
        rec.config = base_cfg
        for name, shifts in (("tta5", [(1, 0), (-1, 0), (0, 1), (0, -1)]), ("tta3x", [(1, 0), (-1, 0)])):
            plain = rec.logits
            rec.logits = with_tta(rec, shifts)  # type: ignore[method-assign]
            reads[name] = rec.predict(images)
            rec.logits = plain  # type: ignore[method-assign]
        for name, preds in list(reads.items()):
            right.setdefault(name, {})[split] = [p.text == t for p, t in zip(preds, truth, strict=True)]
            if name not in ("base", "tta5", "tta3x"):
                best = [q if q.confidence > b.confidence else b for b, q in zip(reads["base"], preds, strict=True)]
                right.setdefault(f"maxconf base+{name}", {})[split] = [p.text == t for p, t in zip(best, truth, strict=True)]
        print(split, {n: sum(v[split]) for n, v in right.items()}, flush=True)
    lines = [
        "# segcnn probes on the validation parts of splits 1-3 (never test)",
        "",
        "`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/segcnn_probe.py`",
        "",
        "| variant | " + " | ".join(f"split {s} ({len(hdr[s])})" for s in BASELINES) + " | all | HDR |",
        "|:--|" + "--:|" * (len(BASELINES) + 2),
    ]
    for name, per in right.items():
        cells = [str(sum(per[s])) for s in BASELINES]
        n_hdr = sum(ok for s in BASELINES for ok, h in zip(per[s], hdr[s], strict=True) if h)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {sum(sum(v) for v in per.values())} | {n_hdr} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
