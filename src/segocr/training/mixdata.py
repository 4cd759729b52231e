"""Training material from a :class:`segocr.datasets.mix.Mix` for the segcnn classifier,
and the plate-confidence calibration fitted across sources.

- plates with a full label: crops harvested from their segmentation
  (:func:`segocr.training.harvest.harvest_real`);
- plates with known boxes (UC3M-LP's visible characters, synthetic plates): a crop per
  known box, never one for a hidden character;
- single-character images (OpenALPR chars, Tesseract boxes): one crop of the whole image;
- each source's crops repeated by its mix weight (:func:`replicate`).

:func:`fit_plate_calibration` fits ``P(plate right) = sigmoid(a * log(x) + d * x
+ b * rel_length_logp + c)`` on validation plates of every source (logistic regression)
(``x`` = -log of that product, see :func:`plate_features`) so that the plate
confidence stays calibrated across lengths and sources.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.datasets.masked import is_masked, visible_correct
from segocr.datasets.mix import Mix, known_boxes
from segocr.recognizers.base import PlateCalibration, Prediction
from segocr.recognizers.segcnn import SegCNNConfig
from segocr.segment.boxes import CharBox
from segocr.training.harvest import CropSet, crops_from_boxes, harvest_real


def replicate(crops: CropSet, weight: float, rng: np.random.Generator) -> CropSet:
    """``crops`` repeated ``weight`` times: ``floor(weight)`` full copies plus a random
    ``frac(weight)`` share of them.

    >>> c = CropSet(np.zeros((10, 2, 2), np.float32), np.arange(10))
    >>> len(replicate(c, 2.5, np.random.default_rng(0)).y), len(replicate(c, 0.3, np.random.default_rng(0)).y)
    (25, 3)
    """
    n = len(crops.y)
    whole, frac = int(weight), weight - int(weight)
    idx = [np.arange(n)] * whole
    k = round(frac * n)
    if k:
        idx.append(np.sort(rng.choice(n, size=k, replace=False)))
    sel = np.concatenate(idx) if idx else np.zeros(0, np.int64)
    return CropSet(crops.x[sel], crops.y[sel])


def box_crops(samples: Sequence[PlateSample], charset: Charset, config: SegCNNConfig) -> CropSet:
    """A crop per known character box of ``samples`` (:func:`segocr.datasets.mix.known_boxes`);
    characters outside ``charset`` are skipped."""
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for s in samples:
        image = s.load()
        boxes = known_boxes(s, image.shape)
        if not boxes:
            continue
        keep = [(c, b) for c, b in boxes if c in charset]
        if not keep:
            continue
        xs.append(crops_from_boxes(image, [b for _, b in keep], config))
        ys.extend(charset.encode("".join(c for c, _ in keep)))
    size = config.input_size
    return CropSet(
        np.concatenate(xs) if xs else np.zeros((0, size, size), np.float32), np.array(ys, np.int64)
    )


def char_crops(samples: Sequence[PlateSample], charset: Charset, config: SegCNNConfig) -> CropSet:
    """One crop per single-character image (the whole image is the box)."""
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for s in samples:
        if len(s.text) != 1 or s.text not in charset:
            continue
        image = s.load()
        h, w = image.shape[:2]
        xs.append(crops_from_boxes(image, [CharBox(0, 0, w, h)], config))
        ys.append(charset.encode(s.text)[0])
    size = config.input_size
    return CropSet(
        np.concatenate(xs) if xs else np.zeros((0, size, size), np.float32), np.array(ys, np.int64)
    )


def by_source(samples: Sequence[PlateSample]) -> dict[tuple[str, float], list[PlateSample]]:
    """Samples grouped by (``meta["source"]``, ``meta["weight"]``), in first-seen order."""
    out: dict[tuple[str, float], list[PlateSample]] = defaultdict(list)
    for s in samples:
        out[(str(s.meta.get("source", "")), float(s.meta.get("weight", 1.0)))].append(s)
    return dict(out)


def mixed_crops(
    plates: Sequence[PlateSample],
    chars: Sequence[PlateSample],
    charset: Charset,
    config: SegCNNConfig,
    *,
    rng: np.random.Generator,
    log: Callable[[str], None] = print,
) -> CropSet:
    """Character crops of every source, each repeated by its weight: full labels by
    segmentation, known boxes (hidden characters never), single characters."""
    parts = []
    for (source, weight), group in by_source(list(plates) + list(chars)).items():
        boxed = [s for s in group if is_masked(s.text) and s.meta.get("boxes")]
        single = [s for s in group if s.meta.get("kind") == "char"]
        full = [s for s in group if not is_masked(s.text) and s.meta.get("kind") != "char"]
        got = CropSet.concat(
            [
                harvest_real(full, charset, config)[0]
                if full
                else CropSet.concat([], config.input_size),
                box_crops(boxed, charset, config),
                char_crops(single, charset, config),
            ],
            config.input_size,
        )
        weighted = replicate(got, weight, rng)
        log(f"  {source or '(train split)'}: {len(got.y)} crops x {weight:g} -> {len(weighted.y)}")
        parts.append(weighted)
    return CropSet.concat(parts, config.input_size)


def plate_features(
    pred: Prediction, length_logp: dict[int, float], unseen: float
) -> tuple[float, float, float]:
    """Features of a reading for the plate calibration: ``(log x, x, rel)`` with ``x`` =
    -log(product of the character confidences) (at least 1e-6) and ``rel`` = log P(read
    length) minus the most common length's (0 without a length prior). For a reading
    right with probability ``exp(-x)``, ``logit = -log(x) - x/2 + O(x^2)``: linear in
    these features.

    >>> from segocr.recognizers.base import CharPrediction
    >>> p = Prediction.from_chars([CharPrediction("A", 0.5), CharPrediction("B", 0.5)], "x")
    >>> [round(v, 3) for v in plate_features(p, {2: -0.1, 7: -0.05}, -8.0)]
    [0.327, 1.386, -0.05]
    """
    log_raw = (
        float(np.sum([math.log(max(c.confidence, 1e-12)) for c in pred.chars]))
        if pred.chars
        else math.log(1e-12)
    )
    x = max(-log_raw, 1e-6)
    rel = (
        (length_logp.get(len(pred.chars), unseen) - max(length_logp.values()))
        if length_logp
        else 0.0
    )
    return math.log(x), x, rel


def fit_plate_calibration(
    features: np.ndarray, correct: np.ndarray
) -> PlateCalibration | None:
    """``(a, d, b, c)`` of ``P(right) = sigmoid(a * f0 + d * f1 + b * f2 + c)`` (features
    of :func:`plate_features`) by lightly regularized logistic regression on
    ``features`` (N, 3) and ``correct`` (N,) bool; None when both outcomes are not present.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0.001, 3, 2000)
    >>> y = rng.random(2000) < np.exp(-x)  # P(right) = product of the confidences
    >>> a, d, b, c = fit_plate_calibration(np.stack([np.log(x), x, np.zeros(2000)], 1), y)
    >>> -1.5 < a < -0.5
    True
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(correct, bool)
    if y.all() or not y.any():
        return None
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(np.asarray(features, np.float64), y)
    a, d, b = (float(v) for v in model.coef_[0])
    return a, d, b, float(model.intercept_[0])


def visible_accuracy_of(preds: Sequence[Prediction], texts: Sequence[str]) -> float:
    """Plate accuracy scored on visible characters (:func:`visible_correct`)."""
    return (
        float(np.mean([visible_correct(t, p.text) for p, t in zip(preds, texts, strict=True)]))
        if texts
        else 0.0
    )


def score_visible(truths: Sequence[str], preds: Sequence[Prediction]) -> dict[str, float]:
    """Figures of ``preds`` against ``truths`` scored on the visible characters (exact
    match for labels without hidden ones): n, plate accuracy and its 95% bootstrap
    interval, CER, mean confidence and ECE of the plate confidence.

    >>> m = score_visible(["AB?1", "XY"], [Prediction("ABZ1", 0.9), Prediction("XZ", 0.2)])
    >>> m["n"], m["plate_accuracy"], round(m["cer"], 3), round(m["ece"], 2)
    (2, 0.5, 0.2, 0.15)
    """
    from segocr.datasets.masked import masked_cer
    from segocr.evaluation import metrics as M

    ok = [visible_correct(t, p.text) for t, p in zip(truths, preds, strict=True)]
    conf = [p.confidence for p in preds]
    low, high = M.bootstrap_ci(ok)
    return {
        "n": len(ok),
        "plate_accuracy": float(np.mean(ok)) if ok else math.nan,
        "ci_low": low,
        "ci_high": high,
        "cer": masked_cer(list(truths), [p.text for p in preds]),
        "mean_confidence": float(np.mean(conf)) if conf else math.nan,
        "ece": M.expected_calibration_error(conf, ok),
    }


def per_source_test(
    rec: object, name: str, samples: Sequence[PlateSample]
) -> dict[str, dict[str, float]]:
    """:func:`score_visible` of recognizer ``rec`` on ``samples`` (a mix's test split),
    per source (``subset``) and for all of them (``all``); predictions by the harness."""
    from segocr.evaluation.harness import evaluate

    result = evaluate({name: rec}, list(samples), progress=False)  # type: ignore[dict-item]
    preds = result.models[name].predictions
    truths = [s.text for s in result.samples]
    out = {"all": score_visible(truths, preds)}
    for source in sorted({s.subset for s in result.samples}):
        idx = [i for i, s in enumerate(result.samples) if s.subset == source]
        out[source] = score_visible([truths[i] for i in idx], [preds[i] for i in idx])
    return out


def calibrate_plates(
    rec: Any, images: Sequence[np.ndarray], texts: Sequence[str], *, rows: str | None = None
) -> PlateCalibration | None:
    """Fit and set ``rec.config.plate_calibration`` (segcnn or crnn; :func:`plate_features`,
    the length prior where the config has one) on validation plates (all sources), read
    by ``rec`` as it is (``rows``: through :func:`segocr.rows.with_rows` in that mode).
    Returns the calibration, None when the plates are all right or all wrong."""
    from segocr.rows import with_rows

    reader = with_rows(rec, rows) if rows is not None else rec
    preds = reader.predict(images)
    cfg = rec.config
    length_logp = getattr(cfg, "length_logp", {})
    unseen = float(getattr(cfg, "unseen_length_logp", -8.0))
    feats = np.array([plate_features(p, length_logp, unseen) for p in preds])
    ok = np.array([visible_correct(t, p.text) for p, t in zip(preds, texts, strict=True)])
    calibration = fit_plate_calibration(feats, ok) if len(preds) else None
    if calibration is not None:
        rec.config = cfg.model_copy(update={"plate_calibration": calibration})
    return calibration


def refit_plate_calibration(
    weights: Path, mix: Mix, *, val_fraction: float, seed: int, device: str = "cpu", rows: str | None = None
) -> dict[str, object]:
    """Fit the ``plate_calibration`` of the segcnn or crnn weights at ``weights`` again
    on the validation part its training held out (``group_split`` of ``mix``'s train
    split with ``val_fraction`` and ``seed + 1``, as both trainers make it) and rewrite
    its card (the ``.pt`` file is unchanged); ``rows`` as in :func:`calibrate_plates`.
    Returns the new calibration and the number of plates."""
    from segocr.datasets.splits import group_split
    from segocr.models.weights import read_card, write_card
    from segocr.recognizers.base import get_recognizer_factory

    card = read_card(weights)
    # Refitted from scratch (an older card may hold another form of the calibration).
    card["config"]["plate_calibration"] = None
    write_card(weights, card)
    rec: Any = get_recognizer_factory(card["model"])(weights=weights, device=device, runtime="torch")
    _, val = group_split(list(mix.samples("train")), test_fraction=val_fraction, seed=seed + 1)
    calibration = calibrate_plates(rec, [s.load() for s in val], [s.text for s in val], rows=rows)
    card["config"] = rec.config.model_dump(mode="json")
    how = f" --rows {rows}" if rows is not None else ""
    card.setdefault("training", {})["plate_calibration_fitted_on"] = (
        f"{len(val)} validation plates (python -m segocr.training.mixdata --weights {weights.name}"
        f" --mix {mix.config.name}{how})"
    )
    write_card(weights, card)
    return {"calibration": calibration, "val_plates": len(val)}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m segocr.training.mixdata --weights W [--mix general] [--data-dir D] [--rows auto]``:
    refit the plate calibration of segcnn or crnn weights W trained on a mix (see
    :func:`refit_plate_calibration`; the validation part is the trainer's)."""
    import argparse
    import json

    from segocr.datasets.base import load_dataset
    from segocr.models.weights import read_card

    ap = argparse.ArgumentParser(prog="python -m segocr.training.mixdata", description=main.__doc__)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--mix", default="general")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--rows", default=None, help="read two-row plates as `segocr read --rows` (default: rows off)")
    args = ap.parse_args(argv)
    card = read_card(args.weights)
    tc = card["training"]["train_config"]
    mix = load_dataset("mix", args.data_dir, config=args.mix)
    assert isinstance(mix, Mix)
    out = refit_plate_calibration(
        args.weights,
        mix,
        val_fraction=float(tc["val_fraction"]),
        seed=int(card["training"]["seed"]),
        rows=args.rows,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
