"""The schema of a plate format, its pattern language and its compiled automaton.

A format is data (a YAML file, see :mod:`segocr.formats`)::

    name: cz
    description: Czech plates since 2001 (digit, region letter, alnum, 4 digits)
    classes:
      R: ABCEHJKLMPSTUZ            # a user class: one capital letter -> explicit set
    patterns:
      - "DRA DDDD"                 # one pattern per allowed layout

A pattern is a sequence of position tokens, each optionally repeated:

- a class symbol: ``D`` digit, ``L`` letter A-Z, ``A`` alnum (digit or letter), or a
  capital letter defined under ``classes`` (the built-in three cannot be redefined);
- an explicit set in brackets, ``[ABC]`` or ``[0-9A-F]``; a lone literal character
  is written ``[X]``;
- a repetition after a token: ``{n}`` or ``{m,n}`` (``A{5,8}``: 5 to 8 alnum);
- a separator, `` `` (space) or ``-``: shown when a reading is written out with
  :meth:`PlateFormat.render`, never read (the recognizers read characters only).

Repetitions expand into one fixed-length *layout* per length; a format's layouts are
the union over its patterns. :meth:`PlateFormat.compile` turns the layouts into an
:class:`Automaton` over a recognizer's charset: per layout an (L, C) boolean mask of
the characters allowed at each position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import product

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segocr.charset import DIGITS, LETTERS, Charset

#: Built-in position classes.
BUILTIN_CLASSES: dict[str, str] = {"D": DIGITS, "L": LETTERS, "A": DIGITS + LETTERS}
SEPARATORS = " -"
#: A format expands to at most this many layouts (a guard against ``A{1,99}`` typos).
MAX_LAYOUTS = 256
MAX_LENGTH = 16

_TOKEN = re.compile(r"(?:(?P<sep>[ \-])|(?P<cls>[A-Z])|\[(?P<set>[^\]]*)\])(?:\{(?P<lo>\d+)(?:,(?P<hi>\d+))?\})?")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")


def _expand_set(body: str) -> str:
    """``0-9A-F`` -> the characters, in order of first appearance.

    >>> _expand_set("0-3XY")
    '0123XY'
    """
    out: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            a, b = body[i], body[i + 2]
            if ord(b) < ord(a):
                raise ValueError(f"bad range {a}-{b} in [{body}]")
            out.extend(chr(c) for c in range(ord(a), ord(b) + 1))
            i += 3
        else:
            out.append(body[i])
            i += 1
    return "".join(dict.fromkeys(out))


@dataclass(frozen=True)
class Layout:
    """One fixed-length layout: the allowed characters per position and where the
    separators go (``separators[i]`` is written before position ``i``; one more entry
    for the end)."""

    positions: tuple[str, ...]
    separators: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.positions)

    def matches(self, text: str) -> bool:
        """Whether ``text`` (characters only, no separators) fits this layout."""
        return len(text) == len(self.positions) and all(c in s for c, s in zip(text, self.positions))


def parse_pattern(pattern: str, classes: dict[str, str]) -> list[Layout]:
    """Expand one pattern into its fixed-length layouts.

    >>> [len(x) for x in parse_pattern("LL A{1,2}", BUILTIN_CLASSES)]
    [3, 4]
    >>> parse_pattern("D[X]", BUILTIN_CLASSES)[0].positions
    ('0123456789', 'X')
    """
    # items: (allowed chars | None for a separator, sep text, lo, hi)
    items: list[tuple[str | None, str, int, int]] = []
    pos = 0
    text = pattern
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"pattern {pattern!r}: cannot parse at {text[pos:]!r}")
        pos = m.end()
        lo = int(m["lo"]) if m["lo"] is not None else 1
        hi = int(m["hi"]) if m["hi"] is not None else lo
        if not 0 <= lo <= hi or hi > MAX_LENGTH:
            raise ValueError(f"pattern {pattern!r}: bad repetition {{{m['lo']},{m['hi']}}}")
        if m["sep"] is not None:
            if m["lo"] is not None:
                raise ValueError(f"pattern {pattern!r}: a separator cannot repeat")
            items.append((None, m["sep"], 1, 1))
        elif m["cls"] is not None:
            sym = m["cls"]
            if sym not in classes:
                known = ", ".join(sorted(classes))
                raise ValueError(f"pattern {pattern!r}: unknown class {sym!r} (known: {known}; or write [{sym}] for the literal)")
            items.append((classes[sym], "", lo, hi))
        else:
            chars = _expand_set(m["set"] or "")
            if not chars:
                raise ValueError(f"pattern {pattern!r}: empty set []")
            items.append((chars, "", lo, hi))
    choices: list[list[tuple[tuple[str, ...], tuple[str, ...]]]] = []
    for allowed, sep, lo, hi in items:
        if allowed is None:
            choices.append([((), (sep,))])
        else:
            choices.append([((allowed,) * n, ("",) * n) for n in range(lo, hi + 1)])
    n_combos = math.prod(len(c) for c in choices)
    if n_combos > MAX_LAYOUTS:
        raise ValueError(f"pattern {pattern!r} expands to {n_combos} layouts (at most {MAX_LAYOUTS})")
    layouts: list[Layout] = []
    for combo in product(*choices):
        positions: list[str] = []
        seps: list[str] = [""]
        for part_pos, part_sep in combo:
            if not part_pos:  # a separator: attach to the gap before the next position
                seps[-1] += part_sep[0]
                continue
            for p in part_pos:
                positions.append(p)
                seps.append("")
        if not positions:
            continue
        if len(positions) > MAX_LENGTH:
            raise ValueError(f"pattern {pattern!r}: a layout of {len(positions)} characters (at most {MAX_LENGTH})")
        layouts.append(Layout(tuple(positions), tuple(seps)))
    if not layouts:
        raise ValueError(f"pattern {pattern!r} has no character")
    return layouts


class PlateFormat(BaseModel):
    """A plate format as data; validated when loaded (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    description: str = ""
    #: User classes: one capital letter (not D, L or A) -> its characters ("A-Z" ranges allowed).
    classes: dict[str, str] = Field(default_factory=dict)
    patterns: tuple[str, ...] = Field(min_length=1)
    #: A shipped model whose charset reads the format when the default's does not
    #: (named in the error a charset without its characters gives).
    model: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"format name {v!r}: use lower-case letters, digits and - _ . +")
        return v

    @field_validator("classes")
    @classmethod
    def _classes(cls, v: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for sym, chars in v.items():
            if len(sym) != 1 or not "A" <= sym <= "Z":
                raise ValueError(f"class name {sym!r}: one capital letter")
            if sym in BUILTIN_CLASSES:
                raise ValueError(f"class {sym!r} is built in ({', '.join(BUILTIN_CLASSES)}) and cannot be redefined")
            expanded = _expand_set(str(chars))
            if not expanded:
                raise ValueError(f"class {sym!r} is empty")
            out[sym] = expanded
        return out

    @model_validator(mode="after")
    def _parse(self) -> PlateFormat:
        self.layouts()  # raises ValueError with the pattern named
        return self

    def layouts(self) -> list[Layout]:
        """Every fixed-length layout of every pattern, duplicates removed, in order."""
        classes = {**BUILTIN_CLASSES, **self.classes}
        seen: dict[tuple[str, ...], Layout] = {}
        for pattern in self.patterns:
            for lay in parse_pattern(pattern, classes):
                seen.setdefault(lay.positions, lay)
        if len(seen) > MAX_LAYOUTS:
            raise ValueError(f"format {self.name!r} expands to {len(seen)} layouts (at most {MAX_LAYOUTS})")
        return list(seen.values())

    @property
    def lengths(self) -> list[int]:
        """The allowed plate lengths, sorted."""
        return sorted({len(x) for x in self.layouts()})

    def matches(self, text: str) -> bool:
        """Whether ``text`` (separators ignored) is a legal plate of this format.

        >>> f = PlateFormat(name="x", patterns=("LLL DDDD",))
        >>> f.matches("ABC1234"), f.matches("ABC 1234"), f.matches("AB12345")
        (True, True, False)
        """
        t = "".join(c for c in text if c not in SEPARATORS)
        return any(lay.matches(t) for lay in self.layouts())

    def render(self, text: str) -> str:
        """``text`` with the separators of the first layout it matches (unchanged when none).

        >>> PlateFormat(name="x", patterns=("LLL-DDDD",)).render("ABC1234")
        'ABC-1234'
        """
        for lay in self.layouts():
            if lay.matches(text):
                return "".join(s + c for s, c in zip(lay.separators, text)) + lay.separators[-1]
        return text

    def log_size(self) -> float:
        """log of the number of legal strings (how specific the format is; used to
        break ties between formats)."""
        sizes = [sum(math.log(len(p)) for p in lay.positions) for lay in self.layouts()]
        m = max(sizes)
        return m + math.log(sum(math.exp(s - m) for s in sizes))

    def compile(self, charset: Charset) -> Automaton:
        """The format over ``charset``: per layout an (L, len(charset)) bool mask.
        Characters outside the charset are dropped; a layout with a position left
        empty cannot be read and is dropped; raises ``ValueError`` when none is left.

        >>> a = PlateFormat(name="x", patterns=("D[AB]",)).compile(Charset("0123AB"))
        >>> a.masks[0].astype(int).tolist()
        [[1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]
        """
        masks: list[np.ndarray] = []
        for lay in self.layouts():
            m = np.zeros((len(lay), len(charset)), bool)
            for i, allowed in enumerate(lay.positions):
                for c in allowed:
                    if c in charset:
                        m[i, charset.encode(c)[0]] = True
            if m.any(axis=1).all():
                masks.append(m)
        if not masks:
            hint = f"; read it with --model {self.model}" if self.model else ""
            raise ValueError(f"format {self.name!r} cannot be read with the charset {charset.chars!r}{hint}")
        return Automaton(self.name, tuple(masks), self.log_size())


@dataclass(frozen=True)
class Automaton:
    """A format compiled over a charset: ``masks`` holds one (L, C) bool array per
    layout (C = charset size; the recognizers' blank/pad/noise classes are not in it).
    It accepts a sequence of charset indices when some layout of the same length
    allows every index at its position; :meth:`step` walks it one index at a time."""

    name: str
    masks: tuple[np.ndarray, ...]
    log_size: float = 0.0

    @property
    def lengths(self) -> list[int]:
        return sorted({len(m) for m in self.masks})

    def start(self) -> tuple[int, ...]:
        """The start state: the layouts still alive (all of them)."""
        return tuple(range(len(self.masks)))

    def step(self, state: tuple[int, ...], position: int, index: int) -> tuple[int, ...]:
        """The layouts of ``state`` that allow ``index`` at ``position`` (empty: dead)."""
        return tuple(j for j in state if position < len(self.masks[j]) and self.masks[j][position, index])

    def final(self, state: tuple[int, ...], length: int) -> bool:
        """Whether a prefix of ``length`` characters in ``state`` is a whole plate."""
        return any(len(self.masks[j]) == length for j in state)

    def allowed_next(self, state: tuple[int, ...], position: int) -> np.ndarray:
        """(C,) bool: the indices some layout of ``state`` allows at ``position``."""
        out = np.zeros(self.masks[0].shape[1], bool)
        for j in state:
            if position < len(self.masks[j]):
                out |= self.masks[j][position]
        return out

    def accepts(self, indices: tuple[int, ...] | list[int]) -> bool:
        """Whether the index sequence is a legal plate.

        >>> a = PlateFormat(name="x", patterns=("D[AB]",)).compile(Charset("0123AB"))
        >>> a.accepts([1, 4]), a.accepts([4, 1]), a.accepts([1])
        (True, False, False)
        """
        state = self.start()
        for i, k in enumerate(indices):
            state = self.step(state, i, int(k))
            if not state:
                return False
        return self.final(state, len(indices))
