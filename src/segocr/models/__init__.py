"""Neural networks only: each ``forward`` returns logits. Losses live in training,
decoders in :mod:`segocr.recognizers.decode`."""

from segocr.models.charcnn import CharCNN

__all__ = ["CharCNN"]
