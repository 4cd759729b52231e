"""Plates in whole photos: localisation and end-to-end reading, with time per photo.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/locate.py      # about 10 minutes on 2 cores

Data (``--data-dir``, default ``../shared/data``): the CCPD2019 sample's ``test/`` frames
(720x1160, one plate each, four corners in the name) and the UC3M-LP scenes' ``val``
part (320x240, 1-3 plates each, YOLO boxes). Nothing here was tuned on them: the
locator's settings were chosen on CCPD ``train/`` and UC3M-LP ``train`` only.

For each photo, :class:`segocr.locate.LocatingReader` in ``always`` mode locates the
plates and reads them. Measures:

* **localisation**: a located plate is a hit when the box around its quad overlaps an
  unclaimed true plate's box with IoU >= 0.5 (greedy, best plate score first);
  recall = hits / true plates, precision = hits / located plates;
* **end-to-end**: a true plate is read right when its hit's text equals its text
  exactly. CCPD is read with the shipped CCPD CRNN (``crnn-ccpd.pt``; the province
  character counts), UC3M-LP with segcnn; UC3M-LP's texts are the visible characters
  (two per plate are greyed out in the images) and do not say which box is which, so
  a hit counts as read right when its text equals one of the scene's texts not yet
  claimed;
* the same for the plates at least 1/8 of the photo wide (40 px in UC3M-LP's 320x240
  scenes; half of its plates are under 23x6 px, too small to read);
* **time per photo**: wall time of locating and reading one photo letterboxed to
  1280x720 (the CCPD frames and the UC3M-LP scenes scaled into a 1280x720 canvas),
  ``--threads`` CPU threads, median and 90th percentile;
* **crops stay crops** (``--iwt4s``): every IWT4S crop goes through ``auto`` mode's
  decision; the crops not read as crops are listed (re-cut by the locator, or
  reported as holding no plate).

Writes ``benchmarks/results/locate.json`` and ``locate.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def letterbox(image: np.ndarray, size: tuple[int, int] = (720, 1280)) -> np.ndarray:
    """``image`` scaled to fit (H, W) = ``size`` and centred on a gray canvas."""
    h, w = image.shape[:2]
    s = min(size[0] / h, size[1] / w)
    small = cv2.resize(
        image,
        (round(w * s), round(h * s)),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    canvas = np.full((*size, 3), 110, np.uint8)
    y, x = (size[0] - small.shape[0]) // 2, (size[1] - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def evaluate(scenes: list, reader: object, *, time_limit: int) -> dict:
    from segocr.io import read_image
    from segocr.locate.geometry import box_iou, quad_iou, quad_size
    from segocr.locate.pipeline import quad_of

    gt = hits = located = right = 0
    big = big_hits = big_right = 0  # plates at least 1/8 of the photo wide
    quad_ious: list[float] = []
    times: list[float] = []
    misses: list[str] = []
    for k, scene in enumerate(scenes):
        image = read_image(scene.path)
        plates = reader.read([image])[0]  # type: ignore[attr-defined]
        gt += len(scene.quads)
        located += len(plates)
        wide = [quad_size(q)[0] >= image.shape[1] / 8 for q in scene.quads]
        big += sum(wide)
        claimed: set[int] = set()
        texts = list(scene.texts)
        for p in plates:
            q = quad_of(p)
            best = max(
                ((box_iou(t, q), i) for i, t in enumerate(scene.quads) if i not in claimed),
                default=(0.0, -1),
            )
            if best[0] < 0.5:
                continue
            hits += 1
            big_hits += wide[best[1]]
            claimed.add(best[1])
            quad_ious.append(quad_iou(scene.quads[best[1]], q))
            if scene.source == "ccpd":
                ok = p.text == scene.texts[best[1]]
            else:
                ok = p.text in texts
                if ok:
                    texts.remove(p.text)
            right += ok
            big_right += ok and wide[best[1]]
        if len(claimed) < len(scene.quads):
            misses.append(scene.id)
        if k < time_limit:
            frame = letterbox(image)
            t0 = time.perf_counter()
            reader.read([frame])  # type: ignore[attr-defined]
            times.append(time.perf_counter() - t0)
    return {
        "photos": len(scenes),
        "plates": gt,
        "located": located,
        "hits": hits,
        "recall": hits / max(gt, 1),
        "precision": hits / max(located, 1),
        "end_to_end_right": right,
        "end_to_end_accuracy": right / max(gt, 1),
        "wide_plates": big,
        "wide_recall": big_hits / max(big, 1),
        "wide_end_to_end_accuracy": big_right / max(big, 1),
        "mean_quad_iou_of_hits": float(np.mean(quad_ious)) if quad_ious else None,
        "timed_photos_1280x720": len(times),
        "seconds_per_photo_median": statistics.median(times) if times else None,
        "seconds_per_photo_p90": float(np.percentile(times, 90)) if times else None,
        "missed_photos": misses,
    }


def iwt4s_decisions(data_dir: Path, verifier: object) -> dict:
    from segocr.datasets.base import load_dataset
    from segocr.locate import locate
    from segocr.locate.pipeline import decide

    counts: dict[str, int] = {}
    not_crop: list[str] = []
    samples = load_dataset("iwt4s", data_dir / "iwt4s" / "2017-IWT4S-HDR_LP-dataset").samples("all")
    for s in samples:
        image = s.load()
        reading = verifier.predict([image])[0]  # type: ignore[attr-defined]
        d = decide(image, reading)
        if d is None:
            d = decide(image, reading, locate(image, verifier=verifier))  # type: ignore[arg-type]
        assert d is not None
        counts[d.reason] = counts.get(d.reason, 0) + 1
        if d.kind != "crop":
            not_crop.append(f"{s.id} {image.shape[1]}x{image.shape[0]}")
    return {"crops": len(samples), "by_reason": counts, "not_read_as_crop": not_crop}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--limit", type=int, default=None, help="at most this many photos per set (quick runs)"
    )
    ap.add_argument("--time-photos", type=int, default=40, help="photos per set timed at 1280x720")
    ap.add_argument("--iwt4s", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "locate")
    args = ap.parse_args()
    if not args.data_dir.exists():
        sys.exit(f"error: data not found at {args.data_dir} (pass --data-dir)")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    cv2.setNumThreads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    from segocr.api import load_recognizer
    from segocr.locate import LocatingReader
    from segocr.locate.pipeline import load_verifier
    from segocr.locate.scenes import ccpd_scenes, uc3m_scenes

    verifier = load_verifier(device="cpu")
    ccpd_reader = load_recognizer(
        "crnn", weights=str(REPO / "src" / "segocr" / "weights" / "crnn-ccpd.pt"), device="cpu"
    )
    sets = {
        "CCPD2019-sample test": (
            ccpd_scenes(args.data_dir / "ccpd" / "CCPD2019-sample", "test"),
            LocatingReader(ccpd_reader, verifier, mode="always"),
        ),
        "UC3M-LP val": (
            uc3m_scenes(args.data_dir / "uc3m-lp", "val"),
            LocatingReader(verifier, verifier, mode="always"),
        ),
    }
    report: dict = {"threads": args.threads, "sets": {}}
    for name, (scenes, reader) in sets.items():
        scenes = scenes[: args.limit] if args.limit else scenes
        t0 = time.perf_counter()
        report["sets"][name] = evaluate(scenes, reader, time_limit=args.time_photos)
        print(
            f"{name}: {json.dumps({k: v for k, v in report['sets'][name].items() if k != 'missed_photos'})} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    if args.iwt4s:
        report["iwt4s_auto"] = iwt4s_decisions(args.data_dir, verifier)
        print("IWT4S crops in auto mode:", json.dumps(report["iwt4s_auto"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    lines = [
        f"Plates in whole photos (`benchmarks/locate.py`, {args.threads} threads)",
        "",
        "| set | photos | plates | recall (IoU>=0.5) | precision | end-to-end plate acc | plates >= 1/8 photo wide: n, recall, end-to-end | s / photo at 1280x720 (median, p90) |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, r in report["sets"].items():
        lines.append(
            f"| {name} | {r['photos']} | {r['plates']} | {r['recall']:.1%} | {r['precision']:.1%} | "
            f"{r['end_to_end_accuracy']:.1%} | {r['wide_plates']}, {r['wide_recall']:.1%}, {r['wide_end_to_end_accuracy']:.1%} | "
            + (
                f"{r['seconds_per_photo_median']:.2f}, {r['seconds_per_photo_p90']:.2f} |"
                if r["timed_photos_1280x720"]
                else "not timed |"
            )
        )
    if "iwt4s_auto" in report:
        a = report["iwt4s_auto"]
        lines += [
            "",
            f"IWT4S crops in `--locate auto`: {a['crops'] - len(a['not_read_as_crop'])} of {a['crops']} read as crops ({a['by_reason']}).",
        ]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
