"""Hostile files for segocr.io (issue 14, items 1, 2 and 4): non-regular files, endless
and huge inputs, decompression bombs that pass a naive header check, folders that
cannot be listed. Each case is built here and bounded in time."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hostile import many_scan_jpeg, progressive_jpeg, tiff_with_duplicate_size

from segocr.batch import Unreadable, expand_paths
from segocr.errors import ImageReadError
from segocr.io import (
    DEFAULT_MAX_BYTES,
    iter_image_paths,
    limit,
    read_image,
    read_stream,
)

#: Every hostile read must be refused within this many seconds (they take
#: milliseconds; the issue saw minutes, forever or an out-of-memory).
FAST_S = 2.0


def _refused(source: object, **kwargs: object) -> str:
    start = time.monotonic()
    with pytest.raises(ImageReadError) as info:
        read_image(source, **kwargs)  # type: ignore[arg-type]
    assert time.monotonic() - start < FAST_S
    return str(info.value)


def _png(path: Path) -> Path:
    ok, buf = cv2.imencode(".png", np.full((8, 20), 200, np.uint8))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "plate.png"
    os.mkfifo(fifo)
    assert _refused(fifo) == f"{fifo}: a named pipe (FIFO), not an image file (only regular files are read)"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_symlink_to_a_device_is_refused(tmp_path: Path, device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} absent")
    link = tmp_path / "plate.png"
    link.symlink_to(device)
    assert "a character device, not an image file" in _refused(link)


def test_sparse_huge_file_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as fh:  # 10 GB that take no disk: a hole
        fh.truncate(10 * 2**30)
    message = _refused(path)
    assert message.startswith(f"{path}: too large (10,737,418,240 bytes; max_bytes is ")


def test_max_bytes_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _png(tmp_path / "ok.png")
    size = path.stat().st_size
    assert read_image(path, max_bytes=size).shape == (8, 20, 3)
    assert "too large" in _refused(path, max_bytes=size - 1)
    assert "too large" in _refused(path.read_bytes(), max_bytes=size - 1)
    monkeypatch.setenv("SEGOCR_MAX_IMAGE_BYTES", str(size - 1))
    assert limit("max_bytes") == size - 1
    assert "too large" in _refused(path)
    monkeypatch.setenv("SEGOCR_MAX_IMAGE_BYTES", "lots")
    with pytest.raises(ValueError, match=r"\$SEGOCR_MAX_IMAGE_BYTES must be a positive integer"):
        read_image(path)
    monkeypatch.delenv("SEGOCR_MAX_IMAGE_BYTES")
    assert limit("max_bytes") == DEFAULT_MAX_BYTES


class _Endless(io.RawIOBase):
    """A stream that never ends (stdin fed by ``cat /dev/zero``); counts what is read."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = len(buffer)
        buffer[:n] = bytes(n)
        self.served += n
        return n


def test_endless_stream_is_cut_at_the_limit() -> None:
    stream = _Endless()
    start = time.monotonic()
    with pytest.raises(ImageReadError, match=r"^<stdin>: too large \(more than 1,000 bytes"):
        read_stream(io.BufferedReader(stream), name="<stdin>", max_bytes=1000)
    assert time.monotonic() - start < FAST_S
    assert stream.served <= 1000 + 1 + io.DEFAULT_BUFFER_SIZE


def test_closed_stream_is_an_error() -> None:
    with pytest.raises(ImageReadError, match="^<stdin>: closed"):
        read_stream(None, name="<stdin>")
    closed = io.BytesIO(b"x")
    closed.close()
    with pytest.raises(ImageReadError, match="^<stdin>: closed"):
        read_stream(closed, name="<stdin>")


def test_tiff_stating_its_size_twice_is_refused() -> None:
    """libtiff believes the first (huge) size, a probe reading to the end the last
    (tiny) one: the file must be refused, not decoded as a gigapixel."""
    data = tiff_with_duplicate_size((30_000, 30_000), (10, 10))
    assert _refused(data) == "<bytes>: corrupt TIFF header (the first directory states ImageWidth twice)"
    # The same layout stating each size once is an ordinary image.
    assert tiff_with_duplicate_size((10, 10), (10, 10)) != data


def test_many_scan_progressive_jpeg_is_refused_before_decoding() -> None:
    data = many_scan_jpeg(3000)
    assert len(data) < 2_000_000
    assert _refused(data).startswith("<bytes>: JPEG has more than 100 scans")
    assert "more than 2,999 scans" in _refused(data, max_scans=2999)
    assert read_image(data, max_scans=3000).shape == (64, 64, 3)  # the limit, not the file


def test_ordinary_progressive_jpeg_still_reads() -> None:
    assert read_image(progressive_jpeg()).shape == (64, 64, 3)
    assert read_image(many_scan_jpeg(50)).shape == (64, 64, 3)


def test_unlistable_sub_folder_is_an_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sub-folder that cannot be listed is reported, not skipped (simulated: the tests
    run as root, which chmod 000 does not stop)."""
    top = tmp_path / "top"
    (top / "a").mkdir(parents=True)
    _png(top / "a" / "1.png")
    locked = top / "b"
    locked.mkdir()
    _png(locked / "2.png")
    real = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(ImageReadError, match=r"b: cannot list folder \(Permission denied\)$"):
        list(iter_image_paths([top]))
    got = list(expand_paths([top]))
    assert got[0] == top / "a" / "1.png"
    assert got[1] == Unreadable(str(locked), f"{locked}: cannot list folder (Permission denied)")
    assert len(got) == 2


def test_too_long_path_while_walking_is_an_error_line(tmp_path: Path) -> None:
    """Folders nested deeper than the system's longest path (built with relative
    mkdir, which has no such limit): the walk reports the level it cannot enter."""
    top = tmp_path / "deep"
    top.mkdir()
    _png(top / "shallow.png")
    name = "d" * 200
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(30):  # 30 * 201 characters > PATH_MAX (4096)
            os.mkdir(name, dir_fd=fd)
            nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    start = time.monotonic()
    got = list(expand_paths([top]))
    assert time.monotonic() - start < 10
    assert got[0] == top / "shallow.png"
    errors = [g for g in got if isinstance(g, Unreadable)]
    assert len(errors) == 1 and errors[0].error.endswith("cannot list folder (File name too long)")
    # Clean up with relative paths too (rmtree would hit the same limit).
    _remove_deep(top, name)


def _remove_deep(top: Path, name: str) -> None:
    fds = [os.open(top, os.O_RDONLY)]
    try:
        while True:
            try:
                fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        for parent in reversed(fds[:-1]):
            os.rmdir(name, dir_fd=parent)
    finally:
        for fd in fds:
            os.close(fd)
