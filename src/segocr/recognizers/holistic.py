"""The holistic recognizer: plate -> gray line at the card's input size (48x160 for the
shipped weights; aspect kept, padded) -> :class:`segocr.models.holistic.HolisticCNN` ->
(K, C) slot logits -> slot decoding (pad slots stripped)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.charset import Charset
from segocr.models.weights import card_model_kwargs
from segocr.recognizers.base import load_from_weights, register_recognizer
from segocr.recognizers.decode import Decoded, slot_decode
from segocr.recognizers.textline import LineConfig, LineRecognizer

if TYPE_CHECKING:
    from segocr.formats.schema import Automaton

if TYPE_CHECKING:
    from segocr.models.holistic import HolisticCNN
    from segocr.runtime import Network

NAME = "holistic"


class HolisticConfig(BaseModel):
    """Inference settings of the holistic recognizer (stored in its weight card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    line: LineConfig = LineConfig()
    slots: int = Field(8, ge=1, le=32)
    #: Logits are divided by this before the softmax (fitted on validation plates
    #: after training; cards without it: 1.0). It changes confidences, not readings.
    temperature: float = Field(1.0, gt=0)


class HolisticRecognizer(LineRecognizer):
    """Fixed-slot CNN; the pad is the class after the charset."""

    name = NAME

    def __init__(
        self, model: HolisticCNN | Network, charset: Charset, config: HolisticConfig, *, device: Any = "auto", card: dict[str, Any] | None = None
    ) -> None:
        super().__init__(model, charset, config.line, device=device, card=card)
        self.config = config

    def decode_one(self, logits: np.ndarray, patterns: Automaton | None = None, topn: int = 1) -> Decoded:
        """(slots, len(charset) + 1) logits -> decoded indices (under ``patterns``: the
        best legal slot sequence, characters first and pads after)."""
        return slot_decode(logits / self.config.temperature, pad=len(self.charset), patterns=patterns, topn=topn)


@register_recognizer(NAME)
def load_holistic(weights: str | Path | None = None, device: str = "auto", runtime: str = "auto") -> HolisticRecognizer:
    """The holistic recognizer with the shipped weights (or ``weights``), its network on
    ``runtime`` (``auto``, ``onnx`` or ``torch``; see :mod:`segocr.runtime`); raises
    :class:`segocr.errors.WeightsError` when they are missing or do not fit."""

    def build(card: dict[str, Any]) -> HolisticCNN:
        from segocr.models.holistic import HolisticCNN

        config = HolisticConfig.model_validate(card["config"])
        return HolisticCNN(
            num_classes=len(Charset(card["charset"])) + 1,
            slots=config.slots,
            input_height=config.line.height,
            input_width=config.line.width,
            **card_model_kwargs(card),
        )

    return load_from_weights(
        NAME, weights, build=build, config_class=HolisticConfig, make=HolisticRecognizer, device=device, runtime=runtime
    )
