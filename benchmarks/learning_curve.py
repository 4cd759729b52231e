"""segcnn's learning curve on validation plates (issue 13, docs/models.md "A learning curve").

    python benchmarks/learning_curve.py benchmarks/results/segcnn_curve_val.json \\
        [--target 0.97] [--out benchmarks/results/segcnn_curve.md]

Reads the rows ``benchmarks/segcnn_select.py`` wrote for runs of one recipe trained on
shares of their fit part (``SegCNNTrainConfig.fit_fraction``; each row carries its run's
``fit_plates``), one recipe label per share, the same splits for every label. Per label:
plates read and lost on the summed validation parts, the mean fit images. Then the power
law ``errors = a * fit^-b`` fitted by least squares on log errors against log fit (all
plates, and the HDR captures alone), and the fit images at which the error rate would
reach ``1 - target``: an extrapolation, printed with the exponent it rests on.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per recipe label: mean fit images, validation plates (all / HDR) and
    how many were read, summed over the label's rows.

    >>> r = lambda lab, fit, ok: {"label": lab, "fit_plates": fit, "val_n": 10, "val_correct": ok,
    ...     "hdr_n": 5, "hdr_correct": ok // 2}
    >>> [(p["label"], p["fit"], p["correct"]) for p in points([r("a", 100, 8), r("a", 110, 9), r("b", 400, 10)])]
    [('a', 105.0, 17), ('b', 400.0, 10)]
    """
    out = []
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == label]
        if any(r.get("fit_plates") is None for r in mine):
            raise SystemExit(f"{label}: a row without fit_plates (read it again with segcnn_select.py)")
        out.append({
            "label": label,
            "fit": float(np.mean([r["fit_plates"] for r in mine])),
            "n": sum(int(r["val_n"]) for r in mine),
            "correct": sum(int(r["val_correct"]) for r in mine),
            "hdr_n": sum(int(r["hdr_n"]) for r in mine),
            "hdr_correct": sum(int(r["hdr_correct"]) for r in mine),
        })  # fmt: skip
    return sorted(out, key=lambda p: p["fit"])


def power_law(fit: list[float], error_rate: list[float]) -> tuple[float, float]:
    """``(a, b)`` of ``error_rate = a * fit^-b``, least squares in log-log.

    >>> a, b = power_law([100, 200, 400], [0.2, 0.1, 0.05])
    >>> round(a, 3), round(b, 3)
    (20.0, 1.0)
    """
    slope, intercept = np.polyfit(np.log(fit), np.log(error_rate), 1)
    return float(math.exp(intercept)), float(-slope)


def needed(a: float, b: float, error_rate: float) -> float:
    """Fit images at which ``a * fit^-b`` reaches ``error_rate`` (inf when the curve
    does not fall, ``b <= 0``).

    >>> needed(20.0, 1.0, 0.025)
    800.0
    >>> needed(1.0, 0.0, 0.03)
    inf
    """
    return (a / error_rate) ** (1.0 / b) if b > 0 else math.inf


def report(pts: list[dict[str, Any]], target: float) -> str:
    lines = [
        "| recipe | fit images (mean) | plates read | error | HDR read | HDR error |",
        "|:--|--:|--:|--:|--:|--:|",
    ]
    for p in pts:
        lines.append(
            f"| {p['label']} | {p['fit']:.0f} | {p['correct']}/{p['n']} | {1 - p['correct'] / p['n']:.1%} | "
            f"{p['hdr_correct']}/{p['hdr_n']} | {1 - p['hdr_correct'] / p['hdr_n']:.1%} |"
        )
    lines += ["", f"| subset | a | b (exponent) | fit images for {target:.0%} | x today's largest |", "|:--|--:|--:|--:|--:|"]
    for name, ok, n in (("all", "correct", "n"), ("HDR", "hdr_correct", "hdr_n")):
        use = [p for p in pts if p[ok] < p[n]]  # a point without errors has no log
        if len(use) < 2:
            lines.append(f"| {name} | | | fewer than two points with errors | |")
            continue
        a, b = power_law([p["fit"] for p in use], [1 - p[ok] / p[n] for p in use])
        need = needed(a, b, 1 - target)
        top = max(p["fit"] for p in pts)
        lines.append(f"| {name} | {a:.3g} | {b:.2f} | {need:,.0f} | {need / top:.1f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", type=Path, help="an --out file of benchmarks/segcnn_select.py")
    ap.add_argument("--target", type=float, default=0.97, help="plate accuracy to extrapolate to")
    ap.add_argument("--out", type=Path, default=None, help="also write the report (Markdown) here")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text())["rows"]
    text = (
        f"# segcnn learning curve (validation plates)\n\n`python benchmarks/learning_curve.py {args.rows}`\n\n"
        + report(points(rows), args.target)
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
