"""Plates in whole photos: scene -> ranked plate quadrilaterals -> upright crops.

* :mod:`~segocr.locate.candidates`: plate-like regions (character rows from MSER,
  edge-density blobs);
* :mod:`~segocr.locate.locator`: candidates verified by reading them with the
  segmentation reader; :func:`locate` returns :class:`Plate` s best first;
* :mod:`~segocr.locate.pipeline`: crop or scene (``auto``/``always``/``never``) and
  reading each located plate with any recognizer (:class:`LocatingReader`);
* :mod:`~segocr.locate.geometry`: quads, IoU, the perspective warp;
* :mod:`~segocr.locate.scenes`: CCPD frames and UC3M-LP scenes with their plates, for
  measuring (``benchmarks/locate.py``).
"""

from segocr.errors import NoPlateFoundError
from segocr.locate.candidates import Candidate, CandidateConfig, find_candidates
from segocr.locate.locator import LocateConfig, Plate, crop_plate, fast_verifier, locate
from segocr.locate.pipeline import (
    LOCATE_MODES,
    NO_PLATE,
    Decision,
    LocateMode,
    LocatingReader,
    decide,
)

__all__ = [
    "LOCATE_MODES",
    "NO_PLATE",
    "Candidate",
    "CandidateConfig",
    "Decision",
    "LocateConfig",
    "LocateMode",
    "LocatingReader",
    "NoPlateFoundError",
    "Plate",
    "crop_plate",
    "decide",
    "fast_verifier",
    "find_candidates",
    "locate",
]
