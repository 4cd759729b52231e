"""Reading and writing images: one decoder, clear errors, always uint8 RGB.

:func:`read_image` turns a path, encoded bytes or an array into a C-contiguous
``uint8`` RGB array of shape ``(H, W, 3)``; every bad input (missing, a directory,
unreadable, empty, truncated, not an image, 0 pixels, too many pixels, an array of
the wrong dtype or shape) raises :class:`segocr.errors.ImageReadError`, whose message
starts with the source's name. BGR never leaves this module.

Files are decoded by OpenCV from bytes read by Python (so paths with any characters
work). Only PNG, JPEG, BMP and TIFF are accepted: their headers are parsed here first,
so an image with more than ``max_pixels`` pixels is refused before OpenCV allocates
anything for it.

Limits (each a keyword argument of :func:`read_image`; the defaults can be changed for
a whole process, workers included, by the environment variable named):

======================  ==========================  =================================
limit                   default                     environment variable
======================  ==========================  =================================
bytes read per image    :data:`DEFAULT_MAX_BYTES`   ``SEGOCR_MAX_IMAGE_BYTES``
                        (100 MiB)
pixels per image        :data:`DEFAULT_MAX_PIXELS`  ``SEGOCR_MAX_IMAGE_PIXELS``
                        (50 Mpx)
scans per JPEG          :data:`DEFAULT_MAX_SCANS`   ``SEGOCR_MAX_JPEG_SCANS``
                        (100)
======================  ==========================  =================================

Only regular files are opened (a FIFO, a device such as ``/dev/zero`` or a socket is
refused from its ``stat``, before any read), and never more than ``max_bytes + 1``
bytes are read, whatever the file or stream claims (:func:`read_stream` does the same
for stdin). A TIFF whose first directory states its width or height twice is refused
(libtiff would believe the first, a probe the last), and a JPEG with more than
``max_scans`` scans is refused before decoding (a progressive file of a few hundred KB
can hold thousands of scans, each a full pass over the image).
"""

from __future__ import annotations

import os
import stat
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeAlias

import cv2
import numpy as np

from segocr.errors import ImageReadError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SCANS",
    "IMAGE_SUFFIXES",
    "ImageSource",
    "atomic_folder",
    "atomic_write_bytes",
    "iter_image_paths",
    "limit",
    "read_file_bytes",
    "read_image",
    "read_stream",
    "read_text_file",
    "write_image",
]

#: File suffixes (lower case) that :func:`iter_image_paths` picks from a directory
#: and :func:`write_image` can write.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})

#: Default limit on ``width * height`` (a decompression-bomb guard: 50 Mpx of RGB is
#: 150 MB of pixels).
DEFAULT_MAX_PIXELS = 50_000_000

#: Most pixels (width x height, summed) of the decoded images one batch holds at once:
#: a batch of huge images (each under the per-image limit, ``$SEGOCR_MAX_IMAGE_PIXELS``;
#: a 47 KB PNG can declare 49 Mpx) is recognized in smaller batches instead of all
#: together, so memory stays near that of one such image whatever the batch size is.
#: 32 photos of 1280x720 (29 Mpx) still make one batch. Used by
#: :func:`segocr.batch.read_chunk` and :func:`segocr.evaluation.evaluate`.
CHUNK_PIXEL_BUDGET = 64_000_000

#: Default limit on the bytes of one encoded image (a file, a buffer, stdin): 100 MiB.
DEFAULT_MAX_BYTES = 100 * 2**20

#: Default limit on the scans of one JPEG (baseline files have 1, progressive ones
#: usually 6-12; libjpeg-turbo's ``djpeg -maxscans`` exists for the same reason).
DEFAULT_MAX_SCANS = 100

_ENV = {
    "max_bytes": ("SEGOCR_MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES),
    "max_pixels": ("SEGOCR_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS),
    "max_scans": ("SEGOCR_MAX_JPEG_SCANS", DEFAULT_MAX_SCANS),
}

#: What :func:`read_image` accepts.
ImageSource: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray"

_FORMATS = "PNG, JPEG, BMP or TIFF"
_FLOAT_RANGE_HINT = "float images must lie in [0, 1]"


def limit(name: str, value: int | None = None) -> int:
    """The limit ``name`` (``max_bytes``, ``max_pixels`` or ``max_scans``): ``value`` if
    given, else its environment variable if set, else the default. Raises
    :class:`ValueError` for a value that is not a positive int, naming where it came from.

    >>> limit("max_scans"), limit("max_bytes", 10)
    (100, 10)
    """
    env, default = _ENV[name]
    where = name
    if value is None:
        text = os.environ.get(env)
        if text is None or not text.strip():
            return default
        where = f"${env}"
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise ValueError(f"{where} must be a positive integer, got {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a positive int, got {value!r}")
    return value


# --------------------------------------------------------------------------- reading


def read_image(
    source: ImageSource,
    *,
    max_pixels: int | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
    max_scans: int | None = None,
) -> np.ndarray:
    """Read an image into a fresh C-contiguous ``uint8`` RGB array ``(H, W, 3)``.

    ``source`` is one of:

    * a path (``str`` or ``os.PathLike``) to a PNG, JPEG, BMP or TIFF file;
    * the encoded file itself as ``bytes``, ``bytearray`` or ``memoryview``;
    * an array in **RGB(A)** channel order: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)``
      or ``(H, W, 4)``, of dtype ``uint8``, ``uint16``, ``bool`` or a float dtype with
      values in ``[0, 1]``. The input array is never modified nor returned itself.

    Conversions: 16-bit samples become 8-bit by rounding ``v / 257``; gray is repeated
    into three channels; an alpha channel is composited over white (for integer images
    at their own bit depth, exactly rounded); floats become ``rint(v * 255)``. JPEG
    files are turned upright by their EXIF orientation; TIFF files give their first
    page.

    ``max_pixels`` bounds ``width * height``. For files it is checked on the header,
    before anything is decoded, so a small file that declares a huge image costs
    nothing. (OpenCV keeps its own limit too, ``OPENCV_IO_MAX_IMAGE_PIXELS``, 2**30
    by default.) ``max_bytes`` bounds the encoded size (a path is checked on its
    ``stat`` and never read past it) and ``max_scans`` the scans of a JPEG; ``None``
    takes the default (:func:`limit`: the environment, else the module's constant).
    ``name`` replaces the source's name in error messages (the CLI passes
    ``"<stdin>"``); by default it is the path as given, ``"<bytes>"`` or ``"<array>"``.

    Raises :class:`segocr.errors.ImageReadError` (message ``"<name>: <problem>"``) for
    a missing file, a directory, something that is not a regular file (a FIFO, a
    device, a socket), a file of more than ``max_bytes`` bytes, a JPEG of more than
    ``max_scans`` scans, a file that cannot be read, an empty or truncated or
    corrupt file, a file that is not a PNG/JPEG/BMP/TIFF image, an image of 0 pixels
    or of more than ``max_pixels`` pixels, and an array of unsupported dtype, shape or
    values (NaN, infinity, floats outside ``[0, 1]``). Raises :class:`ValueError` if a
    limit is not a positive int.

    >>> import numpy as np
    >>> rgb = read_image(np.array([[0.0, 1.0]]))            # (1, 2) float gray
    >>> rgb.shape, rgb.dtype, rgb[0].tolist()
    ((1, 2, 3), dtype('uint8'), [[0, 0, 0], [255, 255, 255]])
    >>> read_image(np.zeros((1, 1, 4), np.uint8))[0, 0].tolist()   # transparent -> white
    [255, 255, 255]
    >>> read_image(b"hello")
    Traceback (most recent call last):
    ...
    segocr.errors.ImageReadError: <bytes>: not a PNG, JPEG, BMP or TIFF image (starts with b'hello')
    """
    max_pixels = limit("max_pixels", max_pixels)
    max_bytes = limit("max_bytes", max_bytes)
    max_scans = limit("max_scans", max_scans)
    if isinstance(source, np.ndarray):
        return _array_to_rgb8(source, name=name or "<array>", max_pixels=max_pixels, bgr=False)
    if isinstance(source, bytes | bytearray | memoryview):
        label = name or "<bytes>"
        try:
            size = memoryview(source).nbytes
            if size > max_bytes:
                raise ImageReadError(_too_many_bytes(label, f"{size:,} bytes", max_bytes))
            data = bytes(source)
        except (TypeError, ValueError, BufferError) as exc:  # e.g. a released memoryview
            raise ImageReadError(f"{label}: cannot read the buffer ({exc})") from exc
        return _decode(data, name=label, max_pixels=max_pixels, max_scans=max_scans)
    if isinstance(source, str | os.PathLike):
        text = os.fsdecode(os.fspath(source))
        label = name or text or "''"
        if not text:
            raise ImageReadError(f"{label}: empty path")
        data = _read_file(Path(text), label, max_bytes)
        return _decode(data, name=label, max_pixels=max_pixels, max_scans=max_scans)
    label = name or f"<{type(source).__name__}>"
    raise ImageReadError(
        f"{label}: unsupported source type {type(source).__name__} "
        "(expected a path, encoded bytes or a numpy array)"
    )


def _too_many_bytes(label: str, size: str, max_bytes: int) -> str:
    return (
        f"{label}: too large ({size}; max_bytes is {max_bytes:,}, "
        "set $SEGOCR_MAX_IMAGE_BYTES to change it)"
    )


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(mode: int, label: str) -> None:
    """ImageReadError unless ``mode`` (an ``st_mode``) is a regular file's."""
    if stat.S_ISDIR(mode):
        raise ImageReadError(f"{label}: is a directory, not an image file")
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _NOT_REGULAR if test(mode)), "not a regular file")
        raise ImageReadError(f"{label}: {kind}, not an image file (only regular files are read)")


def _read_file(path: Path, label: str, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them;
    ImageReadError for anything else.

    The type is checked on ``stat`` (which follows symbolic links and never blocks)
    before opening, and again on the open descriptor; the file is opened non-blocking
    (a FIFO swapped in between cannot hang the reader) and read up to ``max_bytes + 1``
    bytes, so a file that grows while being read is refused too.
    """
    try:
        info = os.stat(path)
        _check_regular(info.st_mode, label)
        if info.st_size > max_bytes:
            raise ImageReadError(_too_many_bytes(label, f"{info.st_size:,} bytes", max_bytes))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_regular(os.fstat(fh.fileno()).st_mode, label)
            data = fh.read(max_bytes + 1)
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(f"{label}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImageReadError(f"{label}: is a directory, not an image file") from exc
    except PermissionError as exc:
        raise ImageReadError(f"{label}: permission denied") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImageReadError(f"{label}: cannot read file ({reason})") from exc
    if data is None:  # pragma: no cover - only a non-blocking non-file returns None
        raise ImageReadError(f"{label}: cannot read file (no data available)")
    if len(data) > max_bytes:
        raise ImageReadError(_too_many_bytes(label, f"more than {max_bytes:,} bytes", max_bytes))
    return data


def read_file_bytes(
    path: str | os.PathLike[str], *, name: str | None = None, max_bytes: int | None = None
) -> bytes:
    """The bytes of the regular file at ``path``, with the checks of :func:`read_image`
    (a regular file, at most ``max_bytes``) but no decoding: for hashing files safely.
    Raises :class:`ImageReadError` (``"<name>: ..."``).

    >>> read_file_bytes("/dev/null")
    Traceback (most recent call last):
    ...
    segocr.errors.ImageReadError: /dev/null: a character device, not an image file (only regular files are read)
    """
    text = os.fsdecode(os.fspath(path))
    return _read_file(Path(text), name or text, limit("max_bytes", max_bytes))


#: Limit on the bytes of a text file read by :func:`read_text_file` (a format, a grid,
#: a config, a card): 16 MiB.
MAX_TEXT_BYTES = 16 * 2**20


def read_text_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (a YAML or JSON file the user
    names), with the guards of :func:`read_image`: a FIFO, a device or a socket is
    refused from its ``stat`` (reading a FIFO would wait forever for a writer), and
    at most ``max_bytes`` bytes are read.

    Raises :class:`OSError` (``FileNotFoundError``, ``IsADirectoryError``, ... or one
    whose message says what the path is instead of a file, or that it is too large)
    and :class:`UnicodeDecodeError` for text that is not UTF-8.

    >>> read_text_file("/dev/zero")
    Traceback (most recent call last):
    ...
    OSError: [Errno 22] a character device, not a regular file: '/dev/zero'
    """
    import errno

    text = os.fsdecode(os.fspath(path))
    try:
        data = _read_file(Path(text), text, max_bytes)
    except ImageReadError as exc:
        cause = exc.__cause__
        if isinstance(cause, OSError):
            raise cause from None
        reason = str(exc).removeprefix(f"{text}: ")
        for image_words, text_words in (
            ("not an image file (only regular files are read)", "not a regular file"),
            ("not an image file", "not a regular file"),
            (", set $SEGOCR_MAX_IMAGE_BYTES to change it", ""),
        ):
            reason = reason.replace(image_words, text_words)
        raise OSError(errno.EINVAL, reason, text) from None
    return data.decode("utf-8")


def read_stream(stream: BinaryIO | None, *, name: str, max_bytes: int | None = None) -> bytes:
    """All bytes of a binary stream (stdin), at most ``max_bytes``: reading stops at
    ``max_bytes + 1``, so an endless stream costs bounded time and memory.

    ``stream`` may be ``None`` (Python's ``sys.stdin`` when file descriptor 0 is
    closed). Raises :class:`ImageReadError` (``"<name>: ..."``) for a closed stream,
    a read error or more than ``max_bytes`` bytes.

    >>> import io
    >>> read_stream(io.BytesIO(b"abc"), name="<stdin>")
    b'abc'
    >>> read_stream(io.BytesIO(b"abcdef"), name="<stdin>", max_bytes=4)
    Traceback (most recent call last):
    ...
    segocr.errors.ImageReadError: <stdin>: too large (more than 4 bytes; max_bytes is 4, set $SEGOCR_MAX_IMAGE_BYTES to change it)
    """
    max_bytes = limit("max_bytes", max_bytes)
    if stream is None or getattr(stream, "closed", False):
        raise ImageReadError(f"{name}: closed (nothing to read)")
    try:
        data = stream.read(max_bytes + 1)
    except (OSError, ValueError) as exc:  # ValueError: read of a closed file
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ImageReadError(f"{name}: cannot read ({reason})") from exc
    if data is None:
        raise ImageReadError(f"{name}: cannot read (no data available)")
    if len(data) > max_bytes:
        raise ImageReadError(_too_many_bytes(name, f"more than {max_bytes:,} bytes", max_bytes))
    return bytes(data)


def _decode(data: bytes, *, name: str, max_pixels: int, max_scans: int = DEFAULT_MAX_SCANS) -> np.ndarray:
    """Decode an encoded PNG/JPEG/BMP/TIFF after checking its header's size (and, for
    a JPEG, its number of scans)."""
    if not data:
        raise ImageReadError(f"{name}: empty file (0 bytes)")
    fmt, width, height = _probe(data, name)
    _check_pixels(width, height, name=name, max_pixels=max_pixels, what=f"{fmt} header says")
    if fmt == "PNG":
        _check_png_chunks(data, name)
    if fmt == "JPEG":
        scans = _count_jpeg_scans(data, stop_after=max_scans)
        if scans > max_scans:
            raise ImageReadError(
                f"{name}: JPEG has more than {max_scans:,} scans (each one a pass over the "
                "whole image; set $SEGOCR_MAX_JPEG_SCANS to change the limit)"
            )
    # JPEG: IMREAD_COLOR applies EXIF orientation and turns CMYK/YCCK into BGR.
    # Others: UNCHANGED keeps 16-bit samples and alpha, which we convert ourselves.
    flags = cv2.IMREAD_COLOR if fmt == "JPEG" else cv2.IMREAD_UNCHANGED
    with _quiet_opencv():
        try:
            decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
        except cv2.error as exc:
            reason = _cv2_reason(exc)
            raise ImageReadError(f"{name}: truncated or corrupt {fmt} file ({reason})") from exc
    if decoded is None or decoded.size == 0:
        raise ImageReadError(
            f"{name}: truncated or corrupt {fmt} file (OpenCV could not decode it)"
        )
    if fmt == "BMP" and decoded.ndim == 3 and decoded.shape[2] == 4 and not decoded[..., 3].any():
        decoded = decoded[..., :3]  # 32-bit BMPs often leave alpha at 0 meaning "unused"
    return _array_to_rgb8(decoded, name=name, max_pixels=max_pixels, bgr=True)


def _cv2_reason(exc: cv2.error) -> str:
    """The short message of an OpenCV error (its text after ``error: (code:kind)``)."""
    text = str(exc).strip()
    tail = text.rsplit(") ", 1)[-1] if "error: (" in text else text
    return " ".join(tail.split())[:200] or "OpenCV error"


_LOG_LOCK = threading.Lock()
_log_depth = 0
_saved_log_level = 0


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own stderr logging while decoding: a corrupt file becomes one
    ImageReadError, not an ImageReadError plus lines of ``[ERROR:0@...]``. Nested and
    thread-safe; the previous level is restored when the last user leaves."""
    global _log_depth, _saved_log_level
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:  # pragma: no cover - every supported OpenCV has it
        yield
        return
    with _LOG_LOCK:
        if _log_depth == 0:
            _saved_log_level = logging.getLogLevel()
            logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        _log_depth += 1
    try:
        yield
    finally:
        with _LOG_LOCK:
            _log_depth -= 1
            if _log_depth == 0:
                logging.setLogLevel(_saved_log_level)


def _check_pixels(width: int, height: int, *, name: str, max_pixels: int, what: str) -> None:
    """ImageReadError unless ``0 < width * height <= max_pixels``."""
    if width <= 0 or height <= 0:
        raise ImageReadError(f"{name}: image has 0 pixels ({what} {width}x{height})")
    if width * height > max_pixels:
        raise ImageReadError(
            f"{name}: image too large ({what} {width}x{height} = {width * height:,} pixels; "
            f"max_pixels is {max_pixels:,}, set $SEGOCR_MAX_IMAGE_PIXELS to change it)"
        )


# ------------------------------------------------------------------ header probing

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


_TIFF_TAGS = {256: "ImageWidth", 257: "ImageLength"}


class _BadHeader(ValueError):
    """A header that parses but must not be trusted; the message says why."""


def _probe(data: bytes, name: str) -> tuple[str, int, int]:
    """``(format, width, height)`` from the header of an encoded image.

    Reads only the header, never the pixels. Raises ImageReadError for an unknown
    format or a header that is cut short or malformed.

    >>> _probe(bytes.fromhex("424d") + bytes(12) + bytes([12, 0, 0, 0, 7, 0, 5, 0]), "x")
    ('BMP', 7, 5)
    """
    if data.startswith(_PNG_SIGNATURE):
        fmt = "PNG"
        size = _probe_png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        fmt = "JPEG"
        size = _probe_jpeg(data)
    elif data.startswith(b"BM"):
        fmt = "BMP"
        size = _probe_bmp(data)
    elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        fmt = "TIFF"
        try:
            size = _probe_tiff(data)
        except _BadHeader as exc:
            raise ImageReadError(f"{name}: corrupt TIFF header ({exc})") from None
    else:
        raise ImageReadError(f"{name}: not a {_FORMATS} image (starts with {data[:16]!r})")
    if size is None:
        raise ImageReadError(f"{name}: truncated or corrupt {fmt} header")
    return fmt, size[0], size[1]


def _probe_png(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, which must come first."""
    if len(data) < 24 or data[8:16] != b"\x00\x00\x00\rIHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    if width > 2**31 - 1 or height > 2**31 - 1:
        return None
    return width, height


def _check_png_chunks(data: bytes, name: str) -> None:
    """ImageReadError if a PNG chunk claims more bytes than the file has left.

    OpenCV's PNG reader allocates a chunk's declared length before reading it, so a
    few hundred bytes declaring a 4 GB chunk would cost 4 GB; walking the chunk
    lengths first (no CRC, no inflating) refuses that, and reports plain truncation.
    """
    at, size = 8, len(data)
    while at + 8 <= size:
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if at + 12 + length > size:
            label = kind.decode("latin-1") if kind.isalpha() else repr(kind)
            raise ImageReadError(
                f"{name}: truncated or corrupt PNG file (chunk {label} at byte {at} "
                f"declares {length:,} bytes, only {max(size - at - 12, 0):,} remain)"
            )
        if kind == b"IEND":
            return
        at += 12 + length


def _probe_jpeg(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first SOFn segment (after any APPn, DQT, ...)."""
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:  # stray bytes between segments: libjpeg skips them too
            i += 1
            continue
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            continue
        if marker in (0xD9, 0xDA) or i + 2 > n:  # EOI or scan data before any frame
            return None
        (length,) = struct.unpack(">H", data[i : i + 2])
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if length < 7 or i + 7 > n:
                return None
            height, width = struct.unpack(">HH", data[i + 3 : i + 7])
            return width, height
        i += length
    return None


def _count_jpeg_scans(data: bytes, *, stop_after: int) -> int:
    """The number of scans (SOS markers) of a JPEG, counting stops past ``stop_after``.

    Walks the marker stream: segments are skipped by their length (so APPn payloads
    such as an EXIF thumbnail are not searched), entropy-coded data by looking for the
    next ``0xFF`` that is neither a stuffed zero nor a restart marker. Linear in the
    file size, no decoding.

    >>> _count_jpeg_scans(bytes.fromhex("ffd8 ffda0002 0102ff00 ffda0002 ffd9"), stop_after=9)
    2
    """
    i, n, scans = 2, len(data), 0
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= n:
            return scans
        marker = data[j + 1]
        if marker in (0x00, 0x01, 0xD8, 0xFF) or 0xD0 <= marker <= 0xD7:
            i = j + 1 if marker == 0xFF else j + 2  # fill byte, stuffed zero, RSTn, TEM
            continue
        if marker == 0xD9 or j + 4 > n:  # EOI, or cut short
            return scans
        if marker == 0xDA:
            scans += 1
            if scans > stop_after:
                return scans
        (length,) = struct.unpack(">H", data[j + 2 : j + 4])
        i = j + 2 + max(length, 2)


def _probe_bmp(data: bytes) -> tuple[int, int] | None:
    """Width and height from the DIB header (OS/2 core or Windows info header)."""
    if len(data) < 18:
        return None
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:
        if len(data) < 22:
            return None
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    if dib_size < 16 or len(data) < 26:
        return None
    width, height = struct.unpack("<ii", data[18:26])
    if width < 0:
        return None
    return width, abs(height)  # a negative height means top-down rows


def _probe_tiff(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD, classic or BigTIFF.

    ``None`` (a corrupt header) when either tag is missing; :class:`_BadHeader` when
    one is stated more than once: libtiff believes the first of two, so a probe must
    not believe the last.
    """
    end = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            if struct.unpack(end + "HH", data[4:8]) != (8, 0):
                return None
            (ifd,) = struct.unpack(end + "Q", data[8:16])
            (count,) = struct.unpack(end + "Q", data[ifd : ifd + 8])
            first, entry, value_at = ifd + 8, 20, 12
        else:
            (ifd,) = struct.unpack(end + "I", data[4:8])
            (count,) = struct.unpack(end + "H", data[ifd : ifd + 2])
            first, entry, value_at = ifd + 2, 12, 8
    except struct.error:
        return None
    # Each entry: tag (H), type (H), count (I or Q), value or offset (4 or 8 bytes).
    value_formats = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8
    found: dict[int, int] = {}
    seen: set[int] = set()
    for k in range(min(count, (len(data) - first) // entry)):
        at = first + k * entry
        tag, kind = struct.unpack(end + "HH", data[at : at + 4])
        if tag in (256, 257) and tag in seen:
            raise _BadHeader(f"the first directory states {_TIFF_TAGS[tag]} twice")
        seen.add(tag)
        if tag in (256, 257) and kind in value_formats:
            fmt = value_formats[kind]
            size = struct.calcsize(fmt)
            (found[tag],) = struct.unpack(end + fmt, data[at + value_at : at + value_at + size])
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


# --------------------------------------------------------------- array conversion

_SHAPES = "(H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"


def _array_to_rgb8(image: np.ndarray, *, name: str, max_pixels: int, bgr: bool) -> np.ndarray:
    """A fresh ``uint8`` RGB ``(H, W, 3)`` array from a gray/colour(+alpha) array.

    ``bgr`` says the colour channels are in OpenCV's BGR(A) order (decoded files);
    arrays handed in by callers are RGB(A).
    """
    dtype = image.dtype
    if not (
        dtype == np.bool_
        or dtype == np.uint8
        or dtype == np.uint16
        or np.issubdtype(dtype, np.floating)
    ):
        raise ImageReadError(
            f"{name}: unsupported dtype {dtype} (expected uint8, uint16, bool, or float in [0, 1])"
        )
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ImageReadError(f"{name}: unsupported shape {image.shape} (expected {_SHAPES})")
    height, width = image.shape[:2]
    _check_pixels(width, height, name=name, max_pixels=max_pixels, what="array is")

    pixels = image.reshape(height, width, -1)  # (H, W, C), a view
    if np.issubdtype(dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise ImageReadError(f"{name}: float image contains NaN or infinity")
        low, high = float(pixels.min()), float(pixels.max())
        if low < 0.0 or high > 1.0:
            raise ImageReadError(
                f"{name}: {_FLOAT_RANGE_HINT}, got values in [{low:g}, {high:g}] "
                "(divide 0..255 data by 255)"
            )
        if dtype.itemsize < 4:
            pixels = pixels.astype(np.float32)
    elif dtype == np.bool_:
        pixels = pixels.view(np.uint8) * np.uint8(255)

    colour = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., :1]
    if bgr and colour.shape[2] == 3:
        colour = colour[..., ::-1]
    if pixels.shape[2] == 4:
        colour = _over_white(colour, pixels[..., 3:])
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[...] = _to_uint8(colour)  # broadcasts a gray (H, W, 1) into three channels
    return out


def _over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``colour * a + white * (1 - a)`` in the input's own depth and dtype.

    Integers are composited exactly (rounded) at their bit depth; floats in [0, 1].
    ``colour`` is (H, W, C), ``alpha`` (H, W, 1).
    """
    if np.issubdtype(colour.dtype, np.floating):
        return colour * alpha + (1 - alpha)
    top = np.uint32(np.iinfo(colour.dtype).max)  # 255 or 65535
    a = alpha.astype(np.uint32)
    # c*a + top*(top-a) <= top**2 and + top//2 stays below 2**32 even for 16 bits.
    mixed = (colour.astype(np.uint32) * a + top * (top - a) + top // 2) // top
    return mixed.astype(colour.dtype)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 from uint8 (as is), uint16 (``round(v / 257)``) or float in [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        # 257 is odd, so v / 257 never ends in exactly .5: floor((v + 128) / 257) rounds.
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.rint(pixels * 255).astype(np.uint8)


# ------------------------------------------------------------------- paths, writing


def iter_image_paths(
    paths: Iterable[Path], *, onerror: Callable[[ImageReadError], None] | None = None
) -> Iterator[Path]:
    """Expand directories into the image files under them, for a CLI's arguments.

    A path that is not a directory is yielded as given, even if it is missing or not
    an image (the caller reports it when :func:`read_image` fails). A directory gives
    the files below it, recursively, whose suffix (any case) is in
    :data:`IMAGE_SUFFIXES`, sorted; hidden files and directories (name starting with
    ``.``) are skipped and symbolic links to directories are not followed.

    A sub-folder that cannot be listed (no permission, a path too long for the
    system, removed meanwhile) is never skipped silently: it becomes an
    :class:`ImageReadError` (``"<folder>: cannot list folder (<reason>)"``) handed to
    ``onerror``, or raised when ``onerror`` is ``None``, after the folder's readable
    images have been yielded.

    >>> [str(p) for p in iter_image_paths([Path("missing.png")])]
    ['missing.png']
    """
    for path in paths:
        path = Path(path)
        try:
            is_dir = path.is_dir()
        except OSError:  # a name too long, ...: reading it reports the reason
            is_dir = False
        if not is_dir:
            yield path
            continue
        found: list[Path] = []
        failed: list[OSError] = []
        for root, dirs, files in os.walk(path, onerror=failed.append):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found.extend(
                Path(root, f)
                for f in files
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES
            )
        yield from sorted(found)
        for exc in failed:
            error = _walk_error(exc, path)
            if onerror is None:
                raise error
            onerror(error)


def _walk_error(exc: OSError, top: Path) -> ImageReadError:
    """The ImageReadError for a folder that ``os.walk`` could not list."""
    where = os.fsdecode(os.fspath(exc.filename if exc.filename is not None else top))
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ImageReadError(f"{where}: cannot list folder ({reason})", source=where)


def write_image(path: str | os.PathLike[str], image_rgb: np.ndarray) -> None:
    """Write a ``uint8`` RGB ``(H, W, 3)`` (or gray ``(H, W)``) array to ``path``.

    The format follows the suffix (one of :data:`IMAGE_SUFFIXES`, any case); the
    bytes are encoded by OpenCV and written by Python, so any path works. The parent
    directory must exist. Raises :class:`ValueError` for an unsupported array or
    suffix and :class:`OSError` if the file cannot be written.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_image(Path(tmp, "red.png"), np.array([[[255, 0, 0]]], np.uint8))
    ...     read_image(Path(tmp, "red.png")).tolist()
    [[[255, 0, 0]]]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{path}: cannot write suffix {path.suffix!r} (use one of {sorted(IMAGE_SUFFIXES)})"
        )
    if not isinstance(image_rgb, np.ndarray) or image_rgb.dtype != np.uint8:
        raise ValueError(f"{path}: image must be a uint8 array, got {_describe(image_rgb)}")
    if not (image_rgb.ndim == 2 or (image_rgb.ndim == 3 and image_rgb.shape[2] == 3)):
        raise ValueError(
            f"{path}: image must be (H, W, 3) RGB or (H, W) gray, got {image_rgb.shape}"
        )
    if image_rgb.size == 0:
        raise ValueError(f"{path}: image has 0 pixels ({image_rgb.shape})")
    pixels = image_rgb if image_rgb.ndim == 2 else image_rgb[..., ::-1]
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(pixels))
    if not ok:  # pragma: no cover - OpenCV encodes every uint8 image in these formats
        raise ValueError(f"{path}: OpenCV could not encode the image as {suffix}")
    atomic_write_bytes(path, encoded.tobytes(), make_parents=False, durable=False)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, make_parents: bool = True, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and a rename, so a reader
    (or a crash, a full disk, an interrupt) never sees a half-written file; the
    temporary file is removed on failure. ``make_parents`` creates the parent folders;
    ``durable`` syncs the data to disk before the rename (weights, checkpoints). An
    :class:`OSError` always names ``path``, not the temporary name (a failed ``write``
    names no file by itself)."""
    import tempfile

    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # a read-only or missing folder
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename in (None, tmp):
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from None
        raise


@contextmanager
def atomic_folder(out: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary sibling and put it in place as a whole.

    Yields a fresh, empty temporary folder beside ``out`` (``.NAME.tmp-XXXX`` in the
    same parent, so the final rename stays on one file system); when the block ends
    normally the folder is renamed to ``out``. When it raises (a full disk, an
    interrupt), the temporary folder is removed and ``out`` is left as it was: a
    reader never sees a half-written folder, and two writers cannot mix their files.

    ``out`` may be absent or an empty directory. A directory holding files is
    replaced only with ``overwrite`` (it is renamed aside, the new one renamed in,
    the old one removed); otherwise :class:`FileExistsError`. OSErrors (a parent that
    is a file, a read-only disk) propagate.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with atomic_folder(Path(tmp, "report")) as work:
    ...         _ = Path(work, "a.txt").write_text("done")
    ...     sorted(p.name for p in Path(tmp).iterdir()), Path(tmp, "report", "a.txt").read_text()
    (['report'], 'done')
    """
    import shutil
    import tempfile

    out = Path(out)
    for parent in (out.parent, *out.parent.parents):
        if parent.exists():
            if not parent.is_dir():  # mkdir would say "File exists", which misleads
                raise NotADirectoryError(20, "Not a directory", str(parent))
            break
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    except OSError as exc:  # a read-only folder: name the destination, not the temporary name
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(out)) from None
    try:
        yield work
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(work, 0o777 & ~umask)  # mkdtemp makes 0700; give the usual permissions
        try:
            os.rename(work, out)  # atomic; fails unless out is absent or an empty directory
        except OSError:
            if not out.is_dir() or not any(out.iterdir()):
                raise
            if not overwrite:
                raise FileExistsError(17, "folder already holds files (use overwrite)", str(out)) from None
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / out.name)
            os.rename(work, out)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # a failed write names no file: name the folder being written
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(out)) from None
        raise


def _describe(value: object) -> str:
    """``"uint16 array"`` / ``"list"``: a short name for an error message."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array"
    return type(value).__name__
