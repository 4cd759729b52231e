"""A picture of synthetic plates of every style, and the generator's speed.

    python benchmarks/synthetic_grid.py [--per-style 6] [--speed-plates 100]

Writes ``docs/img/synthetic-styles.png`` (one row per style: plates rendered with the
degradations of ``SAMPLES_CONFIG``, seed 0), ``docs/img/synthetic-boxes.png`` (clean
plates with their character boxes, green; the bottom row of a two-row plate in orange)
and ``benchmarks/results/synthetic_speed.json`` / ``.md`` (plates per second of
``render_plate`` with the default degradations, per style, one process, median of 3
passes; per wall-clock second and per CPU second of the process, since the machine
may be shared). US plates use pictures of ``us-plate-designs/`` when that folder is found
(the JSON says whether it was); the picture shows them either way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from segocr.datasets.synthetic import (
    DEFAULT_CONFIG,
    SAMPLES_CONFIG,
    STYLES,
    random_plate_text,
    render_plate,
)
from segocr.datasets.synthetic.pictures import find_designs_dir

ROOT = Path(__file__).resolve().parents[1]
CELL_H = 64
LABEL_W = 92


def _cell(img: np.ndarray, width: int) -> np.ndarray:
    """``img`` scaled to CELL_H px high, then padded or shrunk to ``width``."""
    h, w = img.shape[:2]
    k = CELL_H / h
    out = cv2.resize(img, (max(1, round(w * k)), CELL_H), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    if out.shape[1] > width:
        out = cv2.resize(out, (width, round(CELL_H * width / out.shape[1])), interpolation=cv2.INTER_AREA)
    canvas = np.full((CELL_H, width, 3), 255, np.uint8)
    y = (CELL_H - out.shape[0]) // 2
    canvas[y : y + out.shape[0], : out.shape[1]] = out
    return canvas


def _label(text: str, width: int) -> np.ndarray:
    img = np.full((CELL_H, width, 3), 255, np.uint8)
    cv2.putText(img, text, (4, CELL_H // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def grid(per_style: int, seed: int, *, boxes: bool) -> np.ndarray:
    """One row per style of ``per_style`` plates; with ``boxes`` clean plates and their
    character boxes drawn."""
    cfg = SAMPLES_CONFIG.clean() if boxes else SAMPLES_CONFIG
    if boxes:
        cfg = cfg.model_copy(update={"plate_height": (90.0, 110.0)})
    width = 230
    rows = []
    for s, style in enumerate(STYLES):
        cells = [_label(style, LABEL_W)]
        for i in range(per_style):
            rng = np.random.default_rng([seed, s, i])
            p = render_plate(random_plate_text(rng, style), rng=rng, config=cfg, style=style)
            img = p.image.copy()
            if boxes:
                for b, r in zip(p.boxes, p.rows):
                    cv2.rectangle(img, (b.x, b.y), (b.x2 - 1, b.y2 - 1), (0, 200, 0) if r == 0 else (255, 140, 0), 1)
            cells.append(_cell(img, width))
            cells.append(np.full((CELL_H, 6, 3), 255, np.uint8))
        rows.append(np.concatenate(cells, axis=1))
        rows.append(np.full((6, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows, axis=0)


def speed(n: int, repeats: int = 3) -> tuple[dict[str, float], dict[str, float]]:
    """Plates per second of text + render with the default config, per style: per
    wall-clock second and per CPU second of this process (the machine may be shared)."""
    wall, cpu = {}, {}
    for s, style in enumerate(STYLES):
        rates, cpu_rates = [], []
        for rep in range(repeats):
            rng = np.random.default_rng([7, s, rep])
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                render_plate(random_plate_text(rng, style), rng=rng, config=DEFAULT_CONFIG, style=style)
            rates.append(n / (time.perf_counter() - t0))
            cpu_rates.append(n / (time.process_time() - c0))
        wall[style] = round(statistics.median(rates), 1)
        cpu[style] = round(statistics.median(cpu_rates), 1)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-style", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-plates", type=int, default=100, help="plates per style and pass (0: skip)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, with_boxes in (("synthetic-styles.png", False), ("synthetic-boxes.png", True)):
        img = grid(args.per_style if not with_boxes else min(args.per_style, 4), args.seed, boxes=with_boxes)
        path = args.out / name
        # a 256-colour palette keeps the picture small in the repository
        from PIL import Image

        Image.fromarray(img).quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({img.shape[1]}x{img.shape[0]})")
    if args.speed_plates:
        rates, cpu = speed(args.speed_plates)
        designs = find_designs_dir(None)
        res = {
            "plates_per_second": rates,
            "plates_per_cpu_second": cpu,
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "plates_per_style_and_pass": args.speed_plates,
            "all_styles_mean": round(statistics.mean(rates.values()), 1),
            "all_styles_mean_per_cpu_second": round(statistics.mean(cpu.values()), 1),
            "us_pictures_found": designs is not None,
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, one process",
            "command": "python benchmarks/synthetic_grid.py",
        }
        results = ROOT / "benchmarks" / "results"
        results.mkdir(parents=True, exist_ok=True)
        (results / "synthetic_speed.json").write_text(json.dumps(res, indent=2) + "\n")
        md = ["| style | plates/s (wall) | plates per CPU-s |", "|---|---:|---:|", *(f"| {s} | {r} | {cpu[s]} |" for s, r in rates.items())]
        (results / "synthetic_speed.md").write_text("\n".join(md) + "\n")
        print("\n".join(md))
        print(f"mean over styles: {res['all_styles_mean']} plates/s wall, {res['all_styles_mean_per_cpu_second']} per CPU-second "
              f"(load average {res['load_average_1min']} on {os.cpu_count()} CPUs; US pictures found: {designs is not None})")


if __name__ == "__main__":
    main()
