"""Training the segcnn character classifier (``segocr train --model segcnn``).

1. The dataset's train split is divided again, by plate, into a fit part and a
   validation part (the test split is never touched while training).
2. Character crops are harvested from the fit part (:mod:`segocr.training.harvest`)
   and, optionally, cut from synthetic plates (rare letters get real examples there).
3. Stage 1 trains on characters only; its classifier then aligns hypotheses that have
   extra boxes, and the boxes matched to no character become the ``noise`` class.
4. Stage 2 trains on characters + noise; the epoch with the best validation plate
   accuracy (the whole recognizer on the validation plates) is kept.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from segocr.charset import Charset
from segocr.datasets.base import Dataset, PlateSample
from segocr.datasets.masked import visible_correct
from segocr.datasets.mix import Mix
from segocr.datasets.splits import group_split
from segocr.models.charcnn import CharCNN, Repeat
from segocr.models.weights import resolve_device
from segocr.recognizers.segcnn import NAME, SegCNNConfig, SegCNNRecognizer
from segocr.training.augment import augment_crops
from segocr.training.calibrate import fit_temperature
from segocr.training.card import measure_for_card, save_trained
from segocr.training.checkpoint import (
    CHECKPOINT,
    FORMAT,
    begin_run,
    check_same_data,
    fingerprint,
    save_checkpoint,
    write_log,
)
from segocr.training.harvest import (
    CropSet,
    SearchHarvestConfig,
    crops_from_boxes,
    harvest_real,
    harvest_search,
)
from segocr.training.mixdata import (
    box_crops,
    calibrate_plates,
    mixed_crops,
)
from segocr.training.registry import Trainer, register_trainer


class DistillConfig(BaseModel):
    """Knowledge distillation of the stage-2 classifier from a trained segcnn (issue 12:
    a cheaper classifier that reads like the shipped one): the loss is
    ``(1 - weight) * cross-entropy + weight * T^2 * KL(teacher || student)`` at
    temperature ``T``, the teacher reading the same augmented crops."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: The teacher's weights (a path or a shipped name, with its card): the same
    #: charset and crop size. It must not have seen the run's validation plates.
    teacher: str
    weight: float = Field(0.7, ge=0, le=1)
    temperature: float = Field(2.0, gt=0)


class SegCNNTrainConfig(BaseModel):
    """Options of a segcnn training run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: int = 0
    val_fraction: float = Field(0.15, gt=0, lt=1)
    epochs_stage1: int = Field(4, ge=1)
    epochs: int = Field(16, ge=1)
    batch_size: int = Field(256, ge=8)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    label_smoothing: float = Field(0.05, ge=0, lt=1)
    #: Synthetic plates whose characters are added to the training crops.
    synthetic_plates: int = Field(1500, ge=0)
    width: int = Field(16, ge=4)
    #: The classifier's channel-keeping 3x3 convs: ``"full"`` (the shipped net) or
    #: ``"separable"`` (depthwise 3x3 + pointwise 1x1): :class:`CharCNN`.
    repeat: Repeat = "full"
    #: Exposure augmentation (gamma, light gradient, stroke width, motion blur) on top
    #: of the geometric one: :func:`segocr.training.augment.photometric_crop`.
    photometric: bool = False
    #: Probability that a training crop is made faint and noisy (contrast compressed to
    #: 5-20 %, blur, sensor noise, then standardized):
    #: :func:`segocr.training.augment.low_contrast_crop`. 0: off (the earlier draws).
    low_contrast: float = Field(0.0, ge=0, le=1)
    #: Seed of the fit/validation division of the train split (None: ``seed + 1``);
    #: members of an ensemble share it and differ in ``seed``.
    split_seed: int | None = None
    #: Keep only this share of the fit part's plates (whole plate groups, drawn with
    #: ``split_seed``), the validation part unchanged: a learning curve's points
    #: (issue 13). 1.0: every fit plate (the earlier recipe).
    fit_fraction: float = Field(1.0, gt=0, le=1)
    #: Start the classifier of both stages from these trained segcnn weights (a path or
    #: a shipped name, with its card) instead of a random init: :func:`init_from`.
    init: str | None = None
    #: Stage 2 also trains on crops of the segmentation search forced to each fit
    #: plate's label by the stage-1 classifier (issue 13): :func:`harvest_search`.
    #: None: off (the earlier recipe).
    search_harvest: SearchHarvestConfig | None = None
    #: Distil the stage-2 classifier from a trained one (:class:`DistillConfig`);
    #: None: labels only (the earlier recipe).
    distill: DistillConfig | None = None
    recognizer: SegCNNConfig = SegCNNConfig()


def length_logp(texts: Sequence[str], max_len: int = 12) -> dict[int, float]:
    """log P(length) with add-one smoothing over lengths 1..max_len.

    >>> lp = length_logp(["AB", "AB", "ABC"], max_len=3)
    >>> round(math.exp(lp[2]), 3)
    0.5
    """
    counts = collections.Counter(len(t) for t in texts)
    total = len(texts) + max_len
    return {n: math.log((counts.get(n, 0) + 1) / total) for n in range(1, max_len + 1)}


def synthetic_crops(n_plates: int, charset: Charset, config: SegCNNConfig, *, seed: int) -> CropSet:
    """Character crops cut by their known boxes from ``n_plates`` generated plates."""
    from segocr.datasets.synthetic import random_plate_text, render_plate

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n_plates):
        style: Literal["cz", "generic"] = "cz" if rng.random() < 0.8 else "generic"
        plate = render_plate(random_plate_text(rng, style), rng=rng, style=style)
        if len(plate.boxes) != len(plate.text) or charset.unknown(plate.text):
            continue
        xs.append(crops_from_boxes(plate.image, plate.boxes, config))
        ys.extend(charset.encode(plate.text))
    size = config.input_size
    return CropSet(
        np.concatenate(xs) if xs else np.zeros((0, size, size), np.float32), np.array(ys, np.int64)
    )


def transfer_state(model: nn.Module, charset: Charset, source: nn.Module, source_charset: Charset) -> int:
    """Copy ``source``'s parameters and buffers into ``model`` (two CharCNNs of the same
    width, each with the classes ``charset + noise``). The output layer's rows are
    matched by character and ``noise`` to ``noise``; rows of characters ``source_charset``
    lacks keep ``model``'s own values. Returns the number of rows matched.

    >>> a, b = CharCNN(num_classes=3, width=4), CharCNN(num_classes=4, width=4)
    >>> transfer_state(a, Charset("AB"), b, Charset("BCA"))
    3
    >>> bool(torch.equal(a.head[2].weight[0], b.head[2].weight[2]))
    True
    """
    from segocr.errors import ConfigError

    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    head = {f"{linears[-1]}.weight", f"{linears[-1]}.bias"} if linears else set()
    own, src = model.state_dict(), source.state_dict()
    bad = [k for k in own if k not in src or (k not in head and src[k].shape != own[k].shape)]
    if bad or set(src) != set(own):
        raise ConfigError(f"init: the source net does not fit this one (width, repeat or members differ): {bad[:3]}")
    rows = [source_charset.chars.index(c) if c in source_charset.chars else -1 for c in charset.chars]
    rows.append(len(source_charset))  # noise
    new = {}
    for k, v in own.items():
        if k in head:
            v = v.clone()
            for i, j in enumerate(rows):
                if j >= 0:
                    v[i] = src[k][j]
            new[k] = v
        else:
            new[k] = src[k].clone()
    model.load_state_dict(new)
    return sum(j >= 0 for j in rows)


def init_from(model: nn.Module, charset: Charset, weights: str | Path) -> int:
    """Start ``model`` from the trained segcnn ``weights`` (a path or a shipped name,
    with its card): :func:`transfer_state`. Returns the output rows matched."""
    from segocr.recognizers.segcnn import load_segcnn

    src = load_segcnn(weights, device="cpu", runtime="torch")
    assert isinstance(src, SegCNNRecognizer) and src.model is not None
    return transfer_state(model, charset, src.model, src.charset)


def _teacher(distill: DistillConfig, charset: Charset, config: SegCNNConfig, device: torch.device) -> nn.Module:
    """The distillation teacher's torch module (eval mode, on ``device``); a teacher
    with another charset or crop size is refused (:class:`ConfigError`)."""
    from segocr.errors import ConfigError
    from segocr.recognizers.segcnn import load_segcnn

    t = load_segcnn(distill.teacher, device="cpu", runtime="torch")
    assert isinstance(t, SegCNNRecognizer)
    if t.charset.chars != charset.chars or t.config.input_size != config.input_size:
        raise ConfigError(f"distill: the teacher {distill.teacher} reads another charset or crop size than this run")
    assert t.model is not None
    return t.model.to(device).eval()


@dataclass
class EpochLog:
    epoch: int
    stage: int
    loss: float
    val_plate_accuracy: float
    seconds: float


def _fit(
    model: CharCNN,
    data: CropSet,
    *,
    epochs: int,
    cfg: SegCNNTrainConfig,
    rng: np.random.Generator,
    evaluate: Callable[[], float] | None,
    stage: int,
    log: Callable[[EpochLog], None],
    ck: dict[str, Any],
    save: Callable[[], None],
    device: torch.device,
    teacher: nn.Module | None = None,
) -> dict[str, torch.Tensor]:
    """Train ``model`` (on ``device``) on ``data``; returns the best state dict by
    ``evaluate()`` (the last epoch's without an evaluator). With ``teacher`` (in eval
    mode, on ``device``) the loss also distils it (``cfg.distill``).

    ``ck`` is the run's checkpoint: after every epoch it gets the weights, optimizer,
    scheduler, best state and random states and ``save()`` writes it. When it already
    holds epochs of this ``stage`` (a resumed run), training goes on after them with
    the random states restored, so the result equals an uninterrupted run's on the CPU.
    """
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = epochs * math.ceil(len(data.y) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=max(1, steps), pct_start=0.15
    )
    # Balance classes: rare letters are drawn as often as sqrt of their scarcity asks.
    counts = np.bincount(data.y, minlength=int(data.y.max()) + 1).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts[data.y], 1))
    w /= w.sum()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    start = 0
    if ck["stage"] == stage and ck["model"] is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        start = int(ck["epoch"])
    elif ck["stage"] != stage:
        ck.update(stage=stage, epoch=0, model=None, optimizer=None, scheduler=None, best=None)
    for epoch in range(start + 1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = rng.choice(len(data.y), size=len(data.y), replace=True, p=w)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            crops = augment_crops(data.x[idx], rng=rng, photometric=cfg.photometric, low_contrast=cfg.low_contrast)
            x = torch.from_numpy(crops).unsqueeze(1).to(device)
            y = torch.from_numpy(data.y[idx]).to(device)
            logits = model(x)
            loss = loss_fn(logits, y)
            if teacher is not None and cfg.distill is not None:
                d = cfg.distill
                with torch.no_grad():
                    soft = torch.softmax(teacher(x) / d.temperature, dim=1)
                kd = nn.functional.kl_div(torch.log_softmax(logits / d.temperature, dim=1), soft, reduction="batchmean")
                loss = (1 - d.weight) * loss + d.weight * d.temperature**2 * kd
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        # Without an evaluator the last epoch is kept (and no accuracy is logged).
        acc = evaluate() if evaluate is not None else float("nan")
        row = EpochLog(epoch, stage, total / len(order), acc, round(time.perf_counter() - t0, 2))
        ck["history"].append(asdict(row))
        best = ck["best"]
        if best is None or evaluate is None or acc >= best["accuracy"]:
            ck["best"] = {"accuracy": acc, "state": _cpu_state(model)}
        ck.update(
            epoch=epoch, model=_cpu_state(model), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
            rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
        )  # fmt: skip
        save()
        log(row)
    assert ck["best"] is not None
    return dict(ck["best"]["state"])


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def plate_accuracy(
    recognizer: SegCNNRecognizer, images: Sequence[np.ndarray], texts: Sequence[str]
) -> float:
    """Share of ``images`` read as ``texts`` (a hidden character, ``?``, matches one
    character or none: :func:`segocr.datasets.masked.visible_correct`)."""
    preds = recognizer.predict(images)
    return float(np.mean([visible_correct(t, p.text) for p, t in zip(preds, texts)])) if texts else 0.0


def fit_val_split(
    train_samples: Sequence[PlateSample], cfg: SegCNNTrainConfig
) -> tuple[list[PlateSample], list[PlateSample]]:
    """A run's (fit, validation) parts of the train split: ``cfg.val_fraction`` of the
    plate groups held out with the run's split seed, then the fit part cut to
    ``cfg.fit_fraction`` of its groups (the validation part does not depend on it)."""
    split_seed = split_seed_of(cfg.model_dump())
    fit, val = group_split(list(train_samples), test_fraction=cfg.val_fraction, seed=split_seed)
    if cfg.fit_fraction < 1.0:
        fit, _ = group_split(fit, test_fraction=1.0 - cfg.fit_fraction, seed=split_seed)
    return fit, val


def train_segcnn(
    train_samples: Sequence[PlateSample],
    charset: Charset,
    cfg: SegCNNTrainConfig,
    *,
    log: Callable[[str], None] = print,
    device: str = "auto",
    checkpoint: Path | None = None,
    resume: dict[str, Any] | None = None,
    extra_state: dict[str, Any] | None = None,
    char_samples: Sequence[PlateSample] = (),
    synthetic: Sequence[PlateSample] | None = None,
) -> tuple[SegCNNRecognizer, dict[str, Any]]:
    """Train a segcnn recognizer on ``train_samples`` (the dataset's train split).
    Returns the recognizer and a dict of training facts for its card.

    A training mix (:mod:`segocr.datasets.mix`) adds single-character samples
    (``char_samples``) and its own synthetic plates (``synthetic``, with known boxes,
    instead of ``cfg.synthetic_plates`` first-generation ones); its plates carry their
    source's weight (``meta["weight"]``) and plates with hidden characters give crops of
    their visible boxes only (:func:`segocr.training.mixdata.mixed_crops`). With a mix
    the plate confidence is also calibrated on the validation plates of every source
    (``plate_calibration``).

    With ``checkpoint`` the run's state is written there (atomically) after every
    epoch; ``resume`` is such a state (:func:`segocr.training.checkpoint.load_checkpoint`)
    to go on from. ``extra_state`` is stored in the checkpoint as it is."""
    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    fit, val = fit_val_split(train_samples, cfg)
    if cfg.fit_fraction < 1.0:
        log(f"fit part cut to {cfg.fit_fraction:.0%} of its plates: {len(fit)} images")
    rcfg = cfg.recognizer.model_copy(update={"length_logp": length_logp([s.text for s in fit])})
    val_images = [s.load() for s in val]
    val_texts = [s.text for s in val]
    model = CharCNN(num_classes=len(charset) + 1, width=cfg.width, repeat=cfg.repeat)
    if cfg.init is not None:
        log(f"classifier initialised from {cfg.init}: {init_from(model, charset, cfg.init)} output rows matched")
    model = model.to(dev)
    rec = SegCNNRecognizer(model, charset, rcfg, device=str(dev))
    # The teacher is loaded (and a misfit refused) before any training, not after stage 1.
    teacher = _teacher(cfg.distill, charset, rcfg, dev) if cfg.distill is not None else None
    ck: dict[str, Any] = resume if resume is not None else {
        "format": FORMAT, "stage": 1, "epoch": 0, "model": None, "optimizer": None, "scheduler": None, "best": None,
        "rng": None, "torch_rng": None, "stage1_state": None, "history": [], "elapsed": 0.0, **(extra_state or {}),
    }  # fmt: skip
    t_resumed = time.perf_counter()
    elapsed0 = float(ck["elapsed"])

    def save() -> None:
        ck["elapsed"] = elapsed0 + time.perf_counter() - t_resumed
        if checkpoint is not None:
            save_checkpoint(ck, checkpoint)
            write_log(checkpoint.parent, ck["history"], title="segcnn", warn=log)

    def evaluate() -> float:
        return plate_accuracy(rec, val_images, val_texts)

    def log_epoch(e: EpochLog) -> None:
        acc = "-" if math.isnan(e.val_plate_accuracy) else f"{e.val_plate_accuracy:.3f}"
        log(
            f"stage {e.stage} epoch {e.epoch:2d}  loss {e.loss:.4f}  val plate acc {acc}  {e.seconds:.1f}s"
        )

    if resume is not None:
        log(f"resuming after stage {ck['stage']} epoch {ck['epoch']}")
    t0 = time.perf_counter()
    is_mix = bool(char_samples) or synthetic is not None or any("source" in s.meta for s in fit)
    if is_mix:
        chars = mixed_crops(fit, char_samples, charset, rcfg, rng=np.random.default_rng(cfg.seed + 3), log=log)
    else:
        chars, _ = harvest_real(fit, charset, rcfg)
    if synthetic is not None:
        synth = box_crops(synthetic, charset, rcfg)
    elif cfg.synthetic_plates:
        synth = synthetic_crops(cfg.synthetic_plates, charset, rcfg, seed=cfg.seed + 7)
    else:
        synth = CropSet.concat([], rcfg.input_size)
    log(
        f"harvested {len(chars.y)} real and {len(synth.y)} synthetic character crops ({time.perf_counter() - t0:.0f}s)"
    )
    common: dict[str, Any] = {
        "cfg": cfg,
        "rng": rng,
        "log": log_epoch,
        "ck": ck,
        "save": save,
        "device": dev,
    }
    if ck["stage1_state"] is None:
        stage1 = CropSet.concat([chars, synth], rcfg.input_size)
        ck["stage1_state"] = _fit(
            model, stage1, epochs=cfg.epochs_stage1, evaluate=None, stage=1, **common
        )
    model.load_state_dict(ck["stage1_state"])
    model.eval()
    _, noise = harvest_real(fit, charset, rcfg, classify=rec.classify)
    log(f"harvested {len(noise.y)} noise crops")
    searched = [CropSet.concat([], rcfg.input_size)] * 2
    if cfg.search_harvest is not None:
        searched = list(harvest_search(
            fit, charset, rcfg, cfg.search_harvest, classify=rec.classify, rng=np.random.default_rng(cfg.seed + 11)
        ))  # fmt: skip
        log(f"harvested {len(searched[0].y)} character and {len(searched[1].y)} noise crops by the forced search")
    stage2 = CropSet.concat([chars, synth, noise, *searched], rcfg.input_size)
    model = CharCNN(num_classes=len(charset) + 1, width=cfg.width, repeat=cfg.repeat)
    if cfg.init is not None:
        init_from(model, charset, cfg.init)
    model = model.to(dev)
    rec.model = model
    model.load_state_dict(
        _fit(model, stage2, epochs=cfg.epochs, evaluate=evaluate, stage=2, teacher=teacher, **common)
    )
    model.eval()
    # Calibrate on the validation plates' characters (label smoothing leaves the
    # softmax under-confident): one temperature for all logits.
    val_chars, val_noise = harvest_real(val, charset, rec.config, classify=rec.classify)
    calib = CropSet.concat([val_chars, val_noise], rcfg.input_size)
    temperature = fit_temperature(rec.logits(calib.x), calib.y)
    rec.config = rec.config.model_copy(update={"temperature": temperature})
    log(f"temperature {temperature:.2f} (fitted on {len(calib.y)} validation crops)")
    calibration = None
    if is_mix:
        calibration = calibrate_plates(rec, val_images, val_texts)
        log(f"plate confidence calibration (a, d, b, c) = {calibration} (fitted on {len(val)} validation plates)")
    ck["done"] = True
    save()
    facts = {
        "fit_plates": len(fit),
        "val_plates": len(val),
        "real_char_crops": len(chars.y),
        "synthetic_char_crops": len(synth.y),
        "noise_crops": len(noise.y),
        **({"search_char_crops": len(searched[0].y), "search_noise_crops": len(searched[1].y)} if cfg.search_harvest else {}),
        "val_plate_accuracy": evaluate(),
        "plate_calibration_fitted_on": f"{len(val)} validation plates" if calibration else None,
        "train_seconds": round(float(ck["elapsed"]), 1),
        "device": str(dev),
    }
    return rec, facts


def run_segcnn_training(
    dataset: Dataset,
    out_dir: Path,
    cfg: SegCNNTrainConfig,
    *,
    command: str,
    resume: bool = False,
    device: str = "auto",
    evaluate_test: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on ``dataset``'s train split (``progress`` is not used: a line is logged per
    epoch), write ``segcnn.pt`` + ``segcnn.json`` (the
    card), ``config.yaml``, ``checkpoint.pt`` (after every epoch) and ``log.csv`` into
    ``out_dir``; with ``resume`` go on from the interrupted run's checkpoint there. With
    ``evaluate_test`` the finished model (chosen on validation plates only) is measured
    once on the test split and the figures go into the card. Returns the card."""
    resolved = cfg.model_dump(mode="json")
    ck = begin_run(out_dir, resolved, resume=resume)
    train = dataset.samples("train")
    data_fp = {"dataset": dataset.name, "train": fingerprint(train)}
    check_same_data(ck, data_fp, out_dir)
    mix: dict[str, Any] = {}
    if isinstance(dataset, Mix):
        mix = {"char_samples": dataset.char_samples("train"), "synthetic": dataset.synthetic_samples()}
        log(f"mix {dataset.config.name}: {len(train)} plates, {len(mix['char_samples'])} single characters, "
            f"{len(mix['synthetic'])} synthetic plates")  # fmt: skip
    rec, facts = train_segcnn(
        train, dataset.charset, cfg, log=log, device=device, checkpoint=out_dir / CHECKPOINT, resume=ck,
        extra_state={"config": resolved, "data": data_fp}, **mix,
    )  # fmt: skip
    metrics = measure_for_card(rec, NAME, dataset, evaluate_test=evaluate_test, log=log)
    model_fields = _model_fields(rec, dataset.charset, _net_kwargs(cfg.width, cfg.repeat))
    training = {
        "split": "train split of segocr.datasets.splits.group_split (80:20 by plate text, seed 0); "
        f"its own {cfg.val_fraction:.0%} (by plate) held out for checkpoint choice",
        "seed": cfg.seed,
        "train_config": cfg.model_dump(mode="json", exclude={"recognizer"}),
        **facts,
    }
    start = init_facts(cfg.init) if cfg.init is not None else None
    if start is not None:
        training["initialised_from"] = start
    return save_trained(
        rec.model, out_dir / f"{NAME}.pt", dataset, model_fields=model_fields, training=training,
        command=command, metrics=metrics, also_inherits=start["licence"] if start else None,
    )  # fmt: skip


def init_facts(weights: str | Path) -> dict[str, Any]:
    """What a card records of the weights a run started from (``init``): their path or
    name, sha256, training data, command and licence (which the new weights inherit too).

    >>> f = init_facts("segcnn-general")
    >>> f["dataset"], "AGPL" in f["licence"]
    ('mix:general', True)
    """
    import json

    from segocr.models.weights import resolve_weights

    card = json.loads(resolve_weights(weights, NAME).with_suffix(".json").read_text())
    tr = card.get("training", {})
    return {
        "weights": str(weights),
        "sha256": card.get("sha256"),
        "dataset": tr.get("dataset"),
        "source": tr.get("source"),
        "command": card.get("command"),
        "licence": card.get("licence", "unknown: the card of the initial weights states none"),
    }


def _net_kwargs(width: int, repeat: str, **more: Any) -> dict[str, Any]:
    """The card's ``model_kwargs`` of a CharCNN (``repeat`` only when not the default
    ``"full"``, so the earlier cards' kwargs stay as they were).

    >>> _net_kwargs(16, "full"), _net_kwargs(16, "separable", members=2)
    ({'width': 16}, {'width': 16, 'repeat': 'separable', 'members': 2})
    """
    return {"width": width, **({"repeat": repeat} if repeat != "full" else {}), **more}


def _model_fields(rec: SegCNNRecognizer, charset: Charset, model_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The card fields that describe a trained segcnn network (one net or an ensemble)."""
    return {
        "model": NAME,
        "architecture": "CharCNN",
        "model_kwargs": model_kwargs,
        "charset": charset.chars,
        "classes": "charset + noise (last index)",
        "input_size": [rec.config.input_size, rec.config.input_size],
        "config": rec.config.model_dump(mode="json"),
    }


def split_seed_of(train_config: dict[str, Any]) -> int:
    """The seed of the fit/validation division a segcnn run used (its card's
    ``training.train_config``; older cards have no ``split_seed``: ``seed + 1``).

    >>> split_seed_of({"seed": 0}), split_seed_of({"seed": 3, "split_seed": 1})
    (1, 1)
    """
    s = train_config.get("split_seed")
    return int(train_config["seed"]) + 1 if s is None else int(s)


def ensemble_recognizer(
    members: Sequence[Path], train_samples: Sequence[PlateSample], charset: Charset
) -> tuple[SegCNNRecognizer, dict[str, Any]]:
    """One segcnn recognizer whose classifier is the ensemble of the trained runs
    ``members`` (``segcnn.pt`` files with cards): a :class:`CharCNN` with ``members``
    (mean of their log-softmax). They must share the charset, width, input size and
    the fit/validation division of ``train_samples`` (the train split); the members'
    recognizer config (the first's) is kept, with the temperature refitted on the
    validation part's characters. Returns the recognizer (torch, CPU) and the facts
    for its card (``train_config``: the first member's, ``members``: each member's
    seed and validation plate accuracy, ``val_plate_accuracy``: the ensemble's, read
    without the search as the trainer reads)."""
    from segocr.models.weights import read_card
    from segocr.recognizers.segcnn import load_segcnn

    if len(members) < 2:
        raise ValueError(f"an ensemble needs 2 or more members, got {len(members)}")
    cards = [read_card(Path(m)) for m in members]
    tcs = [c["training"]["train_config"] for c in cards]
    for key, default in (("width", None), ("val_fraction", None), ("repeat", "full")):
        if len({tc.get(key, default) for tc in tcs}) != 1:
            raise ValueError(f"ensemble members differ in {key}: {[tc.get(key, default) for tc in tcs]}")
    if len({split_seed_of(tc) for tc in tcs}) != 1 or len({c["charset"] for c in cards}) != 1:
        raise ValueError("ensemble members must share the charset and the fit/validation division")
    recs: list[SegCNNRecognizer] = []
    for m in members:
        r = load_segcnn(Path(m), device="cpu", runtime="torch")
        assert isinstance(r, SegCNNRecognizer)
        recs.append(r)
    repeat = tcs[0].get("repeat", "full")
    model = CharCNN(num_classes=len(charset) + 1, width=int(tcs[0]["width"]), members=len(members), repeat=repeat)
    assert isinstance(model.members, nn.ModuleList)
    for sub, r in zip(model.members, recs, strict=True):
        assert r.model is not None
        sub.load_state_dict(r.model.state_dict())
    model.eval()
    rec = SegCNNRecognizer(model, charset, recs[0].config, device="cpu")
    _, val = group_split(list(train_samples), test_fraction=float(tcs[0]["val_fraction"]), seed=split_seed_of(tcs[0]))
    plain = rec.config.model_copy(update={"search": None, "temperature": 1.0})
    rec.config = plain
    val_chars, val_noise = harvest_real(val, charset, plain, classify=rec.classify)
    calib = CropSet.concat([val_chars, val_noise], plain.input_size)
    temperature = fit_temperature(rec.logits(calib.x), calib.y)
    rec.config = recs[0].config.model_copy(update={"temperature": temperature})
    no_search = rec.config.model_copy(update={"search": None})
    rec.config = no_search
    acc = plate_accuracy(rec, [s.load() for s in val], [s.text for s in val])
    rec.config = recs[0].config.model_copy(update={"temperature": temperature})
    facts = {
        "train_config": {**tcs[0], "members": len(members)},
        "members": [
            {"weights": Path(m).name, "seed": tc["seed"], "val_plate_accuracy": c["training"].get("val_plate_accuracy")}
            for m, tc, c in zip(members, tcs, cards, strict=True)
        ],
        "val_plate_accuracy": acc,
        "temperature_fitted_on": f"{len(calib.y)} validation crops",
    }
    return rec, facts


def save_ensemble(
    members: Sequence[Path],
    dataset: Dataset,
    out: Path,
    *,
    command: str,
    evaluate_test: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write the ensemble of the trained runs ``members`` (see
    :func:`ensemble_recognizer`) as ``out`` (a ``segcnn.pt``) with its card; with
    ``evaluate_test`` it is measured once on the test split for the card. Returns the card."""
    rec, facts = ensemble_recognizer(members, dataset.samples("train"), dataset.charset)
    log(f"ensemble of {len(members)}: validation plate accuracy {facts['val_plate_accuracy']:.3f}, "
        f"temperature {rec.config.temperature:.2f}")  # fmt: skip
    metrics = measure_for_card(rec, NAME, dataset, evaluate_test=evaluate_test, log=log)
    tc = facts["train_config"]
    model_fields = _model_fields(
        rec, dataset.charset, _net_kwargs(int(tc["width"]), tc.get("repeat", "full"), members=len(members))
    )
    training = {
        "split": "train split of segocr.datasets.splits.group_split (80:20 by plate text, seed 0); "
        f"its own {float(tc['val_fraction']):.0%} (by plate, seed {split_seed_of(tc)}) held out for checkpoint "
        "choice and the ensemble's temperature",
        "seed": tc["seed"],
        **facts,
    }
    assert rec.model is not None
    return save_trained(
        rec.model, out, dataset, model_fields=model_fields, training=training, command=command, metrics=metrics
    )


register_trainer(Trainer("segcnn", SegCNNTrainConfig, run_segcnn_training, supports_resume=True))
