"""File names as text that can always be printed and written.

On POSIX a file name is bytes; Python decodes the bytes that are not UTF-8 as lone
surrogates (``surrogateescape``), which no UTF-8 stream, JSON or CSV writer accepts.
:func:`printable` turns them into visible ``\\xNN`` escapes, for messages, reports and
labels; the original :class:`~pathlib.Path` is still what opens the file.
"""

from __future__ import annotations

import os

__all__ = ["one_line", "printable"]


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


_CONTROL = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F)}
_CONTROL.update({ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"})


def one_line(text: str | os.PathLike[str]) -> str:
    r""":func:`printable` text with control characters escaped (tab ``\t``, newline
    ``\n``, carriage return ``\r``, others ``\xNN``), so a file name can share a
    tab-separated line with other fields and never spans two lines.

    >>> one_line("a\tb\nc\x1b.png")
    'a\\tb\\nc\\x1b.png'
    >>> one_line("plain name.png")
    'plain name.png'
    """
    return printable(text).translate(_CONTROL)
