"""The one interface every recognizer offers, its result types and the registry.

The CLI, the benchmark harness and the ablation runner only see :class:`Recognizer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel

from segocr.registry import Registry
from segocr.segment.boxes import CharBox


@dataclass(frozen=True)
class CharPrediction:
    """One read character: its value, the classifier's probability for it and, for
    recognizers that locate characters, its box in the input image."""

    char: str
    confidence: float
    box: CharBox | None = None


#: A plate-confidence calibration ``(a, d, b, c)``: see :func:`calibrated_confidence`.
PlateCalibration = tuple[float, float, float, float]


def calibrated_confidence(confidences: Sequence[float], calibration: PlateCalibration, rel: float = 0.0) -> float:
    """The plate confidence ``sigmoid(a * log(x) + d * x + b * rel + c)`` of a reading
    whose characters have ``confidences``: ``x`` = -log(their product) (at least 1e-6),
    ``rel`` = log prior of the read length minus the most common length's (0 without a
    length prior); ``(a, d, b, c)`` is fitted on validation plates
    (:func:`segocr.training.mixdata.calibrate_plates`).

    >>> round(calibrated_confidence([0.9, 0.9], (-1.0, 0.0, 0.0, 0.0)), 3)  # sigmoid(-log x)
    0.826
    """
    a, d, b, c = calibration
    log_raw = sum(math.log(max(p, 1e-12)) for p in confidences)
    x = max(-log_raw, 1e-6)
    z = a * math.log(x) + d * x + b * rel + c
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


@dataclass(frozen=True)
class Prediction:
    """A plate reading. ``confidence`` estimates P(whole plate correct): the product of
    the character confidences (0 for an empty reading), which a recognizer may scale by
    further evidence (segcnn: how plausible the read length is)."""

    text: str
    confidence: float
    chars: tuple[CharPrediction, ...] = ()
    recognizer: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_chars(cls, chars: Sequence[CharPrediction], recognizer: str, **info: Any) -> Prediction:
        """Build a prediction whose text and confidence follow from ``chars``.

        >>> p = Prediction.from_chars([CharPrediction("A", 0.5), CharPrediction("1", 0.5)], "x")
        >>> p.text, p.confidence
        ('A1', 0.25)
        """
        conf = float(np.prod([c.confidence for c in chars])) if chars else 0.0
        return cls("".join(c.char for c in chars), conf, tuple(chars), recognizer, dict(info))

    def __repr__(self) -> str:
        """A short form: the per-character details and ``info`` (posteriors, N-best
        lists, ...) are left out; ``to_dict`` and the fields have them.

        >>> Prediction.from_chars([CharPrediction("A", 0.5), CharPrediction("1", 0.5)], "x", n_segments=2)
        Prediction(text='A1', confidence=0.25, recognizer='x', chars=2, info=['n_segments'])
        """
        return (
            f"Prediction(text={self.text!r}, confidence={self.confidence:.4g}, recognizer={self.recognizer!r}, "
            f"chars={len(self.chars)}, info={sorted(self.info)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: text, confidence, recognizer and per character value,
        confidence and box ``[x, y, w, h]`` (or null)."""
        return {
            "text": self.text,
            "confidence": round(self.confidence, 6),
            "recognizer": self.recognizer,
            "chars": [
                {
                    "char": c.char,
                    "confidence": round(c.confidence, 6),
                    "box": c.box.as_list() if c.box is not None else None,
                }
                for c in self.chars
            ],
        }


@runtime_checkable
class Recognizer(Protocol):
    """Reads plates. ``images`` are uint8 RGB arrays of shape (H, W, 3) as returned by
    :func:`segocr.io.read_image`; the result has one :class:`Prediction` per image."""

    name: str

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]: ...


RecognizerFactory = Callable[..., Recognizer]
R = TypeVar("R")
RECOGNIZERS: Registry[RecognizerFactory] = Registry(
    "recognizer",
    builtin=("segocr.recognizers.crnn", "segocr.recognizers.holistic", "segocr.recognizers.segcnn", "segocr.ensemble"),
)


#: The recognizer that reads when none is named (``segocr read``, :func:`segocr.read`):
#: the ensemble of segcnn and crnn with their general weights, chosen on validation
#: plates (``benchmarks/ensemble_validation.py``; see :mod:`segocr.ensemble`).
DEFAULT_MODEL = "ensemble"


_Factory = TypeVar("_Factory", bound=RecognizerFactory)


def register_recognizer(name: str) -> Callable[[_Factory], _Factory]:
    """Decorator: register a factory ``f(weights=None, device="auto") -> Recognizer``
    (the factory keeps its own signature, so ``load_segcnn`` still returns a
    ``SegCNNRecognizer`` to the type checker)."""

    def deco(factory: _Factory) -> _Factory:
        RECOGNIZERS.add(name, factory)
        return factory

    return deco


def recognizer_names() -> list[str]:
    """Names of the registered recognizers."""
    return RECOGNIZERS.names()


#: Weights variants for one source only (e.g. ``crnn-ccpd``, Chinese plates): they can
#: be named everywhere, but a benchmark without ``--models`` leaves them out.
SOURCE_SPECIFIC: set[str] = set()


def default_benchmark_names() -> list[str]:
    """The recognizers a benchmark reads when none are named: every registered one
    but the source-specific variants (:data:`SOURCE_SPECIFIC`)."""
    return [n for n in recognizer_names() if n not in SOURCE_SPECIFIC]


def get_recognizer_factory(name: str) -> RecognizerFactory:
    """The factory registered as ``name``; an unknown name raises ``KeyError`` listing
    the valid ones."""
    return RECOGNIZERS.get(name)


def load_from_weights(
    name: str,
    weights: str | Path | None,
    *,
    build: Callable[[dict[str, Any]], Any],
    config_class: type[BaseModel],
    make: Callable[..., R],
    device: str = "auto",
    runtime: str = "auto",
) -> R:
    """The one loader of every recognizer: resolve ``weights`` (a path, a shipped name,
    or None for ``name``'s default), load its network on ``runtime`` (``build(card)``
    makes the torch module; see :mod:`segocr.runtime`), validate the card's charset and
    ``config_class`` config, and return ``make(network, charset, config, device=,
    card=)``. Missing or unfitting weights raise :class:`segocr.errors.WeightsError`."""
    from segocr.charset import Charset
    from segocr.models.weights import card_errors, resolve_weights
    from segocr.runtime import load_network

    path = resolve_weights(weights, name)
    net, card = load_network(path, build, runtime=runtime, device=device)
    with card_errors(path):
        charset = Charset(card["charset"])
        config = config_class.model_validate(card["config"])
    return make(net, charset, config, device=device, card=card)


def register_weights_variant(variant: str, loader: RecognizerFactory, *, source_specific: bool = False) -> None:
    """Register ``variant`` (e.g. ``segcnn-iwt4s``) as ``loader`` with the shipped
    weights of that name as its default: ``segocr benchmark`` can then show both
    (unless ``source_specific``: weights for one source's plates, read only when named)."""
    if source_specific:
        SOURCE_SPECIFIC.add(variant)

    def load(weights: str | Path | None = None, device: str = "auto", runtime: str = "auto") -> Recognizer:
        return loader(weights if weights is not None else variant, device=device, runtime=runtime)

    load.__qualname__ = f"load[{variant}]"
    load.__doc__ = f"{loader.__name__} with the weights shipped as {variant!r} unless ``weights`` is given."
    RECOGNIZERS.add(variant, load)
