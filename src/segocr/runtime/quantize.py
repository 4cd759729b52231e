"""int8 ONNX models: static quantization with ONNX Runtime, kept only where accuracy
holds on validation (``segocr export --int8``).

The float ONNX export is quantized to ONNX Runtime's QDQ format (int8 weights per
output channel, uint8 activations), its activation ranges calibrated on network inputs
built from plates of the *fit* part of the dataset's train split, exactly as the
recognizer builds them (character crops of every segmentation hypothesis for segcnn,
normalized lines for crnn and holistic). Each calibration method of :data:`METHODS` is
tried, with every operator quantized and with the convolutions only (:data:`SCOPES`);
the plate accuracy of each on the *validation* part of the train split (the
trainers' hold-out: 15% of the plates, seed 1; read as ``segocr read`` reads, two-row
plates split by :mod:`segocr.rows`, and scored by
:func:`segocr.datasets.masked.visible_correct`) decides (:func:`choose_method`), and the
export fails when even the best loses more than ``max_drop`` against the float model
there. The test split is never looked at.

Needs ``onnx`` (the quantizer works on the model graph): ``pip install segocr[train]``.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segocr.errors import SegocrError
from segocr.runtime import onnx_card_path

#: Calibration methods tried, in order of preference on ties.
METHODS = ("percentile", "minmax", "entropy")
#: Which operators are quantized, in order of preference on ties: every one ONNX Runtime
#: quantizes (``all``: the fastest), or the convolutions only (``conv``: recurrent and
#: dense layers stay float, which keeps a CRNN's accuracy where ``all`` loses it).
#: A candidate is named ``METHOD`` (scope ``all``) or ``METHOD/SCOPE``.
SCOPES: dict[str, tuple[str, ...] | None] = {"all": None, "conv": ("Conv",)}
#: Calibration batches hold this many inputs (the histogram methods need equal batches).
CALIBRATION_BATCH = 64
#: The trainers' validation hold-out of the train split (see ``training.segcnn``).
VAL_FRACTION, VAL_SEED = 0.15, 1


class QuantizeError(SegocrError):
    """The model could not be quantized, or int8 loses accuracy on validation."""


def network_inputs(rec: Any, images: Sequence[np.ndarray]) -> np.ndarray:
    """float32 (N, C, H, W) network inputs recognizer ``rec`` builds from ``images``:
    for segcnn the crops of every box of every hypothesis (all binarizations), for the
    line recognizers one normalized line per image."""
    if getattr(rec, "line", None) is not None:
        from segocr.recognizers.textline import line_batch

        return line_batch(images, rec.line)
    from segocr.recognizers.segcnn import hypothesis_crops
    from segocr.segment.characters import hypotheses, prepare

    seg = rec.config.segment
    crops = []
    for img in images:
        work = prepare(img, config=seg)
        for hyp in hypotheses(work, seg.binarizers, config=seg):
            crops.append(hypothesis_crops(work.gray, hyp, rec.config))
    size = rec.config.input_size
    return (np.concatenate(crops) if crops else np.zeros((0, size, size), np.float32))[:, None]


def candidate_name(method: str, scope: str = "all") -> str:
    """The name of a candidate int8 model: calibration ``method`` and operator ``scope``.

    >>> candidate_name("percentile"), candidate_name("minmax", "conv")
    ('percentile', 'minmax/conv')
    """
    return method if scope == "all" else f"{method}/{scope}"


def _preference(name: str) -> tuple[int, int]:
    """Sort key of a candidate: its scope's place in :data:`SCOPES`, then its method's
    in :data:`METHODS` (unknown ones last)."""
    method, _, scope = name.partition("/")
    scopes, methods = list(SCOPES), list(METHODS)
    scope = scope or "all"
    return (scopes.index(scope) if scope in scopes else len(scopes), methods.index(method) if method in methods else len(methods))


def quantize(model: bytes, calibration: np.ndarray, method: str, scope: str = "all") -> bytes:
    """int8 QDQ model of float ONNX ``model``, activation ranges from ``calibration``
    (float32 NCHW; cut to whole batches of :data:`CALIBRATION_BATCH`) by ``method``;
    the operators of ``scope`` (:data:`SCOPES`) quantized."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile, "entropy": CalibrationMethod.Entropy}
    if method not in methods:
        raise ValueError(f"unknown calibration method {method!r}; choose one of: {', '.join(methods)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown quantization scope {scope!r}; choose one of: {', '.join(SCOPES)}")
    n = len(calibration) // CALIBRATION_BATCH * CALIBRATION_BATCH
    if n == 0:
        raise QuantizeError(f"need at least {CALIBRATION_BATCH} calibration inputs, got {len(calibration)}")
    batches = [{"x": calibration[i : i + CALIBRATION_BATCH]} for i in range(0, n, CALIBRATION_BATCH)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # and the calibrators' progress prints go
        src, pre, out = Path(tmp) / "f.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "q.onnx"
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre))
        quantize_static(
            str(pre),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=methods[method],
            op_types_to_quantize=SCOPES[scope],
        )
        return out.read_bytes()


def choose_method(accuracy: Mapping[str, float], float_accuracy: float, *, max_drop: float = 0.0) -> str:
    """The candidate (:func:`candidate_name`) with the best validation plate accuracy
    (ties: the earlier scope in :data:`SCOPES`, then the earlier method in
    :data:`METHODS`); :class:`QuantizeError` when it is more than ``max_drop`` below
    the float model's.

    >>> choose_method({"percentile": 0.95, "minmax": 0.96}, 0.96)
    'minmax'
    >>> choose_method({"percentile": 0.96, "minmax": 0.96}, 0.96)
    'percentile'
    >>> choose_method({"percentile": 0.95, "percentile/conv": 0.96, "minmax/conv": 0.96}, 0.96)
    'percentile/conv'
    >>> choose_method({"minmax": 0.90}, 0.96, max_drop=0.05)
    Traceback (most recent call last):
    ...
    segocr.runtime.quantize.QuantizeError: int8 loses accuracy on validation: 0.900 (minmax) against 0.960 in float (allowed drop 0.05)
    """
    order = sorted(accuracy, key=_preference)
    best = max(order, key=lambda m: (accuracy[m], -order.index(m)))
    if accuracy[best] < float_accuracy - max_drop - 1e-12:
        raise QuantizeError(
            f"int8 loses accuracy on validation: {accuracy[best]:.3f} ({best}) against "
            f"{float_accuracy:.3f} in float (allowed drop {max_drop:g})"
        )
    return best


def _readings(rec: Any, images: Sequence[np.ndarray]) -> list[str]:
    return [p.text for i in range(0, len(images), 64) for p in rec.predict(images[i : i + 64])]


def export_int8(
    name: str,
    weights: Path | None = None,
    out: Path | None = None,
    *,
    dataset: str = "iwt4s",
    data_dir: Path | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    calibration_plates: int = 200,
    max_drop: float = 0.0,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    scopes: Sequence[str] = tuple(SCOPES),
) -> tuple[Path, dict[str, Any]]:
    """Quantize recognizer ``name``'s network (``weights``, default the shipped ones)
    to int8, calibrated and chosen as the module docstring says; write ``out``
    (default ``NAME-int8.onnx`` beside the weights) and its card. Returns (path, card)."""
    from segocr.datasets.base import load_dataset
    from segocr.datasets.masked import visible_correct
    from segocr.datasets.splits import group_split
    from segocr.models.weights import atomic_write_bytes, resolve_weights, sha256_bytes, write_card
    from segocr.recognizers.base import get_recognizer_factory
    from segocr.rows import DEFAULT_ROWS, with_rows
    from segocr.runtime.export import export_onnx
    from segocr.runtime.onnx_backend import OnnxNetwork

    src = resolve_weights(weights, name)  # default: the weights the recognizer loads
    if weights is None and not src.exists():  # a variant's name (``segcnn-iwt4s``) names its weights
        src = resolve_weights(name, name.split("-")[0])
    dest = Path(out) if out is not None else src.with_name(f"{src.stem}-int8.onnx")
    if dest.suffix != ".onnx":
        raise QuantizeError(f"{dest}: the output must end in .onnx")
    ds = load_dataset(dataset, data_dir, **dict(dataset_options or {}))
    fit, val = group_split(list(ds.samples("train")), test_fraction=VAL_FRACTION, seed=VAL_SEED)
    if not fit or not val:
        raise QuantizeError(f"dataset {dataset!r}: its train split is too small to hold out validation plates")
    with tempfile.TemporaryDirectory() as tmp:
        fp_path, fp_card = export_onnx(name, src, Path(tmp) / f"{src.stem}.onnx")
        model = fp_path.read_bytes()
        rec: Any = get_recognizer_factory(name)(weights=fp_path, device="cpu", runtime="onnx")
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(fit), size=min(calibration_plates, len(fit)), replace=False).tolist())
    calibration = network_inputs(rec, [fit[i].load() for i in pick])
    val_images, val_texts = [s.load() for s in val], [s.text for s in val]
    reader = with_rows(rec, DEFAULT_ROWS)  # reads through ``rec``, whose network is swapped below
    float_read = _readings(reader, val_images)

    def accuracy(read: list[str]) -> float:
        return float(np.mean([visible_correct(b, a) for a, b in zip(read, val_texts, strict=True)]))

    float_net = rec.net
    candidates: dict[str, bytes] = {}
    acc: dict[str, float] = {}
    same: dict[str, float] = {}
    for scope in scopes:
        for method in methods:
            key = candidate_name(method, scope)
            candidates[key] = quantize(model, calibration, method, scope)
            rec.net = OnnxNetwork(candidates[key])
            read = _readings(reader, val_images)
            acc[key] = accuracy(read)
            same[key] = float(np.mean([a == b for a, b in zip(read, float_read)]))
    rec.net = float_net
    best = choose_method(acc, accuracy(float_read), max_drop=max_drop)
    data = candidates[best]
    info = dict(fp_card["onnx"])
    info.update(
        max_abs_diff_vs_torch=None,
        tolerance=None,
        quantization={
            "type": "static int8, QDQ (int8 weights per output channel, uint8 activations), onnxruntime.quantization",
            "method": best,
            "operators": "every quantizable one" if "/" not in best else "only " + ", ".join(SCOPES[best.split("/")[1]] or ()),
            "calibration": {
                "dataset": dataset,
                "part": f"fit part of the train split (group_split, {1 - VAL_FRACTION:.0%}, seed {VAL_SEED})",
                "plates": len(pick),
                "inputs": len(calibration) // CALIBRATION_BATCH * CALIBRATION_BATCH,
                "seed": seed,
            },
            "validation": {
                "part": f"validation part of the train split ({VAL_FRACTION:.0%} of the plates, seed {VAL_SEED})",
                "plates": len(val),
                "plate_accuracy_float": round(accuracy(float_read), 4),
                "plate_accuracy_int8": {m: round(a, 4) for m, a in acc.items()},
                "same_reading_as_float": {m: round(s, 4) for m, s in same.items()},
                "max_drop": max_drop,
            },
        },
    )
    base = {k: v for k, v in fp_card.items() if k != "card_sha256"}
    card = {**base, "sha256": sha256_bytes(data), "size_bytes": len(data), "format": "onnx-int8", "onnx": info}
    atomic_write_bytes(dest, data)
    return dest, write_card(dest, card, card_file=onnx_card_path(dest))
