"""Character crops for training the segcnn classifier.

* real: training-split plates whose segmentation gives exactly as many boxes as the
  label has characters (every hypothesis that does counts: different binarizations
  give slightly different boxes, a natural augmentation);
* noise: boxes of hypotheses with more boxes than characters that an earlier
  classifier aligns to no character (:func:`align_boxes`);
* synthetic: characters cut by their known boxes from generated plates;
* searched (:func:`harvest_search`, ``SegCNNTrainConfig.search_harvest``): the
  segmentation search forced to read each plate's label with an earlier classifier;
  the boxes of an anchored reading become crops of their characters (cut and
  clipped boxes too, and plates no hypothesis segments right), and candidate boxes
  that overlap none of them (frame and band pieces, dashes, slivers) noise crops: the
  classifier then sees the boxes the search asks it about at reading time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from segocr.charset import Charset
from segocr.datasets.base import PlateSample
from segocr.recognizers.segcnn import SegCNNConfig, crop_char, crop_chars, hypothesis_crops
from segocr.segment.boxes import CharBox, box_iou
from segocr.segment.characters import Segmentation, find_characters, prepare
from segocr.segment.search import SearchConfig, lattices, merge_paths, search_lattices


@dataclass
class CropSet:
    """Crops (N, S, S) float32 and their class indices (N,) int64 (``len(charset)``
    is the noise class)."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, crops: Sequence[np.ndarray], labels: Sequence[int], size: int) -> CropSet:
        """A set of ``crops`` (each (size, size) float32) and their ``labels``."""
        x = np.stack(crops) if len(crops) else np.zeros((0, size, size), np.float32)
        return cls(x, np.asarray(labels, np.int64).reshape(-1))

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
    chars = CropSet.of(xs, ys, size)
    noise_set = CropSet.of(nx, [noise] * len(nx), size)
    return chars, noise_set


def crops_from_boxes(image: np.ndarray, boxes: Sequence[CharBox], config: SegCNNConfig) -> np.ndarray:
    """Crops of known character boxes (original coordinates) of an RGB plate, taken
    from the same working image the segmenter would use."""
    seg = find_characters(image, config=config.segment.model_copy(update={"binarizers": ()}))
    sx, sy = seg.scale
    return np.stack(
        [crop_char(seg.work, b.scaled(1 / sx, 1 / sy), size=config.input_size, margin=config.margin) for b in boxes]
    )


class SearchHarvestConfig(BaseModel):
    """How :func:`harvest_search` turns forced search readings into training crops."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: The search that is forced to the label: the shipped one (no merges across
    #: boxes), except that a character the classifier finds less probable than noise,
    #: or very improbable, may still be read (the hard characters are the point).
    search: SearchConfig = SearchConfig(merge_boxes=False, noise_veto=False, min_char_logp=-30.0)
    #: A forced reading is used only when all but ``max_unsure`` of its characters are
    #: read with at least ``min_sure`` (it is anchored by the rest of the plate).
    min_sure: float = Field(0.8, gt=0, le=1)
    max_unsure: int = Field(2, ge=0)
    #: Candidate boxes overlapping every read box by less than this IoU are noise ...
    noise_iou: float = Field(0.3, ge=0, le=1)
    #: ... at most this many per plate (drawn at random).
    noise_per_plate: int = Field(4, ge=0)


def harvest_search(
    samples: Sequence[PlateSample],
    charset: Charset,
    config: SegCNNConfig,
    harvest: SearchHarvestConfig,
    *,
    classify: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> tuple[CropSet, CropSet]:
    """(character crops, noise crops) of labelled plates read by the segmentation
    search forced to their labels (see the module docstring). ``classify``: (n, S, S)
    crops -> (n, C+1) probabilities (an earlier classifier)."""
    seg_cfg, scfg = config.segment, harvest.search
    binarizers = scfg.binarizers or seg_cfg.binarizers
    noise = len(charset)
    narrow = [charset.chars.index(c) for c in scfg.narrow_chars if c in charset.chars]
    xs: list[np.ndarray] = []
    ys: list[int] = []
    nx: list[np.ndarray] = []
    for s in samples:
        if charset.unknown(s.text) or not s.text:
            continue
        label = charset.encode(s.text)
        work = prepare(s.load(), config=seg_cfg)
        lats = lattices(work, binarizers, segment=seg_cfg, config=scfg)
        keys = list(dict.fromkeys((b, lat.polarity) for lat in lats for b in lat.boxes))
        if not keys:
            continue
        crops = crop_chars([(work.gray, b, pol == "light") for b, pol in keys], size=config.input_size, margin=config.margin)
        logp = np.log(np.maximum(classify(crops), 1e-9))
        row = {k: j for j, k in enumerate(keys)}
        forced = np.zeros((len(label), noise), bool)
        forced[np.arange(len(label)), label] = True
        per = search_lattices(
            lats,
            [{b: logp[row[(b, lat.polarity)]] for b in lat.boxes} for lat in lats],
            noise_index=noise,
            position_masks=forced,
            narrow_classes=narrow,
            config=scfg,
        )
        ranked = merge_paths(per, 1)
        if not ranked:
            continue
        path, li = ranked[0]
        sure = sum(math.exp(v) >= harvest.min_sure for v in path.logps)
        if sure < len(label) - harvest.max_unsure:
            continue
        pol = lats[li].polarity
        xs.extend(crops[row[(b, pol)]] for b in path.boxes)
        ys.extend(label)
        others = [
            row[(b, pol)] for b in lats[li].boxes if all(box_iou(b, r) < harvest.noise_iou for r in path.boxes)
        ]
        if len(others) > harvest.noise_per_plate:
            others = rng.choice(others, harvest.noise_per_plate, replace=False).tolist()
        nx.extend(crops[j] for j in others)
    size = config.input_size
    chars = CropSet.of(xs, ys, size)
    noise_set = CropSet.of(nx, [noise] * len(nx), size)
    return chars, noise_set
