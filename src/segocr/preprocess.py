"""Preprocessing: pure image operations and a :class:`Pipeline` built from a config.

Every operation takes the image first and its options as keywords, never mutates its
input and returns a new uint8 array. Images are uint8, either gray (H, W) or RGB
(H, W, 3); each op says what it does with colour.

A pipeline is a validated list of named steps (discriminated by ``op``), so an ablation
is just another config:

>>> cfg = PipelineConfig.model_validate(
...     {"steps": [{"op": "gray"}, {"op": "clahe", "clip_limit": 2.0}, {"op": "unsharp", "amount": 1.0}]})
>>> pipe = Pipeline(cfg)
>>> pipe(np.full((20, 60, 3), 128, np.uint8)).shape
(20, 60)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from segocr.errors import ConfigError


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_uint8(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"expected a uint8 gray (H, W) or RGB (H, W, 3) image, got {image.dtype} {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")


# --- pure operations --------------------------------------------------------------


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luma (BT.601) of an RGB image, (H, W, 3) -> (H, W); gray input is copied.

    >>> to_gray(np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)).tolist()
    [[76, 150]]
    """
    _check_uint8(image)
    if image.ndim == 2:
        return image.copy()
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


#: Most CLAHE tiles per axis (each tile keeps a histogram).
MAX_TILES = 64


def clahe(image: np.ndarray, *, clip_limit: float = 2.0, tile_grid: tuple[int, int] = (4, 8)) -> np.ndarray:
    """Contrast-limited adaptive histogram equalization. ``tile_grid`` is (rows, cols)
    of tiles. RGB images are equalized on the L channel of Lab; shape is kept.

    >>> img = np.tile(np.linspace(100, 140, 32, dtype=np.uint8), (16, 1))
    >>> out = clahe(img, clip_limit=4.0)
    >>> int(out.max()) - int(out.min()) > 40
    True
    """
    _check_uint8(image)
    rows, cols = tile_grid
    if not all(isinstance(n, int | np.integer) and 1 <= n <= MAX_TILES for n in (rows, cols)):
        # OpenCV kills the process (SIGFPE) on a zero or negative grid.
        raise ValueError(f"tile_grid must be two ints in 1..{MAX_TILES}, got {tile_grid!r}")
    op = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(int(cols), int(rows)))
    if image.ndim == 2:
        return op.apply(image)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = op.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def unsharp_mask(image: np.ndarray, *, sigma: float = 1.5, amount: float = 1.0, threshold: int = 0) -> np.ndarray:
    """``image + amount * (image - gaussian(image, sigma))``, applied only where the
    absolute difference exceeds ``threshold`` (0..255). Shape is kept.

    >>> step = np.zeros((9, 9), np.uint8); step[:, 5:] = 200
    >>> out = unsharp_mask(step, sigma=1.0, amount=1.0)
    >>> bool(out[4, 5] > 200), bool(out[4, 4] == 0)
    (True, True)
    """
    _check_uint8(image)
    if not sigma > 0:  # also refuses NaN
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if not abs(amount) <= 1e4:  # also refuses NaN and infinity
        raise ValueError(f"amount must be a number in [-1e4, 1e4], got {amount!r}")
    src = image.astype(np.float32)
    blurred = cv2.GaussianBlur(src, (0, 0), sigmaX=float(sigma))
    detail = src - blurred
    if threshold > 0:
        detail = np.where(np.abs(detail) > threshold, detail, 0.0)
    return np.clip(src + amount * detail, 0, 255).round().astype(np.uint8)


def denoise(image: np.ndarray, *, method: str = "bilateral", strength: float = 5.0) -> np.ndarray:
    """Edge-preserving smoothing: ``bilateral`` (diameter 5, sigmas ~ ``strength*10``),
    ``nlmeans`` (OpenCV fast non-local means, h = ``strength``) or ``median`` (kernel
    ``2*round(strength/2)+1``). Shape is kept."""
    _check_uint8(image)
    if not 0 < strength < float("inf"):
        raise ValueError(f"strength must be a positive number, got {strength!r}")
    if method == "bilateral":
        return cv2.bilateralFilter(image, 5, strength * 10, strength * 10)
    if method == "nlmeans":
        if image.ndim == 2:
            return cv2.fastNlMeansDenoising(image, None, h=float(strength))
        return cv2.fastNlMeansDenoisingColored(image, None, float(strength), float(strength))
    if method == "median":
        return cv2.medianBlur(image, 2 * round(strength / 2) + 1)
    raise ValueError(f"unknown denoise method {method!r}; choose bilateral, nlmeans or median")


def resize_to_height(image: np.ndarray, *, height: int = 64, max_width: int = 4096) -> np.ndarray:
    """Resize keeping the aspect ratio so the result is ``height`` rows (width capped at
    ``max_width``); area interpolation when shrinking, cubic when growing.

    >>> resize_to_height(np.zeros((10, 30), np.uint8), height=20).shape
    (20, 60)
    """
    _check_uint8(image)
    if height < 1 or max_width < 1:
        raise ValueError(f"height and max_width must be at least 1, got {height!r} and {max_width!r}")
    h, w = image.shape[:2]
    new_w = int(min(max_width, max(1, round(w * height / h))))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return cv2.resize(image, (new_w, int(height)), interpolation=interp)


# --- config: one model per step, discriminated by `op` -------------------------------


class GrayStep(_Step):
    op: Literal["gray"] = "gray"


class ClaheStep(_Step):
    op: Literal["clahe"] = "clahe"
    clip_limit: float = Field(2.0, gt=0, le=40)
    tile_grid: tuple[Annotated[int, Field(ge=1, le=MAX_TILES)], Annotated[int, Field(ge=1, le=MAX_TILES)]] = (4, 8)


class UnsharpStep(_Step):
    op: Literal["unsharp"] = "unsharp"
    sigma: float = Field(1.5, gt=0, le=20)
    amount: float = Field(1.0, ge=0, le=10)
    threshold: int = Field(0, ge=0, le=255)


class DenoiseStep(_Step):
    op: Literal["denoise"] = "denoise"
    method: Literal["bilateral", "nlmeans", "median"] = "bilateral"
    strength: float = Field(5.0, gt=0, le=50)


class ResizeStep(_Step):
    op: Literal["resize"] = "resize"
    height: int = Field(64, ge=8, le=1024)
    max_width: int = Field(4096, ge=8)


StepConfig = Annotated[
    GrayStep | ClaheStep | UnsharpStep | DenoiseStep | ResizeStep, Field(discriminator="op")
]

#: The registry of steps: ``op`` name -> function applying a validated step.
STEPS: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "gray": lambda img, s: to_gray(img),
    "clahe": lambda img, s: clahe(img, clip_limit=s.clip_limit, tile_grid=s.tile_grid),
    "unsharp": lambda img, s: unsharp_mask(img, sigma=s.sigma, amount=s.amount, threshold=s.threshold),
    "denoise": lambda img, s: denoise(img, method=s.method, strength=s.strength),
    "resize": lambda img, s: resize_to_height(img, height=s.height, max_width=s.max_width),
}


class PipelineConfig(BaseModel):
    """An ordered list of steps. The default is the primary pipeline's:
    gray -> CLAHE -> unsharp mask."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: tuple[StepConfig, ...] = (GrayStep(), ClaheStep(), UnsharpStep())

    @classmethod
    def parse(cls, data: Any) -> PipelineConfig:
        """Validate ``data`` (a dict, or a list of steps); :class:`ConfigError` on failure,
        naming the offending step and listing the valid ``op`` names."""
        if isinstance(data, (list, tuple)):
            data = {"steps": list(data)}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                f"invalid preprocessing config (valid ops: {', '.join(STEPS)}):\n{exc}"
            ) from None


class Pipeline:
    """Applies a :class:`PipelineConfig`'s steps in order; a pure callable."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        out = image
        for step in self.config.steps:
            out = STEPS[step.op](out, step)
        return out if out is not image else image.copy()
