"""One registry shape for every pluggable kind (recognizers, datasets, trainers, ...).

A :class:`Registry` is a dict filled by a decorator (or :meth:`Registry.add`), whose
built-in entries are registered by importing the modules it names, on first use. An
unknown name raises the registry's error type listing the valid names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind.

    ``kind`` names the entries in messages ("recognizer", "dataset"); ``builtin`` are
    module paths imported (once) before the first lookup, so that their decorators run;
    ``error`` is the exception type of an unknown name (built from the message alone).

    >>> r: Registry[int] = Registry("number", builtin=())
    >>> r.add("one", 1)
    1
    >>> r.names(), r.get("one")
    (['one'], 1)
    >>> r.get("two")
    Traceback (most recent call last):
    ...
    KeyError: "unknown number 'two'; choose one of: one"
    """

    def __init__(
        self,
        kind: str,
        *,
        builtin: Iterable[str],
        error: Callable[[str], Exception] = KeyError,
    ) -> None:
        self.kind = kind
        self._builtin = tuple(builtin)
        self._error = error
        self._entries: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``. Re-registering the same definition (a module
        imported twice) is allowed; another one under a taken name is a ``ValueError``."""
        old = self._entries.get(name)
        if old is not None and _identity(old) != _identity(entry):
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(entry: T) -> T:
            return self.add(name, entry)

        return deco

    def names(self) -> list[str]:
        """The registered names, sorted."""
        self._load_builtin()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_builtin()
        return name in self._entries

    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name raises the registry's error
        listing the valid ones."""
        self._load_builtin()
        try:
            return self._entries[name]
        except KeyError:
            raise self._error(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None

    def _load_builtin(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtin:
            importlib.import_module(module)


def _identity(entry: object) -> object:
    """What makes two registrations the same definition: module and qualified name for
    functions and classes, else the value itself (compared with ``==``)."""
    module, qualname = getattr(entry, "__module__", None), getattr(entry, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return (module, qualname)
    return entry
