"""Several recognizers read each plate and their readings are fused into one.

The readers fail differently. segcnn segments the plate and classifies each box. The
CRNN reads the line as a whole. When both read the same number of characters, their
per-character posteriors are multiplied position by position, as independent
evidence. When the lengths differ, the more confident reading is taken. This is
:func:`segocr.fusion.fuse` with its default rule ``product-pick``, applied to the
readings of one image by different models instead of to several captures of one plate.

Registered recognizers:

- ``ensemble``: crnn and segcnn with their default (general) weights (the default
  reader of ``segocr read``);
- ``ensemble-iwt4s``: the IWT4S-only weights of both (``crnn-iwt4s``, ``segcnn-iwt4s``).

The members and the rule were chosen on validation plates
(``benchmarks/ensemble_validation.py``); the README gives the figures. Each ensemble has
a card (``cards/NAME.json``: members, rule, how it was chosen, licence) whose config
does two more things:

- it recalibrates the plate confidence per case (the members agree, aligned, pick).
  Taking the more confident of two readings overstates its confidence, so a Platt
  scaling fitted on the same validation plates corrects it;
- it sets ``accept_first``: a plate the first member reads at least that confidently
  is taken as it is, and the other members do not read it;
- it sets ``margins``: the crop is read as given and with these extra margins around
  it (:mod:`segocr.margins`), and the most confident reading is kept; with
  ``retry_below``, only the crops read as given less confidently than that;
- it names the members read by their int8 model (``int8``: ``NAME-int8.onnx`` beside
  their weights, made by ``segocr export --int8``) when ONNX Runtime serves them; with
  ``--runtime torch`` or a GPU they read in float.

The cost is the first member's plus the others' on the plates it was unsure of, once
per margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from segocr.errors import WeightsError
from segocr.fusion import DEFAULT_RULE, RULES, Rule, fuse_with_options
from segocr.recognizers.base import Prediction, Recognizer, register_recognizer

if TYPE_CHECKING:
    from segocr.formats.decoding import DecodeOptions

NAME = "ensemble"
#: Member ``info`` entries a fused prediction keeps (two-row reading).
_KEPT = ("rows", "row_bands")
#: Entries of the fusion's ``info`` a fused prediction keeps (not a picked member's own
#: details, such as segcnn's segment counts: they describe one member, not the reading).
_FUSED = ("fusion", "posteriors", "topn", "format")
#: Joins member names in ``weights`` (``segcnn+crnn``).
SEPARATOR = "+"


#: Cases of a fused reading, each with its own confidence calibration: every member
#: read the same text; same length, posteriors multiplied; the most confident reading
#: taken (lengths differ); a vote (rules ``product`` / ``mean`` with lengths differing).
#: ``first``: the first member's reading taken alone (``EnsembleConfig.accept_first``).
#: ``retried``: a crop read again at other margins (``EnsembleConfig.margins``): the most
#: confident of several readings overstates its confidence, so this map applies on top
#: of the reading's own case.
CASES = ("agree", "aligned", "pick", "vote", "first", "retried")
#: Where the ensembles' cards live (members, rule, calibration; how they were chosen).
CARDS_DIR = Path(__file__).resolve().parent / "cards"


class EnsembleConfig(BaseModel):
    """Which registered recognizers read each plate (each with its default weights), how
    their readings are fused (a :data:`segocr.fusion.RULES` name), and how the plate
    confidence is recalibrated per case (:data:`CASES`): ``(a, b)`` maps ``p`` to
    ``sigmoid(a * logit(p) + b)`` (fitted on validation plates; a case not listed keeps
    ``p``).

    >>> EnsembleConfig(calibration={"pick": (1.0, -0.5)}).recalibrate(0.5, "pick") < 0.5
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    members: tuple[str, ...] = Field(("crnn", "segcnn"), min_length=2)
    rule: str = DEFAULT_RULE
    calibration: dict[str, tuple[float, float]] = Field(default_factory=dict)
    #: A plate the first member reads with at least this confidence is taken as it is
    #: and not read by the others (None: every member reads every plate).
    accept_first: float | None = Field(None, gt=0, le=1)
    #: The crop is read at each of these margins (fractions of its height and width
    #: added on each side, :func:`segocr.margins.pad_crop`) and the most confident
    #: reading kept; ``(0.0,)``: as given only.
    margins: tuple[float, ...] = Field((0.0,), min_length=1)
    #: A crop read at the first margin with at least this confidence is not read at the
    #: others (None: every crop at every margin).
    retry_below: float | None = Field(None, gt=0, le=1)
    #: At the other margins, only readings with as many text rows as the crop's
    #: reading as given count (:func:`segocr.margins.read_at_margins`, ``keep_rows``).
    keep_rows: bool = False
    #: Members read by their int8 model (:func:`int8_weights`) when ONNX Runtime
    #: serves them (chosen on validation plates like the rest).
    int8: tuple[str, ...] = ()

    @field_validator("margins")
    @classmethod
    def _margins(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 <= m <= 1 for m in v):
            raise ValueError(f"margins are fractions of the crop size in [0, 1], got {list(v)}")
        return v

    @field_validator("rule")
    @classmethod
    def _rule(cls, v: str) -> str:
        if v not in RULES:
            raise ValueError(f"unknown fusion rule {v!r}; choose one of: {', '.join(RULES)}")
        return v

    @field_validator("calibration")
    @classmethod
    def _cases(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        unknown = sorted(set(v) - set(CASES))
        if unknown:
            raise ValueError(f"unknown calibration cases {unknown}; choose among: {', '.join(CASES)}")
        return v

    def recalibrate(self, p: float, case: str) -> float:
        """Plate confidence ``p`` of a reading of ``case``, recalibrated."""
        ab = self.calibration.get(case)
        if ab is None or not p > 0:
            return p
        q = min(max(p, 1e-9), 1 - 1e-9)
        return 1.0 / (1.0 + math.exp(-(ab[0] * math.log(q / (1 - q)) + ab[1])))


def case_of(preds: Sequence[Prediction], fused: Prediction) -> str:
    """Which :data:`CASES` a fused reading of ``preds`` is."""
    if len({p.text for p in preds}) == 1:
        return "agree"
    return str(fused.info.get("fusion", "pick"))


class EnsembleRecognizer:
    """Reads with every member, then fuses per image (see the module docstring).

    ``members`` must share one charset (the columns of their posteriors); ``config``
    gives the rule and calibration (its ``members`` names are what the loader loaded).
    A prediction's ``info["members"]`` holds each member's (name, text, confidence),
    ``info["fusion"]`` how the reading was made (``aligned``: posteriors multiplied;
    ``pick``: the most confident member's reading) and ``info["case"]`` its
    calibration case.
    """

    name = NAME

    def __init__(self, members: Sequence[Recognizer], config: EnsembleConfig | None = None, *, name: str = NAME) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        charsets = {str(getattr(m, "charset", None)) for m in members}
        if len(charsets) != 1:
            raise WeightsError(f"ensemble members read different charsets: {sorted(charsets)}")
        self.members = list(members)
        self.config = config or EnsembleConfig(members=tuple(m.name for m in members))
        self.charset = members[0].charset  # type: ignore[attr-defined]
        self.name = name
        #: The members' weight cards (their data, licences and metrics): an ensemble's
        #: terms are the strictest of its members'.
        self.card: dict[str, Any] = {
            "model": name,
            "config": self.config.model_dump(mode="json"),
            "members": [getattr(m, "card", None) or {"model": m.name} for m in members],
        }

    def predict(self, images: Sequence[np.ndarray], *, options: DecodeOptions | None = None) -> list[Prediction]:
        """uint8 images (H, W, 3) -> one fused :class:`Prediction` each (``options``:
        format and top-N, passed to every member and kept by the fusion). With
        ``config.accept_first`` the other members read only the images the first one
        did not read confidently. With several ``config.margins`` the crop is read at
        each (:func:`segocr.margins.read_at_margins`) and the most confident kept."""
        if not images:
            return []
        if self.config.margins != (0.0,):
            from segocr.margins import read_at_margins

            read = partial(self._read, options=options)
            preds = read_at_margins(
                read, images, self.config.margins, retry_below=self.config.retry_below, keep_rows=self.config.keep_rows
            )
            return [self.recalibrate_retried(p) for p in preds]
        return self._read(images, options)

    def recalibrate_retried(self, pred: Prediction) -> Prediction:
        """``pred`` with its confidence mapped by the ``retried`` calibration when its
        crop was read at more than one margin (``info["retried"]``)."""
        if not pred.info.get("retried"):
            return pred
        return replace(pred, confidence=self.config.recalibrate(pred.confidence, "retried"))

    def _read(self, images: Sequence[np.ndarray], options: DecodeOptions | None) -> list[Prediction]:
        """The cascade on ``images`` as they are (one margin)."""
        first = self.members[0].predict(images, options=options)  # type: ignore[call-arg]

        def others(todo: list[int]) -> list[list[Prediction]]:
            subset = [images[i] for i in todo]
            return [m.predict(subset, options=options) if subset else [] for m in self.members[1:]]  # type: ignore[call-arg]

        return self.cascade(first, others, options)

    def cascade(
        self,
        first: Sequence[Prediction],
        others: Callable[[list[int]], Sequence[Sequence[Prediction]]],
        options: DecodeOptions | None = None,
    ) -> list[Prediction]:
        """The ensemble's readings from the first member's predictions ``first`` and
        ``others(todo)``, the other members' predictions of the images at indices
        ``todo``: those the first member did not read with at least
        ``config.accept_first`` confidence (all of them when it is None). A reading
        taken from the first member alone is case ``first``."""
        thr = self.config.accept_first
        todo = [i for i, p in enumerate(first) if thr is None or p.confidence < thr]
        fused = iter(self.fuse_readings([[first[i] for i in todo], *others(todo)], options))
        done = set(todo)
        out = []
        for i, p in enumerate(first):
            if i in done:
                out.append(next(fused))
                continue
            info = {k: v for k, v in p.info.items() if k in _KEPT + _FUSED}
            info.update(members=[(self.members[0].name, p.text, p.confidence)], case="first")
            out.append(Prediction(p.text, self.config.recalibrate(p.confidence, "first"), p.chars, self.name, info))
        return out

    def fuse_readings(self, readings: Sequence[Sequence[Prediction]], options: DecodeOptions | None = None) -> list[Prediction]:
        """Each member's predictions of the same images (``readings[m][i]``) -> one
        fused prediction per image. Fused characters take their boxes from a member
        that read the same number of characters with boxes (segcnn), and the
        two-row details (``info["rows"]``, ``info["row_bands"]``) from the members."""
        out = []
        rule: Rule = self.config.rule  # type: ignore[assignment]
        for preds in zip(*readings, strict=True):
            fused = fuse_with_options(preds, self.charset, options, rule=rule)
            boxed = next((p for p in preds if len(p.chars) == len(fused.chars) and p.chars and all(c.box is not None for c in p.chars)), None)
            chars = fused.chars
            if boxed is not None and any(c.box is None for c in chars):
                chars = tuple(replace(c, box=b.box) for c, b in zip(chars, boxed.chars, strict=True))
            info = {k: v for p in preds for k, v in p.info.items() if k in _KEPT}
            info.update((k, v) for k, v in fused.info.items() if k in _FUSED)
            info["members"] = [(m.name, p.text, p.confidence) for m, p in zip(self.members, preds, strict=True)]
            info["case"] = case = case_of(preds, fused)
            out.append(Prediction(fused.text, self.config.recalibrate(fused.confidence, case), chars, self.name, info))
        return out

    def with_rows(self, config: Any) -> EnsembleRecognizer:
        """This ensemble with every member reading two-row plates
        (:func:`segocr.rows.with_rows` delegates here: each member stitches the rows
        for its own input, e.g. a line recognizer pads them to its aspect)."""
        from segocr.rows import with_rows

        return EnsembleRecognizer([with_rows(m, config) for m in self.members], self.config, name=self.name)


#: The registered ensembles; each has a card ``CARDS_DIR/NAME.json`` (its config).
ENSEMBLES: dict[str, tuple[str, ...]] = {NAME: ("crnn", "segcnn"), f"{NAME}-iwt4s": ("crnn-iwt4s", "segcnn-iwt4s")}


def ensemble_card(name: str) -> dict[str, Any]:
    """The card of registered ensemble ``name`` (``{}`` when it has none)."""
    path = CARDS_DIR / f"{name}.json"
    if not path.is_file():
        return {}
    try:
        card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path}: unreadable ensemble card ({exc})") from None
    return card


def load_ensemble(
    weights: str | None = None, device: str = "auto", runtime: str = "auto", *, name: str = NAME
) -> EnsembleRecognizer:
    """The ensemble registered as ``name`` (:data:`ENSEMBLES`) with the config of its
    card, members each with their default weights; ``weights``, if given, names other
    members joined by ``+`` (registered recognizer names, e.g.
    ``segcnn-iwt4s+crnn-iwt4s+holistic``; then no calibration applies). Raises
    :class:`segocr.errors.WeightsError` for fewer than two members or an unknown one."""
    from segocr.recognizers.base import recognizer_names

    card = ensemble_card(name)
    try:
        base = EnsembleConfig.model_validate(card.get("config", {"members": ENSEMBLES[name]}))
    except ValueError as exc:
        raise WeightsError(f"{CARDS_DIR / name}.json: {' '.join(str(exc).split())[:300]}") from None
    if weights is None:
        cfg = base
    else:
        try:
            cfg = EnsembleConfig(members=tuple(str(weights).split(SEPARATOR)), rule=base.rule)
        except ValueError:
            raise WeightsError(f"an ensemble needs two or more members joined by {SEPARATOR!r}, got {weights!r}") from None
    known = [n for n in recognizer_names() if n not in ENSEMBLES]
    for m in cfg.members:
        if m not in known:
            raise WeightsError(f"unknown ensemble member {m!r}; choose among: {', '.join(known)}")
    recs = [load_member(m, device=device, runtime=runtime, int8=m in cfg.int8) for m in cfg.members]
    return EnsembleRecognizer(recs, cfg, name=name)


def member_weights(member: str) -> Path:
    """The default weight file of recognizer ``member`` (a weights variant such as
    ``crnn-iwt4s`` names its shipped weights).

    >>> member_weights("crnn").name, member_weights("crnn-iwt4s").name
    ('crnn-general.pt', 'crnn.pt')
    """
    from segocr.models.weights import resolve_weights

    base = member.split("-")[0]
    return resolve_weights(None if member == base else member, base)


def int8_weights(member: str) -> Path | None:
    """The int8 model shipped for recognizer ``member``'s default weights
    (``NAME-int8.onnx`` beside ``NAME.pt``, made by ``segocr export --int8``), or None.

    >>> int8_weights("no-such-model") is None
    True
    """
    pt = member_weights(member)
    q = pt.with_name(f"{pt.stem}-int8.onnx")
    return q if q.is_file() else None


def load_member(member: str, *, device: str = "auto", runtime: str = "auto", int8: bool = False) -> Recognizer:
    """Recognizer ``member`` with its default weights; with ``int8``, its int8 model
    (:func:`int8_weights`) when there is one and ONNX Runtime would serve the member
    (:func:`segocr.runtime.choose_runtime`: not with ``runtime`` torch or a GPU)."""
    from segocr.api import load_recognizer

    q = int8_weights(member) if int8 else None
    if q is not None:
        from segocr.runtime import choose_runtime

        if choose_runtime(runtime, member_weights(member), device).runtime == "onnx":
            return load_recognizer(member, weights=str(q), device=device, runtime="onnx")
    return load_recognizer(member, device=device, runtime=runtime)


@register_recognizer(NAME)
def load_general_ensemble(weights: str | None = None, device: str = "auto", runtime: str = "auto") -> EnsembleRecognizer:
    """segcnn + crnn with their default (general) weights; see :func:`load_ensemble`."""
    return load_ensemble(weights, device, runtime, name=NAME)


@register_recognizer(f"{NAME}-iwt4s")
def load_iwt4s_ensemble(weights: str | None = None, device: str = "auto", runtime: str = "auto") -> EnsembleRecognizer:
    """segcnn-iwt4s + crnn-iwt4s (the IWT4S-only weights); see :func:`load_ensemble`."""
    return load_ensemble(weights, device, runtime, name=f"{NAME}-iwt4s")
