"""Quadrilaterals: ordering, areas, overlap and the perspective warp to an upright crop.

A quadrilateral (``Quad``) is a float array of shape (4, 2): (x, y) pixel corners in the
order top-left, top-right, bottom-right, bottom-left.
"""

from __future__ import annotations

import cv2
import numpy as np

#: (4, 2) float32 corners: top-left, top-right, bottom-right, bottom-left.
Quad = np.ndarray


def order_quad(points: np.ndarray) -> Quad:
    """The 4 points of ``points`` (4, 2) as top-left, top-right, bottom-right,
    bottom-left (the two leftmost by x are the left side; top is the smaller y).

    >>> order_quad(np.array([[10, 10], [0, 0], [10, 0], [0, 10]])).tolist()
    [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]
    """
    p = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = p[np.argsort(p[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def box_quad(x1: float, y1: float, x2: float, y2: float) -> Quad:
    """The axis-aligned box (x1, y1)-(x2, y2) as a quad.

    >>> box_quad(0, 0, 4, 2).tolist()
    [[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]]
    """
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)


def quad_area(quad: Quad) -> float:
    """Area of a simple polygon (shoelace).

    >>> quad_area(box_quad(0, 0, 4, 2))
    8.0
    """
    q = np.asarray(quad, dtype=np.float64)
    x, y = q[:, 0], q[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def quad_iou(a: Quad, b: Quad) -> float:
    """Intersection over union of two convex quads (0 when either is degenerate).

    >>> quad_iou(box_quad(0, 0, 4, 2), box_quad(2, 0, 6, 2))
    0.3333333333333333
    """
    pa, pb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    area_a, area_b = quad_area(pa), quad_area(pb)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    inter = max(float(inter), 0.0)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def bbox_of(quad: Quad) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of the axis-aligned box around ``quad``."""
    q = np.asarray(quad, dtype=np.float32)
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def box_iou(a: Quad, b: Quad) -> float:
    """IoU of the axis-aligned boxes around two quads (the usual detection measure).

    >>> box_iou(box_quad(0, 0, 4, 2), box_quad(0, 0, 4, 4))
    0.5
    """
    return quad_iou(box_quad(*bbox_of(a)), box_quad(*bbox_of(b)))


def scale_quad(quad: Quad, sx: float, sy: float | None = None) -> Quad:
    """Quad corners multiplied by (sx, sy) (to move between image scales)."""
    s = np.array([sx, sx if sy is None else sy], dtype=np.float32)
    return (np.asarray(quad, np.float32) * s).astype(np.float32)


def grow_quad(quad: Quad, *, dx: float, dy: float) -> Quad:
    """The quad grown about its centre along its own axes: each side moved out by
    ``dx`` x its width (left and right) and ``dy`` x its height (top and bottom).

    >>> grow_quad(box_quad(0, 0, 10, 4), dx=0.1, dy=0.25).tolist()
    [[-1.0, -1.0], [11.0, -1.0], [11.0, 5.0], [-1.0, 5.0]]
    """
    q = np.asarray(quad, np.float64)
    tl, tr, br, bl = q
    ux = ((tr - tl) + (br - bl)) / 2  # the width vector
    uy = ((bl - tl) + (br - tr)) / 2  # the height vector
    ex, ey = ux * dx, uy * dy
    return np.array([tl - ex - ey, tr + ex - ey, br + ex + ey, bl - ex + ey], dtype=np.float32)


def quad_size(quad: Quad) -> tuple[float, float]:
    """(width, height): the mean lengths of the top/bottom and left/right sides."""
    tl, tr, br, bl = np.asarray(quad, np.float64)
    w = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    h = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    return float(w), float(h)


def rectify(
    image: np.ndarray, quad: Quad, *, height: int = 64, width: int | None = None
) -> np.ndarray:
    """The inside of ``quad`` warped upright to ``height`` rows (and ``width`` columns,
    by default the quad's own aspect ratio), bilinear, borders replicated.
    ``image``: (H, W) or (H, W, C) uint8; returns (height, width[, C]).

    >>> img = np.zeros((50, 100, 3), np.uint8); img[10:30, 20:80] = 255
    >>> out = rectify(img, box_quad(20, 10, 79, 29), height=20)
    >>> out.shape, int(out.min())
    ((20, 60, 3), 255)
    """
    w, h = quad_size(quad)
    if width is None:
        width = max(8, round(height * (w + 1) / max(h + 1, 1.0)))
    dst = box_quad(0, 0, width - 1, height - 1)
    matrix = cv2.getPerspectiveTransform(np.asarray(quad, np.float32), dst)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
