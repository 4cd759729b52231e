"""How the general weights read plates of every source, next to the source-specific ones,
and how a model trained without one source reads that source (leave-one-source-out).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir ../shared/data
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir ../shared/data --loso runs/loso

Runs the benchmark harness (:func:`segocr.evaluation.harness.evaluate`) on the test
split of each source (each dataset's own leak-free split by plate text; none of these
plates was seen in training or used for a choice): IWT4S, openalpr-br, openalpr-eu2,
uc3m-ocr (ES), cparking-co and CCPD (the 1,000 LPRNet test crops, all of them: no CCPD
plate of that set is in any training). Models: the shipped ``segcnn-general``,
``crnn-general``, ``segcnn-iwt4s`` (``segcnn.pt``), ``crnn-iwt4s`` (``crnn.pt``),
``crnn-ccpd``, and the ensembles ``ensemble`` (segcnn-general + crnn-general, the default
reader) and ``ensemble-iwt4s`` (:mod:`segocr.ensemble`). A model reads a source only when its charset holds every label character
(the general weights are Latin-only: no Chinese province character; crnn-ccpd is measured on
CCPD only). Scoring (:func:`segocr.training.mixdata.score_visible`): exact plates,
except that UC3M-LP's two greyed-out characters per plate count as matched by one
character or none (visible positions only). The union (``all``) is the Latin sources.
Writes ``benchmarks/results/generalization.md`` and ``.json``: plate accuracy (95%
bootstrap interval), CER and ECE of the plate confidence per source, on the union and
per label length on that union. Every model reads as ``segocr read`` does: two-row
plates by :mod:`segocr.rows` (``--rows``, default ``auto``).

``--loso DIR``: the leave-one-source-out table (``benchmarks/results/loso.md``). For
each held-out source X (:data:`LOSO`), ``DIR/MODEL-without-X`` is a training on the mix
without X's real data (``-D exclude=...``: its plates and, for BR, its real single
characters; synthetic styles stay) and ``DIR/MODEL-full`` the same training on the whole
mix; both read X's test split. A run folder that is missing is reported with the
command that trains it (``--loso-commands`` prints them all).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from segocr.api import load_recognizer
from segocr.datasets.base import PlateSample, load_dataset
from segocr.evaluation.harness import evaluate
from segocr.recognizers.base import Prediction
from segocr.rows import DEFAULT_ROWS, ROWS_MODES, with_rows
from segocr.training.mixdata import score_visible


@dataclass(frozen=True)
class Source:
    """A test set: ``dataset`` opened at ``data_root / subdir`` (or the data root),
    scored on ``split``; ``union``: whether it counts in the ``all`` column."""

    short: str
    dataset: str
    subdir: str | None = None
    split: str = "test"
    union: bool = True


#: Every source with plate labels (short name first).
SOURCES = (
    Source("iwt4s", "iwt4s"),
    Source("br", "openalpr-br"),
    Source("eu2", "openalpr-eu2"),
    Source("es", "uc3m-ocr"),
    Source("co", "cparking-co"),
    Source("ccpd", "folder", "ccpd/lprnet-test-crops", "all", union=False),
)
#: (row name, recognizer, shipped weights name; None: the recognizer's own default).
MODELS: tuple[tuple[str, str, str | None], ...] = (
    ("segcnn-general", "segcnn", "segcnn-general"),
    ("crnn-general", "crnn", "crnn-general"),
    ("segcnn-iwt4s", "segcnn", "segcnn-iwt4s"),
    ("crnn-iwt4s", "crnn", "crnn-iwt4s"),
    ("crnn-ccpd", "crnn", "crnn-ccpd"),
    # segocr.ensemble: the members' readings fused (as shipped: card config)
    ("ensemble", "ensemble", None),
    ("ensemble-iwt4s", "ensemble-iwt4s", None),
)
#: Models that read only some sources (the source-specific weights of another alphabet).
ONLY = {"crnn-ccpd": ("ccpd",)}
#: Leave-one-source-out: held-out source -> what ``-D exclude=`` leaves out of the mix.
#: EU2: its plates and the Tesseract sheets of EU fonts (IWT4S, Czech, stays).
LOSO = {
    "br": "openalpr-br,openalpr-chars:br",
    "es": "uc3m-ocr",
    "eu2": "openalpr-eu2,openalpr-sheets",
}
#: Training config of each model's leave-one-source-out runs (same for with and without).
LOSO_CONFIGS = {
    "segcnn": "src/segocr/configs/segcnn-general-loso.yaml",
    "crnn": "src/segocr/configs/crnn-general.yaml",
}


def pct(x: float | None) -> str:
    """``0.1234`` -> ``'12.3%'``; None or NaN -> ``'-'``.

    >>> pct(0.1234), pct(float("nan"))
    ('12.3%', '-')
    """
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def can_read(charset: str, samples: Sequence[PlateSample]) -> bool:
    """Whether a model of ``charset`` can spell every (visible) label of ``samples``.

    >>> can_read("AB12", [PlateSample("x", "AB?1")]), can_read("AB12", [PlateSample("x", "皖A1")])
    (True, False)
    """
    from segocr.datasets.masked import MASK_CHAR

    have = set(charset) | {MASK_CHAR}
    return all(set(s.text) <= have for s in samples)


def load_test(src: Source, data_root: Path) -> list[PlateSample]:
    """The scored samples of ``src`` under ``data_root``."""
    root = data_root / src.subdir if src.subdir else data_root
    return list(load_dataset(src.dataset, root).samples(src.split))


def measure(
    recs: Mapping[str, Any], sources: Sequence[Source], data_root: Path
) -> tuple[
    dict[str, dict[str, dict[str, float]]], dict[str, int], dict[str, dict[int, dict[str, float]]]
]:
    """Per model and source :func:`score_visible` figures (and ``all``: the union of the
    sources with ``union``), the test plates per source, and per label length on the union."""
    results: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    union: dict[str, tuple[list[str], list[Prediction]]] = {row: ([], []) for row in recs}
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    for src in sources:
        try:
            test = load_test(src, data_root)
        except Exception as e:  # noqa: BLE001 - a missing source is reported, the rest still run
            print(f"skipping source {src.short} ({src.dataset}): {e}", file=sys.stderr)
            continue
        readers = {
            row: r
            for row, r in recs.items()
            if can_read(r.charset.chars, test) and src.short in ONLY.get(row, (src.short,))
        }
        if not readers:
            continue
        res = evaluate(readers, test, progress=False)
        truths = [s.text for s in res.samples]
        counts[src.short] = len(truths)
        for row in readers:
            preds = list(res.models[row].predictions)
            results[row][src.short] = score_visible(truths, preds)
            if src.union:
                union[row][0].extend(truths)
                union[row][1].extend(preds)
        print(
            f"{src.short}: {len(truths)} test plates, {len(readers)} models ({time.perf_counter() - t0:.0f}s)",
            file=sys.stderr,
        )
    by_length: dict[str, dict[int, dict[str, float]]] = {}
    for row, (truths, preds) in union.items():
        if not truths:
            continue
        results[row]["all"] = score_visible(truths, preds)
        lengths: dict[int, list[int]] = defaultdict(list)
        for i, t in enumerate(truths):
            lengths[len(t)].append(i)
        by_length[row] = {
            n: score_visible([truths[i] for i in idx], [preds[i] for i in idx])
            for n, idx in sorted(lengths.items())
        }
    return results, counts, by_length


def report(
    results: Mapping[str, Mapping[str, Mapping[str, float]]],
    counts: Mapping[str, int],
    by_length: Mapping[str, Mapping[int, Mapping[str, float]]],
    *,
    sources: Sequence[Source],
    command: str,
) -> list[str]:
    """The Markdown lines of ``benchmarks/results/generalization.md``."""
    shorts = [s.short for s in sources if s.short in counts]
    n_union = sum(counts[s.short] for s in sources if s.short in counts and s.union)
    if any(s.union for s in sources if s.short in counts):
        shorts.append("all")
    rows = list(results)
    lines = [
        "# Generalization: every source's test split",
        "",
        f"`{command}`",
        "",
        "Test plates: "
        + ", ".join(f"{s} {counts[s]}" for s in shorts if s in counts)
        + f"; all = the Latin sources' union, {n_union} plates. Each dataset's own leak-free split by plate"
        " text (CCPD: the 1,000 LPRNet test crops, none in any training). es (UC3M-LP): two characters per"
        " plate are greyed out; they match one character or none, every visible one must be right."
        " `-`: the model's charset cannot spell the source's labels (the general and IWT4S weights are"
        " Latin-only, CCPD plates start with a Chinese province character; crnn-ccpd is measured on CCPD only).",
        "",
        "## Plate accuracy (95% CI) / CER",
        "",
        "| model | " + " | ".join(shorts) + " |",
        "|:--|" + "--:|" * len(shorts),
    ]
    for row in rows:
        cells = []
        for s in shorts:
            m = results[row].get(s)
            cells.append(
                "-"
                if m is None
                else f"{pct(m['plate_accuracy'])} ({pct(m['ci_low'])}-{pct(m['ci_high'])}) / {pct(m['cer'])}"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## ECE of the plate confidence (mean confidence)",
        "",
        "| model | " + " | ".join(shorts) + " |",
        "|:--|" + "--:|" * len(shorts),
    ]
    for row in rows:
        cells = []
        for s in shorts:
            m = results[row].get(s)
            cells.append("-" if m is None else f"{m['ece']:.3f} ({m['mean_confidence']:.2f})")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    all_lengths = sorted({n for row in by_length for n in by_length[row]})
    lines += [
        "",
        "## By label length (union of the Latin test splits): plate accuracy / ECE (n)",
        "",
        "| model | " + " | ".join(str(n) for n in all_lengths) + " |",
        "|:--|" + "--:|" * len(all_lengths),
    ]
    for row in by_length:
        cells = []
        for n in all_lengths:
            m = by_length[row].get(n)
            cells.append(
                "-" if m is None else f"{pct(m['plate_accuracy'])} / {m['ece']:.3f} ({m['n']})"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Weights: `src/segocr/weights/{segcnn,crnn}-general.pt` (trained on the mix"
            " `src/segocr/configs/general.yaml`), `segcnn-iwt4s` = `segcnn.pt`, `crnn-iwt4s` ="
            " `crnn.pt` (trained on IWT4S alone), `crnn-ccpd.pt` (the CCPD2019 sample's train frames"
            " and synthetic `cn` plates: `src/segocr/configs/crnn-ccpd.yaml`)."
            " torch runtime, CPU, 1 thread; two-row plates read by `segocr.rows` as `segocr read`"
            " does (`--rows`)."
        ),
        "",
    ]
    return lines


def loso_run(root: Path, model: str, held_out: str | None) -> Path:
    """The run folder of a leave-one-source-out training (``held_out`` None: the full mix).

    >>> loso_run(Path("runs/loso"), "segcnn", "br").as_posix(), loso_run(Path("r"), "crnn", None).name
    ('runs/loso/segcnn-without-br', 'crnn-full')
    """
    return root / (f"{model}-full" if held_out is None else f"{model}-without-{held_out}")


def loso_command(root: Path, model: str, held_out: str | None, data_dir: Path) -> str:
    """The ``segocr train`` command of one leave-one-source-out run."""
    exclude = f" -D exclude={LOSO[held_out]}" if held_out else ""
    return (
        f"nice -n 10 .venv/bin/segocr train --model {model} --dataset mix -D config=general{exclude}"
        f" --data-dir {data_dir} --config {LOSO_CONFIGS[model]} --threads 1 --no-eval-test --no-progress"
        f" --out {loso_run(root, model, held_out)}"
    )


def loso_models(text: str) -> list[str]:
    """The models named by ``--loso-models`` (comma-separated), checked.

    >>> loso_models("segcnn, crnn")
    ['segcnn', 'crnn']
    """
    names = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in LOSO_CONFIGS]
    if bad or not names:
        raise SystemExit(
            f"error: --loso-models: {', '.join(bad) or text!r}: not one of {', '.join(LOSO_CONFIGS)}"
        )
    return names


def run_loso(
    root: Path, data_root: Path, models: Sequence[str], *, rows: str = DEFAULT_ROWS
) -> list[str]:
    """Measure every leave-one-source-out run under ``root`` on its held-out source's
    test split; the Markdown lines of ``benchmarks/results/loso.md``."""
    by_short = {s.short: s for s in SOURCES}
    table: list[tuple[str, str, dict[str, float] | None, dict[str, float] | None]] = []
    missing: list[str] = []
    for model in models:
        for held in LOSO:
            if model == "crnn" and held == "es":
                continue  # sequence training leaves UC3M-LP out anyway (hidden characters)
            test = load_test(by_short[held], data_root)
            figures: list[dict[str, float] | None] = []
            for which in (held, None):
                run = loso_run(root, model, which)
                weights = run / f"{model}.pt"
                if not weights.is_file():
                    missing.append(loso_command(root, model, which, data_root))
                    figures.append(None)
                    continue
                rec = with_rows(
                    load_recognizer(model, weights=str(weights), device="cpu", runtime="torch"),
                    rows,
                )
                res = evaluate({"m": rec}, test, progress=False)
                m = score_visible([s.text for s in res.samples], list(res.models["m"].predictions))
                figures.append(m)
                print(
                    f"loso {model} {run.name} on {held}: {pct(m['plate_accuracy'])}",
                    file=sys.stderr,
                )
            table.append((model, held, figures[0], figures[1]))
    lines = [
        "# Leave-one-source-out",
        "",
        (
            f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir {data_root} --loso {root}`"
            f" (two-row plates: `--rows {rows}`)"
        ),
        "",
        (
            "Each row: two trainings with the same options and seed, on the mix without the held-out source's real"
            " data (`-D exclude=...`) and on the whole mix, both read the held-out source's test split. Plate"
            " accuracy (95% CI) / CER."
        ),
        "",
        "| model | held out | left out of the mix | test plates | trained without it | trained with it |",
        "|:--|:--|:--|--:|--:|--:|",
    ]
    for model, held, without, with_ in table:

        def cell(m: dict[str, float] | None) -> str:
            return (
                "-"
                if m is None
                else f"{pct(m['plate_accuracy'])} ({pct(m['ci_low'])}-{pct(m['ci_high'])}) / {pct(m['cer'])}"
            )

        n = (without or with_ or {}).get("n", 0)
        lines.append(
            f"| {model} | {held} | `{LOSO[held]}` | {int(n)} | {cell(without)} | {cell(with_)} |"
        )
    lines += ["", "Training commands:", "", "```bash"]
    lines += [
        loso_command(root, m, h, data_root)
        for m in models
        for h in (*LOSO, None)
        if not (m == "crnn" and h == "es")
    ]
    lines += ["```", ""]
    if missing:
        print("missing runs; train them with:\n" + "\n".join(missing), file=sys.stderr)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path("../shared/data"),
        help="data root holding every source",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Markdown report (default: benchmarks/results/generalization.md or loso.md)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sources", default=None, help="comma-separated short names (default: all)")
    ap.add_argument(
        "--write-cards",
        action="store_true",
        help="also write each *-general model's per-source test figures into its weight card (metrics)",
    )
    ap.add_argument(
        "--rows",
        default=DEFAULT_ROWS,
        choices=ROWS_MODES,
        help="two-row plates, as `segocr read --rows`",
    )
    ap.add_argument(
        "--loso",
        type=Path,
        default=None,
        help="measure the leave-one-source-out runs in this folder instead",
    )
    ap.add_argument(
        "--loso-models", default="segcnn,crnn", help="models of the leave-one-source-out runs"
    )
    ap.add_argument(
        "--loso-commands",
        action="store_true",
        help="print the leave-one-source-out training commands and stop",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    if args.loso is not None or args.loso_commands:
        root = args.loso or Path("runs/loso")
        models = loso_models(args.loso_models)
        if args.loso_commands:
            for m in models:
                for h in (None, *LOSO):
                    if not (m == "crnn" and h == "es"):
                        print(loso_command(root, m, h, args.data_dir))
            return 0
        lines = run_loso(root, args.data_dir, models, rows=args.rows)
        out = args.out or Path("benchmarks/results/loso.md")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
        return 0

    sources = list(SOURCES)
    if args.sources:
        wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
        known = {s.short for s in SOURCES}
        if bad := [s for s in wanted if s not in known]:
            print(
                f"error: --sources: unknown {', '.join(bad)} (known: {', '.join(sorted(known))})",
                file=sys.stderr,
            )
            return 2
        sources = [s for s in SOURCES if s.short in wanted]
    recs = {}
    for row, name, weights in MODELS:
        try:
            recs[row] = with_rows(
                load_recognizer(name, weights=weights, device="cpu", runtime="torch"), args.rows
            )
        except Exception as e:  # noqa: BLE001 - a missing model is reported, the rest still run
            print(f"skipping {row}: {e}", file=sys.stderr)
    if not recs:
        print("error: no weights to measure", file=sys.stderr)
        return 1
    results, counts, by_length = measure(recs, sources, args.data_dir)
    command = (
        "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generalization.py --data-dir ../shared/data"
    )
    command += "" if args.rows == DEFAULT_ROWS else f" --rows {args.rows}"
    lines = report(results, counts, by_length, sources=sources, command=command)
    out = args.out or Path("benchmarks/results/generalization.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    payload = {
        "counts": counts,
        "results": results,
        "by_length": {r: {str(k): v for k, v in d.items()} for r, d in by_length.items()},
    }
    out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if args.write_cards:
        write_cards(results)
    return 0


def write_cards(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> None:
    """Put the measured per-source test figures of the general weights into their cards."""
    from segocr.models.weights import SHIPPED_DIR, read_card, write_card

    for row, _, weights in MODELS:
        if weights is None or not weights.endswith("-general") or row not in results:
            continue
        path = SHIPPED_DIR / f"{weights}.pt"
        card = read_card(path)
        card["metrics"] = {
            "split": "test split of each source (its own group split by plate text)",
            "scoring": "exact plates; UC3M-LP hidden characters match one character or none",
            "measured_by": "python benchmarks/generalization.py --data-dir ../shared/data --write-cards",
            "per_source": dict(results[row]),
        }
        write_card(path, card)
        print(f"wrote the test figures into {path.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
