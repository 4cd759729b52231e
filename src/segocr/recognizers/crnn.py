"""The CRNN recognizer: plate -> 32xW gray line (aspect kept, padded) ->
:class:`segocr.models.crnn.CRNN` -> (T, C) logits -> CTC greedy or beam decoding."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.charset import Charset
from segocr.models.weights import (
    card_errors,
    card_model_kwargs,
    resolve_weights,
)
from segocr.recognizers.base import register_recognizer
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


class CRNNRecognizer(LineRecognizer):
    """CRNN + CTC decoding; the blank is the class after the charset."""

    name = NAME

    def __init__(self, model: CRNN | Network, charset: Charset, config: CRNNConfig, *, device: Any = "auto", card: dict[str, Any] | None = None) -> None:
        super().__init__(model, charset, config.line, device=device, card=card)
        self.config = config

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
    from segocr.runtime import load_network

    path = resolve_weights(weights, NAME)

    def build(card: dict[str, Any]) -> CRNN:
        from segocr.models.crnn import CRNN

        height = CRNNConfig.model_validate(card["config"]).line.height
        return CRNN(num_classes=len(Charset(card["charset"])) + 1, input_height=height, **card_model_kwargs(card))

    net, card = load_network(path, build, runtime=runtime, device=device)
    with card_errors(path):
        charset = Charset(card["charset"])
        config = CRNNConfig.model_validate(card["config"])
    return CRNNRecognizer(net, charset, config, device=device, card=card)


@register_recognizer(f"{NAME}-iwt4s")
def load_crnn_iwt4s(weights: str | Path | None = None, device: str = "auto", runtime: str = "auto") -> CRNNRecognizer:
    """The crnn weights trained on IWT4S alone (``crnn.pt``), beside the general default
    (``crnn-general.pt``): ``segocr benchmark`` shows both."""
    return load_crnn(weights if weights is not None else f"{NAME}-iwt4s", device=device, runtime=runtime)
