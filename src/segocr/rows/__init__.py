"""Two-row plates: find the text rows of a crop and read them as one row.

* :mod:`~segocr.rows.split`: :func:`find_rows` (one row or two, and where they lie),
  :func:`stitch` (the rows side by side, top row first), :class:`RowsConfig`;
* :mod:`~segocr.rows.reader`: :class:`RowsRecognizer`, any recognizer reading
  two-row plates with its existing weights (``segocr read --rows``).
"""

from segocr.rows.reader import RowsRecognizer, with_rows
from segocr.rows.split import (
    DEFAULT_ROWS,
    ROWS_MODES,
    RowsConfig,
    RowsMode,
    RowSplit,
    Stitched,
    find_rows,
    stitch,
)

__all__ = [
    "DEFAULT_ROWS",
    "ROWS_MODES",
    "RowSplit",
    "RowsConfig",
    "RowsMode",
    "RowsRecognizer",
    "Stitched",
    "find_rows",
    "stitch",
    "with_rows",
]
