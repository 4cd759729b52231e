"""Character crops for training the segcnn classifier.

* real: training-split plates whose segmentation gives exactly as many boxes as the
  label has characters (every hypothesis that does counts: different binarizations
  give slightly different boxes, a natural augmentation);
* noise: boxes of hypotheses with more boxes than characters that an earlier
  classifier aligns to no character (:func:`align_boxes`);
* synthetic: characters cut by their known boxes from generated plates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.recognizers.segcnn import SegCNNConfig, crop_char, hypothesis_crops
from segocr.segment.boxes import CharBox
from segocr.segment.characters import Segmentation, find_characters


@dataclass
class CropSet:
    """Crops (N, S, S) float32 and their class indices (N,) int64 (``len(charset)``
    is the noise class)."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def concat(cls, parts: Sequence[CropSet], size: int) -> CropSet:
        parts = [p for p in parts if len(p.y)]
        if not parts:
            return cls(np.zeros((0, size, size), np.float32), np.zeros(0, np.int64))
        return cls(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]))


def align_boxes(log_char: np.ndarray, log_noise: np.ndarray) -> list[int] | None:
    """Best monotone assignment of n boxes to L label characters (n >= L), each box
    either a character or noise. ``log_char`` (n, L): log P(box i is label char j);
    ``log_noise`` (n,): log P(box i is noise). Returns, per label character, its box
    index, or None when n < L.

    >>> lc = np.log(np.array([[0.9, 0.1], [0.1, 0.1], [0.1, 0.9]]))
    >>> align_boxes(lc, np.log(np.array([0.05, 0.8, 0.05])))
    [0, 2]
    """
    n, L = log_char.shape
    if n < L:
        return None
    neg = -1e18
    dp = np.full((n + 1, L + 1), neg)
    dp[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(min(i, L) + 1):
            skip = dp[i - 1, j] + log_noise[i - 1]
            take = dp[i - 1, j - 1] + log_char[i - 1, j - 1] if j else neg
            dp[i, j] = max(skip, take)
    out: list[int] = []
    i, j = n, L
    while j > 0:
        if dp[i, j] == dp[i - 1, j - 1] + log_char[i - 1, j - 1]:
            out.append(i - 1)
            j -= 1
        i -= 1
    return out[::-1]


def harvest_real(
    samples: Sequence[PlateSample],
    charset: Charset,
    config: SegCNNConfig,
    *,
    classify: Callable[[np.ndarray], np.ndarray] | None = None,
    max_extra: int = 3,
) -> tuple[CropSet, CropSet]:
    """(character crops, noise crops) from labelled real plates. Noise crops need
    ``classify`` ((n, S, S) -> (n, C+1) probabilities) to align extra boxes."""
    xs: list[np.ndarray] = []
    ys: list[int] = []
    nx: list[np.ndarray] = []
    noise = len(charset)
    for s in samples:
        if charset.unknown(s.text):
            continue
        label = charset.encode(s.text)
        seg: Segmentation = find_characters(s.load(), config=config.segment)
        for hyp in seg.hypotheses:
            n = len(hyp.boxes)
            if n == len(label):
                crops = hypothesis_crops(seg.work, hyp, config)
                xs.extend(crops)
                ys.extend(label)
            elif classify is not None and len(label) < n <= len(label) + max_extra:
                crops = hypothesis_crops(seg.work, hyp, config)
                p = np.clip(classify(crops), 1e-6, 1)
                path = align_boxes(np.log(p[:, label]), np.log(p[:, noise]))
                if path is None:
                    continue
                chosen = set(path)
                # Keep the alignment only when it reads the label confidently.
                if float(np.mean([p[b, c] for b, c in zip(path, label)])) < 0.8:
                    continue
                nx.extend(crops[i] for i in range(n) if i not in chosen)
    size = config.input_size
    chars = CropSet(np.stack(xs) if xs else np.zeros((0, size, size), np.float32), np.array(ys, np.int64))
    noise_set = CropSet(np.stack(nx) if nx else np.zeros((0, size, size), np.float32), np.full(len(nx), noise, np.int64))
    return chars, noise_set


def crops_from_boxes(image: np.ndarray, boxes: Sequence[CharBox], config: SegCNNConfig) -> np.ndarray:
    """Crops of known character boxes (original coordinates) of an RGB plate, taken
    from the same working image the segmenter would use."""
    seg = find_characters(image, config=config.segment.model_copy(update={"binarizers": ()}))
    sx, sy = seg.scale
    return np.stack(
        [crop_char(seg.work, b.scaled(1 / sx, 1 / sy), size=config.input_size, margin=config.margin) for b in boxes]
    )
