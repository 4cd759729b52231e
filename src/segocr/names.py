"""File names as text that can always be printed and written.

On POSIX a file name is bytes; Python decodes the bytes that are not UTF-8 as lone
surrogates (``surrogateescape``), which no UTF-8 stream, JSON or CSV writer accepts.
:func:`printable` turns them into visible ``\\xNN`` escapes, for messages, reports and
labels; the original :class:`~pathlib.Path` is still what opens the file.
"""

from __future__ import annotations

import os

__all__ = ["printable"]


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` (or a path) with undecodable file-name bytes shown as ``\\xNN``;
    anything else that UTF-8 cannot encode becomes ``?``. Valid text is unchanged.

    >>> printable("bad\\udcff.png"), printable("značka 车牌.png")
    ('bad\\\\xff.png', 'značka 车牌.png')
    """
    text = os.fspath(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
