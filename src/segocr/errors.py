"""Exception types. Every user-facing failure is one of these, with a message that
names the thing (file, config key, weight file) and the problem."""

from __future__ import annotations


class SegocrError(Exception):
    """Base class of all errors segocr raises on purpose."""


class ImageReadError(SegocrError):
    """An image could not be read: missing, a directory, empty, truncated, not an
    image, 0 pixels or too large. The message starts with the source's name;
    ``source`` is that name when the raiser knows it apart from the message (e.g. a
    folder that could not be listed)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class WeightsError(SegocrError):
    """A weight file or its card is missing, corrupt (sha256 mismatch) or does not fit
    the model it is loaded into."""


class DatasetError(SegocrError):
    """A dataset is absent or malformed. The message lists every problem found."""


class ConfigError(SegocrError):
    """A configuration (YAML/JSON/dict) failed validation."""


class NoPlateFoundError(SegocrError):
    """A photo read as a scene holds nothing that reads as a plate
    (:func:`segocr.read` of a photo; ``locate="never"`` reads it as a crop instead)."""
