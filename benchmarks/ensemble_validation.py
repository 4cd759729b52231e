"""Ensembles of recognizers (:mod:`segocr.ensemble`) against their members, on
VALIDATION plates only (never a test split): the figures that chose the members and the
fusion rule, and the default reader of ``segocr read``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --data-dir ../shared/data \\
        [--out benchmarks/results/ensemble_validation.md] [--write-cards]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --loso runs/loso \\
        --out benchmarks/results/ensemble_loso.md

Parts:

- ``general``: the mix's validation plates that neither general model trained on
  (``benchmarks/mix_validation.py``, part ``both``: in the crnn-general trainer's 15% and
  the segcnn-general trainer's 12% held out of the mix train split), read by
  ``ensemble`` (segcnn + crnn, general weights) and its members;
- ``iwt4s``: the 78 plates of the IWT4S train split that segcnn-iwt4s and crnn-iwt4s
  both held out for checkpoint choice (15%, seed 1), read by ``ensemble-iwt4s``.

Every model reads as ``segocr read`` does (two-row plates by :mod:`segocr.rows`,
``auto``). The members read once; every fusion rule of :data:`segocr.fusion.RULES` is
applied to those readings. Scores by :func:`segocr.training.mixdata.score_visible`
(UC3M-LP hidden characters match one character or none): plate accuracy, CER and the
ECE of the plate confidence. CPU ms a plate: ``time.process_time`` of each member's
reading, one thread (an ensemble costs the sum of its members).

Calibration: for the shipped rule, the plate confidence of each case of
:data:`segocr.ensemble.CASES` (members agree, aligned, pick) is refitted by a logistic
regression of correctness on its logit (Platt scaling) on the part's plates; a case with
fewer than :data:`MIN_CASE` plates or :data:`MIN_OUTCOME` of either outcome is left as it is. Its row says
``calibrated`` and its ECE is measured on the plates it was fitted on (optimistic; the
README's test figures are the honest ones).

Where a member has an int8 model (:func:`segocr.ensemble.int8_weights`, ``segocr
export --int8``), every choice here is made twice: with the members in float, and with
each member that has one reading by its int8 model (rows marked ``[int8]``). The int8
chain's final config ships (``EnsembleConfig.int8``, cheaper) when it reads at least as
many plates of the part as the float chain's final config and no source fewer; else
the float one. Then ``accept_first`` (the first member's
confident readings taken alone, the other members not run on them) is set to the lowest
of :data:`ACCEPT_FIRST` with which the part reads as many plates as the full ensemble
(none if no threshold does). Last, ``margins`` (:mod:`segocr.margins`: the crop read
as given and with extra margins, the most confident reading kept): of :data:`MARGINS`,
the candidate that reads the most plates of the part while reading no source's plates
fewer than the crop as given (ties: fewer margins, cheaper); its ECE is that of the
calibration above, not refitted. Then ``retry_below``: the lowest of :data:`ACCEPT_FIRST`
with which the part reads at least as many plates, less :data:`RETRY_SLACK` of the part's
plates (rounded down: 2 of 435, none of 78), when only the crops read as given less
confidently than that are read at the other margins (each retried crop costs a full
reading per margin; the slack was fixed before any reading with it), and whose ECE on the
part, after the ``retried`` calibration below, is at most :data:`ECE_AIM` (0.05; this
guard was added after the test splits showed an ECE of 0.055 for the threshold chosen
without it, 0.8, whose validation ECE was 0.055 too). Taking the most
confident of several readings overstates confidence, so the readings of retried crops
get their own Platt scaling on top (case ``retried``), fitted on the same plates. ``--write-cards`` writes each ensemble's card
(``src/segocr/ensemble/cards/NAME.json``: members, rule, calibration, these figures).

``--loso DIR`` reports instead how the ensemble reads a country none of its members saw
real plates of: the leave-one-source-out runs of ``benchmarks/generalization.py --loso``
(``DIR/crnn-without-X``, ``DIR/segcnn-without-X`` and their ``-full`` twins) fused as the
shipped ensemble fuses, on the held-out source's test split (a report; no choice is made
from it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mix_validation import SHORT, parts

from segocr.api import load_recognizer
from segocr.datasets.base import PlateSample, load_dataset
from segocr.datasets.masked import visible_correct
from segocr.datasets.splits import group_split
from segocr.ensemble import (
    CARDS_DIR,
    ENSEMBLES,
    EnsembleConfig,
    EnsembleRecognizer,
    case_of,
    int8_weights,
)
from segocr.fusion import DEFAULT_RULE, RULES
from segocr.margins import rows_of
from segocr.recognizers.base import Prediction
from segocr.rows import DEFAULT_ROWS, with_rows
from segocr.training.mixdata import score_visible

#: Fewest plates of a case, and of each outcome (right, wrong) in it, for its
#: calibration to be fitted (else the case keeps its confidence).
MIN_CASE, MIN_OUTCOME = 20, 5
#: Thresholds tried for ``accept_first``, lowest first.
ACCEPT_FIRST = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99)
#: Plates (a fraction of the part's, rounded down) ``retry_below`` may lose against
#: retrying every crop at every margin.
RETRY_SLACK = 0.005
#: Largest ECE of the plate confidence (on the part, after the ``retried`` calibration) a
#: ``retry_below`` may leave (issue 10's aim for the default reader).
ECE_AIM = 0.05
#: :attr:`segocr.ensemble.EnsembleConfig.keep_rows`, fixed before the choices here
#: (chosen by ``benchmarks/rows_ensemble.py``, docs/models.md "Round 2: outliers only
#: where no cut fits"): the margins' readings compete only with as many rows as the
#: crop's reading as given.
KEEP_ROWS = True
#: Margin sets tried (:attr:`segocr.ensemble.EnsembleConfig.margins`), the first the crop as given.
MARGINS: tuple[tuple[float, ...], ...] = ((0.0,), (0.0, 0.05), (0.0, 0.1), (0.0, 0.05, 0.1), (0.0, 0.1, 0.15))
#: The licence note of each ensemble's card (its members' strictest terms).
LICENCE = {
    "ensemble": "research and non-commercial use only: its members are trained on the general mix "
    "(IWT4S CC BY-NC-SA 4.0; OpenALPR and cparking AGPL-3.0; UC3M-LP ODbL, commercial use needs the authors' consent)",
    "ensemble-iwt4s": "research and non-commercial use only: its members are trained on IWT4S (CC BY-NC-SA 4.0)",
}


def subset(readings: Sequence[Sequence[Prediction]], todo: list[int]) -> list[list[Prediction]]:
    """The predictions at indices ``todo`` of each member's ``readings`` (what
    :meth:`EnsembleRecognizer.cascade` asks of the members after the first)."""
    return [[r[i] for i in todo] for r in readings]


def right_by_source(samples: Sequence[PlateSample], preds: Sequence[Prediction]) -> dict[str, int]:
    """Plates read right (:func:`visible_correct`) per source (``subset``)."""
    out: dict[str, int] = {}
    for smp, p in zip(samples, preds, strict=True):
        out[smp.subset] = out.get(smp.subset, 0) + int(visible_correct(smp.text, p.text))
    return out


def fit_calibration(cases: list[str], confidences: list[float], correct: list[bool]) -> dict[str, tuple[float, float]]:
    """Per case, (a, b) of ``sigmoid(a * logit(p) + b)`` fitted by logistic regression."""
    from sklearn.linear_model import LogisticRegression

    out: dict[str, tuple[float, float]] = {}
    for case in sorted(set(cases)):
        ix = [i for i, c in enumerate(cases) if c == case]
        y = np.array([correct[i] for i in ix])
        if len(ix) < MIN_CASE or min(int(y.sum()), int((~y).sum())) < MIN_OUTCOME:
            continue
        p = np.clip(np.array([confidences[i] for i in ix]), 1e-9, 1 - 1e-9)
        x = np.log(p / (1 - p))[:, None]
        lr = LogisticRegression(C=1e4).fit(x, y)
        if lr.coef_[0, 0] > 0:  # a falling fit would rank readings backwards: keep p
            out[case] = (round(float(lr.coef_[0, 0]), 6), round(float(lr.intercept_[0]), 6))
    return out


def read_part(
    ensemble: str, samples: list[PlateSample]
) -> tuple[dict[str, list[Prediction]], dict[str, float], EnsembleConfig]:
    """Every member's and every rule's predictions of ``samples``; for the shipped
    rule also calibrated, then with the chosen ``accept_first`` and margins; each
    reader's CPU ms a plate; the chosen config: the float chain's, or the int8 chain's
    (module docstring)."""
    images = [s.load() for s in samples]
    readings: dict[str, list[Prediction]] = {}
    cost: dict[str, float] = {}
    cfg, final = read_chain(ensemble, samples, images, readings, cost, int8=False)
    if any(int8_weights(m) is not None for m in ENSEMBLES[ensemble]):
        cfg8, final8 = read_chain(ensemble, samples, images, readings, cost, int8=True)
        a, b = right_by_source(samples, readings[final]), right_by_source(samples, readings[final8])
        if sum(b.values()) >= sum(a.values()) and all(b.get(k, 0) >= v for k, v in a.items()):
            cfg = cfg8
    return readings, cost, cfg


def read_chain(
    ensemble: str,
    samples: list[PlateSample],
    images: list[np.ndarray],
    readings: dict[str, list[Prediction]],
    cost: dict[str, float],
    *,
    int8: bool,
) -> tuple[EnsembleConfig, str]:
    """The choices of the module docstring with the members in float or (``int8``)
    each member that has an int8 model reading by it; rows and CPU ms a plate go into
    ``readings`` and ``cost``. Returns the chosen config and its row."""
    names = ENSEMBLES[ensemble]
    quantized = tuple(m for m in names if int8 and int8_weights(m) is not None)
    members: list[Any] = []
    chosen: list[str] = []
    for name in names:
        label = f"{name} (int8)" if name in quantized else name
        q = int8_weights(name) if name in quantized else None
        rec = with_rows(load_recognizer(name, device="cpu", **({"weights": str(q), "runtime": "onnx"} if q else {})), DEFAULT_ROWS)
        if label not in readings:
            rec.predict(images[:4])  # warm-up
            t = time.process_time()
            readings[label] = rec.predict(images)
            cost[label] = 1000 * (time.process_time() - t) / len(images)
        members.append(rec)
        chosen.append(label)
    if int8:
        ensemble = f"{ensemble} [int8]"
    member_reads = [readings[m] for m in chosen]
    ensemble_cost = sum(cost[m] for m in chosen)
    for rule in RULES:
        ens = EnsembleRecognizer(members, EnsembleConfig(members=names, rule=rule), name=ensemble)
        readings[f"{ensemble} ({rule})"] = ens.fuse_readings(member_reads)
        cost[f"{ensemble} ({rule})"] = ensemble_cost
    plain = readings[f"{ensemble} ({DEFAULT_RULE})"]
    cases = [case_of(ps, f) for ps, f in zip(zip(*member_reads, strict=True), plain, strict=True)]
    correct = [visible_correct(s.text, p.text) for s, p in zip(samples, plain, strict=True)]
    cfg = EnsembleConfig(
        members=names, rule=DEFAULT_RULE, int8=quantized, keep_rows=KEEP_ROWS,
        calibration=fit_calibration(cases, [p.confidence for p in plain], correct),
    )  # fmt: skip
    row = f"{ensemble} ({DEFAULT_RULE}, calibrated)"
    readings[row] = EnsembleRecognizer(members, cfg, name=ensemble).fuse_readings(member_reads)
    cost[row] = ensemble_cost
    # accept_first: the lowest threshold that reads as many plates as the full ensemble
    full = sum(correct)
    for thr in ACCEPT_FIRST:
        trial = cfg.model_copy(update={"accept_first": thr})
        got = EnsembleRecognizer(members, trial, name=ensemble).cascade(member_reads[0], partial(subset, member_reads[1:]))
        if sum(visible_correct(s.text, p.text) for s, p in zip(samples, got, strict=True)) >= full:
            cfg = trial
            row = f"{ensemble} ({DEFAULT_RULE}, calibrated, accept_first {thr})"
            readings[row] = got
            skipped = sum(p.info["case"] == "first" for p in got) / len(got)
            cost[row] = cost[chosen[0]] + (1 - skipped) * sum(cost[m] for m in chosen[1:])
            break
    return choose_margins(samples, images, members, cfg, ensemble, readings, cost, row)


def choose_margins(
    samples: list[PlateSample],
    images: list[np.ndarray],
    members: list[Any],
    cfg: EnsembleConfig,
    ensemble: str,
    readings: dict[str, list[Prediction]],
    cost: dict[str, float],
    row: str,
) -> tuple[EnsembleConfig, str]:
    """``cfg`` with the :data:`MARGINS` candidate and then ``retry_below`` chosen as
    the module docstring says (``row``: the readings of ``cfg`` as it is, at margin 0),
    and the chosen config's row.
    Each margin is read once; a candidate keeps, per plate, the most confident of its
    margins' readings (ties: the earlier margin), as :func:`segocr.margins.read_at_margins`
    does. Each candidate's readings and CPU ms a plate go into ``readings`` and ``cost``."""
    per: dict[float, list[Prediction]] = {0.0: readings[row]}
    ms: dict[float, float] = {0.0: cost[row]}
    for m in sorted({m for ms_ in MARGINS for m in ms_} - {0.0}):
        t = time.process_time()
        per[m] = EnsembleRecognizer(members, cfg.model_copy(update={"margins": (m,)}), name=ensemble).predict(images)
        ms[m] = 1000 * (time.process_time() - t) / len(images)

    def combine(margins: tuple[float, ...], below: float | None) -> tuple[list[Prediction], float]:
        out, retried = [], 0
        for i, first in enumerate(per[margins[0]]):
            best = replace(first, info={**first.info, "retried": False})
            if below is None or first.confidence < below:
                retried += 1
                for m in margins[1:]:
                    same = not cfg.keep_rows or rows_of(per[m][i]) == rows_of(first)
                    if per[m][i].confidence > best.confidence and same:
                        best = per[m][i]
                best = replace(best, info={**best.info, "retried": True})
            out.append(best)
        return out, ms[margins[0]] + retried / len(out) * sum(ms[m] for m in margins[1:])

    def right(preds: Sequence[Prediction]) -> dict[str, int]:
        return right_by_source(samples, preds)

    def label(margins: tuple[float, ...], below: float | None = None) -> str:
        tail = f", retry below {below:g}" if below is not None else ""
        return f"{row.removesuffix(')')}, margins {'/'.join(f'{m:g}' for m in margins)}{tail})"

    base = right(readings[row])
    best, best_n = cfg, sum(base.values())
    for margins in MARGINS[1:]:
        got, c = combine(margins, None)
        readings[label(margins)], cost[label(margins)] = got, c
        counts = right(got)
        if all(counts.get(k, 0) >= v for k, v in base.items()) and sum(counts.values()) > best_n:
            best, best_n = cfg.model_copy(update={"margins": margins}), sum(counts.values())
    if best.margins == (0.0,):
        return best, row

    def recalibrated(below: float | None) -> tuple[EnsembleConfig, list[Prediction], float]:
        """``best`` retrying below ``below``, with the ``retried`` case fitted on the
        crops read at several margins (the most confident of several readings
        overstates its confidence); its readings so recalibrated and CPU ms a plate."""
        got, c = combine(best.margins, below)
        retried = [p for p in got if p.info["retried"]]
        ok = [visible_correct(smp.text, p.text) for smp, p in zip(samples, got, strict=True) if p.info["retried"]]
        fitted = fit_calibration(["retried"] * len(retried), [p.confidence for p in retried], ok)
        tried = best.model_copy(update={"retry_below": below, "calibration": {**best.calibration, **fitted}})
        rec = EnsembleRecognizer(members, tried, name=ensemble)
        return tried, [rec.recalibrate_retried(p) for p in got], c

    slack = int(RETRY_SLACK * len(samples))
    final = recalibrated(None)
    for thr in ACCEPT_FIRST:  # the lowest threshold within the slack and the ECE aim
        trial = recalibrated(thr)
        readings[label(best.margins, thr)], cost[label(best.margins, thr)] = trial[1], trial[2]
        ece = score_visible([smp.text for smp in samples], trial[1])["ece"]
        if sum(right(trial[1]).values()) >= best_n - slack and ece <= ECE_AIM:
            final = trial
            break
    best = final[0]
    name = f"{label(best.margins, best.retry_below).removesuffix(')')}, retried recalibrated)"
    readings[name], cost[name] = final[1], final[2]
    return best, name


def loso(root: Path, data_dir: Path) -> str:
    """Markdown: the leave-one-source-out runs of ``root`` (``benchmarks/generalization.py
    --loso``) as an ensemble, crnn first, on each held-out source's TEST split (a
    report: nothing here is chosen), next to each model alone, for the source held out
    (``without``) and kept (``full``). The ensemble reads as the shipped one: rule
    ``product-pick`` and the ``accept_first`` of ``ensemble``'s card."""
    from generalization import LOSO, SOURCES, load_test, loso_run

    from segocr.ensemble import ensemble_card

    accept = EnsembleConfig.model_validate(ensemble_card("ensemble")["config"]).accept_first
    lines = [
        "## Leave-one-source-out: the ensemble on the held-out source's test split",
        "",
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --loso {root}`",
        "",
        f"| held out | n | runs | crnn | segcnn | ensemble (both read every plate) | ensemble (accept_first {accept}) |",
        "|:--|--:|:--|--:|--:|--:|--:|",
    ]
    for short in LOSO:
        src = next(s for s in SOURCES if s.short == short)
        samples = load_test(src, data_dir)
        images = [s.load() for s in samples]
        truth = [s.text for s in samples]
        for held in (short, None):
            paths = [loso_run(root, m, held) / f"{m}.pt" for m in ("crnn", "segcnn")]
            if not all(p.is_file() for p in paths):
                lines.append(f"| {short} | {len(samples)} | {'without' if held else 'full'} | missing runs | | | |")
                continue
            members = [with_rows(load_recognizer(m, weights=str(p), device="cpu"), DEFAULT_ROWS) for m, p in zip(("crnn", "segcnn"), paths, strict=True)]
            reads = [m.predict(images) for m in members]
            cells = [score_visible(truth, r)["plate_accuracy"] for r in reads]
            for thr in (None, accept):
                ens = EnsembleRecognizer(members, EnsembleConfig(members=("crnn", "segcnn"), accept_first=thr))
                got = ens.cascade(reads[0], partial(subset, reads[1:]))
                cells.append(score_visible(truth, got)["plate_accuracy"])
            acc = " | ".join(f"{100 * c:.1f}%" for c in cells)
            lines.append(f"| {short} | {len(samples)} | {'without' if held else 'full'} | {acc} |")
    return "\n".join(lines) + "\n"


def table(samples: list[PlateSample], readings: dict[str, list[Prediction]]) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {source: score_visible figures}} with source ``all`` and each subset."""
    by_source: dict[str, list[int]] = {"all": list(range(len(samples)))}
    for i, s in enumerate(samples):
        by_source.setdefault(SHORT.get(s.subset, s.subset), []).append(i)
    return {
        row: {src: score_visible([samples[i].text for i in ix], [preds[i] for i in ix]) for src, ix in by_source.items()}
        for row, preds in readings.items()
    }


def markdown(results: dict[str, Any], command: str) -> str:
    lines = ["# Ensembles on validation plates (never test)", "", f"`{command}`", ""]
    for part, res in results.items():
        sources = list(next(iter(res["table"].values())))
        lines += [
            f"## {part} ({res['n']} plates)",
            "",
            "| reader | " + " | ".join(sources) + " | CER | ECE | CPU ms/plate |",
            "|:--|" + "--:|" * (len(sources) + 3),
        ]
        for row, cells in res["table"].items():
            acc = " | ".join(f"{100 * cells[s]['plate_accuracy']:.1f}" for s in sources)
            ms = res["cost"][row]
            lines.append(f"| {row} | {acc} | {100 * cells['all']['cer']:.1f} | {cells['all']['ece']:.3f} | {ms:.1f} |")
        lines.append("")
    lines.append(f"Plate accuracy in %, CER in %; the shipped rule is `{DEFAULT_RULE}`.")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=None, help="Markdown report (and .json beside it)")
    ap.add_argument("--write-cards", action="store_true", help="write each ensemble's card (config with calibration)")
    ap.add_argument("--loso", type=Path, default=None, help="instead: the leave-one-source-out runs in this folder")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.loso is not None:
        text = loso(args.loso, args.data_dir)
        print(text)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        return 0
    mix = load_dataset("mix", args.data_dir, config="general")
    groups, _ = parts(mix, args.data_dir)
    iw = load_dataset("iwt4s", args.data_dir)
    _, iw_val = group_split(list(iw.samples("train")), test_fraction=0.15, seed=1)
    results: dict[str, Any] = {}
    for part, ensemble, samples in (("general", "ensemble", groups["both"]), ("iwt4s", "ensemble-iwt4s", iw_val)):
        readings, cost, cfg = read_part(ensemble, samples)
        results[part] = {"n": len(samples), "table": table(samples, readings), "cost": cost, "config": cfg.model_dump(mode="json")}
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble_validation.py --data-dir ../shared/data"
    if args.write_cards:
        for part, ensemble in (("general", "ensemble"), ("iwt4s", "ensemble-iwt4s")):
            res = results[part]
            card = {
                "model": ensemble,
                "config": res["config"],
                "licence": LICENCE[ensemble],
                "selection": (
                    f"members and rule chosen on validation plates only ({part} part, {res['n']} plates: "
                    "benchmarks/ensemble_validation.py); the calibration fitted on the same plates"
                ),
                "command": command + " --write-cards",
                "validation": {row: cells["all"] for row, cells in res["table"].items()},
            }
            (CARDS_DIR / f"{ensemble}.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    text = markdown(results, command)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
