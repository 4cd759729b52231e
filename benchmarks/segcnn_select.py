"""Compare segcnn classifier candidates on validation plates only (issue 13).

    python benchmarks/segcnn_select.py runs/s13/base-s1 runs/s13/photo-s1 ... \\
        [--ensemble runs/s13/base-s1+runs/s13/photo-s1] [--out benchmarks/results/segcnn_select.json]

Each MODEL is a ``segocr train --model segcnn`` run folder (or a ``segcnn.pt`` with
its card). It is read with the segmentation search of the shipped IWT4S card
(``src/segocr/weights/segcnn.json``: ``config.search``) on **its own** validation part:
``group_split(train split, val_fraction, seed=split_seed)`` as its trainer made it
(``split_seed`` None: ``seed + 1``), plates whose characters never trained it. Runs
with different seeds have different validation parts, so compare them seed by seed
(a candidate with the baseline of the same seed) and sum over the seeds: that is
repeated random sub-sampling validation over the 520 training plates. The test split
is never read.

``--ensemble A+B[+C]`` adds the ensemble of runs that share one validation part
(:func:`segocr.training.segcnn.ensemble_recognizer`: mean of the members'
log-softmax, temperature refitted on the validation characters).

Printed per model: validation plates right (all, HDR), plates lost to segmentation
(wrong segment count) and to the classifier (right count, misread), the classifier's
parameters and multiply-adds per crop.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from segocr.datasets.base import load_dataset
from segocr.datasets.splits import group_split
from segocr.evaluation.harness import evaluate
from segocr.recognizers.segcnn import SegCNNRecognizer, load_segcnn
from segocr.segment.search import SearchConfig
from segocr.training.segcnn import ensemble_recognizer, split_seed_of

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src/segocr/weights/segcnn.pt"


def weights_of(path: Path) -> Path:
    return path / "segcnn.pt" if path.is_dir() else path


def cost(model: torch.nn.Module, size: int) -> tuple[int, float]:
    """(parameters, million multiply-adds per crop) of a CharCNN at ``size`` x ``size``."""
    macs = 0

    def hook(mod: torch.nn.Module, _inp: Any, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            macs += int(out.numel()) * k
        elif isinstance(mod, torch.nn.Linear):
            macs += mod.in_features * mod.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, size, size))
    for h in hs:
        h.remove()
    return sum(p.numel() for p in model.parameters()), macs / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--ensemble", action="append", default=[], help="run folders joined by +")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    search = json.loads(SHIPPED.with_suffix(".json").read_text())["config"].get("search")
    dataset = load_dataset("iwt4s", args.data_dir)
    train = list(dataset.samples("train"))
    cands: list[tuple[str, SegCNNRecognizer, dict[str, Any]]] = []
    for m in args.models:
        w = weights_of(m)
        rec = load_segcnn(w, device="cpu", runtime="torch")
        assert isinstance(rec, SegCNNRecognizer)
        card = json.loads(w.with_suffix(".json").read_text())
        cands.append((str(m), rec, card["training"]["train_config"]))
    for spec in args.ensemble:
        members = [weights_of(Path(p)) for p in spec.split("+")]
        rec, facts = ensemble_recognizer(members, train, dataset.charset)
        cands.append((spec, rec, facts["train_config"]))
    rows = []
    for name, rec, tc in cands:
        seed = split_seed_of(tc)
        _, val = group_split(train, test_fraction=float(tc.get("val_fraction", 0.15)), seed=seed)
        rec.config = rec.config.model_copy(update={"search": None if search is None else SearchConfig.model_validate(search)})
        res = evaluate({"m": rec}, val, progress=False, fusion=False)
        mr = res.models["m"]
        seg = mr.overall.segmentation
        hdr = mr.subsets.get("hdr")
        assert rec.model is not None
        params, mmacs = cost(rec.model, rec.config.input_size)
        row = {
            "model": name,
            "split_seed": seed,
            "val_n": mr.overall.n,
            "val_correct": round(mr.overall.plate_accuracy * mr.overall.n),
            "hdr_n": hdr.n if hdr else 0,
            "hdr_correct": round(hdr.plate_accuracy * hdr.n) if hdr else 0,
            "lost_to_segmentation": seg.wrong_count if seg else None,
            "lost_to_classifier": seg.misread if seg else None,
            "cer": round(mr.overall.cer, 4),
            "params": params,
            "mmacs_per_crop": round(mmacs, 2),
            "train_config": {k: v for k, v in tc.items() if k not in ("seed",)},
        }
        rows.append(row)
        print(
            f"{name:45s} split {seed}  val {row['val_correct']}/{row['val_n']}  hdr {row['hdr_correct']}/{row['hdr_n']}  "
            f"lost seg/cls {row['lost_to_segmentation']}/{row['lost_to_classifier']}  CER {row['cer']:.4f}  "
            f"{params / 1e3:.0f}k params  {mmacs:.1f} MMAC/crop",
            flush=True,
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"search": search, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
