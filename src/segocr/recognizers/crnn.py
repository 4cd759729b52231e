"""The CRNN recognizer: plate -> 32xW gray line (aspect kept, padded) ->
:class:`segocr.models.crnn.CRNN` -> (T, C) logits -> CTC greedy or beam decoding."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.charset import Charset
from segocr.models.weights import card_model_kwargs
from segocr.recognizers.base import (
    PlateCalibration,
    Prediction,
    calibrated_confidence,
    load_from_weights,
    register_recognizer,
    register_weights_variant,
)
from segocr.recognizers.decode import Decoded, ctc_beam_decode, ctc_greedy_decode
from segocr.recognizers.textline import LineConfig, LineRecognizer

if TYPE_CHECKING:
    from segocr.formats.schema import Automaton

if TYPE_CHECKING:
    from segocr.models.crnn import CRNN
    from segocr.runtime import Network

NAME = "crnn"


class CRNNConfig(BaseModel):
    """Inference settings of the CRNN recognizer (stored in its weight card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    line: LineConfig = LineConfig()
    decoder: Literal["greedy", "beam"] = "beam"
    beam_width: int = Field(8, ge=1, le=100)
    #: Beam width of the search under a plate format or for top-N (dead prefixes are
    #: cut, so the beam needs room for the legal ones).
    format_beam_width: int = Field(32, ge=1, le=500)
    #: (a, d, b, c): the plate confidence ``sigmoid(a * log(x) + d * x + c)`` with ``x`` =
    #: -log(product of the character confidences)
    #: (:func:`segocr.recognizers.base.calibrated_confidence`; no length prior, so ``b``
    #: is unused), fitted on the validation plates of its training
    #: (``python -m segocr.training.mixdata --weights W``). None: the product itself.
    plate_calibration: PlateCalibration | None = None


class CRNNRecognizer(LineRecognizer):
    """CRNN + CTC decoding; the blank is the class after the charset."""

    name = NAME

    def __init__(self, model: CRNN | Network, charset: Charset, config: CRNNConfig, *, device: Any = "auto", card: dict[str, Any] | None = None) -> None:
        super().__init__(model, charset, config.line, device=device, card=card)
        self.config = config

    def to_prediction(self, decoded: Decoded, **info: Any) -> Prediction:
        """The line reader's prediction, its plate confidence calibrated when the card
        has a ``plate_calibration``."""
        pred = super().to_prediction(decoded, **info)
        cal = self.config.plate_calibration
        if cal is None or not pred.chars:
            return pred
        return replace(pred, confidence=calibrated_confidence([c.confidence for c in pred.chars], cal))

    def decode_one(self, logits: np.ndarray, patterns: Automaton | None = None, topn: int = 1) -> Decoded:
        """(T, len(charset) + 1) logits -> decoded indices. Under ``patterns`` or for
        ``topn`` > 1 the prefix beam search runs (``format_beam_width`` wide), whatever
        the decoder setting."""
        blank = len(self.charset)
        if patterns is not None or topn > 1:
            width = max(self.config.format_beam_width if patterns is not None else self.config.beam_width, topn)
            return ctc_beam_decode(logits, beam_width=width, blank=blank, patterns=patterns, topn=topn)
        if self.config.decoder == "greedy":
            return ctc_greedy_decode(logits, blank=blank)
        return ctc_beam_decode(logits, beam_width=self.config.beam_width, blank=blank)


@register_recognizer(NAME)
def load_crnn(weights: str | Path | None = None, device: str = "auto", runtime: str = "auto") -> CRNNRecognizer:
    """The crnn recognizer with the shipped weights (or ``weights``), its network on
    ``runtime`` (``auto``, ``onnx`` or ``torch``; see :mod:`segocr.runtime`); raises
    :class:`segocr.errors.WeightsError` when they are missing or do not fit."""

    def build(card: dict[str, Any]) -> CRNN:
        from segocr.models.crnn import CRNN

        height = CRNNConfig.model_validate(card["config"]).line.height
        return CRNN(num_classes=len(Charset(card["charset"])) + 1, input_height=height, **card_model_kwargs(card))

    return load_from_weights(
        NAME, weights, build=build, config_class=CRNNConfig, make=CRNNRecognizer, device=device, runtime=runtime
    )


#: The crnn weights trained on IWT4S alone (``crnn.pt``), beside the general default.
register_weights_variant(f"{NAME}-iwt4s", load_crnn)
#: A half-cost CRNN trained on IWT4S alone (``crnn-fast.pt``: configs/crnn-small.yaml).
register_weights_variant(f"{NAME}-fast", load_crnn)
#: The CRNN for Chinese plates, trained on CCPD with the province characters (``crnn-ccpd.pt``).
register_weights_variant(f"{NAME}-ccpd", load_crnn, source_specific=True)
