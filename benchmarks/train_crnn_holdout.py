"""Train a crnn on a training mix with the validation plates of its init weights kept out
of the fit part (issue 10).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/train_crnn_holdout.py \\
        --data-dir ../shared/data --mix general-iwt4s4 \\
        --config src/segocr/configs/crnn-general-holdout.yaml --hold-out crnn-iwt4s \\
        --out runs/crnn-general-holdout

Why: ``segocr train --model crnn --dataset mix`` fine-tuned from ``crnn-iwt4s`` draws the
mix's validation part afresh (15% of the mix train split by plate), so most of its IWT4S
validation plates are training plates of ``crnn-iwt4s``, and most of ``crnn-iwt4s``'s own
validation plates become fit plates: no sizeable set of IWT4S plates is left that neither
model trained on (16 of 78). Here the run is ``segocr train``'s
(:func:`segocr.training.sequence.run_sequence_training`, same options, same validation
part: the trainer's split is unchanged) except that the fit part loses the plates of the
``--hold-out`` weights' validation part (the ``group_split`` of their training dataset's
train split, with their card's ``val_fraction`` and ``seed + 1``). Those plates were then
never trained on by either model: the hold-out weights only chose their checkpoint on them.
The card records them (``training.held_out_of_fit``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.mix import Mix
from segocr.datasets.splits import group_split
from segocr.models.weights import read_card, resolve_weights, write_card
from segocr.training import sequence
from segocr.training.registry import load_options, validate_options


def held_out_ids(weights: str, mix: Mix, data_dir: Path | None) -> tuple[set[str], str]:
    """Mix ids (``DATASET/ID``) of the validation part of crnn ``weights`` (trained on one
    dataset that is a source of ``mix``), and that dataset's name."""
    card = read_card(resolve_weights(weights, "crnn"))
    tr = card["training"]
    name = str(tr["dataset"])
    if name not in mix.datasets:
        raise SystemExit(f"error: --hold-out {weights}: trained on {name!r}, not a source of mix {mix.config.name}")
    train = list(load_dataset(name, data_dir).samples("train"))
    _, val = group_split(train, test_fraction=float(tr["train_config"]["val_fraction"]), seed=int(tr["seed"]) + 1)
    return {f"{name}/{s.id}" for s in val}, name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--mix", default="general")
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--hold-out", default="crnn-iwt4s", help="weights whose validation plates stay out of the fit part")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = validate_options(sequence.CRNNTrainConfig, load_options(args.config), source=str(args.config))
    mix = load_dataset("mix", args.data_dir, config=args.mix)
    assert isinstance(mix, Mix)
    held, name = held_out_ids(args.hold_out, mix, args.data_dir)
    dropped: list[str] = []

    def split(samples: list[PlateSample], *, test_fraction: float, seed: int) -> tuple[list[PlateSample], list[PlateSample]]:
        fit, val = group_split(samples, test_fraction=test_fraction, seed=seed)
        dropped.extend(s.id for s in fit if s.id in held)
        return [s for s in fit if s.id not in held], val

    sequence.group_split = split  # type: ignore[assignment]  # the trainer's split, minus the held-out plates
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/train_crnn_holdout.py", *sys.argv[1:]])
    card: dict[str, Any] = sequence.run_sequence_training(
        sequence.CTCHead(), mix, args.out, cfg, command=command, resume=args.resume, device="cpu",
        evaluate_test=False, progress=False,
    )  # fmt: skip
    card["training"]["held_out_of_fit"] = {
        "weights": args.hold_out,
        "what": f"the validation part of {args.hold_out} ({len(held)} {name} plates): {len(dropped)} of them "
        "would have been fit plates and were left out; the rest are in this run's validation part",
        "ids": sorted(held),
    }
    init = str(cfg.init)  # type: ignore[attr-defined]
    what = "a weight file: its card records its training" if Path(init).is_file() else "the shipped weights of that name"
    card["training"]["init_weights"] = f"{init} ({what} when the run started)"
    write_card(args.out / "crnn.pt", card)
    print(f"wrote {args.out / 'crnn.pt'}; {len(dropped)} fit plates held out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
