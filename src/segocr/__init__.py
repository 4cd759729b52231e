"""segocr: read licence plates from low-quality plate crops.

Public API: :func:`read`, :func:`read_plates` (plates in whole photos), :func:`read_track`, :func:`load_recognizer`, :class:`Prediction`.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

# ONNX Runtime's telemetry (on by default on Linux since 1.29: a device id and an event
# queue under ~/.cache/Microsoft, uploads to Microsoft, a warning on stderr when HOME is
# read-only) is turned off before any module of segocr, or a program that imports one
# first (benchmarks/peers.py's RapidOCR), imports onnxruntime: no network at run time.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from segocr.api import load_recognizer, read, read_plates
from segocr.fusion import read_track
from segocr.recognizers.base import CharPrediction, Prediction

__all__ = ["CharPrediction", "Prediction", "__version__", "load_recognizer", "read", "read_plates", "read_track"]
