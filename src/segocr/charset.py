"""Alphabets and text <-> index encoding.

>>> cs = Charset(LATIN)
>>> cs.encode("9B5")
[9, 11, 5]
>>> cs.decode([9, 11, 5])
'9B5'
"""

from __future__ import annotations

from dataclasses import dataclass, field

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Digits and Latin capitals: the alphabet of European plates (IWT4S).
LATIN = DIGITS + LETTERS


@dataclass(frozen=True)
class Charset:
    """An ordered alphabet. Index ``i`` is ``chars[i]``; models' class axes follow it."""

    chars: str
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars:
            raise ValueError("a charset needs at least one character")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError(f"charset has repeated characters: {self.chars!r}")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def encode(self, text: str) -> list[int]:
        """Indices of ``text``'s characters; raises ``ValueError`` naming unknown ones."""
        unknown = sorted({c for c in text if c not in self._index})
        if unknown:
            raise ValueError(f"characters not in charset: {''.join(unknown)!r} in {text!r}")
        return [self._index[c] for c in text]

    def decode(self, indices: list[int] | tuple[int, ...]) -> str:
        """Text of a sequence of indices."""
        return "".join(self.chars[i] for i in indices)

    def unknown(self, text: str) -> str:
        """The characters of ``text`` outside the charset, in order, deduplicated."""
        return "".join(dict.fromkeys(c for c in text if c not in self._index))


#: CCPD's province table (the first character of a Chinese plate), without CCPD's
#: trailing "O" (its "no character" mark); 警 (police) and 学 (learner) are in it too.
CCPD_PROVINCES = "皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新警学"
#: Chinese plates (CCPD, LPRNet crops): :data:`LATIN` (so Latin indices stay the same)
#: followed by the provinces. ``I`` and ``O`` never occur on Chinese plates but are kept.
CCPD_CHARSET = LATIN + CCPD_PROVINCES
