"""The leak-free train/test split, implemented once and used everywhere.

Samples are grouped by :attr:`PlateSample.group` (the plate text for real data), and
whole groups go to one side: no plate is on both sides, and both captures of a track
(same text) stay together. The split is scikit-learn's ``GroupShuffleSplit`` with a
fixed seed, so it is deterministic and independent of the order samples are listed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from segocr.datasets.base import PlateSample

#: The project's split seed. Changing it changes every published figure.
SPLIT_SEED = 0


def group_split(
    samples: list[PlateSample], *, test_fraction: float = 0.2, seed: int = SPLIT_SEED
) -> tuple[list[PlateSample], list[PlateSample]]:
    """Split ``samples`` into (train, test), ``test_fraction`` of the groups to test.

    >>> from segocr.datasets.base import PlateSample
    >>> s = [PlateSample(id=str(i), text=t, group=t) for i, t in enumerate("AABBCCDDEE")]
    >>> train, test = group_split(s, test_fraction=0.2)
    >>> len(train), len(test), {x.group for x in train} & {x.group for x in test}
    (8, 2, set())
    """
    from sklearn.model_selection import GroupShuffleSplit  # slow to import; only needed here

    if not samples:
        return [], []
    order = sorted(range(len(samples)), key=lambda i: samples[i].id)
    ordered = [samples[i] for i in order]
    groups = np.array([s.group or s.text for s in ordered])
    if len(set(groups.tolist())) < 2:
        return ordered, []
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train_idx, test_idx = next(splitter.split(np.zeros(len(ordered)), groups=groups))
    return [ordered[i] for i in sorted(train_idx)], [ordered[i] for i in sorted(test_idx)]
