"""Decoding under a plate format, the same way for every recognizer.

A recognizer knows how to decode one sample with or without a compiled format
(:class:`segocr.formats.Automaton`); :func:`decode_with_format` decides which reading
to keep, following :class:`DecodeOptions`:

- no format: the unconstrained reading (behaviour unchanged);
- a named format: its most likely legal reading. With ``margin`` set, the
  unconstrained reading is kept instead when the legal one is less likely by more
  than ``margin`` nats (a plate of another country); ``margin=None`` is strict. When
  no legal reading exists at all, the unconstrained one is kept. The reading reports
  the format it follows, or ``None``;
- ``auto``: every candidate format is tried; among those whose legal reading lies
  within ``auto_margin`` nats of the unconstrained one, the most specific (fewest
  legal strings) wins, ties to the more likely reading; none within: no format.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segocr.charset import Charset
from segocr.errors import ConfigError
from segocr.formats import AUTO, PlateFormat, format_names, get_format, resolve_format
from segocr.formats.schema import Automaton
from segocr.recognizers.decode import Decoded

if TYPE_CHECKING:
    from segocr.rows import RowsConfig

#: Margins (nats) chosen on the IWT4S validation part (benchmarks/fusion_validation.py):
#: a strict format (None) lost the validation part's Slovak and Romanian plates, a
#: margin of 2 lost nothing against no format, 5 lost one plate.
DEFAULT_MARGIN: float | None = 2.0
DEFAULT_AUTO_MARGIN = 2.0


class DecodeOptions(BaseModel):
    """How a recognizer decodes: under which format, and how many readings to return.

    ``format``: ``None`` (no format), a registered name, ``auto``, a path to a YAML file
    or a :class:`PlateFormat`. ``topn``: the number of ranked readings reported in
    ``Prediction.info["topn"]``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    format: str | PlateFormat | None = None
    margin: float | None = Field(DEFAULT_MARGIN, ge=0)
    auto_margin: float = Field(DEFAULT_AUTO_MARGIN, ge=0)
    #: Candidates of ``auto`` (default: every registered format the charset can read).
    auto_formats: tuple[str, ...] | None = None
    topn: int = Field(1, ge=1, le=100)

    @field_validator("format", mode="before")
    @classmethod
    def _fmt(cls, v: object) -> object:
        if isinstance(v, Path):
            return str(v)
        return v

    @property
    def active(self) -> bool:
        """Whether decoding differs from the plain one (a format or top-N asked)."""
        return self.format is not None or self.topn > 1


@dataclass(frozen=True)
class FormatPlan:
    """:class:`DecodeOptions` resolved for one charset: the compiled candidates."""

    candidates: tuple[Automaton, ...]
    auto: bool
    margin: float | None
    auto_margin: float
    topn: int


def _compile(fmt: PlateFormat, charset: Charset) -> Automaton:
    return _compile_json(fmt.model_dump_json(), charset.chars)


@lru_cache(maxsize=64)
def _compile_json(fmt_json: str, chars: str) -> Automaton:
    return PlateFormat.model_validate_json(fmt_json).compile(Charset(chars))


def plan(options: DecodeOptions | None, charset: Charset) -> FormatPlan | None:
    """Resolve ``options`` for ``charset``; ``None`` when no format is asked. Raises
    :class:`ConfigError` for an unknown format or one the charset cannot read."""
    if options is None or options.format is None:
        return None
    if isinstance(options.format, str) and options.format == AUTO:
        names = options.auto_formats if options.auto_formats is not None else tuple(format_names())
        cands = []
        for name in names:
            try:
                cands.append(_compile(get_format(name), charset))
            except ValueError:
                continue  # e.g. cn with a Latin charset
        if not cands:
            raise ConfigError(f"--format auto: no candidate format can be read with this charset ({', '.join(names)})")
        return FormatPlan(tuple(cands), True, options.margin, options.auto_margin, options.topn)
    fmt = resolve_format(options.format)
    try:
        aut = _compile(fmt, charset)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return FormatPlan((aut,), False, options.margin, options.auto_margin, options.topn)


def decode_with_format(decode: Callable[[Automaton | None], Decoded], fplan: FormatPlan | None) -> tuple[Decoded, str | None]:
    """Decode one sample under ``fplan``: ``decode(None)`` is the unconstrained reading,
    ``decode(automaton)`` the best legal one (``logp = -inf`` when none). Returns the
    kept reading and the name of the format it follows (``None``: unconstrained).

    >>> from segocr.formats import get_format
    >>> from segocr.recognizers.decode import slot_decode
    >>> import numpy as np
    >>> cs = Charset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    >>> p = np.full((7, 37), 1e-3); p[:, -1] = 1e-3
    >>> for i, c in enumerate("ABC1234"): p[i, cs.encode(c)[0]] = 0.9
    >>> p[1, cs.encode("8")[0]] = 0.95                       # "A8C1234" is the free reading
    >>> fp = plan(DecodeOptions(format="br"), cs)
    >>> d, name = decode_with_format(lambda a: slot_decode(np.log(p), patterns=a), fp)
    >>> cs.decode(d.indices), name
    ('ABC1234', 'br')
    """
    free = decode(None)
    if fplan is None:
        return free, None
    if not fplan.auto:
        aut = fplan.candidates[0]
        d = decode(aut)
        if not d.indices or not math.isfinite(d.logp):
            return free, None
        if fplan.margin is not None and math.isfinite(free.logp) and d.logp < free.logp - fplan.margin:
            return free, None
        return d, aut.name
    best: tuple[float, float, Decoded, str] | None = None
    for aut in fplan.candidates:
        d = decode(aut)
        if not d.indices or not math.isfinite(d.logp):
            continue
        if math.isfinite(free.logp) and d.logp < free.logp - fplan.auto_margin:
            continue
        key = (-aut.log_size, d.logp)
        if best is None or key > (best[0], best[1]):
            best = (key[0], key[1], d, aut.name)
    if best is None:
        return free, None
    return best[2], best[3]


def alternatives_texts(decoded: Decoded, charset: Charset, *, scale: float = 1.0) -> list[tuple[str, float]]:
    """``decoded.alternatives`` as (text, probability) pairs, probabilities times ``scale``
    (a recognizer's calibration of its plate confidence, possibly above 1); when the
    scaled total passes 1, the readings after the first shrink to share what is left,
    so the list still sums to at most 1 and keeps its order.

    >>> d = Decoded((0,), (0.6,), alternatives=(((0,), 0.6), ((1,), 0.3)))
    >>> [(t, round(p, 2)) for t, p in alternatives_texts(d, Charset("AB"), scale=1.5)]
    [('A', 0.9), ('B', 0.1)]
    """
    out = [(charset.decode(ix), p * scale) for ix, p in decoded.alternatives]
    if not out or sum(p for _, p in out) <= 1:
        return out
    top = min(out[0][1], 1.0)
    rest = sum(p for _, p in out[1:])
    shrink = (1 - top) / rest if rest > 0 else 0.0
    return [(out[0][0], top), *((t, p * shrink) for t, p in out[1:])]


def info_of(decoded: Decoded, charset: Charset, fplan: FormatPlan | None, fmt: str | None, *, scale: float = 1.0) -> dict[str, object]:
    """The ``Prediction.info`` entries a formatted / top-N decoding adds:
    ``format`` (when a format was asked), ``topn`` (when more than one reading was
    asked) and ``posteriors`` (per character position, over the charset)."""
    out: dict[str, object] = {}
    if fplan is not None:
        out["format"] = fmt
    if decoded.alternatives:
        out["topn"] = alternatives_texts(decoded, charset, scale=scale)
    if decoded.posteriors is not None:
        out["posteriors"] = decoded.posteriors
    return out


def format_choices() -> Sequence[str]:
    """What ``--format`` accepts by name: the registered formats and ``auto``."""
    return [*format_names(), AUTO]


class FormattedRecognizer:
    """A recognizer that always decodes with ``options`` (a plain
    :class:`segocr.recognizers.base.Recognizer` to the harness, the batch reader and
    the ablation runner). ``name`` is the inner one's unless given."""

    def __init__(self, inner: object, options: DecodeOptions, *, name: str | None = None) -> None:
        self.inner = inner
        self.options = options
        self.name: str = name if name is not None else str(getattr(inner, "name", "recognizer"))
        self.charset = getattr(inner, "charset", None)
        self.card = getattr(inner, "card", None)
        if self.charset is not None:
            plan(options, self.charset)  # an unknown or unreadable format fails here, once

    def predict(self, images: Sequence[object]) -> list[object]:
        return self.inner.predict(images, options=self.options)  # type: ignore[attr-defined]

    def with_rows(self, config: RowsConfig | str | None) -> FormattedRecognizer:
        """Two-row reading under the format (:func:`segocr.rows.with_rows` delegates
        here): the inner recognizer splits the rows, so a line recognizer, or each
        member of an ensemble, stitches them for its own input."""
        from segocr.rows import with_rows

        return FormattedRecognizer(with_rows(self.inner, config), self.options, name=self.name)
