"""Segmentation search: over-segment the character row, let a classifier judge the cuts.

The cascade of :mod:`segocr.segment.characters` proposes a few whole segmentations
(one or two per binarization: *hypotheses*) and reads the best. This package turns
each hypothesis into a lattice of smaller *pieces* and lets the character classifier
choose how to group them, as classical OCR engines do (over-segmentation, then the
best path of merges under a recognizer score):

1. **Pieces** (:mod:`~segocr.segment.search.pieces`): every box of a hypothesis is
   cut where two characters may touch: minima of its vertical ink projection,
   concavities of its upper and lower ink profiles and equal divisions at the row's
   pitch (the median character width) when it is wider than one character, on the
   box's own ink mask (each hypothesis keeps the mask it came from).
2. **Lattice** (:mod:`~segocr.segment.search.lattice`, with the row geometry of
   :mod:`~segocr.segment.search.row`): every span of up to ``max_pieces``
   consecutive pieces (within one box or across neighbouring boxes: a broken
   character) is a candidate character box; its height, bottom and width against
   the row (baseline and height fitted through the hypothesis's boxes, pitch)
   decide whether it can be a character. Components the hypothesis dropped and
   windows where it may have lost a character are optional pieces.
3. **Search** (:mod:`~segocr.segment.search.paths`): a dynamic programme over
   (piece boundary, characters read so far) keeping the ``n_best`` best partial
   paths per state. Each span on a path is a character (log P(char) from the
   classifier, plus a cost for every cut or merge that departs from the
   hypothesis's own boxes) or noise (log P(noise)). The length prior ``log P(n)``
   is added at the end; optional per-position masks (a plate format) restrict the
   characters and fix the length. The hypothesis itself is one path with exactly
   the cascade's score, so the search can only find readings the classifier likes
   better.

Every choice is in :class:`SearchConfig` (:mod:`~segocr.segment.search.config`).
Everything here is a pure function of arrays; the classifier is the caller's (see
:class:`segocr.recognizers.segcnn.SegCNNRecognizer`), so all candidate crops of a
batch of plates go through the network at once. :func:`lattices` builds the
hypotheses of a plate together (all boxes cut in one array pass, each mask's
components found once); the readings are those of the one-box-at-a-time version
(``tests/test_search_fast.py`` holds it as oracle).
"""

from segocr.segment.search.config import SearchConfig
from segocr.segment.search.lattice import (
    Lattice,
    Span,
    build_lattice,
    lattices,
)
from segocr.segment.search.paths import (
    Path,
    char_steps,
    merge_paths,
    search_lattice,
    search_lattices,
)
from segocr.segment.search.pieces import Columns, box_cuts, columns, cut_columns, cut_pieces
from segocr.segment.search.row import (
    Row,
    char_geometry_ok,
    clip_to_band,
    extra_components,
    gap_windows,
    mask_components,
    typical_boxes,
)

__all__ = [
    "Columns",
    "Lattice",
    "Path",
    "Row",
    "SearchConfig",
    "Span",
    "box_cuts",
    "build_lattice",
    "char_geometry_ok",
    "char_steps",
    "clip_to_band",
    "columns",
    "cut_columns",
    "cut_pieces",
    "extra_components",
    "gap_windows",
    "lattices",
    "mask_components",
    "merge_paths",
    "search_lattice",
    "search_lattices",
    "typical_boxes",
]
