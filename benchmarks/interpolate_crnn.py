"""Weight-space interpolation of two crnn weight files of the same model (WiSE-FT, Wortsman
et al. 2022, "Robust fine-tuning of zero-shot models"): candidate E of issue 10.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/interpolate_crnn.py \\
        runs/crnn-general-holdout3/crnn.pt crnn-iwt4s --alpha 0.5 0.6 0.7 0.8 0.9 \\
        --out runs/crnn-general-wise

Writes ``OUT/crnn-a{ALPHA}.pt`` (with its card) for each ``ALPHA``: every floating-point
tensor of the state dict is ``alpha * A + (1 - alpha) * B`` (BatchNorm running statistics
alike; integer tensors such as ``num_batches_tracked`` are A's). ``A``'s card is kept (its
training, sources and licence: B's training data must be a subset of A's, which holds when A
was fine-tuned from B), with ``training.interpolation`` recording both files, their sha256 and
alpha. The candidates are then read by ``benchmarks/mix_validation.py --candidate ...``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from segocr.models.weights import load_weights, resolve_weights, save_weights


def interpolate(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """``alpha * a + (1 - alpha) * b`` for floating-point tensors, ``a``'s value for the
    others; both state dicts must hold the same keys and shapes.

    >>> out = interpolate({"w": torch.tensor([1.0]), "n": torch.tensor(3)}, {"w": torch.tensor([3.0]), "n": torch.tensor(5)}, 0.75)
    >>> out["w"].item(), out["n"].item()
    (1.5, 3)
    """
    if a.keys() != b.keys():
        raise SystemExit(
            f"error: the state dicts differ in keys: {sorted(a.keys() ^ b.keys())[:5]}"
        )
    out: dict[str, torch.Tensor] = {}
    for k, va in a.items():
        vb = b[k]
        if va.shape != vb.shape:
            raise SystemExit(f"error: {k}: shapes {tuple(va.shape)} and {tuple(vb.shape)} differ")
        out[k] = alpha * va + (1 - alpha) * vb if va.is_floating_point() else va.clone()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("a", help="weights A (a path or a shipped crnn name): alpha's side")
    ap.add_argument("b", help="weights B: 1 - alpha's side")
    ap.add_argument("--alpha", type=float, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    pa, pb = resolve_weights(args.a, "crnn"), resolve_weights(args.b, "crnn")
    sa, ca = load_weights(pa)
    sb, cb = load_weights(pb)
    for key in ("model", "model_kwargs", "charset"):
        if ca.get(key) != cb.get(key):
            raise SystemExit(f"error: {pa} and {pb} differ in {key}")
    args.out.mkdir(parents=True, exist_ok=True)
    for alpha in args.alpha:
        if not 0 <= alpha <= 1:
            raise SystemExit(f"error: --alpha {alpha}: expected a value in [0, 1]")
        card = {
            k: v
            for k, v in ca.items()
            if k not in ("sha256", "size_bytes", "card_sha256", "metrics")
        }
        card["training"] = {
            **ca["training"],
            "interpolation": {
                "method": "weight-space interpolation (WiSE-FT): alpha * A + (1 - alpha) * B, floating-point tensors",
                "alpha": alpha,
                "A": {"weights": str(args.a), "sha256": ca["sha256"]},
                "B": {"weights": str(args.b), "sha256": cb["sha256"]},
            },
        }
        dest = args.out / f"crnn-a{alpha:g}.pt"
        save_weights(interpolate(sa, sb, alpha), dest, card)
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
