"""Training the end-to-end recognizers: ``segocr train --model crnn|holistic``.

1. The dataset's train split is divided again, by plate, into a fit part and a
   validation part; the test split is only read once at the end, for the card.
2. Stage ``pretrain``: synthetic plates (:mod:`segocr.datasets.synthetic`, rendered
   once and cached in the run folder) for a few epochs.
3. Stage ``finetune``: the real fit plates, plus a share of synthetic ones, with
   augmentation (:mod:`segocr.training.line_augment`), until early stopping.
4. Every epoch: AdamW steps (with an exponential moving average of the weights,
   which is what is validated and kept), the validation loss, plate accuracy and
   CER, a reduce-on-plateau learning-rate step, a row of ``log.csv``, ``curves.png`` and an
   atomic ``checkpoint.pt`` holding everything needed to go on (model, optimizer,
   scheduler, best weights so far, history). Random draws are seeded per epoch from
   ``(seed, stage, epoch)``, so a run resumed from its checkpoint ends with the same
   weights as an uninterrupted one (on the CPU, with the same thread count).
5. The best epoch on the validation plates (plate accuracy, then CER, then loss) is
   written as ``NAME.pt`` + ``NAME.json`` (its card). Early stopping waits for
   ``early_stop_patience`` epochs in which neither that score nor the validation
   loss improved (on a few dozen validation plates the accuracy alone is too coarse).

The two models differ only in their :class:`Head` (model, loss, recognizer).
"""

from __future__ import annotations

import io
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import cv2
import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from torch import nn
from tqdm import tqdm

from segocr.charset import Charset
from segocr.datasets.base import Dataset, PlateSample
from segocr.datasets.mix import Mix
from segocr.datasets.splits import group_split
from segocr.errors import DatasetError
from segocr.evaluation import metrics as M
from segocr.models.crnn import CRNN
from segocr.models.holistic import HolisticCNN
from segocr.models.weights import atomic_write_bytes, resolve_device
from segocr.recognizers.crnn import CRNNConfig, CRNNRecognizer
from segocr.recognizers.holistic import HolisticConfig, HolisticRecognizer
from segocr.recognizers.textline import LineConfig, LineRecognizer, line_gray, normalize_line
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
from segocr.training.line_augment import AugmentConfig, augment_line
from segocr.training.registry import Trainer, register_trainer
from segocr.training.selection import validation_key

SYNTHETIC_CACHE = "synthetic.npz"


# ------------------------------------------------------------------------- configs


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PretrainConfig(_Frozen):
    """Synthetic pretraining (``plates: 0`` or ``epochs: 0`` skips it)."""

    plates: int = Field(5000, ge=0)
    #: ``cz`` (Czech layout), ``generic`` (5..8 random alphanumerics), ``mixed`` (3/4 cz)
    #: or ``cn`` (Chinese blue and green plates, province character first).
    style: Literal["cz", "generic", "mixed", "cn"] = "mixed"
    #: Seed of the synthetic dataset (its train split is used).
    seed: int = 1
    epochs: int = Field(4, ge=0)
    lr: float = Field(2e-3, gt=0)
    #: Probability that a synthetic plate is augmented in this stage (``None``: the
    #: ``augment.p`` of the run). The plates are degraded when rendered already.
    augment_p: float | None = Field(None, ge=0, le=1)


class FinetuneConfig(_Frozen):
    """Training on the real fit plates."""

    epochs: int = Field(60, ge=1)
    lr: float = Field(1e-3, gt=0)
    #: Synthetic plates mixed into each epoch, as a fraction of the real ones.
    synthetic_fraction: float = Field(0.5, ge=0, le=10)
    #: Real plates are drawn (with replacement) with a weight growing with the rarity of
    #: their rarest character, ``min(balance_cap, (top count / count) ** balance)``
    #: (0: each plate once per epoch). IWT4S is mostly ``B`` and digits; ``E`` or ``T``
    #: are rare.
    balance: float = Field(0.5, ge=0, le=2)
    balance_cap: float = Field(4.0, ge=1)
    #: Stop after this many epochs without a better validation score (0: never).
    early_stop_patience: int = Field(12, ge=0)


class SequenceTrainConfig(_Frozen):
    """Options shared by the crnn and holistic trainings (YAML keys, all optional)."""

    seed: int = 0
    #: Share of the train split's plates held out (by plate) to choose the checkpoint.
    val_fraction: float = Field(0.15, gt=0, lt=1)
    batch_size: int = Field(32, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    grad_clip: float = Field(5.0, gt=0)
    #: ReduceLROnPlateau on the validation loss.
    plateau_patience: int = Field(3, ge=0)
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    min_lr: float = Field(1e-5, ge=0)
    #: Training lines are kept at this many times the input height for augmentation.
    oversample: int = Field(2, ge=1, le=4)
    #: Validation and the written weights use an exponential moving average of the
    #: weights with this decay per step (0: the raw weights).
    ema_decay: float = Field(0.99, ge=0, lt=1)
    #: Weights to start from (a shipped name such as ``crnn-iwt4s``, or a path) instead
    #: of random ones: same model, size and charset (checked). None: from scratch.
    init: str | None = None
    line: LineConfig = LineConfig()
    augment: AugmentConfig = AugmentConfig()
    pretrain: PretrainConfig = PretrainConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    #: (height, width): the validation plates are shrunk to this size (area
    #: interpolation) before they are read, e.g. ``[24, 94]`` as CCPD's LPRNet crops, so
    #: that the checkpoint is chosen on small crops. None: read as they are.
    val_resize: tuple[int, int] | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The fields; ``val_resize`` only when set, so that the options of runs made
        before it existed dump (and resume) unchanged."""
        data: dict[str, Any] = handler(self)
        if self.val_resize is None:
            data.pop("val_resize", None)
        return data


class CRNNParams(_Frozen):
    """Size of :class:`segocr.models.crnn.CRNN`."""

    channels: tuple[int, int, int, int, int, int] = (32, 64, 64, 64, 96, 96)
    hidden: int = Field(64, ge=4)
    #: Pixels per CTC frame: 2, or 4 as in the paper.
    frame_width: Literal[2, 4] = 2
    dropout: float = Field(0.2, ge=0, lt=1)


class CRNNTrainConfig(SequenceTrainConfig):
    """``segocr train --model crnn`` options."""

    model: CRNNParams = CRNNParams()
    #: 48 rows rather than the paper's 32 (at 32 the characters of IWT4S crops, which
    #: hold plate, frame and car body, are ~13 pixels high), 2-pixel frames, and a
    #: quarter as many synthetic plates as real ones in fine-tuning: each chosen on the
    #: validation plates among candidate runs (docs/models.md, data/configs/crnn-select).
    #: Pretraining and fine-tuning are short enough to stay within 20 CPU minutes.
    line: LineConfig = LineConfig(height=48, width=160)
    pretrain: PretrainConfig = PretrainConfig(plates=4000, epochs=4)
    finetune: FinetuneConfig = FinetuneConfig(epochs=45, synthetic_fraction=0.25)
    decoder: Literal["greedy", "beam"] = "beam"
    beam_width: int = Field(8, ge=1, le=100)


class HolisticParams(_Frozen):
    """Size of :class:`segocr.models.holistic.HolisticCNN` (the defaults here are the
    trained model's; the class's own defaults are the first, dense version)."""

    channels: tuple[int, int, int, int, int] = (32, 64, 96, 96, 128)
    #: Dense readout only: 1x1 reduction of the map, and units of a dense layer shared
    #: by the slots (0: none).
    reduce: int = Field(48, ge=1)
    hidden: int = Field(0, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    #: ``attention``: a learned query per slot over the feature columns (validation
    #: plate accuracy 74% against 55% for ``dense``, the flattened map -> slots).
    readout: Literal["dense", "attention"] = "attention"
    #: Width of the attention readout and its number of dilated width convolutions
    #: (receptive field 2**(context + 1) - 1 columns: the whole line).
    dim: int = Field(128, ge=4)
    context: int = Field(5, ge=0, le=6)
    #: Input pixels per feature column: 8, or 4 (the last two poolings only vertical).
    column_width: Literal[4, 8] = 4


class HolisticTrainConfig(SequenceTrainConfig):
    """``segocr train --model holistic`` options."""

    model: HolisticParams = HolisticParams()
    #: 48x160 as the CRNN (at 32 rows the characters are ~13 pixels high): validation
    #: plate accuracy 91% against 74% at 32x128, at about twice the time per epoch.
    line: LineConfig = LineConfig(height=48, width=160)
    #: Lighter augmentation while pretraining (full augmentation slowed it most).
    pretrain: PretrainConfig = PretrainConfig(plates=10000, epochs=5, augment_p=0.2)
    plateau_patience: int = Field(5, ge=0)
    slots: int = Field(8, ge=1, le=32)
    label_smoothing: float = Field(0.05, ge=0, lt=1)


C = TypeVar("C", bound=SequenceTrainConfig)


# --------------------------------------------------------------------------- heads


class Head(ABC, Generic[C]):
    """What differs between the sequence models: the network, its loss and the
    recognizer wrapping it."""

    name: str
    architecture: str
    classes: str

    @abstractmethod
    def build(self, cfg: C, n_chars: int) -> nn.Module: ...

    @abstractmethod
    def loss(self, logits: torch.Tensor, targets: Sequence[Sequence[int]], cfg: C) -> torch.Tensor:
        """Mean loss of ``logits`` (N, ..., n_chars + 1) against label index lists."""

    @abstractmethod
    def recognizer(self, model: nn.Module, charset: Charset, cfg: C, device: str) -> LineRecognizer: ...

    @abstractmethod
    def fits(self, n_labels: int, cfg: C) -> bool:
        """Whether a text of ``n_labels`` characters can be learned at all."""

    def model_kwargs(self, cfg: C) -> dict[str, Any]:
        kwargs: dict[str, Any] = cfg.model_dump(mode="json")["model"]
        return kwargs

    def calibrate(self, rec: LineRecognizer, logits: np.ndarray, labels: Sequence[Sequence[int]]) -> float | None:
        """Fit ``rec``'s confidence to the validation ``logits`` (N, ..., C) and their
        labels, in place; returns the fitted temperature, or ``None`` when the model
        keeps its raw softmax (the default)."""
        return None


class CTCHead(Head[CRNNTrainConfig]):
    name = "crnn"
    architecture = "CRNN"
    classes = "charset + CTC blank (last index)"

    def build(self, cfg: CRNNTrainConfig, n_chars: int) -> nn.Module:
        p = cfg.model
        return CRNN(
            n_chars + 1, input_height=cfg.line.height, channels=p.channels, hidden=p.hidden,
            frame_width=p.frame_width, dropout=p.dropout,
        )  # fmt: skip

    def loss(self, logits: torch.Tensor, targets: Sequence[Sequence[int]], cfg: CRNNTrainConfig) -> torch.Tensor:
        n, t, c = logits.shape
        lp = logits.float().log_softmax(2).transpose(0, 1)  # (T, N, C)
        flat = torch.tensor([k for tg in targets for k in tg], dtype=torch.long)
        lengths = torch.tensor([len(tg) for tg in targets], dtype=torch.long)
        return nn.functional.ctc_loss(
            lp, flat.to(lp.device), torch.full((n,), t, dtype=torch.long), lengths, blank=c - 1, zero_infinity=True
        )

    def recognizer(self, model: nn.Module, charset: Charset, cfg: CRNNTrainConfig, device: str) -> LineRecognizer:
        rcfg = CRNNConfig(line=cfg.line, decoder=cfg.decoder, beam_width=cfg.beam_width)
        assert isinstance(model, CRNN)
        return CRNNRecognizer(model, charset, rcfg, device=device)

    def fits(self, n_labels: int, cfg: CRNNTrainConfig) -> bool:
        return 0 < n_labels <= cfg.line.width // (2 * cfg.model.frame_width)


class SlotHead(Head[HolisticTrainConfig]):
    name = "holistic"
    architecture = "HolisticCNN"
    classes = "charset + pad (last index)"

    def build(self, cfg: HolisticTrainConfig, n_chars: int) -> nn.Module:
        p = cfg.model
        return HolisticCNN(
            n_chars + 1, slots=cfg.slots, input_height=cfg.line.height, input_width=cfg.line.width,
            channels=p.channels, reduce=p.reduce, hidden=p.hidden, dropout=p.dropout, readout=p.readout, dim=p.dim,
            context=p.context, column_width=p.column_width,
        )  # fmt: skip

    def loss(self, logits: torch.Tensor, targets: Sequence[Sequence[int]], cfg: HolisticTrainConfig) -> torch.Tensor:
        n, k, c = logits.shape
        y = torch.full((n, k), c - 1, dtype=torch.long)
        for i, tg in enumerate(targets):
            y[i, : len(tg)] = torch.tensor(tg, dtype=torch.long)
        return nn.functional.cross_entropy(
            logits.float().reshape(n * k, c), y.view(-1).to(logits.device), label_smoothing=cfg.label_smoothing
        )

    def recognizer(self, model: nn.Module, charset: Charset, cfg: HolisticTrainConfig, device: str) -> LineRecognizer:
        assert isinstance(model, HolisticCNN)
        return HolisticRecognizer(model, charset, HolisticConfig(line=cfg.line, slots=cfg.slots), device=device)

    def calibrate(self, rec: LineRecognizer, logits: np.ndarray, labels: Sequence[Sequence[int]]) -> float | None:
        """One temperature for every slot's logits (pad slots included), fitted on the
        validation plates: label smoothing otherwise caps each slot near 0.95, and a
        plate's confidence (the product over its characters) near 0.7."""
        assert isinstance(rec, HolisticRecognizer)
        n, k, c = logits.shape
        y = np.full((n, k), c - 1, dtype=np.int64)
        for i, tg in enumerate(labels):
            y[i, : len(tg)] = tg
        temperature = fit_temperature(logits.reshape(n * k, c), y.reshape(-1))
        rec.config = rec.config.model_copy(update={"temperature": temperature})
        return temperature

    def fits(self, n_labels: int, cfg: HolisticTrainConfig) -> bool:
        return 0 < n_labels <= cfg.slots


# ---------------------------------------------------------------------------- data


@dataclass
class Lines:
    """Text lines and their labels: ``lines[i]`` uint8 (h, w_i), ``labels[i]`` charset
    indices, ``texts[i]`` the text; ``weights[i]`` the weight of the line's source in a
    training mix (empty: all 1)."""

    lines: list[np.ndarray]
    labels: list[list[int]]
    texts: list[str]
    weights: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)


def make_lines(
    samples: Sequence[PlateSample], charset: Charset, *, height: int, max_width: int, keep: Callable[[int], bool],
    progress: bool = False, desc: str = "lines", resize: tuple[int, int] | None = None,
) -> tuple[Lines, int]:
    """Gray lines of ``samples`` at ``height`` rows; samples with characters outside
    ``charset`` (hidden characters, ``?``, too: never trained on a guess) or whose length
    ``keep`` rejects are left out (their count is returned). ``resize`` (h, w): each
    image is first shrunk to that size (area interpolation)."""
    out = Lines([], [], [])
    dropped = 0
    for s in tqdm(samples, desc=desc, unit="plate", disable=not progress, leave=False):
        if charset.unknown(s.text) or not keep(len(s.text)):
            dropped += 1
            continue
        img = s.load()
        if resize is not None:
            img = cv2.resize(img, (resize[1], resize[0]), interpolation=cv2.INTER_AREA)
        out.lines.append(line_gray(img, height=height, max_width=max_width))
        out.labels.append(charset.encode(s.text))
        out.texts.append(s.text)
        out.weights.append(float(s.meta.get("weight", 1.0)))
    return out, dropped


def _read_line_cache(cache: Path | None, key: str, charset: Charset) -> Lines | None:
    """The lines cached in ``cache`` under ``key`` (None when absent or another key)."""
    if cache is None or not cache.is_file():
        return None
    with np.load(cache, allow_pickle=False) as z:
        if str(z["key"]) != key:
            return None
        widths = z["widths"].tolist()
        pix = z["pixels"]
        texts = [str(t) for t in z["texts"].tolist()]
    return Lines([pix[i, :, :w].copy() for i, w in enumerate(widths)], [charset.encode(t) for t in texts], texts)


def _write_line_cache(cache: Path, key: str, lines: Lines, *, height: int, max_width: int) -> None:
    """Store ``lines`` (uint8 (height, <= max_width) images and texts) in ``cache``
    under ``key``, atomically."""
    pix = np.zeros((len(lines), height, max_width), np.uint8)
    for i, ln in enumerate(lines.lines):
        pix[i, :, : ln.shape[1]] = ln
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), widths=np.array([ln.shape[1] for ln in lines.lines], np.int64),
             pixels=pix, texts=np.array(lines.texts))  # fmt: skip
    atomic_write_bytes(cache, buf.getvalue())


def synthetic_lines(
    cfg: PretrainConfig, charset: Charset, *, height: int, max_width: int, keep: Callable[[int], bool],
    cache: Path | None = None, progress: bool = False,
) -> Lines:
    """``cfg.plates`` synthetic plates as lines (see :func:`make_lines`), read from
    ``cache`` when it holds the same plates, else rendered and written there."""
    from segocr.datasets.synthetic import SyntheticDataset, open_synthetic

    key = f"{cfg.plates}:{cfg.style}:{cfg.seed}:{height}:{max_width}:{charset.chars}"
    cached = _read_line_cache(cache, key, charset)
    if cached is not None:
        return cached
    ds = open_synthetic(n_train=cfg.plates, n_test=0, seed=cfg.seed, style=cfg.style)
    assert isinstance(ds, SyntheticDataset)
    out = Lines([], [], [])
    for i in tqdm(range(cfg.plates), desc="synthetic plates", unit="plate", disable=not progress, leave=False):
        s = ds.sample("train", i)
        if charset.unknown(s.text) or not keep(len(s.text)):
            continue
        out.lines.append(line_gray(s.load(), height=height, max_width=max_width))
        out.labels.append(charset.encode(s.text))
        out.texts.append(s.text)
    if cache is not None:
        _write_line_cache(cache, key, out, height=height, max_width=max_width)
    return out


def mix_synthetic_lines(
    mix: Mix, cfg: PretrainConfig, charset: Charset, *, height: int, max_width: int, keep: Callable[[int], bool],
    cache: Path | None = None,
) -> Lines:
    """``cfg.plates`` synthetic plates of the mix's styles (seed ``cfg.seed``) as lines,
    cached in ``cache`` like :func:`synthetic_lines`."""
    styles = ",".join(f"{k}={v:g}" for k, v in sorted(mix.config.synthetic.styles.items()))
    key = f"mix:{cfg.plates}:{styles}:{cfg.seed}:{height}:{max_width}:{charset.chars}"
    cached = _read_line_cache(cache, key, charset)
    if cached is not None:
        return cached
    out, _ = make_lines(mix.synthetic_samples(cfg.plates, seed=cfg.seed), charset, height=height, max_width=max_width, keep=keep)
    out.weights.clear()
    if cache is not None:
        _write_line_cache(cache, key, out, height=height, max_width=max_width)
    return out


# --------------------------------------------------------------------------- loop


def rarity_weights(labels: Sequence[Sequence[int]], *, power: float = 0.5, cap: float = 4.0) -> np.ndarray:
    """Sampling probabilities of label sequences: ``min(cap, (m / count(c)) ** power)``
    for the rarest character ``c`` of each, ``m`` the count of the most common one;
    normalized.

    >>> w = rarity_weights([[0, 1], [0, 1], [0, 1], [0, 2]], power=1.0)
    >>> [round(float(x / w[0]), 2) for x in w]  # "0" seen 4 times, "1" 3 times, "2" once
    [1.0, 1.0, 1.0, 3.0]
    """
    counts: dict[int, int] = {}
    for lab in labels:
        for k in lab:
            counts[k] = counts.get(k, 0) + 1
    top = max(counts.values(), default=1)
    w = np.array([min(cap, max((top / counts[k] for k in lab), default=1.0) ** power) for lab in labels])
    out: np.ndarray = w / w.sum()
    return out


@dataclass(frozen=True)
class Stage:
    name: str
    epochs: int
    lr: float
    #: Whether the real lines are in each epoch, and how many synthetic ones.
    real: bool
    synthetic_per_epoch: int
    patience: int
    balance: float
    augment: AugmentConfig


def _load_init(model: nn.Module, init: str, name: str, charset: Charset) -> None:
    """Load the weights ``init`` (a shipped name or a path) into ``model``; their card
    must have the same charset, the state dict the same shapes."""
    from segocr.models.weights import load_into, load_weights, resolve_weights

    path = resolve_weights(init, name)
    state, card = load_weights(path)
    if card.get("charset") != charset.chars:
        raise DatasetError(f"init weights {path}: charset {card.get('charset')!r} is not the training charset {charset.chars!r}")
    load_into(model, state, source=path)


def _seed_everything(seed: int, stage: int, epoch: int) -> np.random.Generator:
    rng = np.random.default_rng([seed, stage, epoch])
    torch.manual_seed(int(rng.integers(2**31 - 1)))
    return rng


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema``'s parameters move towards ``model``'s by ``1 - decay``; buffers (batch
    norm statistics) are copied."""
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.lerp_(p, 1.0 - decay)
        for eb, b in zip(ema.buffers(), model.buffers()):
            eb.copy_(b)


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _batch_tensor(lines: Sequence[np.ndarray], width: int) -> torch.Tensor:
    return torch.from_numpy(np.stack([normalize_line(ln, width=width) for ln in lines])[:, None])


def evaluate_lines(
    rec: LineRecognizer, head: Head[Any], cfg: Any, x: torch.Tensor, labels: Sequence[Sequence[int]], texts: Sequence[str]
) -> dict[str, float]:
    """Validation loss, plate accuracy and CER of ``rec`` on prepared inputs ``x``."""
    rec.model.eval()
    losses, logits = [], []
    with torch.inference_mode():
        for i in range(0, len(x), 256):
            lg = rec.model(x[i : i + 256].to(rec.device))
            losses.append(float(head.loss(lg, labels[i : i + 256], cfg)) * len(lg))
            logits.append(lg.float().cpu().numpy())
    preds = [p.text for p in rec.decode(np.concatenate(logits))]
    return {
        "val_loss": sum(losses) / len(x),
        "val_plate_accuracy": M.plate_accuracy(list(texts), preds),
        "val_cer": M.character_error_rate(list(texts), preds),
    }


def train_sequence(
    head: Head[Any],
    cfg: Any,
    charset: Charset,
    fit: Lines,
    val: Lines,
    synth: Lines,
    out_dir: Path,
    *,
    device: str = "auto",
    resume: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    extra_state: dict[str, Any] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The epoch loop (see the module docstring). ``fit`` lines are at
    ``cfg.oversample`` x the input height, ``val`` lines at the input height.
    ``resume`` is a loaded checkpoint to go on from. Returns the model holding the
    best weights and the final checkpoint dict. ``on_epoch`` is called with each
    epoch's log row after its checkpoint is written."""
    dev = resolve_device(device)
    H, W = cfg.line.height, cfg.line.width
    torch.manual_seed(cfg.seed)
    model = head.build(cfg, len(charset)).to(dev)
    ema = head.build(cfg, len(charset)).to(dev)
    if cfg.init is not None and resume is None:
        _load_init(model, cfg.init, head.name, charset)
    ema.load_state_dict(model.state_dict())
    rec = head.recognizer(ema, charset, cfg, str(dev))
    x_val = _batch_tensor(val.lines, W)
    stages: list[Stage] = []
    if len(synth) and cfg.pretrain.epochs:
        aug = cfg.augment if cfg.pretrain.augment_p is None else cfg.augment.model_copy(update={"p": cfg.pretrain.augment_p})
        stages.append(Stage("pretrain", cfg.pretrain.epochs, cfg.pretrain.lr, False, len(synth), 0, 0.0, aug))
    n_syn = min(len(synth), round(cfg.finetune.synthetic_fraction * len(fit)))
    stages.append(
        Stage(
            "finetune", cfg.finetune.epochs, cfg.finetune.lr, True, n_syn, cfg.finetune.early_stop_patience,
            cfg.finetune.balance, cfg.augment,
        )
    )
    fit_p = rarity_weights(fit.labels, power=cfg.finetune.balance, cap=cfg.finetune.balance_cap)
    if fit.weights and any(w != 1.0 for w in fit.weights):  # a training mix: sources weigh
        fit_p = fit_p * np.asarray(fit.weights)
        fit_p = fit_p / fit_p.sum()

    ck: dict[str, Any] = resume or {
        "format": FORMAT, "stage": 0, "epoch": 0, "stage_done": False, "model": None, "optimizer": None,
        "scheduler": None, "best": None, "bad_epochs": 0, "history": [], "elapsed": 0.0, "done": False,
        "ema": None, "steps": 0, "best_val_loss": None,
    }  # fmt: skip
    if extra_state:
        ck.update(extra_state)
    if ck["model"] is not None:
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
    title = f"{head.name}: {len(fit)} fit / {len(val)} validation plates"

    for si in range(ck["stage"], len(stages)):
        st = stages[si]
        opt = torch.optim.AdamW(model.parameters(), lr=st.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr
        )
        if si == ck["stage"] and ck["optimizer"] is not None:
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
        else:
            ck.update(stage=si, epoch=0, stage_done=False, bad_epochs=0, best_val_loss=None)
        while not ck["stage_done"] and ck["epoch"] < st.epochs:
            epoch = ck["epoch"]
            t0 = time.perf_counter()
            rng = _seed_everything(cfg.seed, si, epoch)
            pool: list[tuple[np.ndarray, list[int]]] = []
            if st.real and st.balance > 0:
                draw = rng.choice(len(fit), size=len(fit), replace=True, p=fit_p)
                pool += [(fit.lines[i], fit.labels[i]) for i in draw.tolist()]
            elif st.real:
                pool += list(zip(fit.lines, fit.labels))
            if st.synthetic_per_epoch:
                pick = rng.choice(len(synth), size=st.synthetic_per_epoch, replace=False)
                pool += [(synth.lines[i], synth.labels[i]) for i in sorted(pick.tolist())]
            order = rng.permutation(len(pool))
            model.train()
            total, seen = 0.0, 0
            n_batches = math.ceil(len(order) / cfg.batch_size)
            bar = tqdm(total=n_batches, desc=f"{st.name} {epoch + 1}/{st.epochs}", unit="batch", disable=not progress, leave=False)
            for b in range(n_batches):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                lines = [augment_line(pool[i][0], rng=rng, config=st.augment, height=H, max_width=W) for i in idx]
                x = _batch_tensor(lines, W).to(dev)
                loss = head.loss(model(x), [pool[i][1] for i in idx], cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                ck["steps"] += 1
                _ema_update(ema, model, min(cfg.ema_decay, (1 + ck["steps"]) / (10 + ck["steps"])))
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                bar.set_postfix(loss=f"{total / seen:.3f}")
                bar.update()
            bar.close()
            row: dict[str, Any] = {
                "stage": st.name, "epoch": epoch + 1, "lr": opt.param_groups[0]["lr"], "loss": total / max(seen, 1),
            }  # fmt: skip
            row.update(evaluate_lines(rec, head, cfg, x_val, val.labels, val.texts))
            sched.step(row["val_loss"])
            row["seconds"] = round(time.perf_counter() - t0, 2)
            ck["history"].append(row)
            best = ck["best"]
            improved = ck["best_val_loss"] is None or row["val_loss"] < ck["best_val_loss"]
            ck["best_val_loss"] = row["val_loss"] if improved else ck["best_val_loss"]
            if best is None or validation_key(row) > tuple(best["score"]):
                ck["best"] = {"score": list(validation_key(row)), "state": _state_copy(ema), "stage": st.name, "epoch": epoch + 1, "row": dict(row)}
                improved = True
            ck["bad_epochs"] = 0 if improved else ck["bad_epochs"] + 1
            ck["epoch"] = epoch + 1
            if st.patience and ck["bad_epochs"] >= st.patience:
                ck["stage_done"] = True
            ck.update(model=_state_copy(model), ema=_state_copy(ema), optimizer=opt.state_dict(), scheduler=sched.state_dict())
            ck["elapsed"] += time.perf_counter() - t0
            save_checkpoint(ck, out_dir / CHECKPOINT)
            write_log(out_dir, ck["history"], title=title, warn=log)
            log(
                f"{st.name} epoch {epoch + 1:3d}/{st.epochs}  loss {row['loss']:.4f}  val loss {row['val_loss']:.4f}  "
                f"val plate acc {row['val_plate_accuracy']:.3f}  val CER {row['val_cer']:.4f}  lr {row['lr']:.1e}  {row['seconds']:.1f}s"
                + ("  (early stop)" if ck["stage_done"] else "")
            )
            if on_epoch is not None:
                on_epoch(row)
        ck["stage_done"] = True
    ck["done"] = True
    save_checkpoint(ck, out_dir / CHECKPOINT)
    if ck["best"] is not None:
        ema.load_state_dict(ck["best"]["state"])
    ema.eval()
    return ema, ck


# ---------------------------------------------------------------------------- run


def run_sequence_training(
    head: Head[Any],
    dataset: Dataset,
    out_dir: Path,
    cfg: Any,
    *,
    command: str,
    resume: bool = False,
    device: str = "auto",
    evaluate_test: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``head``'s model on ``dataset``'s train split into the run folder
    ``out_dir`` (see the module docstring); with ``resume`` go on from its checkpoint
    (``cfg`` must equal the run's config). Returns the card of the written weights."""
    t_start = time.perf_counter()
    resolved = cfg.model_dump(mode="json")
    ck = begin_run(out_dir, resolved, resume=resume)

    charset = dataset.charset
    H, W, O = cfg.line.height, cfg.line.width, cfg.oversample
    train = dataset.samples("train")
    fit_s, val_s = group_split(list(train), test_fraction=cfg.val_fraction, seed=cfg.seed + 1)
    if not fit_s or not val_s:
        raise DatasetError(f"{dataset.name}: {len(train)} training plates are too few to hold out a validation part")
    data_fp = {"dataset": dataset.name, "fit": fingerprint(fit_s), "val": fingerprint(val_s)}
    check_same_data(ck, data_fp, out_dir)

    def keep(n: int) -> bool:
        return head.fits(n, cfg)

    fit, fit_dropped = make_lines(fit_s, charset, height=O * H, max_width=O * W, keep=keep, progress=progress, desc="fit plates")
    val, val_dropped = make_lines(
        val_s, charset, height=H, max_width=W, keep=keep, progress=progress, desc="validation plates", resize=cfg.val_resize
    )
    if not len(fit) or not len(val):
        raise DatasetError(f"{dataset.name}: no usable plates left to fit or validate on (charset or length)")
    synth = Lines([], [], [])
    if cfg.pretrain.plates and (cfg.pretrain.epochs or cfg.finetune.synthetic_fraction) and isinstance(dataset, Mix):
        t0 = time.perf_counter()
        synth = mix_synthetic_lines(dataset, cfg.pretrain, charset, height=O * H, max_width=O * W, keep=keep, cache=out_dir / SYNTHETIC_CACHE)
        log(f"{len(synth)} synthetic plates of the mix's styles ready ({time.perf_counter() - t0:.0f}s)")
    elif cfg.pretrain.plates and (cfg.pretrain.epochs or cfg.finetune.synthetic_fraction):
        t0 = time.perf_counter()
        synth = synthetic_lines(cfg.pretrain, charset, height=O * H, max_width=O * W, keep=keep, cache=out_dir / SYNTHETIC_CACHE, progress=progress)
        log(f"{len(synth)} synthetic plates ready ({time.perf_counter() - t0:.0f}s)")
    log(f"{len(fit)} fit and {len(val)} validation plates ({fit_dropped + val_dropped} left out: charset or length)")
    model, ck = train_sequence(
        head, cfg, charset, fit, val, synth, out_dir, device=device, resume=ck, progress=progress, log=log,
        on_epoch=on_epoch, extra_state={"config": resolved, "data": data_fp},
    )  # fmt: skip
    rec = head.recognizer(model, charset, cfg, device)
    temperature = head.calibrate(rec, rec.logits(_batch_tensor(val.lines, W).numpy()), val.labels)
    if temperature is not None:
        log(f"temperature {temperature:.2f} (fitted on the {len(val)} validation plates)")
    best = ck["best"]
    metrics = measure_for_card(rec, head.name, dataset, evaluate_test=evaluate_test, log=log)
    model_fields = {
        "model": head.name,
        "architecture": head.architecture,
        "model_kwargs": head.model_kwargs(cfg),
        "parameters": sum(p.numel() for p in model.parameters()),
        "charset": charset.chars,
        "classes": head.classes,
        "input_size": [H, W],
        "config": rec.config.model_dump(mode="json") if hasattr(rec, "config") else {},
    }
    training = {
        "split": "train split of the dataset (segocr.datasets.splits.group_split by plate, seed 0, or the "
        f"release's own); its own {cfg.val_fraction:.0%} (by plate, seed {cfg.seed + 1}) held out for checkpoint choice",
        "seed": cfg.seed,
        "fit_plates": len(fit),
        "val_plates": len(val),
        "synthetic_plates": len(synth),
        "best_epoch": {"stage": best["stage"], "epoch": best["epoch"]} if best else None,
        "val_plate_accuracy": best["row"]["val_plate_accuracy"] if best else None,
        "val_cer": best["row"]["val_cer"] if best else None,
        "epochs_run": len(ck["history"]),
        "train_seconds": round(float(ck["elapsed"]), 1),
        "wall_seconds_this_session": round(time.perf_counter() - t_start, 1),
        "device": str(resolve_device(device)),
        "torch_threads": torch.get_num_threads(),
        "train_config": resolved,
    }
    return save_trained(
        model, out_dir / f"{head.name}.pt", dataset, model_fields=model_fields, training=training,
        command=command, metrics=metrics,
    )  # fmt: skip


def _runner(head: Head[Any]) -> Callable[..., dict[str, Any]]:
    def run(dataset: Dataset, out_dir: Path, cfg: Any, **kwargs: Any) -> dict[str, Any]:
        return run_sequence_training(head, dataset, out_dir, cfg, **kwargs)

    return run


register_trainer(Trainer("crnn", CRNNTrainConfig, _runner(CTCHead()), supports_resume=True))
register_trainer(Trainer("holistic", HolisticTrainConfig, _runner(SlotHead()), supports_resume=True))
