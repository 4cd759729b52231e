"""Several recognizers read each plate and their readings are fused into one.

The readers fail differently. segcnn segments the plate and classifies each box. The
CRNN reads the line as a whole. When both read the same number of characters, their
per-character posteriors are multiplied position by position, as independent
evidence. When the lengths differ, the more confident reading is taken. This is
:func:`segocr.fusion.fuse` with its default rule ``product-pick``, applied to the
readings of one image by different models instead of to several captures of one plate.

Registered recognizers:

- ``ensemble``: segcnn and crnn with their default (general) weights;
- ``ensemble-iwt4s``: the IWT4S-only weights of both (``segcnn-iwt4s``, ``crnn-iwt4s``).

The members and the rule were chosen on validation plates
(``benchmarks/ensemble_validation.py``); the README gives the figures. The cost is the
sum of the members' costs: one image is read by every member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
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
#: Joins member names in ``weights`` (``segcnn+crnn``).
SEPARATOR = "+"


class EnsembleConfig(BaseModel):
    """Which registered recognizers read each plate (each with its default weights), and
    how their readings are fused (a :data:`segocr.fusion.RULES` name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    members: tuple[str, ...] = Field(("segcnn", "crnn"), min_length=2)
    rule: str = DEFAULT_RULE

    @field_validator("rule")
    @classmethod
    def _rule(cls, v: str) -> str:
        if v not in RULES:
            raise ValueError(f"unknown fusion rule {v!r}; choose one of: {', '.join(RULES)}")
        return v


class EnsembleRecognizer:
    """Reads with every member, then fuses per image (see the module docstring).

    ``members`` must share one charset (the columns of their posteriors). A
    prediction's ``info["members"]`` holds each member's (name, text, confidence);
    ``info["fusion"]`` says how the reading was made (``aligned``: posteriors
    multiplied; ``pick``: the most confident member's reading).
    """

    name = NAME

    def __init__(self, members: Sequence[Recognizer], *, rule: str = DEFAULT_RULE, name: str = NAME) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        charsets = {str(getattr(m, "charset", None)) for m in members}
        if len(charsets) != 1:
            raise WeightsError(f"ensemble members read different charsets: {sorted(charsets)}")
        if rule not in RULES:
            raise ValueError(f"unknown fusion rule {rule!r}; choose one of: {', '.join(RULES)}")
        self.members = list(members)
        self.charset = members[0].charset  # type: ignore[attr-defined]
        self.rule: Rule = rule  # type: ignore[assignment]
        self.name = name
        #: The members' weight cards (their data, licences and metrics): an ensemble's
        #: terms are the strictest of its members'.
        self.card: dict[str, Any] = {"model": name, "members": [getattr(m, "card", None) or {"model": m.name} for m in members]}

    def predict(self, images: Sequence[np.ndarray], *, options: DecodeOptions | None = None) -> list[Prediction]:
        """uint8 images (H, W, 3) -> one fused :class:`Prediction` each (``options``:
        format and top-N, passed to every member and kept by the fusion)."""
        if not images:
            return []
        readings = [m.predict(images, options=options) for m in self.members]  # type: ignore[call-arg]
        return self.fuse_readings(readings, options)

    def fuse_readings(self, readings: Sequence[Sequence[Prediction]], options: DecodeOptions | None = None) -> list[Prediction]:
        """Each member's predictions of the same images (``readings[m][i]``) -> one
        fused prediction per image. Fused characters take their boxes from a member
        that read the same number of characters with boxes (segcnn), and the
        two-row details (``info["rows"]``, ``info["row_bands"]``) from the members."""
        out = []
        for preds in zip(*readings, strict=True):
            fused = fuse_with_options(preds, self.charset, options, rule=self.rule)
            boxed = next((p for p in preds if len(p.chars) == len(fused.chars) and p.chars and all(c.box is not None for c in p.chars)), None)
            chars = fused.chars
            if boxed is not None and any(c.box is None for c in chars):
                chars = tuple(replace(c, box=b.box) for c, b in zip(chars, boxed.chars, strict=True))
            info = {k: v for p in preds for k, v in p.info.items() if k in _KEPT}
            info.update((k, v) for k, v in fused.info.items() if k != "captures")
            info["members"] = [(m.name, p.text, p.confidence) for m, p in zip(self.members, preds, strict=True)]
            out.append(Prediction(fused.text, fused.confidence, chars, self.name, info))
        return out

    def with_rows(self, config: Any) -> EnsembleRecognizer:
        """This ensemble with every member reading two-row plates
        (:func:`segocr.rows.with_rows` delegates here: each member stitches the rows
        for its own input, e.g. a line recognizer pads them to its aspect)."""
        from segocr.rows import with_rows

        return EnsembleRecognizer([with_rows(m, config) for m in self.members], rule=self.rule, name=self.name)


#: The registered ensembles and their default members.
ENSEMBLES: dict[str, tuple[str, ...]] = {NAME: ("segcnn", "crnn"), f"{NAME}-iwt4s": ("segcnn-iwt4s", "crnn-iwt4s")}


def load_ensemble(
    weights: str | None = None, device: str = "auto", runtime: str = "auto", *, name: str = NAME
) -> EnsembleRecognizer:
    """The ensemble registered as ``name`` (:data:`ENSEMBLES`), its members each with
    their default weights; ``weights``, if given, names other members joined by ``+``
    (registered recognizer names, e.g. ``segcnn-iwt4s+crnn-iwt4s+holistic``). Raises
    :class:`segocr.errors.WeightsError` for fewer than two members or an unknown one."""
    from segocr.api import load_recognizer
    from segocr.recognizers.base import recognizer_names

    members = ENSEMBLES[name] if weights is None else tuple(str(weights).split(SEPARATOR))
    try:
        cfg = EnsembleConfig(members=members)
    except ValueError:
        raise WeightsError(f"an ensemble needs two or more members joined by {SEPARATOR!r}, got {weights!r}") from None
    known = [n for n in recognizer_names() if n not in ENSEMBLES]
    for m in cfg.members:
        if m not in known:
            raise WeightsError(f"unknown ensemble member {m!r}; choose among: {', '.join(known)}")
    if runtime == "auto":
        recs = [load_recognizer(m, device=device) for m in cfg.members]
    else:
        recs = [load_recognizer(m, device=device, runtime=runtime) for m in cfg.members]
    return EnsembleRecognizer(recs, rule=cfg.rule, name=name)


@register_recognizer(NAME)
def load_general_ensemble(weights: str | None = None, device: str = "auto", runtime: str = "auto") -> EnsembleRecognizer:
    """segcnn + crnn with their default (general) weights; see :func:`load_ensemble`."""
    return load_ensemble(weights, device, runtime, name=NAME)


@register_recognizer(f"{NAME}-iwt4s")
def load_iwt4s_ensemble(weights: str | None = None, device: str = "auto", runtime: str = "auto") -> EnsembleRecognizer:
    """segcnn-iwt4s + crnn-iwt4s (the IWT4S-only weights); see :func:`load_ensemble`."""
    return load_ensemble(weights, device, runtime, name=f"{NAME}-iwt4s")
