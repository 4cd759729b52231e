"""Character segmentation: binarization, connected components, ordered character boxes."""

from segocr.segment.binarize import METHODS, BinarizeConfig, binarize, threshold_surface
from segocr.segment.boxes import CharBox
from segocr.segment.characters import Hypothesis, Segmentation, SegmentConfig, find_characters

__all__ = [
    "METHODS",
    "BinarizeConfig",
    "CharBox",
    "Hypothesis",
    "SegmentConfig",
    "Segmentation",
    "binarize",
    "find_characters",
    "threshold_surface",
]
