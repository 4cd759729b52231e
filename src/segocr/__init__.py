"""segocr: read licence plates from low-quality plate crops.

Public API: :func:`read`, :func:`read_plates` (plates in whole photos), :func:`read_track`, :func:`load_recognizer`, :class:`Prediction`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from segocr.api import load_recognizer, read, read_plates
from segocr.fusion import read_track
from segocr.recognizers.base import CharPrediction, Prediction

__all__ = ["CharPrediction", "Prediction", "__version__", "load_recognizer", "read", "read_plates", "read_track"]
