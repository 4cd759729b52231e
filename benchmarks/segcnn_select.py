"""Compare segcnn classifier candidates on validation plates only (issue 13).

    python benchmarks/segcnn_select.py runs/s13/base-s1 runs/s13/photo-s1 ... \\
        [--ensemble runs/s13/base-s1+runs/s13/photo-s1] [--out benchmarks/results/segcnn_select.json]
    python benchmarks/segcnn_select.py base=src/segocr/weights/segcnn.pt base=runs/s13/base-s1 \\
        photo=runs/s13/photo-s0 photo=runs/s13/photo-s1 --baseline base --splits 1,2 --margin 3

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

``--format NAME`` reads every model under that plate format (``segocr read --format``,
the default margin), for the readers' figures with a format.

Printed per model: validation plates right (all, HDR), plates lost to segmentation
(wrong segment count) and to the classifier (right count, misread), the classifier's
parameters and multiply-adds per crop.

``--search-variant NAME=JSON`` (repeatable) also reads every model with the shipped
search updated by the JSON object (e.g. ``rowband={"gap_windows": true}``), as the
recipe ``LABEL@NAME``: a segmentation change compared with the same classifiers.

A model given as ``LABEL=PATH`` belongs to the recipe ``LABEL`` (one run per split);
``--recorded FILE.json:LABEL`` (repeatable) takes the rows of recipe ``LABEL`` from an
earlier ``--out`` of this script instead of reading models (refused unless that file
was read with the same shipped search): a baseline whose run folders are gone.
``--baseline LABEL`` then prints a table per recipe (per split and summed over
``--splits``, the splits every recipe compared has) and the verdict of the rule fixed in
docs/models.md (S13k): a recipe passes when its plates summed over the splits beat the
baseline's by at least ``--margin`` and its HDR plates are not fewer.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import torch

from segocr.datasets.base import load_dataset
from segocr.datasets.splits import group_split
from segocr.evaluation.harness import evaluate
from segocr.formats.decoding import DecodeOptions
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


def verdicts(rows: list[dict[str, Any]], baseline: str, splits: list[int], margin: int) -> list[dict[str, Any]]:
    """Per recipe (``row["label"]``), its figures summed over ``splits`` and whether it
    beats ``baseline`` by the rule (>= ``margin`` plates, HDR plates not fewer). A recipe
    lacking one of the splits gets no verdict.

    >>> r = lambda lab, sp, ok, h: {"label": lab, "split_seed": sp, "val_correct": ok, "val_n": 10,
    ...     "hdr_correct": h, "hdr_n": 5, "lost_to_segmentation": 0, "lost_to_classifier": 10 - ok}
    >>> rows = [r("b", 1, 7, 3), r("b", 2, 8, 4), r("c", 1, 9, 3), r("c", 2, 9, 4), r("d", 1, 10, 2)]
    >>> [(v["label"], v["correct"], v["passes"]) for v in verdicts(rows, "b", [1, 2], 3)]
    [('b', 15, None), ('c', 18, True), ('d', None, None)]
    """
    out = []
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = {r["split_seed"]: r for r in rows if r["label"] == label}
        v: dict[str, Any] = {"label": label, "correct": None, "passes": None}
        if all(s in mine for s in splits):
            sel = [mine[s] for s in splits]
            for key, field in (("correct", "val_correct"), ("n", "val_n"), ("hdr_correct", "hdr_correct"),
                               ("hdr_n", "hdr_n"), ("seg", "lost_to_segmentation"), ("cls", "lost_to_classifier"),
                               ("hdr_seg", "hdr_lost_to_segmentation"), ("hdr_cls", "hdr_lost_to_classifier")):
                v[key] = sum(int(r.get(field) or 0) for r in sel)
        out.append(v)
    base = next((v for v in out if v["label"] == baseline), None)
    if base is None or base["correct"] is None:
        raise SystemExit(f"baseline {baseline!r} lacks one of the splits {splits}")
    for v in out:
        if v["label"] != baseline and v["correct"] is not None:
            v["margin"] = v["correct"] - base["correct"]
            v["hdr_margin"] = v["hdr_correct"] - base["hdr_correct"]
            v["passes"] = v["margin"] >= margin and v["hdr_margin"] >= 0
    return out


def recorded_rows(specs: list[str], search: dict[str, Any] | None, fmt: str | None = None) -> list[dict[str, Any]]:
    """The rows named by ``FILE.json:LABEL`` specs (earlier ``--out`` files of this
    script), each marked with ``"recorded": FILE``; a file read with another search
    than ``search`` (the shipped card's) or under another plate format than ``fmt``,
    or without rows of LABEL, is refused.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "old.json"
    >>> row = {"label": "b", "model": "m", "split_seed": 1, "val_correct": 7, "val_n": 8, "hdr_correct": 3, "hdr_n": 4}
    >>> _ = f.write_text(json.dumps({"search": None, "rows": [row, {**row, "label": "c"}]}))
    >>> [(r["label"], r["val_correct"]) for r in recorded_rows([f"{f}:b"], None)]  # doctest: +ELLIPSIS
    m ... split 1  val 7/8  hdr 3/4  (recorded in ...old.json)
    [('b', 7)]
    >>> recorded_rows([f"{f}:b"], {"merge_boxes": False})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: --recorded ...old.json: read with another search than the shipped card's
    >>> recorded_rows([f"{f}:b"], None, "cz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: --recorded ...old.json: read under format None, not 'cz'
    """
    rows = []
    for spec in specs:
        file, sep, label = spec.rpartition(":")
        if not sep:
            raise SystemExit(f"--recorded {spec}: expected FILE.json:LABEL")
        old = json.loads(Path(file).read_text())
        if old.get("search") != search:
            raise SystemExit(f"--recorded {file}: read with another search than the shipped card's")
        if old.get("format") != fmt:
            raise SystemExit(f"--recorded {file}: read under format {old.get('format')!r}, not {fmt!r}")
        got = [{**r, "recorded": file} for r in old["rows"] if r["label"] == label]
        if not got:
            raise SystemExit(f"--recorded {file}: no rows of recipe {label!r}")
        for r in got:
            print(f"{r['model']:45s} split {r['split_seed']}  val {r['val_correct']}/{r['val_n']}  "
                  f"hdr {r['hdr_correct']}/{r['hdr_n']}  (recorded in {file})")
        rows.extend(got)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--ensemble", action="append", default=[], help="run folders joined by +")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--baseline", default=None, help="the LABEL of the baseline recipe: print the rule's verdicts")
    ap.add_argument("--splits", default="1,2,3", help="split seeds the verdict sums over (comma-separated)")
    ap.add_argument("--margin", type=int, default=3, help="plates a recipe must gain over the baseline")
    ap.add_argument("--recorded", action="append", default=[], metavar="FILE.json:LABEL",
                    help="the rows of recipe LABEL from an earlier --out (same shipped search), not read again")
    ap.add_argument("--search-variant", action="append", default=[], metavar="NAME=JSON",
                    help="also read every model with the shipped search updated by JSON, as LABEL@NAME")
    ap.add_argument("--format", default=None,
                    help="read under this plate format (segocr read --format; the default margin)")
    args = ap.parse_args()
    options = DecodeOptions(format=args.format) if args.format else None
    torch.set_num_threads(1)
    search = json.loads(SHIPPED.with_suffix(".json").read_text())["config"].get("search")
    dataset = load_dataset("iwt4s", args.data_dir)
    train = list(dataset.samples("train"))
    cands: list[tuple[str, str, SegCNNRecognizer, dict[str, Any]]] = []
    for arg in args.models:
        label, _, path = str(arg).rpartition("=")
        m = Path(path)
        w = weights_of(m)
        rec = load_segcnn(w, device="cpu", runtime="torch")
        assert isinstance(rec, SegCNNRecognizer)
        card = json.loads(w.with_suffix(".json").read_text())
        cands.append((label or str(m), str(m), rec, card["training"]))
    for spec in args.ensemble:
        members = [weights_of(Path(p)) for p in spec.split("+")]
        rec, facts = ensemble_recognizer(members, train, dataset.charset)
        cands.append((spec, spec, rec, facts))
    searches: list[tuple[str, dict[str, Any] | None]] = [("", search)]
    for spec in args.search_variant:
        vname, _, js = spec.partition("=")
        searches.append((vname, {**(search or {}), **json.loads(js)}))
    rows = recorded_rows(args.recorded, search, args.format)
    for (label0, name0, rec, facts), (vname, vsearch) in itertools.product(cands, searches):
        tc = facts["train_config"]
        label, name = (f"{label0}@{vname}", f"{name0}@{vname}") if vname else (label0, name0)
        seed = split_seed_of(tc)
        _, val = group_split(train, test_fraction=float(tc.get("val_fraction", 0.15)), seed=seed)
        rec.config = rec.config.model_copy(update={"search": None if vsearch is None else SearchConfig.model_validate(vsearch)})
        t0 = time.perf_counter()
        res = evaluate({"m": rec}, val, progress=False, fusion=False, options=options)
        seconds = time.perf_counter() - t0
        mr = res.models["m"]
        seg = mr.overall.segmentation
        hdr = mr.subsets.get("hdr")
        assert rec.model is not None
        params, mmacs = cost(rec.model, rec.config.input_size)
        row = {
            "label": label,
            "model": name,
            "split_seed": seed,
            "val_n": mr.overall.n,
            "val_correct": round(mr.overall.plate_accuracy * mr.overall.n),
            "hdr_n": hdr.n if hdr else 0,
            "hdr_correct": round(hdr.plate_accuracy * hdr.n) if hdr else 0,
            "lost_to_segmentation": seg.wrong_count if seg else None,
            "lost_to_classifier": seg.misread if seg else None,
            "hdr_lost_to_segmentation": hdr.segmentation.wrong_count if hdr and hdr.segmentation else None,
            "hdr_lost_to_classifier": hdr.segmentation.misread if hdr and hdr.segmentation else None,
            "cer": round(mr.overall.cer, 4),
            "search": vsearch,
            "plates_per_s": round(mr.overall.n / seconds, 1),
            "params": params,
            "mmacs_per_crop": round(mmacs, 2),
            "fit_plates": facts.get("fit_plates"),
            "train_config": {k: v for k, v in tc.items() if k not in ("seed",)},
        }
        rows.append(row)
        print(
            f"{name:45s} split {seed}  val {row['val_correct']}/{row['val_n']}  hdr {row['hdr_correct']}/{row['hdr_n']}  "
            f"lost seg/cls {row['lost_to_segmentation']}/{row['lost_to_classifier']} "
            f"(HDR {row['hdr_lost_to_segmentation']}/{row['hdr_lost_to_classifier']})  CER {row['cer']:.4f}  "
            f"{params / 1e3:.0f}k params  {mmacs:.1f} MMAC/crop",
            flush=True,
        )
    summary = None
    if args.baseline is not None:
        splits = [int(s) for s in args.splits.split(",")]
        summary = verdicts(rows, args.baseline, splits, args.margin)
        print(f"\nrule: plates summed over splits {splits} >= baseline {args.baseline!r} + {args.margin}, HDR not fewer")
        print("| recipe | " + " | ".join(f"split {s}" for s in splits) + " | sum | HDR | lost seg / cls (of them HDR) | margin | passes |")
        print("|:--|" + "--:|" * (len(splits) + 5))
        for v in summary:
            mine = {r["split_seed"]: r for r in rows if r["label"] == v["label"]}
            cells = [
                f"{mine[s]['val_correct']}/{mine[s]['val_n']} ({mine[s]['hdr_correct']}/{mine[s]['hdr_n']} HDR; "
                f"seg/cls {mine[s]['lost_to_segmentation']}/{mine[s]['lost_to_classifier']})" if s in mine else ""
                for s in splits
            ]
            tail = (
                [f"{v['correct']}/{v['n']}", f"{v['hdr_correct']}/{v['hdr_n']}", f"{v['seg']} / {v['cls']} ({v['hdr_seg']} / {v['hdr_cls']})",
                 f"{v['margin']:+d} ({v['hdr_margin']:+d} HDR)" if "margin" in v else "baseline",
                 {True: "yes", False: "no", None: ""}[v["passes"]]]
                if v["correct"] is not None else ["", "", "", "", ""]
            )  # fmt: skip
            print(f"| {v['label']} | " + " | ".join(cells + tail) + " |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"search": search, "format": args.format, "rows": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
