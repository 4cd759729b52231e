"""Recognizers: every reader behind one interface (:class:`Recognizer`), found by name
in a registry (``segcnn``, ``crnn``, ``holistic``)."""

from segocr.recognizers.base import (
    CharPrediction,
    Prediction,
    Recognizer,
    get_recognizer_factory,
    recognizer_names,
    register_recognizer,
)

__all__ = [
    "CharPrediction",
    "Prediction",
    "Recognizer",
    "get_recognizer_factory",
    "recognizer_names",
    "register_recognizer",
]
