"""Turn a :class:`~segocr.evaluation.harness.BenchmarkResult` into tables and files.

:func:`results_frame` gives the figures as a numeric pandas DataFrame,
:func:`format_table` the terminal table, and :func:`write_report` the report folder:
``results.json`` (every figure plus provenance), ``predictions.csv`` (one row per image
and model), ``report.md`` (tables, confusions) and ``error_gallery.png`` (the worst cases).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segocr.errors import SegocrError
from segocr.evaluation.harness import BenchmarkResult, Metrics, n_segments_of

#: The row label of the figures over all scored plates.
ALL = "all"
#: Confusion pairs listed per model in ``report.md`` (``results.json`` keeps more).
TOP_CONFUSIONS = 10


# --------------------------------------------------------------------------- tables


def results_frame(result: BenchmarkResult) -> pd.DataFrame:
    """One row per model and subset (``all`` first), numeric columns: ``model, subset,
    n, plate_accuracy, ci_low, ci_high, cer, char_accuracy, mean_confidence, ece,
    plates_per_s`` (throughput on the ``all`` rows only, ``nan`` on subset rows)."""
    rows: list[dict[str, Any]] = []
    for name, model in result.models.items():
        for subset, m in [(ALL, model.overall), *model.subsets.items()]:
            rows.append(
                {
                    "model": name,
                    "subset": subset,
                    "n": m.n,
                    "plate_accuracy": m.plate_accuracy,
                    "ci_low": m.ci_low,
                    "ci_high": m.ci_high,
                    "cer": m.cer,
                    "char_accuracy": m.char_accuracy,
                    "mean_confidence": m.mean_confidence,
                    "ece": m.ece,
                    "plates_per_s": model.plates_per_s if subset == ALL else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float, fmt: str) -> str:
    return "-" if x is None or math.isnan(x) else format(x, fmt)


def display_frame(result: BenchmarkResult) -> pd.DataFrame:
    """The results table as display strings (percentages, intervals), one row per model
    and subset: what the terminal table and report.md show."""
    df = results_frame(result)
    out = pd.DataFrame(
        {
            "model": df["model"],
            "subset": df["subset"],
            "n": df["n"].astype(int).astype(str),
            "plate acc": df["plate_accuracy"].map(_pct),
            "95% CI": [
                "-" if math.isnan(lo) else f"{100 * lo:.1f}-{100 * hi:.1f}"
                for lo, hi in zip(df["ci_low"], df["ci_high"], strict=True)
            ],
            "CER": df["cer"].map(_pct),
            "char acc": df["char_accuracy"].map(_pct),
            "mean conf": df["mean_confidence"].map(lambda x: _num(x, ".3f")),
            "ECE": df["ece"].map(lambda x: _num(x, ".3f")),
            "plates/s": df["plates_per_s"].map(lambda x: _num(x, ".1f") if not math.isnan(x) else ""),
        }
    )
    # Name each model once, on its first row.
    out.loc[out["model"].duplicated(), "model"] = ""
    return out


#: Columns of the display tables that hold text (left-aligned); the rest are figures.
_TEXT_COLUMNS = ("model", "subset")


def fixed_width(df: pd.DataFrame, *, left: Sequence[str] = _TEXT_COLUMNS, gap: int = 2) -> str:
    """``df`` (cells already formatted) as a plain-text table: a header, a rule of
    dashes, one line per row; ``left`` columns left-aligned, the others right-aligned.

    >>> print(fixed_width(pd.DataFrame({"model": ["ab", "c"], "n": ["3", "12"]})))
    model   n
    -----  --
    ab      3
    c      12
    """
    cols = [str(c) for c in df.columns]
    cells = [[str(v) for v in row] for row in df.itertuples(index=False)]
    widths = [max([len(c), *(len(r[j]) for r in cells)]) for j, c in enumerate(cols)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(w) if c in left else v.rjust(w) for c, v, w in zip(cols, values, widths, strict=True)
        ]
        return (" " * gap).join(parts).rstrip()

    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def format_table(result: BenchmarkResult) -> str:
    """The terminal table: one row per model over all plates, then one per subset
    under it. Percentages are of plates (plate acc, its 95 % bootstrap CI) or of label
    characters (CER, char acc); plates/s times ``predict`` only.

    The layout (figures invented)::

        model     subset    n  plate acc       95% CI  CER  char acc  mean conf    ECE  plates/s
        --------  ------  ---  ---------  -----------  ---  --------  ---------  -----  --------
        segcnn    all     130      87.7%  81.5-93.1   3.2%     96.9%      0.853  0.042    1234.5
                  hdr      65      ...
    """
    if not result.models:
        return "(no models)"
    return fixed_width(display_frame(result))


def markdown_table(df: pd.DataFrame, *, left: Sequence[str] | None = None) -> str:
    """``df`` as a GitHub markdown table (no ``tabulate`` needed). Columns in ``left``
    are left-aligned and the rest right-aligned; by default text columns go left
    and numeric ones right.

    >>> print(markdown_table(pd.DataFrame({"model": ["a"], "n": [3]})))
    | model | n |
    |:--|--:|
    | a | 3 |
    """

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    if left is None:
        left = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    align = [":--" if c in left else "--:" for c in cols]
    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def attribution_lines(result: BenchmarkResult) -> list[str]:
    """One sentence per model whose predictions carry ``n_segments``: how many of its
    misread plates segmentation lost (wrong count) and how many the classifier lost."""
    out = []
    for name, model in result.models.items():
        a = model.overall.segmentation
        if a is None:
            continue
        wrong = a.wrong_count + a.misread
        out.append(
            f"{name}: {wrong} of {a.n} plates wrong: {a.wrong_count} with the wrong segment count "
            f"(segmentation), {a.misread} with the right count but misread (classifier); "
            f"segment count right on {_pct(a.count_accuracy)}"
        )
    return out


def _attribution_frame(result: BenchmarkResult) -> pd.DataFrame:
    rows = []
    for name, model in result.models.items():
        for subset, m in [(ALL, model.overall), *model.subsets.items()]:
            a = m.segmentation
            if a is None:
                continue
            rows.append(
                {
                    "model": name,
                    "subset": subset,
                    "plates": a.n,
                    "correct": a.correct,
                    "lost: wrong segment count": a.wrong_count,
                    "lost: right count, misread": a.misread,
                    "segment count right": _pct(a.count_accuracy),
                }
            )
    return pd.DataFrame(rows)


def _risk_coverage_frame(result: BenchmarkResult) -> pd.DataFrame:
    data: dict[str, list[str]] = {}
    for name, model in result.models.items():
        pts = model.overall.risk_coverage
        data.setdefault("coverage", [f"{100 * p.coverage:.0f}%" for p in pts])
        data[f"{name} acc"] = [_pct(p.accuracy) for p in pts]
        data[f"{name} min conf"] = [_num(p.threshold, ".3f") for p in pts]
    return pd.DataFrame(data)


# --------------------------------------------------------------------------- gallery


def gallery_indices(result: BenchmarkResult, *, max_rows: int = 12) -> list[int]:
    """Indices into ``result.samples`` of the worst cases: plates some model misread,
    the most confidently wrong first (by the highest confidence among the models
    that got it wrong); then, if rows are left, plates every model read, least
    confident first."""
    n = len(result.samples)
    wrong: list[tuple[float, int]] = []
    right: list[tuple[float, int]] = []
    for i in range(n):
        truth = result.samples[i].text
        readings = [m.predictions[i] for m in result.models.values()]
        bad = [p.confidence for p in readings if p.text != truth]
        if bad:
            wrong.append((-max(bad), i))
        else:
            right.append((min((p.confidence for p in readings), default=1.0), i))
    ranked = [i for _, i in sorted(wrong)] + [i for _, i in sorted(right)]
    return ranked[:max_rows]


def draw_gallery(result: BenchmarkResult, indices: Sequence[int], path: Path) -> Path:
    """Draw one row per sample in ``indices``: its image (read again from the sample),
    the truth and each model's reading with its confidence, green when right and red
    when wrong. Saved as a PNG at ``path`` with matplotlib's Agg canvas (no pyplot,
    no global backend change)."""
    from matplotlib.figure import Figure

    rows = max(1, len(indices))
    fig = Figure(figsize=(9.0, 0.35 + 0.95 * rows), dpi=100)
    grid = fig.add_gridspec(
        rows, 2, width_ratios=[1.0, 1.6], wspace=0.04, hspace=0.2,
        left=0.02, right=0.99, top=1 - 0.15 / rows, bottom=0.15 / rows,
    )
    with warnings.catch_warnings():
        # Plates may hold characters (e.g. CCPD provinces) the default font lacks.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        for r, i in enumerate(indices):
            sample = result.samples[i]
            ax_img = fig.add_subplot(grid[r, 0])
            ax_img.set_axis_off()
            try:
                ax_img.imshow(sample.load(), interpolation="bilinear")
            except (SegocrError, OSError):
                ax_img.text(0.5, 0.5, "(image unreadable)", ha="center", va="center")
            ax_txt = fig.add_subplot(grid[r, 1])
            ax_txt.set_axis_off()
            lines: list[tuple[str, str]] = [(f"{'truth':<10}{sample.text}   [{sample.id}]", "black")]
            for name, model in result.models.items():
                p = model.predictions[i]
                ok = p.text == sample.text
                mark = "ok" if ok else "WRONG"
                text = f"{name[:9]:<10}{p.text or '(empty)':<12}{p.confidence:.3f} {mark}"
                lines.append((text, "tab:green" if ok else "tab:red"))
            step = 1.0 / (len(lines) + 1)
            for k, (text, colour) in enumerate(lines):
                ax_txt.text(
                    0.02, 1.0 - (k + 1) * step, text, family="monospace", fontsize=9,
                    color=colour, va="center", transform=ax_txt.transAxes,
                )
        if not indices:
            fig.text(0.5, 0.5, "no cases to show", ha="center", va="center")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


# --------------------------------------------------------------------------- provenance


def git_commit() -> str | None:
    """The commit of the checkout this package runs from (``git rev-parse HEAD``), or
    ``None`` when it is not a git checkout or git is missing."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


def machine_info(device: str = "auto") -> dict[str, Any]:
    """Platform, Python, CPU count, torch version and the device ``device`` resolves to
    (``auto``: ``cuda`` when torch sees a GPU, else ``cpu``). Torch is asked only when
    something already imported it (a recognizer that never did ran on the CPU)."""
    try:
        torch_version: str | None = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    resolved = "cpu" if device == "auto" else device
    gpu = None
    torch = sys.modules.get("torch")
    if torch is not None:
        # Provenance must never break a report: a failing CUDA query leaves the defaults.
        with contextlib.suppress(Exception):
            cuda = bool(torch.cuda.is_available())
            if device == "auto":
                resolved = "cuda" if cuda else "cpu"
            if resolved.startswith("cuda") and cuda:
                gpu = str(torch.cuda.get_device_name(torch.device(resolved)))
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch_version,
        "device": resolved,
        "gpu": gpu,
    }


def _jsonable(x: Any) -> Any:
    """``x`` with dataclasses, mappings, tuples, numpy scalars and paths made JSON-ready
    and NaN/inf turned into ``None`` (strict JSON has no NaN)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if hasattr(x, "model_dump"):  # pydantic models (weight cards)
        return _jsonable(x.model_dump())
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


def _metrics_dict(m: Metrics) -> dict[str, Any]:
    d: dict[str, Any] = _jsonable(m)
    if m.segmentation is not None:
        d["segmentation"]["count_accuracy"] = _jsonable(m.segmentation.count_accuracy)
    return d


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReportFiles:
    """Where :func:`write_report` put each file."""

    out_dir: Path
    results_json: Path
    predictions_csv: Path
    report_md: Path
    gallery_png: Path


def predictions_frame(result: BenchmarkResult) -> pd.DataFrame:
    """One row per scored image and model: ``model, id, subset, truth, prediction,
    confidence, correct, n_segments`` (``n_segments`` empty when not reported)."""
    rows = []
    for name, model in result.models.items():
        for s, p in zip(result.samples, model.predictions, strict=True):
            rows.append(
                {
                    "model": name,
                    "id": s.id,
                    "subset": s.subset,
                    "truth": s.text,
                    "prediction": p.text,
                    "confidence": round(p.confidence, 6),
                    "correct": p.text == s.text,
                    "n_segments": n_segments_of(p),
                }
            )
    cols = ["model", "id", "subset", "truth", "prediction", "confidence", "correct", "n_segments"]
    df = pd.DataFrame(rows, columns=cols)
    df["n_segments"] = df["n_segments"].astype("Int64")
    return df


def results_dict(
    result: BenchmarkResult,
    *,
    dataset: str,
    split: str,
    source: str = "",
    model_cards: Mapping[str, Any] | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Everything ``results.json`` holds: figures per model (overall, per subset,
    risk-coverage, segmentation attribution, confusions), the failures, the dataset,
    split, model cards, git commit and machine."""
    from segocr import __version__

    cards = dict(model_cards or {})
    models = {}
    for name, model in result.models.items():
        models[name] = {
            "card": _jsonable(cards.get(name)),
            "plates_per_s": _jsonable(model.plates_per_s),
            "predict_seconds": _jsonable(model.seconds),
            "overall": _metrics_dict(model.overall),
            "subsets": {k: _metrics_dict(v) for k, v in model.subsets.items()},
            "confusions": [list(c) for c in model.confusions],
        }
    return {
        "segocr_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dataset": {"name": dataset, "source": source, "split": split},
        "n_samples": len(result.samples) + result.n_failed,
        "n_scored": len(result.samples),
        "n_failed": result.n_failed,
        "failures": _jsonable(result.failures),
        "subsets": result.subsets,
        "models": models,
        "git_commit": git_commit(),
        "machine": machine_info(device),
    }


def _report_markdown(result: BenchmarkResult, info: dict[str, Any], gallery: Path) -> str:
    d = info["dataset"]
    mach = info["machine"]
    lines = [
        f"# segocr benchmark: {d['name']} ({d['split']} split)",
        "",
        f"- data: {d['source'] or d['name']}",
        f"- plates scored: {info['n_scored']} (could not be read: {info['n_failed']})",
        f"- commit: {info['git_commit'] or 'unknown'}; created {info['created']}",
        f"- machine: {mach['platform']}, {mach['cpu_count']} CPUs, torch {mach['torch']}, "
        f"device {mach['device']}" + (f" ({mach['gpu']})" if mach["gpu"] else ""),
        "",
        "## Results",
        "",
        markdown_table(display_frame(result), left=_TEXT_COLUMNS),
        "",
        (
            "Plate acc: exact reading of the whole plate; 95% CI: percentile bootstrap of it. "
            "CER: edit distance over label characters. Char acc: label characters kept by the "
            "edit alignment. ECE: expected calibration error of plate confidence (10 bins). "
            "plates/s: time in `predict` only, image reading excluded."
        ),
        "",
    ]
    attr = _attribution_frame(result)
    if not attr.empty:
        lines += [
            "## Where segmentation loses plates",
            "",
            markdown_table(attr, left=_TEXT_COLUMNS),
            "",
        ]
    lines += [
        "## Risk-coverage",
        "",
        "Accuracy when only the most confident plates are accepted.",
        "",
        markdown_table(_risk_coverage_frame(result), left=()),
        "",
        "## Most frequent confusions",
        "",
    ]
    for name, model in result.models.items():
        top = model.confusions[:TOP_CONFUSIONS]
        pairs = ", ".join(f"`{a}`→`{b}` ×{n}" for a, b, n in top) or "none"
        lines.append(f"- {name}: {pairs}")
    lines.append("")
    if result.failures:
        lines += ["## Images that could not be read", ""]
        lines += [f"- `{f.id}`: {f.error}" for f in result.failures]
        lines.append("")
    lines += [
        "## Error gallery",
        "",
        "Misread plates, the most confidently wrong first, then the least confident right ones.",
        "",
        f"![error gallery]({gallery.name})",
        "",
    ]
    return "\n".join(lines)


def write_report(
    result: BenchmarkResult,
    out_dir: Path | str,
    *,
    dataset: str,
    split: str,
    model_cards: Mapping[str, Any] | None = None,
    source: str = "",
    device: str = "auto",
    gallery_rows: int = 12,
) -> ReportFiles:
    """Write ``results.json``, ``predictions.csv``, ``report.md`` and
    ``error_gallery.png`` into ``out_dir`` (created if needed) and return their paths.
    ``model_cards`` maps model names to their weight cards (dicts, dataclasses or
    pydantic models); ``source`` says where the dataset came from."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        out_dir=out,
        results_json=out / "results.json",
        predictions_csv=out / "predictions.csv",
        report_md=out / "report.md",
        gallery_png=out / "error_gallery.png",
    )
    info = results_dict(
        result, dataset=dataset, split=split, source=source, model_cards=model_cards, device=device
    )
    files.results_json.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    predictions_frame(result).to_csv(files.predictions_csv, index=False)
    draw_gallery(result, gallery_indices(result, max_rows=gallery_rows), files.gallery_png)
    files.report_md.write_text(_report_markdown(result, info, files.gallery_png), encoding="utf-8")
    return files
