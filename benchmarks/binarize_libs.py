"""Sauvola, Wolf and Niblack: segocr's own (cv2.boxFilter statistics) against
cv2.ximgproc.niBlackThreshold and scikit-image, on speed and on agreement.

    .venv/bin/python benchmarks/binarize_libs.py [--data-dir ../shared/data/iwt4s/2017-IWT4S-HDR_LP-dataset]

The images are plates of the IWT4S *training* split (or data/samples/ when IWT4S is
absent), gray at the 72-px working height, as the segmentation sees them. Agreement
is the fraction of pixels with the same ink/background decision as segocr's own
binarize(); time is the best of 3 passes over all images, per image. Writes
benchmarks/results/binarize_libs.md. scikit-image is imported only if installed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from segocr.io import read_image
from segocr.preprocess import resize_to_height, to_gray
from segocr.segment.binarize import BinarizeConfig, binarize, window_pixels

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [("sauvola", 0.5, 0.2), ("sauvola", 1.0, 0.1), ("wolf", 0.5, 0.2), ("niblack", 0.5, 0.2)]


def _images(data_dir: Path | None, limit: int) -> tuple[list[np.ndarray], str]:
    if data_dir is not None and data_dir.exists():
        from segocr.datasets.base import load_dataset

        samples = load_dataset("iwt4s", data_dir).samples("train")[:limit]
        where = f"{len(samples)} IWT4S training plates"
        images = [s.load() for s in samples]
    else:
        paths = sorted((ROOT / "data" / "samples").glob("*.png"))
        where = f"{len(paths)} plates of data/samples"
        images = [read_image(p) for p in paths]
    return [resize_to_height(to_gray(im), height=72) for im in images], where


def _ximgproc(gray: np.ndarray, cfg: BinarizeConfig, *, pad: bool) -> np.ndarray:
    win = window_pixels(gray.shape[0], cfg.window)
    method = {
        "sauvola": cv2.ximgproc.BINARIZATION_SAUVOLA,
        "wolf": cv2.ximgproc.BINARIZATION_WOLF,
        "niblack": cv2.ximgproc.BINARIZATION_NIBLACK,
    }[cfg.method]
    k = -abs(cfg.k) if cfg.method == "niblack" else cfg.k  # segocr's Niblack: dark ink
    p = win // 2 if pad else 0
    src = cv2.copyMakeBorder(gray, p, p, p, p, cv2.BORDER_REFLECT) if pad else gray
    out = cv2.ximgproc.niBlackThreshold(src, 255, cv2.THRESH_BINARY_INV, win, k, binarizationMethod=method, r=128)
    return out[p : out.shape[0] - p, p : out.shape[1] - p] > 0


def _skimage(gray: np.ndarray, cfg: BinarizeConfig) -> np.ndarray | None:
    import skimage.filters as skf

    win = window_pixels(gray.shape[0], cfg.window)
    if cfg.method == "sauvola":
        return gray < skf.threshold_sauvola(gray, window_size=win, k=cfg.k, r=128)
    if cfg.method == "niblack":
        return gray < skf.threshold_niblack(gray, window_size=win, k=abs(cfg.k))
    return None  # scikit-image has no Wolf


def _time(fn: Callable[[np.ndarray], np.ndarray | None], grays: list[np.ndarray]) -> tuple[float, list]:
    best, out = float("inf"), []
    for _ in range(3):
        start = time.perf_counter()
        out = [fn(g) for g in grays]
        best = min(best, time.perf_counter() - start)
    return best / len(grays) * 1e6, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT.parent / "shared" / "data" / "iwt4s" / "2017-IWT4S-HDR_LP-dataset"
    ap.add_argument("--data-dir", type=Path, default=default)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "binarize_libs.md")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    grays, where = _images(args.data_dir, args.limit)
    try:
        import skimage  # noqa: F401

        have_skimage = True
    except ImportError:
        have_skimage = False
    rows = []
    for method, window, k in SETTINGS:
        cfg = BinarizeConfig(method=method, window=window, k=k)
        variants: dict[str, Callable[[np.ndarray], np.ndarray | None]] = {
            "segocr (cv2.boxFilter)": lambda g, c=cfg: binarize(g, method=c),
            "ximgproc.niBlackThreshold": lambda g, c=cfg: _ximgproc(g, c, pad=False),
            "ximgproc, reflect-padded": lambda g, c=cfg: _ximgproc(g, c, pad=True),
        }
        if have_skimage:
            variants["scikit-image"] = lambda g, c=cfg: _skimage(g, c)
        ref = None
        for name, fn in variants.items():
            if fn(grays[0]) is None:
                continue
            us, masks = _time(fn, grays)
            ref = masks if ref is None else ref
            agree = [float(np.mean(a == b)) for a, b in zip(ref, masks, strict=True)]
            rows.append(
                f"| {method} {window}/{k} | {name} | {us:.0f} | {100 * np.mean(agree):.2f}% | {100 * min(agree):.2f}% |"
            )
    text = "\n".join(
        [
            "# Sauvola / Wolf / Niblack: own code against the libraries",
            "",
            f"`python benchmarks/binarize_libs.py`, {where}, gray at 72 px, 1 OpenCV thread.",
            "Agreement: pixels with the same ink decision as segocr's own binarize().",
            "",
            "| method window/k | implementation | µs per plate | agreement | worst plate |",
            "|:--|:--|--:|--:|--:|",
            *rows,
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
