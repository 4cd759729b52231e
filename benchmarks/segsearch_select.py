"""Choose the segcnn segmentation search's settings on the train split only (issue 13).

    python benchmarks/segsearch_select.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]

Reads the IWT4S *train* split (never the test split) with the shipped segcnn
classifier under the old cascade (the base) and under search variants, through the
ablation runner (:func:`segocr.ablation.run_ablation`: same plates, paired bootstrap
interval of the difference and exact McNemar p-value). Figures are given for

* ``val``: the segcnn trainer's own validation part (15 % of the training plates,
  by plate text, ``group_split(train, test_fraction=0.15, seed=1)``; its characters
  never trained the classifier), and
* ``train``: the whole train split (the classifier saw the character crops of the
  other 85 %, which flatters the classifier alike in every variant).

Rule, fixed before looking: the variant with the most plates right on the whole train
split is chosen; the base is kept unless a search variant beats it there and is not
worse on the validation part. Writes ``benchmarks/results/segsearch_select.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from segocr.ablation import parse_grid, resolve_grid, run_ablation
from segocr.datasets.base import load_dataset
from segocr.datasets.splits import group_split
from segocr.models.weights import default_weights_path
from segocr.recognizers.segcnn import SegCNNRecognizer, load_segcnn

ROOT = Path(__file__).resolve().parents[1]

#: The variants compared with the old cascade (overrides of the shipped card's config).
VARIANTS: dict[str, dict[str, Any]] = {
    "search": {"set": {"search": {}}},
    "search_after_first_binarization": {"set": {"search": {"run_after": "first_binarization"}}},
    "search_every_plate": {"set": {"search": {}, "cascade_confidence": None}},
    "search_max_pieces_4": {"set": {"search": {"max_pieces": 4}}},
    "search_no_extra_pieces": {"set": {"search": {"extra_pieces": False}}},
    "search_no_merge": {"set": {"search": {"merge_boxes": False}}},
    "search_cut_cost_0.5": {"set": {"search": {"cut_logp": -0.5, "merge_logp": -0.5}}},
    "search_cut_cost_2": {"set": {"search": {"cut_logp": -2.0, "merge_logp": -2.0}}},
    "search_no_noise_veto": {"set": {"search": {"noise_veto": False, "min_char_logp": -2.3}}},
    "search_no_narrow_rule": {"set": {"search": {"narrow_width": 0.0}}},
    "search_length_weight_0.5": {"set": {"search": {"length_weight": 0.5}}},
}

#: Segmentation settings compared with the shipped config (its search included), one
#: at a time: vertical ink runs longer than this many character heights removed once
#: the row is found (a character touching a frame side), looser row tolerances, taller
#: characters, shorter pieces kept, earlier splits, other frame-line lengths, a larger
#: working copy and a fifth binarization (a narrower Sauvola window).
SEGMENT_VARIANTS: dict[str, dict[str, Any]] = {
    **{f"frame_side_height_{r}": {"set": {"segment.frame_side_height": r}} for r in (1.2, 1.35, 1.6, 2.0)},
    "row_height_tol_0.35": {"set": {"segment.row_height_tol": 0.35}},
    "row_center_tol_0.25": {"set": {"segment.row_center_tol": 0.25}},
    "max_char_height_0.97": {"set": {"segment.max_char_height": 0.97}},
    "min_piece_height_0.5": {"set": {"segment.min_piece_height": 0.5}},
    "split_width_ratio_1.4": {"set": {"segment.split_width_ratio": 1.4}},
    "frame_line_fraction_0.15": {"set": {"segment.frame_line_fraction": 0.15}},
    "frame_line_fraction_0.4": {"set": {"segment.frame_line_fraction": 0.4}},
    "round_piece_height_0.5": {"set": {"segment.round_piece_height": 0.5}},
    "work_height_96": {"set": {"segment.work_height": 96}},
    "polarity_both": {"set": {"segment.polarity": "both"}},
    "fifth_binarizer_sauvola_0.3": {"set": {"segment.binarizers": [
        {"method": "sauvola", "window": 0.5, "k": 0.2, "offset": 5.0},
        {"method": "sauvola", "window": 1.0, "k": 0.1, "offset": 5.0},
        {"method": "otsu", "window": 0.5, "k": 0.2, "offset": 5.0},
        {"method": "adaptive_gaussian", "window": 0.6, "k": 0.2, "offset": 4.0},
        {"method": "sauvola", "window": 0.3, "k": 0.2, "offset": 5.0},
    ]}},
    "cascade_confidence_0.95": {"set": {"cascade_confidence": 0.95}},
}

#: The row-band candidates (issue 13, H13s; docs/models.md "Row-band candidates"):
#: boxes clipped to the row band, windows where the row lost a character, both; each
#: on top of the shipped search.
ROWBAND_VARIANTS: dict[str, dict[str, Any]] = {
    "clip_to_row": {"set": {"search.clip_to_row": True}},
    "gap_windows": {"set": {"search.gap_windows": True}},
    "clip_to_row+gap_windows": {"set": {"search.clip_to_row": True, "search.gap_windows": True}},
}

#: Round 2 of the row-band candidates (issue 13, H13w; docs/models.md "Round 2"): gap
#: windows inside the row only (no end windows), at a window cost of -1, -2, -3 or -5,
#: and at -3 under a length prior of half its weight.
ROWBAND2_VARIANTS: dict[str, dict[str, Any]] = {
    **{
        f"inside_w{-c}": {"set": {"search.gap_windows": True, "search.window_ends": False, "search.window_logp": float(c)}}
        for c in (-1, -2, -3, -5)
    },
    "inside_w3_lw0.5": {"set": {"search.gap_windows": True, "search.window_ends": False,
                                "search.window_logp": -3.0, "search.length_weight": 0.5}},
}  # fmt: skip

GRIDS = {
    "search": VARIANTS,
    "segment": SEGMENT_VARIANTS,
    "rowband": ROWBAND_VARIANTS,
    "rowband2": ROWBAND2_VARIANTS,
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset"
    )
    ap.add_argument("--grid", choices=sorted(GRIDS), default="search",
                    help="search: the search's settings against the old cascade; segment: segmentation "
                    "settings against the shipped config; rowband, rowband2: the row-band candidates "
                    "(rounds 1 and 2) against the shipped config")  # fmt: skip
    ap.add_argument("--weights", type=Path, default=None, help="segcnn weights (default: the IWT4S ones)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    suffix = "" if args.grid == "search" else f"_{args.grid}"
    out = args.out or ROOT / f"benchmarks/results/segsearch_select{suffix}.json"
    variants_spec = GRIDS[args.grid]
    weights = args.weights or default_weights_path("segcnn")
    shipped = load_segcnn(weights, device="cpu", runtime="torch")
    assert isinstance(shipped, SegCNNRecognizer)
    base = shipped.config
    variants = resolve_grid(parse_grid({"variants": variants_spec}), base)
    train = load_dataset("iwt4s", args.data_dir).samples("train")
    _, val = group_split(list(train), test_fraction=0.15, seed=1)
    val_ids = {s.id for s in val}
    result = run_ablation(variants, train, weights=weights, progress=print)
    truths = [s.text for s in result.samples]
    in_val = [s.id in val_ids for s in result.samples]
    rows: list[dict[str, Any]] = []
    for vr in result.variants:
        ok = [p.text == t for p, t in zip(vr.predictions, truths, strict=True)]
        seg = vr.metrics.segmentation
        rows.append({
            "variant": vr.variant.name,
            "train_correct": sum(ok),
            "train_n": len(ok),
            "val_correct": sum(o for o, v in zip(ok, in_val, strict=True) if v),
            "val_n": sum(in_val),
            "train_diff_ci95": None if vr.comparison is None else [round(vr.comparison.low, 4), round(vr.comparison.high, 4)],
            "mcnemar_p": None if vr.comparison is None else round(vr.comparison.p_value, 4),
            "lost_to_segmentation": None if seg is None else seg.wrong_count,
            "lost_to_classifier": None if seg is None else seg.misread,
            "plates_per_s": round(len(ok) / vr.seconds, 1) if vr.seconds else None,
        })  # fmt: skip
    base_row = rows[0]
    best = max(rows, key=lambda r: (r["train_correct"], r["val_correct"]))
    chosen = (
        best
        if best["train_correct"] > base_row["train_correct"]
        and best["val_correct"] >= base_row["val_correct"]
        else base_row
    )
    for r in rows:
        print(f"{r['variant']:28s} train {r['train_correct']}/{r['train_n']}  val {r['val_correct']}/{r['val_n']}  "
              f"diff CI {r['train_diff_ci95']}  p {r['mcnemar_p']}  seg/cls lost {r['lost_to_segmentation']}/{r['lost_to_classifier']}  "
              f"{r['plates_per_s']} plates/s")  # fmt: skip
    print(f"\nchosen on the train split: {chosen['variant']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"rows": rows, "chosen": chosen["variant"], "variants": variants_spec, "weights": weights.name}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
