"""Neural networks only: each ``forward`` returns logits. Losses live in training,
decoders in :mod:`segocr.recognizers.decode`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segocr.models.charcnn import CharCNN

__all__ = ["CharCNN"]


def __getattr__(name: str) -> Any:
    # Lazy: ``segocr.models.weights`` (cards) is imported on the read path, torch is not.
    if name == "CharCNN":
        from segocr.models.charcnn import CharCNN

        return CharCNN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
