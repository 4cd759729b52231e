"""How a reader copes with crops unlike its training crops: the mix's validation plates
(``benchmarks/mix_validation.py``, part ``both``: never trained on by either general
model; never a test split) read as given and changed (margins added or cut, rotated,
sheared, downscaled, JPEG-compressed), nothing retrained. A probe, not a choice: it
showed that the crop's margin matters (hence :mod:`segocr.margins`) and what is left.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/crop_probe.py --data-dir ../shared/data \\
        [--model ensemble] [--weights PATH] [--crop-as-given] [--out benchmarks/results/crop_probe.md]

``--weights``: the ``--model`` recognizer with these weights instead of its shipped ones
(e.g. ``--model crnn --weights runs/crnn-general-robust/crnn.pt``).
``--crop-as-given``: an ensemble reads each crop as given only (its card's margins off),
to see what the margins do.

Every model reads as ``segocr read`` does (two-row plates by :mod:`segocr.rows`).
Plate accuracy per source by :func:`segocr.datasets.masked.visible_correct`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mix_validation import SHORT, parts

from segocr.api import load_recognizer
from segocr.datasets.base import load_dataset
from segocr.datasets.masked import visible_correct
from segocr.ensemble import EnsembleRecognizer
from segocr.margins import pad_crop
from segocr.rows import DEFAULT_ROWS, with_rows

Change = Callable[[np.ndarray], np.ndarray]


def rotated(degrees: float) -> Change:
    """Rotation about the centre, same size, edge pixels replicated."""

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(im, m, (w, h), borderMode=cv2.BORDER_REPLICATE)

    return f


def sheared(k: float) -> Change:
    """Horizontal shear by ``k`` (x += k * (y - h/2)), edge pixels replicated."""

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        m = np.array([[1, k, -k * h / 2], [0, 1, 0]], np.float32)
        return cv2.warpAffine(im, m, (w, h), borderMode=cv2.BORDER_REPLICATE)

    return f


def bordered(fraction: float, grey: int) -> Change:
    """A uniform border of ``fraction`` of the size on every side (a loose crop's background)."""

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        dy, dx = round(fraction * h), round(fraction * w)
        return cv2.copyMakeBorder(im, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(grey, grey, grey))

    return f


def cut(fraction: float) -> Change:
    """``fraction`` of the size cut from every side (a tighter crop)."""

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        dy, dx = round(fraction * h), round(fraction * w)
        return im[dy : h - dy, dx : w - dx]

    return f


def downscaled(height: int) -> Change:
    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        return cv2.resize(im, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)

    return f


def jpeg(quality: int) -> Change:
    def f(im: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else im

    return f


CHANGES: dict[str, Change] = {
    "as given": lambda im: im,
    "margin +5% (edges replicated)": lambda im: pad_crop(im, 0.05)[0],
    "margin +10% (edges replicated)": lambda im: pad_crop(im, 0.10)[0],
    "margin +25% (edges replicated)": lambda im: pad_crop(im, 0.25)[0],
    "grey border 25%": bordered(0.25, 110),
    "5% cut from every side": cut(0.05),
    "rotated +5 degrees": rotated(5),
    "rotated -5 degrees": rotated(-5),
    "rotated +10 degrees": rotated(10),
    "sheared 0.2": sheared(0.2),
    "16 px high": downscaled(16),
    "24 px high": downscaled(24),
    "JPEG quality 20": jpeg(20),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--model", default="ensemble")
    ap.add_argument("--weights", default=None, help="the model's weights (default: its shipped ones)")
    ap.add_argument("--crop-as-given", action="store_true", help="an ensemble's margins off")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    mix = load_dataset("mix", args.data_dir, config="general")
    groups, _ = parts(mix, args.data_dir)
    samples = groups["both"]
    images = [s.load() for s in samples]
    sources = sorted({SHORT.get(s.subset, s.subset) for s in samples})
    base = load_recognizer(args.model, weights=args.weights, device="cpu")
    if args.crop_as_given and isinstance(base, EnsembleRecognizer):
        base.config = base.config.model_copy(update={"margins": (0.0,), "retry_below": None})
    rec = with_rows(base, DEFAULT_ROWS)
    weights = f" --weights {args.weights}" if args.weights else ""
    what = f"`{args.model}`" + (f" (weights `{args.weights}`)" if args.weights else "")
    what += " (crop as given only)" if args.crop_as_given else ""
    lines = [
        f"# Crops unlike the training crops: {what} on {len(samples)} validation plates (never test)",
        "",
        ("`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/crop_probe.py --data-dir ../shared/data "
        f"--model {args.model}{weights}{' --crop-as-given' if args.crop_as_given else ''}`"),
        "",
        "| crop | all | " + " | ".join(sources) + " |",
        "|:--|--:|" + "--:|" * len(sources),
    ]
    for name, change in CHANGES.items():
        preds = rec.predict([np.ascontiguousarray(change(im)) for im in images])
        ok: dict[str, list[bool]] = {}
        for s, p in zip(samples, preds, strict=True):
            ok.setdefault(SHORT.get(s.subset, s.subset), []).append(visible_correct(s.text, p.text))
        every = [x for v in ok.values() for x in v]
        cells = " | ".join(f"{100 * np.mean(ok[src]):.1f}" for src in sources)
        lines.append(f"| {name} | {100 * np.mean(every):.1f} | {cells} |")
        print(lines[-1], flush=True)
    text = "\n".join([*lines, "", "Plate accuracy in %."]) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
