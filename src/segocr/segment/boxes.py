"""Axis-aligned character boxes in the coordinates of the original image."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class CharBox:
    """A character's box: top-left ``(x, y)``, width ``w`` and height ``h`` in pixels of
    the image passed to the segmenter (not of any resized working copy).

    >>> CharBox(10, 5, 8, 20).x2
    18
    """

    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def as_list(self) -> list[int]:
        """``[x, y, w, h]`` for JSON."""
        return [self.x, self.y, self.w, self.h]

    def scaled(self, sx: float, sy: float) -> CharBox:
        """The box in an image scaled by ``sx`` horizontally and ``sy`` vertically."""
        x, y = round(self.x * sx), round(self.y * sy)
        return CharBox(x, y, max(1, round(self.x2 * sx) - x), max(1, round(self.y2 * sy) - y))


#: A box's sort key ``(x, y, w, h)``: its dataclass order without a Python-level
#: ``__lt__`` call per comparison (``sorted(boxes, key=box_key) == sorted(boxes)``).
box_key: Callable[[CharBox], tuple[int, int, int, int]] = operator.attrgetter("x", "y", "w", "h")


def box_iou(a: CharBox, b: CharBox) -> float:
    """Intersection over union of two boxes (0 when they do not overlap).

    >>> box_iou(CharBox(0, 0, 4, 2), CharBox(0, 0, 4, 4)), box_iou(CharBox(0, 0, 2, 2), CharBox(5, 0, 2, 2))
    (0.5, 0.0)
    """
    w = min(a.x2, b.x2) - max(a.x, b.x)
    h = min(a.y2, b.y2) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a.w * a.h + b.w * b.h - inter)
