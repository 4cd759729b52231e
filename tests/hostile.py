"""Makers of hostile inputs for the hardening tests (issue 14), built from scratch here:
nothing is downloaded and nothing large is written (a sparse file costs no disk)."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def many_plates(folder: Path, n: int) -> Path:
    """``folder`` (created) holding ``n`` symlinks ``0000.png``, ... to the shipped sample
    crops in turn: a long batch to interrupt, at no disk cost."""
    folder.mkdir()
    plates = sorted(SAMPLES.glob("*.png"))
    for k in range(n):
        (folder / f"{k:04d}.png").symlink_to(plates[k % len(plates)])
    return folder


def progressive_jpeg(height: int = 64, width: int = 64, seed: int = 0) -> bytes:
    """A small progressive JPEG of noise (cv2's encoder: about ten scans)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    return buf.tobytes()


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """``(marker, bytes)`` of each segment of a JPEG, a scan with its entropy data."""
    out: list[tuple[int, bytes]] = []
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, data[i : i + 2]))
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        end = i + 2 + length
        if marker == 0xDA:  # entropy data runs to the next marker that is not RSTn/stuffing
            while True:
                end = data.index(b"\xff", end)
                nxt = data[end + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    end += 2
                    continue
                break
        out.append((marker, data[i:end]))
        i = end
    return out


def many_scan_jpeg(scans: int, seed: int = 0) -> bytes:
    """A progressive JPEG whose last refinement scan is repeated until the file has
    ``scans`` scans: each one is another pass over the image for the decoder (the
    "thousands of scans in 156 KB" attack)."""
    segments = jpeg_segments(progressive_jpeg(seed=seed))
    sos = [k for k, (m, _) in enumerate(segments) if m == 0xDA]
    head = b"".join(s for _, s in segments[: sos[-1]])
    last = segments[sos[-1]][1]
    extra = scans - len(sos)
    assert extra >= 0
    return b"\xff\xd8" + head + last * (extra + 1) + b"\xff\xd9"


def tiff_with_duplicate_size(first: tuple[int, int], last: tuple[int, int]) -> bytes:
    """A classic little-endian 8-bit gray TIFF whose first directory states ImageWidth
    and ImageLength twice: ``first`` (width, height) and then ``last``, with pixel
    data for ``last`` only."""
    w2, h2 = last
    pixels = bytes(w2 * h2)
    entries = [
        (256, 4, first[0]), (257, 4, first[1]), (256, 4, w2), (257, 4, h2),
        (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0), (277, 3, 1),
        (278, 4, h2), (279, 4, len(pixels)),
    ]  # fmt: skip
    data_at = 8 + 2 + 12 * len(entries) + 4
    out = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, kind, value in entries:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    return out + struct.pack("<I", 0) + pixels
