"""Reporting an ablation: tables, the chart and the result folder
(``ablation.md``, ``ablation.json``, ``predictions.csv``, ``ablation.png``). See
:mod:`segocr.ablation`."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segocr.ablation.grid import BASE, AblationGrid
from segocr.ablation.runner import AblationResult
from segocr.evaluation.harness import Metrics

# --------------------------------------------------------------------------- report


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def ablation_frame(result: AblationResult) -> pd.DataFrame:
    """One numeric row per variant, best plate accuracy first: ``variant, label, n,
    plate_accuracy, ci_low, ci_high, cer, seg_count_accuracy, diff, diff_low,
    diff_high, p_value, base_only, variant_only, same_as, seconds`` (comparison
    columns ``nan`` on the base row)."""
    rows = []
    for r in result.ranked():
        m, c = r.metrics, r.comparison
        rows.append(
            {
                "variant": r.name,
                "label": r.variant.label,
                "n": m.n,
                "plate_accuracy": m.plate_accuracy,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "cer": m.cer,
                "seg_count_accuracy": m.segmentation.count_accuracy if m.segmentation else math.nan,
                "diff": c.difference if c else math.nan,
                "diff_low": c.low if c else math.nan,
                "diff_high": c.high if c else math.nan,
                "p_value": c.p_value if c else math.nan,
                "base_only": c.base_only if c else math.nan,
                "variant_only": c.variant_only if c else math.nan,
                "same_as": r.same_as or "",
                "seconds": r.seconds,
            }
        )
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:+.1f}"


def display_frame(result: AblationResult) -> pd.DataFrame:
    """The table as display strings: what the terminal and ``ablation.md`` show."""
    df = ablation_frame(result)
    base_row = df["variant"] == BASE
    return pd.DataFrame(
        {
            "variant": [v + (" *" if v == BASE else "") for v in df["variant"]],
            "change": df["label"],
            "plate acc": df["plate_accuracy"].map(_pct),
            "95% CI": [
                f"{100 * lo:.1f}-{100 * hi:.1f}"
                for lo, hi in zip(df["ci_low"], df["ci_high"], strict=True)
            ],
            "CER": df["cer"].map(_pct),
            "seg count": df["seg_count_accuracy"].map(_pct),
            "Δ vs base (pp)": [
                "" if b else _pp(d) for b, d in zip(base_row, df["diff"], strict=True)
            ],
            "Δ 95% CI": [
                "" if b else f"{_pp(lo)} to {_pp(hi)}"
                for b, lo, hi in zip(base_row, df["diff_low"], df["diff_high"], strict=True)
            ],
            "McNemar p": [
                "" if b else f"{p:.3f}" for b, p in zip(base_row, df["p_value"], strict=True)
            ],
            "lost/won": [
                "" if b else f"{int(lo)}/{int(w)}"
                for b, lo, w in zip(base_row, df["base_only"], df["variant_only"], strict=True)
            ],
        }
    )


_LEFT = ("variant", "change")

LEGEND = (
    "Sorted by plate accuracy. `*` marks the base. Plate acc: exact reading of the whole "
    "plate, with its 95% percentile-bootstrap interval. CER: edit distance over label "
    "characters. Seg count: plates whose number of read characters equals the label "
    "length. Δ vs base: plate-accuracy difference to the base in percentage points, with "
    "a paired bootstrap 95% interval (the same resampled plates for both). McNemar p: "
    "exact two-sided binomial test on the plates where the two disagree. lost/won: plates "
    "only the base read / plates only the variant read."
)


def draw_chart(result: AblationResult, path: Path) -> Path:
    """Horizontal bars of plate accuracy with bootstrap intervals (left) and the
    paired difference to the base with its interval (right), best variant on top;
    saved as PNG with matplotlib's Agg canvas (no pyplot)."""
    from matplotlib.figure import Figure

    df = ablation_frame(result).iloc[::-1].reset_index(drop=True)
    n = len(df)
    y = np.arange(n)
    fig = Figure(figsize=(11.0, 1.2 + 0.32 * n), dpi=110)
    ax_acc, ax_diff = fig.subplots(
        1, 2, sharey=True, gridspec_kw={"width_ratios": [1.3, 1.0], "wspace": 0.12}
    )
    is_base = (df["variant"] == BASE).to_numpy()
    acc = 100 * df["plate_accuracy"].to_numpy()
    err = np.vstack([acc - 100 * df["ci_low"].to_numpy(), 100 * df["ci_high"].to_numpy() - acc])
    colours = np.where(is_base, "tab:orange", "tab:blue")
    ax_acc.barh(y, acc, xerr=err, color=colours, alpha=0.85, error_kw={"capsize": 2, "lw": 0.8})
    base_acc = 100 * result.base.metrics.plate_accuracy
    ax_acc.axvline(base_acc, color="tab:orange", ls="--", lw=0.8)
    ax_acc.set_yticks(y, [f"{v}" for v in df["variant"]])
    ax_acc.set_xlabel("plate accuracy (%) with 95% bootstrap CI")
    lo_x = max(0.0, float(np.nanmin(100 * df["ci_low"].to_numpy())) - 10)
    ax_acc.set_xlim(lo_x, 100)
    d = 100 * df["diff"].fillna(0).to_numpy()
    derr = np.vstack(
        [
            d - 100 * df["diff_low"].fillna(0).to_numpy(),
            100 * df["diff_high"].fillna(0).to_numpy() - d,
        ]
    )
    sig = (df["p_value"].fillna(1.0) < 0.05).to_numpy()
    dcol = np.where(
        is_base, "tab:orange", np.where(sig, np.where(d > 0, "tab:green", "tab:red"), "tab:gray")
    )
    for yi, di, e0, e1, c in zip(y, d, derr[0], derr[1], dcol, strict=True):
        ax_diff.errorbar(di, yi, xerr=[[e0], [e1]], fmt="o", color=c, capsize=2, lw=1, ms=4)
    ax_diff.axvline(0, color="black", lw=0.8)
    ax_diff.set_xlabel(
        "Δ plate accuracy vs base (pp), paired 95% CI\n(green/red: McNemar p < 0.05)"
    )
    ax_diff.tick_params(axis="y", left=False)
    for ax in (ax_acc, ax_diff):
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.6, n - 0.4)
    kind = "classifier retrained per variant" if result.retrain else "base weights' classifier kept"
    fig.suptitle(f"segcnn ablation on {len(result.samples)} plates ({kind})", fontsize=11)
    fig.subplots_adjust(
        left=0.17,
        right=0.98,
        top=1 - 0.45 / (1.2 + 0.32 * n) - 0.02,
        bottom=0.95 / (1.2 + 0.32 * n),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


@dataclass(frozen=True)
class AblationFiles:
    """Where :func:`write_ablation` put each file."""

    out_dir: Path
    json: Path
    markdown: Path
    chart: Path
    predictions: Path


def _metrics_json(m: Metrics) -> dict[str, Any]:
    return {
        "n": m.n,
        "plate_accuracy": _finite(m.plate_accuracy),
        "plate_accuracy_ci95": [_finite(m.ci_low), _finite(m.ci_high)],
        "cer": _finite(m.cer),
        "char_accuracy": _finite(m.char_accuracy),
        "segment_count_accuracy": _finite(m.segmentation.count_accuracy)
        if m.segmentation
        else None,
        "lost_to_segment_count": m.segmentation.wrong_count if m.segmentation else None,
        "misread_with_right_count": m.segmentation.misread if m.segmentation else None,
        "mean_confidence": _finite(m.mean_confidence),
        "ece": _finite(m.ece),
    }


def ablation_dict(
    result: AblationResult,
    *,
    dataset: str,
    split: str,
    source: str = "",
    grid_source: str = "",
    grid: AblationGrid | None = None,
    weights: Mapping[str, Any] | None = None,
    command: str = "",
    wall_seconds: float | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """What ``ablation.json`` holds: the dataset, grid, weights, every variant's
    resolved config, figures and comparison with the base, and provenance."""
    from segocr import __version__
    from segocr.evaluation.report import git_commit, machine_info

    variants = []
    for r in result.variants:
        c = r.comparison
        variants.append(
            {
                "name": r.name,
                "description": r.variant.description,
                "changes": r.variant.changes,
                "format": r.variant.format,
                "same_config_as": r.same_as,
                "config_key": r.variant.key,
                "prepare_key": r.variant.prepare_key,
                "config": r.variant.config.model_dump(mode="json"),
                "metrics": _metrics_json(r.metrics),
                "vs_base": None
                if c is None
                else {
                    "difference": _finite(c.difference),
                    "difference_ci95": [_finite(c.low), _finite(c.high)],
                    "mcnemar_p": _finite(c.p_value),
                    "base_only_correct": c.base_only,
                    "variant_only_correct": c.variant_only,
                },
                "seconds": round(r.seconds, 3),
                "training": dict(r.training) if r.training is not None else None,
            }
        )
    return {
        "segocr_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "dataset": {"name": dataset, "source": source, "split": split},
        "n_samples": len(result.samples) + len(result.failures),
        "n_scored": len(result.samples),
        "failures": [dataclasses.asdict(f) for f in result.failures],
        "retrain": result.retrain,
        "weights": dict(weights or {}),
        "grid": {"source": grid_source, "spec": grid.model_dump(mode="json") if grid else None},
        "statistics": {"bootstrap_resamples": n_bootstrap, "seed": seed, "confidence": 0.95},
        "work_shared": {
            "variants": len(result.variants),
            "distinct_configs": result.n_configs,
            "distinct_preparations": result.n_preparations,
        },
        "ranking": [r.name for r in result.ranked()],
        "variants": variants,
        "run_seconds": round(result.seconds, 2),
        "wall_seconds": round(wall_seconds, 2) if wall_seconds is not None else None,
        "git_commit": git_commit(),
        "machine": machine_info("cpu"),
    }


def ablation_markdown(result: AblationResult, info: Mapping[str, Any], chart: Path) -> str:
    """``ablation.md``: provenance, the table, its legend and the chart."""
    from segocr.evaluation.report import markdown_table

    d, mach = info["dataset"], info["machine"]
    shared = info["work_shared"]
    kind = (
        "classifier retrained per variant on the train split"
        if result.retrain
        else "the base weights' classifier kept; only preprocessing and segmentation change"
    )
    wall = info.get("wall_seconds")
    lines = [
        f"# segcnn ablation: {d['name']} ({d['split']} split)",
        "",
        f"- data: {d['source'] or d['name']}; plates scored: {info['n_scored']} (unreadable: {len(result.failures)})",
        f"- {kind}",
        (
            f"- grid: {info['grid']['source'] or '(given)'}; {shared['variants']} variants, "
            f"{shared['distinct_configs']} distinct configs, "
            f"{shared['distinct_preparations']} distinct preparations"
        ),
        f"- weights: {info['weights'].get('path', '-')} (sha256 {str(info['weights'].get('sha256', '-'))[:12]})",
        f"- commit: {info['git_commit'] or 'unknown'}; created {info['created']}",
        f"- machine: {mach['platform']}, {mach['cpu_count']} CPUs, torch {mach['torch']}"
        + (f"; {wall:.0f} s from loading the grid to the last variant" if wall is not None else ""),
    ]
    if info.get("command"):
        lines += ["", "Reproduce:", "", "```", info["command"], "```"]
    lines += [
        "",
        "## Results",
        "",
        markdown_table(display_frame(result), left=_LEFT),
        "",
        LEGEND,
        "",
    ]
    same = [r for r in result.variants if r.same_as]
    if same:
        lines += [
            "Identical to another row's config (computed once, so their difference is exactly 0): "
            + ", ".join(f"`{r.name}` = `{r.same_as}`" for r in same)
            + ".",
            "",
        ]
    lines += [f"![ablation chart]({chart.name})", ""]
    return "\n".join(lines)


def predictions_frame(result: AblationResult) -> pd.DataFrame:
    """One row per variant and plate: ``variant, id, truth, prediction, confidence,
    correct, n_segments``."""
    rows = [
        {
            "variant": r.name,
            "id": s.id,
            "truth": s.text,
            "prediction": p.text,
            "confidence": round(p.confidence, 6),
            "correct": p.text == s.text,
            "n_segments": p.info.get("n_segments"),
        }
        for r in result.variants
        for s, p in zip(result.samples, r.predictions, strict=True)
    ]
    df = pd.DataFrame(
        rows,
        columns=["variant", "id", "truth", "prediction", "confidence", "correct", "n_segments"],
    )
    df["n_segments"] = df["n_segments"].astype("Int64")
    return df


def write_ablation(result: AblationResult, out_dir: Path | str, **info: Any) -> AblationFiles:
    """Write ``ablation.json``, ``ablation.md``, ``ablation.png`` and
    ``predictions.csv`` into ``out_dir`` (created if needed). ``info`` goes to
    :func:`ablation_dict` (dataset, split, source, grid, weights, command, ...)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = AblationFiles(
        out,
        out / "ablation.json",
        out / "ablation.md",
        out / "ablation.png",
        out / "predictions.csv",
    )
    data = ablation_dict(result, **info)
    files.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    draw_chart(result, files.chart)
    files.markdown.write_text(ablation_markdown(result, data, files.chart), encoding="utf-8")
    predictions_frame(result).to_csv(files.predictions, index=False)
    return files
