"""Function-preserving widening of a crnn weight file (Net2WiderNet with zero fan-out, Chen,
Goodfellow and Shlens 2016, "Net2Net"): the start of candidate F of issue 10.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/widen_crnn.py runs/crnn-general-holdout2/crnn.pt \\
        --channels 48 96 96 96 144 144 --hidden 96 --out runs/crnn-wide-init/crnn.pt

Writes a :class:`segocr.models.crnn.CRNN` with wider convolutions and/or a larger LSTM whose
logits equal the source's (eval mode, up to float rounding): every old weight is copied into
the leading slots of its new tensor; the new units get the fresh model's random initialisation
(``--seed``) for their incoming weights and zero weight into every old unit (a new unit feeds
only new units until training moves those zeros). A training run with ``init:`` set to the
written file then starts from the source's function, with spare capacity. The card is the
source's with ``model_kwargs`` and ``parameters`` updated and ``training.widening`` recording
the source, its sha256 and the sizes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segocr.models.crnn import CRNN
from segocr.models.weights import card_model_kwargs, load_weights, resolve_weights, save_weights


def _lstm_rows(h_old: int, h_new: int) -> list[int]:
    """Rows of the old units in a (4 * h_new, ...) LSTM gate tensor (gates i, f, g, o)."""
    return [k * h_new + j for k in range(4) for j in range(h_old)]


def _bi_cols(h_old: int, h_new: int) -> list[int]:
    """Slots of the old units in a bidirectional output (forward h_new, then backward h_new)."""
    return [*range(h_old), *(h_new + j for j in range(h_old))]


def index_maps(old: CRNN, new: CRNN) -> dict[str, tuple[list[int], list[int] | None]]:
    """For each state-dict key of ``old``: (new positions of its rows, new positions of its
    columns or None for 1-d tensors and scalars).

    >>> maps = index_maps(CRNN(5, channels=(2, 2, 2, 2, 2, 2), hidden=1), CRNN(5, channels=(3, 2, 2, 2, 2, 2), hidden=2))
    >>> maps["features.0.weight"], maps["rnn.weight_hh_l0"][0], maps["head.weight"]
    (([0, 1], [0]), [0, 2, 4, 6], ([0, 1, 2, 3, 4], [0, 2]))
    """
    maps: dict[str, tuple[list[int], list[int] | None]] = {}
    first = old.features[0]
    assert isinstance(first, nn.Conv2d)
    cur: list[int] = list(range(first.in_channels))
    for (name, mo), mn in zip(old.features.named_children(), new.features.children()):
        if isinstance(mo, nn.Conv2d):
            assert isinstance(mn, nn.Conv2d)
            rows = list(range(mo.out_channels))
            maps[f"features.{name}.weight"] = (rows, cur)
            cur = rows
        elif isinstance(mo, nn.BatchNorm2d):
            for k in ("weight", "bias", "running_mean", "running_var"):
                maps[f"features.{name}.{k}"] = (cur, None)
            maps[f"features.{name}.num_batches_tracked"] = ([], None)
    ho, hn = old.rnn.hidden_size, new.rnn.hidden_size
    for layer in range(old.rnn.num_layers):
        for sfx in ("", "_reverse"):
            rows = _lstm_rows(ho, hn)
            maps[f"rnn.weight_ih_l{layer}{sfx}"] = (rows, cur if layer == 0 else _bi_cols(ho, hn))
            maps[f"rnn.weight_hh_l{layer}{sfx}"] = (rows, list(range(ho)))
            maps[f"rnn.bias_ih_l{layer}{sfx}"] = (rows, None)
            maps[f"rnn.bias_hh_l{layer}{sfx}"] = (rows, None)
    maps["skip.weight"] = (_bi_cols(ho, hn), cur)
    maps["skip.bias"] = (_bi_cols(ho, hn), None)
    maps["head.weight"] = (list(range(old.head.out_features)), _bi_cols(ho, hn))
    maps["head.bias"] = (list(range(old.head.out_features)), None)
    return maps


def widen(old: CRNN, state: dict[str, torch.Tensor], new: CRNN) -> dict[str, torch.Tensor]:
    """``new``'s state dict (its own random initialisation) with ``state`` (``old``'s
    weights) copied into the old units' slots and every weight from a new unit into an old
    one set to zero, so that ``new`` computes ``old``'s logits.

    >>> _ = torch.manual_seed(0)
    >>> a = CRNN(7, channels=(4, 4, 4, 4, 6, 6), hidden=5).eval()
    >>> b = CRNN(7, channels=(6, 6, 5, 5, 8, 9), hidden=8).eval()
    >>> _ = b.load_state_dict(widen(a, a.state_dict(), b))
    >>> x = torch.randn(2, 1, 32, 64)
    >>> bool(torch.allclose(a(x), b(x), atol=1e-5))
    True
    """
    maps = index_maps(old, new)
    fresh = new.state_dict()
    if maps.keys() != state.keys() or state.keys() != fresh.keys():
        raise SystemExit(
            f"error: unexpected state dict keys: {sorted(state.keys() ^ fresh.keys() ^ maps.keys())[:5]}"
        )
    out: dict[str, torch.Tensor] = {}
    for key, (rows, cols) in maps.items():
        src, dst = state[key], fresh[key].clone()
        if src.ndim == 0:
            out[key] = src.clone()
            continue
        r = torch.tensor(rows, dtype=torch.long)
        if cols is None:
            dst[r] = src
        else:
            c = torch.tensor(cols, dtype=torch.long)
            dst[r] = 0  # old units read nothing from new ones ...
            dst[r.unsqueeze(1), c] = src  # ... and everything they read before
        out[key] = dst
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("weights", help="crnn weights to widen (a path or a shipped crnn name)")
    ap.add_argument("--channels", type=int, nargs=6, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0, help="seed of the new units' random weights")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    path = resolve_weights(args.weights, "crnn")
    state, card = load_weights(path)
    kw: dict[str, Any] = card_model_kwargs(card)
    n_classes = len(card["charset"]) + 1
    height = int(card["input_size"][0])
    old_ch, old_h = tuple(kw["channels"]), int(kw["hidden"])
    if any(n < o for n, o in zip(args.channels, old_ch)) or args.hidden < old_h:
        raise SystemExit(
            f"error: --channels {args.channels} --hidden {args.hidden} is narrower than {list(old_ch)} / {old_h}"
        )
    old = CRNN(n_classes, input_height=height, **kw)
    torch.manual_seed(args.seed)
    new_kw = {**kw, "channels": tuple(args.channels), "hidden": args.hidden}
    new = CRNN(n_classes, input_height=height, **new_kw)
    wide = widen(old, state, new)
    new.load_state_dict(wide)
    old.load_state_dict(state)
    x = torch.randn(4, 1, height, 160, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        gap = float((old.eval()(x) - new.eval()(x)).abs().max())
    if gap > 1e-4:
        raise SystemExit(f"error: the widened model's logits differ from the source's by {gap:g}")
    out_card = {
        k: v for k, v in card.items() if k not in ("sha256", "size_bytes", "card_sha256", "metrics")
    }
    out_card["model_kwargs"] = {
        **card["model_kwargs"],
        "channels": list(args.channels),
        "hidden": args.hidden,
    }
    out_card["parameters"] = sum(
        int(v.numel()) for k, v in wide.items() if k in dict(new.named_parameters())
    )
    out_card["training"] = {
        **card["training"],
        "widening": {
            "method": "function-preserving widening (Net2WiderNet, zero fan-out from new units to old ones)",
            "source": {
                "weights": str(args.weights),
                "sha256": card["sha256"],
                "channels": list(old_ch),
                "hidden": old_h,
            },
            "channels": list(args.channels),
            "hidden": args.hidden,
            "seed": args.seed,
            "max_logit_gap": gap,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(wide, args.out, out_card)
    print(
        f"wrote {args.out}: {out_card['parameters']} parameters (from {card.get('parameters')}); max logit gap {gap:.2e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
