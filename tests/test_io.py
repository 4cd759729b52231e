"""Tests of segocr.io: every format, depth and layout, every error, and fuzzing.

Image files are made here from hand-made arrays (cv2 for the ordinary encodings, a
few lines of struct/zlib for what cv2 cannot write: gray+alpha and palette PNGs,
BigTIFF, headers that lie about their size). Nothing is downloaded.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from segocr.errors import ImageReadError
from segocr.io import IMAGE_SUFFIXES, iter_image_paths, read_image, write_image

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

RNG_SEED = 20240601


# ------------------------------------------------------------------ file makers


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def encode(suffix: str, pixels_bgr: np.ndarray, params: tuple[int, ...] = ()) -> bytes:
    """cv2-encoded bytes of an array in cv2's own (BGR/BGRA) order."""
    ok, buf = cv2.imencode(suffix, pixels_bgr, list(params))
    assert ok
    return buf.tobytes()


def encode_rgb(suffix: str, rgb: np.ndarray) -> bytes:
    """Encode an RGB(A)/gray array, flipping it to the BGR(A) order cv2 expects."""
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        rgb = rgb[..., ::-1]
    elif rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = rgb[..., [2, 1, 0, 3]]
    return encode(suffix, np.ascontiguousarray(rgb))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(
    width: int,
    height: int,
    bit_depth: int,
    colour_type: int,
    rows: list[bytes] | None = None,
    *,
    plte: bytes | None = None,
    trns: bytes | None = None,
) -> bytes:
    """A PNG written by hand (filter 0 on each row); ``rows=None`` gives no IDAT."""
    out = b"\x89PNG\r\n\x1a\n" + _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    )
    if plte is not None:
        out += _chunk(b"PLTE", plte)
    if trns is not None:
        out += _chunk(b"tRNS", trns)
    if rows is not None:
        out += _chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows)))
    return out + _chunk(b"IEND", b"")


def make_tiff(
    gray: np.ndarray, *, big: bool = False, width: int | None = None, height: int | None = None
) -> bytes:
    """An uncompressed 8-bit gray TIFF (classic or BigTIFF) written by hand;
    ``width``/``height`` override the header's size (to make it lie)."""
    h, w = gray.shape
    w_tag, h_tag = (w if width is None else width), (h if height is None else height)
    tags = [
        (256, w_tag),
        (257, h_tag),
        (258, 8),
        (259, 1),
        (262, 1),
        (273, 0),
        (277, 1),
        (278, h),
        (279, w * h),
    ]
    if big:
        head, entry_size, count_fmt, value_fmt, next_fmt = 16, 20, "<Q", "<HHQQ", "<Q"
    else:
        head, entry_size, count_fmt, value_fmt, next_fmt = 8, 12, "<H", "<HHII", "<I"
    ifd_size = struct.calcsize(count_fmt) + entry_size * len(tags) + struct.calcsize(next_fmt)
    data_at = head + ifd_size
    header = (
        (b"II+\x00" + struct.pack("<HHQ", 8, 0, head))
        if big
        else (b"II*\x00" + struct.pack("<I", head))
    )
    ifd = struct.pack(count_fmt, len(tags))
    for tag, value in tags:
        ifd += struct.pack(value_fmt, tag, 4, 1, data_at if tag == 273 else value)
    ifd += struct.pack(next_fmt, 0)
    return header + ifd + np.ascontiguousarray(gray, dtype=np.uint8).tobytes()


def make_bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BMP header (no pixels): enough for the size check."""
    return (
        b"BM"
        + struct.pack("<IHHI", 54, 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    )


def make_jpeg_header(width: int, height: int) -> bytes:
    """SOI + a baseline SOF0 frame header + EOI: enough for the size check."""
    sof = struct.pack(">HBHHB", 11, 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8" + b"\xff\xc0" + sof + b"\xff\xd9"


def assert_jpeg_close(got: np.ndarray, want: np.ndarray) -> None:
    """JPEG is lossy, and chroma subsampling smears colour edges: compare the image
    away from its one vertical colour edge (in the middle), within a tolerance."""
    assert got.shape == want.shape
    mid = want.shape[1] // 2
    keep = np.r_[0 : mid - 3, mid + 3 : want.shape[1]]
    assert np.abs(got[:, keep].astype(int) - want[:, keep]).max() <= 6


def check_rgb(image: np.ndarray) -> None:
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] > 0 and image.shape[1] > 0
    assert image.flags.c_contiguous


# --------------------------------------------------- formats, depths and layouts

LOSSLESS = [".png", ".bmp", ".tif"]


@pytest.mark.parametrize("suffix", LOSSLESS)
def test_rgb8_round_trip_keeps_rgb_order(tmp_path: Path, suffix: str) -> None:
    rgb = _rng().integers(0, 256, (9, 13, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)  # pure red must stay red, not blue
    path = tmp_path / f"img{suffix}"
    path.write_bytes(encode_rgb(suffix, rgb))
    got = read_image(path)
    check_rgb(got)
    np.testing.assert_array_equal(got, rgb)
    assert got[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("suffix", LOSSLESS)
def test_gray8_round_trip(tmp_path: Path, suffix: str) -> None:
    gray = _rng().integers(0, 256, (7, 5), dtype=np.uint8)
    path = tmp_path / f"gray{suffix}"
    path.write_bytes(encode(suffix, gray))
    got = read_image(path)
    check_rgb(got)
    np.testing.assert_array_equal(got, np.repeat(gray[:, :, None], 3, axis=2))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_rgba8_composited_over_white(tmp_path: Path, suffix: str) -> None:
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [200, 100, 0, 128]]], np.uint8)
    path = tmp_path / f"rgba{suffix}"
    path.write_bytes(encode_rgb(suffix, rgba))
    got = read_image(path)
    expected = np.array(
        [
            [
                [10, 20, 30],
                [255, 255, 255],
                [round((c * 128 + 255 * 127) / 255) for c in (200, 100, 0)],
            ]
        ]
    )
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16bit_scaled_by_rounding(tmp_path: Path, suffix: str, channels: int) -> None:
    values = np.array([0, 128, 129, 257, 385, 386, 65535, 32896], np.uint16)
    expected8 = np.array([0, 0, 1, 1, 1, 2, 255, 128], np.uint8)  # round(v / 257)
    if channels == 1:
        pixels = values[None, :]
        want = np.repeat(expected8[None, :, None], 3, axis=2)
    else:
        pixels = np.repeat(values[None, :, None], channels, axis=2)
        pixels[..., 0] = values[::-1]  # different channels to see the order
        if channels == 4:
            pixels[..., 3] = 65535  # opaque
        want = np.stack([expected8[::-1], expected8, expected8], axis=-1)[None]
    path = tmp_path / f"deep{suffix}"
    path.write_bytes(encode_rgb(suffix, pixels))
    got = read_image(path)
    check_rgb(got)
    np.testing.assert_array_equal(got, want)


def test_16bit_alpha_composited_at_16_bits(tmp_path: Path) -> None:
    rgba = np.array([[[65535, 0, 1000, 0], [0, 0, 0, 32768], [300, 600, 900, 65535]]], np.uint16)
    path = tmp_path / "rgba16.png"
    path.write_bytes(encode_rgb(".png", rgba))
    got = read_image(path)
    c, a = rgba[..., :3].astype(np.int64), rgba[..., 3:].astype(np.int64)
    mixed16 = (c * a + 65535 * (65535 - a) + 32767) // 65535
    np.testing.assert_array_equal(got, (mixed16 + 128) // 257)
    assert got[0, 0].tolist() == [255, 255, 255]
    assert got[0, 2].tolist() == [1, 2, 4]


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_gray_alpha_png(tmp_path: Path, bit_depth: int) -> None:
    top = 2**bit_depth - 1
    ga = np.array([[[top // 3, top], [0, 0], [0, top // 2]]], np.int64)
    dtype = ">u1" if bit_depth == 8 else ">u2"
    path = tmp_path / f"ga{bit_depth}.png"
    path.write_bytes(make_png(3, 1, bit_depth, 4, [ga.astype(dtype).tobytes()]))
    got = read_image(path)
    mixed = (ga[..., :1] * ga[..., 1:] + top * (top - ga[..., 1:]) + top // 2) // top
    want = mixed if bit_depth == 8 else (mixed + 128) // 257
    np.testing.assert_array_equal(got, np.repeat(want, 3, axis=2))
    assert got[0, 0].tolist() == [85, 85, 85]
    assert got[0, 1].tolist() == [255, 255, 255]


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    data = make_png(
        3,
        1,
        8,
        3,
        [bytes([0, 1, 2])],
        plte=bytes([255, 0, 0, 0, 0, 255, 0, 255, 0]),
        trns=bytes([255, 0]),
    )
    got = read_image(data)
    assert got[0].tolist() == [[255, 0, 0], [255, 255, 255], [0, 255, 0]]


def test_one_bit_png() -> None:
    got = read_image(make_png(8, 1, 1, 0, [bytes([0b10100000])]))
    assert got[0, :, 0].tolist() == [255, 0, 255, 0, 0, 0, 0, 0]


def test_jpeg_gray_and_colour_are_close(tmp_path: Path) -> None:
    rgb = np.zeros((16, 32, 3), np.uint8)
    rgb[:, :16] = (250, 30, 20)  # flat blocks survive JPEG well
    rgb[:, 16:] = (20, 40, 230)
    for suffix in (".jpg", ".jpeg"):
        path = tmp_path / f"c{suffix}"
        path.write_bytes(encode_rgb(suffix, rgb))
        got = read_image(path)
        check_rgb(got)
        assert_jpeg_close(got, rgb)
    gray = np.full((16, 16), 77, np.uint8)
    got = read_image(encode(".jpg", gray))
    assert np.abs(got.astype(int) - 77).max() <= 2


def test_jpeg_exif_orientation_applied() -> None:
    rgb = np.zeros((16, 32, 3), np.uint8)
    rgb[:, :16] = 255  # white left half
    plain = encode_rgb(".jpg", rgb)
    # An EXIF APP1 with Orientation = 6 ("rotate 90 degrees clockwise to view").
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    app1 = b"Exif\x00\x00" + tiff + struct.pack(">I", 0)
    rotated = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]
    got = read_image(rotated)
    assert got.shape == (32, 16, 3)
    assert got[:14].mean() > 200 and got[18:].mean() < 50  # white half now on top


def test_bmp_32bit_with_alpha_and_with_unused_alpha() -> None:
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., :3] = (30, 20, 10)
    bgra[..., 3] = 255
    assert read_image(encode(".bmp", bgra))[0, 0].tolist() == [10, 20, 30]
    bgra[..., 3] = 0  # alpha 0 everywhere means "unused", not "invisible"
    assert read_image(encode(".bmp", bgra))[0, 0].tolist() == [10, 20, 30]


@pytest.mark.parametrize("big", [False, True])
def test_hand_made_tiff_and_bigtiff(big: bool) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    got = read_image(make_tiff(gray, big=big))
    np.testing.assert_array_equal(got[..., 0], gray)


def test_float_tiff_in_unit_range(tmp_path: Path) -> None:
    pixels = np.array([[[0.0, 0.5, 1.0]]], np.float32)  # BGR on disk
    path = tmp_path / "float.tif"
    path.write_bytes(encode(".tif", pixels))
    assert read_image(path)[0, 0].tolist() == [255, 128, 0]


def test_sources_agree_and_unicode_paths(tmp_path: Path) -> None:
    rgb = _rng().integers(0, 256, (6, 4, 3), dtype=np.uint8)
    folder = tmp_path / "dir with space" / "номер 車牌"
    folder.mkdir(parents=True)
    path = folder / "plaque ü 番号.png"
    data = encode_rgb(".png", rgb)
    path.write_bytes(data)
    results = [
        read_image(path),
        read_image(str(path)),
        read_image(data),
        read_image(bytearray(data)),
        read_image(memoryview(data)),
        read_image(rgb),
    ]
    for got in results:
        check_rgb(got)
        np.testing.assert_array_equal(got, rgb)


# ------------------------------------------------------------------------ arrays


def test_array_conversions() -> None:
    assert read_image(np.array([[True, False]]))[0, :, 0].tolist() == [255, 0]
    deep = np.array([[0, 128, 129, 65535]], np.uint16)
    assert read_image(deep)[0, :, 0].tolist() == [0, 0, 1, 255]
    floats = np.array([[0.0, 0.5, 1 / 255, 1.0]], np.float64)
    assert read_image(floats)[0, :, 0].tolist() == [0, 128, 1, 255]
    assert read_image(floats.astype(np.float16))[0, :, 0].tolist() == [0, 128, 1, 255]
    rgba = np.array([[[1.0, 0.0, 0.0, 0.5]]], np.float32)
    assert read_image(rgba)[0, 0].tolist() == [255, 128, 128]
    assert read_image(np.array([[[7], [9]]], np.uint8))[0, :, 0].tolist() == [7, 9]
    bool_rgba = np.array([[[True, False, False, False], [True, False, False, True]]])
    assert read_image(bool_rgba)[0].tolist() == [[255, 255, 255], [255, 0, 0]]


def test_array_input_not_modified_nor_returned() -> None:
    rgb = _rng().integers(0, 256, (5, 6, 3), dtype=np.uint8)
    before = rgb.copy()
    got = read_image(rgb)
    got[...] = 0
    np.testing.assert_array_equal(rgb, before)
    assert not np.shares_memory(got, rgb)
    strided = np.asfortranarray(before)[::2, ::-1]  # neither C-contiguous nor forward
    got = read_image(strided)
    check_rgb(got)
    np.testing.assert_array_equal(got, strided)


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.zeros((3, 3), np.int64), "unsupported dtype int64"),
        (np.zeros((3, 3), np.int16), "unsupported dtype int16"),
        (np.zeros((3, 3), np.complex64), "unsupported dtype complex64"),
        (np.zeros((3, 3), object), "unsupported dtype object"),
        (np.zeros((3, 3, 2), np.uint8), "unsupported shape (3, 3, 2)"),
        (np.zeros((3, 3, 5), np.uint8), "unsupported shape (3, 3, 5)"),
        (np.zeros(9, np.uint8), "unsupported shape (9,)"),
        (np.zeros((1, 3, 3, 3), np.uint8), "unsupported shape (1, 3, 3, 3)"),
        (np.zeros((), np.uint8), "unsupported shape ()"),
        (np.zeros((0, 5, 3), np.uint8), "0 pixels"),
        (np.zeros((5, 0), np.uint8), "0 pixels"),
        (np.array([[0.1, np.nan]]), "NaN or infinity"),
        (np.array([[np.inf, 0.0]], np.float32), "NaN or infinity"),
        (np.array([[0.0, 255.0]]), "[0, 1]"),
        (np.array([[-0.5, 0.5]]), "[0, 1]"),
    ],
)
def test_bad_arrays(array: np.ndarray, needle: str) -> None:
    with pytest.raises(ImageReadError, match=r"^<array>: ") as info:
        read_image(array)
    assert needle in str(info.value)


def test_array_pixel_limit() -> None:
    assert read_image(np.zeros((10, 10), np.uint8), max_pixels=100).shape == (10, 10, 3)
    with pytest.raises(ImageReadError, match="too large.*100"):
        read_image(np.zeros((10, 11), np.uint8), max_pixels=100)


_DTYPES = [
    np.uint8,
    np.uint16,
    np.bool_,
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int32,
    np.int64,
    np.uint32,
    np.complex64,
]


@settings(FUZZ, max_examples=150)
@given(
    hnp.arrays(
        dtype=st.sampled_from(_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
    )
)
def test_fuzz_arrays(array: np.ndarray) -> None:
    before = array.copy()
    supported = (
        array.dtype in (np.uint8, np.uint16, np.bool_) or np.issubdtype(array.dtype, np.floating)
    ) and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)))
    valid = supported and array.size > 0
    if valid and np.issubdtype(array.dtype, np.floating):
        valid = bool(np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1)
    try:
        got = read_image(array)
    except ImageReadError as exc:
        assert str(exc).startswith("<array>: ")
        assert not valid, exc
    else:
        assert valid
        check_rgb(got)
        assert got.shape[:2] == array.shape[:2]
    np.testing.assert_array_equal(array, before)


# ------------------------------------------------------------------------ errors


def _error(source: object, **kwargs: object) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(source, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope ü.png"
    message = _error(path)
    assert message.startswith(str(path)) and "no such file" in message


def test_directory(tmp_path: Path) -> None:
    message = _error(tmp_path)
    assert message.startswith(str(tmp_path)) and "directory" in message


def test_empty_path() -> None:
    assert "empty path" in _error("")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    message = _error(path)
    assert message.startswith(str(path)) and "empty file (0 bytes)" in message
    assert _error(b"").startswith("<bytes>: empty")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just some text, not an image\n")
    message = _error(path)
    assert message.startswith(str(path)) and "not a PNG, JPEG, BMP or TIFF image" in message


def test_other_formats_are_refused() -> None:
    webp_like = b"RIFF\x00\x00\x00\x00WEBPVP8 "
    assert "not a PNG, JPEG, BMP or TIFF" in _error(webp_like)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif"])
@pytest.mark.parametrize("keep", [0.05, 0.5, 0.97])
def test_truncated_files(tmp_path: Path, suffix: str, keep: float) -> None:
    data = encode_rgb(suffix, _rng().integers(0, 256, (40, 40, 3), dtype=np.uint8))
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    message = _error(path)
    assert message.startswith(str(path))
    assert "truncated" in message or "corrupt" in message


def test_corrupt_png_body(tmp_path: Path) -> None:
    data = bytearray(encode_rgb(".png", _rng().integers(0, 256, (20, 20, 3), dtype=np.uint8)))
    data[60:80] = bytes(20)  # inside IDAT: the CRC no longer matches
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    message = _error(path)
    assert message.startswith(str(path)) and "corrupt" in message


@pytest.mark.parametrize(
    "data",
    [
        make_png(0, 5, 8, 0),
        make_png(5, 0, 8, 2),
        make_bmp_header(0, 5),
        make_jpeg_header(5, 0),
        make_tiff(np.zeros((2, 2), np.uint8), width=0),
    ],
    ids=["png-w0", "png-h0", "bmp-w0", "jpeg-h0", "tiff-w0"],
)
def test_zero_pixel_images(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "zero.img"
    path.write_bytes(data)
    message = _error(path)
    assert message.startswith(str(path)) and "0 pixels" in message


def _no_decode(*args: object, **kwargs: object) -> None:
    raise AssertionError("cv2.imdecode must not be called for an oversized image")


@pytest.fixture(scope="module")
def png_20000x20000() -> bytes:
    """A genuine, valid 20000x20000 1-bit gray PNG (about 50 kB; decoding it would
    allocate 400 MB for gray, 1.2 GB as RGB)."""
    row = b"\x00" + bytes(2500)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(20000)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    )


def test_huge_png_refused_from_header(
    tmp_path: Path, png_20000x20000: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_20000x20000)
    monkeypatch.setattr(cv2, "imdecode", _no_decode)
    message = _error(path)
    assert message.startswith(str(path))
    assert "too large" in message and "20000x20000" in message and "50,000,000" in message


@pytest.mark.parametrize(
    "data",
    [
        make_jpeg_header(60000, 60000),
        make_bmp_header(30000, -30000),
        make_tiff(np.zeros((2, 2), np.uint8), width=100000, height=100000),
        make_tiff(np.zeros((2, 2), np.uint8), width=100000, height=100000, big=True),
    ],
    ids=["jpeg", "bmp", "tiff", "bigtiff"],
)
def test_huge_headers_refused(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cv2, "imdecode", _no_decode)
    assert "too large" in _error(data, name="huge")


def test_png_chunk_claiming_gigabytes_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV allocates a PNG chunk's declared length up front: a 100-byte file whose
    IDAT claims 4 GB must be refused before OpenCV sees it."""
    data = bytearray(encode(".png", np.zeros((4, 4), np.uint8)))
    at = data.index(b"IDAT") - 4
    data[at : at + 4] = struct.pack(">I", 0xFFFFFFF0)
    monkeypatch.setattr(cv2, "imdecode", _no_decode)
    message = _error(bytes(data))
    assert message.startswith("<bytes>: truncated or corrupt PNG file (chunk IDAT")
    assert "4,294,967,280 bytes" in message


def test_pixel_limit_boundary(tmp_path: Path) -> None:
    path = tmp_path / "img.jpg"
    path.write_bytes(encode_rgb(".jpg", np.zeros((30, 20, 3), np.uint8)))
    assert read_image(path, max_pixels=600).shape == (30, 20, 3)
    message = _error(path, max_pixels=599)
    assert message.startswith(str(path)) and "20x30 = 600 pixels" in message
    assert "$SEGOCR_MAX_IMAGE_PIXELS" in message  # names the setting, as the byte limit's does


def test_bad_max_pixels() -> None:
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="max_pixels"):
            read_image(np.zeros((2, 2), np.uint8), max_pixels=bad)  # type: ignore[arg-type]


def test_name_overrides_label(tmp_path: Path) -> None:
    assert _error(b"garbage", name="<stdin>").startswith("<stdin>: not a PNG")
    assert _error(tmp_path / "missing.png", name="given").startswith("given: no such file")


def test_unsupported_source_type() -> None:
    assert "unsupported source type list" in _error([[1, 2], [3, 4]])
    assert "unsupported source type int" in _error(42)


_IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.skipif(_IS_ROOT, reason="running as root: root can read a chmod 000 file")
def test_permission_denied(tmp_path: Path) -> None:  # pragma: no cover - we test as root
    path = tmp_path / "locked.png"
    path.write_bytes(encode(".png", np.zeros((2, 2), np.uint8)))
    path.chmod(0)
    try:
        message = _error(path)
    finally:
        path.chmod(0o600)
    assert message.startswith(str(path)) and "permission denied" in message


def test_chmod_000_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    path.write_bytes(encode(".png", np.zeros((2, 2), np.uint8)))
    path.chmod(0)
    try:
        try:
            got = read_image(path)
        except ImageReadError as exc:
            assert not _IS_ROOT and "permission denied" in str(exc)
        else:
            assert _IS_ROOT
            check_rgb(got)
    finally:
        path.chmod(0o600)


def test_permission_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PermissionError branch, reachable even as root by simulating the OS."""
    path = tmp_path / "locked.png"
    path.write_bytes(encode(".png", np.zeros((2, 2), np.uint8)))
    real = os.open

    def deny(name: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        if os.fspath(name) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(name))
        return real(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    message = _error(path)
    assert message == f"{path}: permission denied"


def test_cv2_error_becomes_image_read_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise cv2.error("OpenCV(5.0.0) x.cpp:1: error: (-2:Unspecified error) boom in function 'f'")

    data = encode(".png", np.zeros((2, 2), np.uint8))
    monkeypatch.setattr(cv2, "imdecode", explode)
    message = _error(data, name="plate.png")
    assert message == "plate.png: truncated or corrupt PNG file (boom in function 'f')"


def test_opencv_log_level_restored() -> None:
    level = cv2.utils.logging.getLogLevel()
    _error(encode(".png", np.zeros((9, 9), np.uint8))[:60])
    assert cv2.utils.logging.getLogLevel() == level


# ----------------------------------------------------------------------- fuzzing


def _samples() -> list[bytes]:
    rng = _rng()
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    rgba16 = rng.integers(0, 65536, (6, 5, 4), dtype=np.uint16)
    return [
        encode_rgb(".png", rgb),
        encode_rgb(".png", rgba16),
        encode(".png", rgb[..., 0]),
        encode_rgb(".jpg", rgb),
        encode(".jpg", rgb[..., 0]),
        encode(".jpg", rgb, (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
        encode_rgb(".bmp", rgb),
        encode(".bmp", rgb[..., 0]),
        encode_rgb(".tif", rgb),
        encode_rgb(".tif", rgba16),
        make_tiff(rgb[..., 0], big=True),
        make_png(3, 1, 8, 4, [bytes(6)]),
    ]


SAMPLES = _samples()
HEADERS = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    *(s[:40] for s in SAMPLES),
]


def _truncated(data: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(data)).map(lambda n: data[:n])


def _mutated(data: bytes) -> st.SearchStrategy[bytes]:
    edits = st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=6)

    def apply(changes: list[tuple[int, int]]) -> bytes:
        out = bytearray(data)
        for at, value in changes:
            out[at] = value
        return bytes(out)

    return edits.map(apply)


def _mutated_or_same(data: bytes) -> st.SearchStrategy[bytes]:
    return _mutated(data) if data else st.just(data)


def _assert_image_or_error(data: bytes) -> None:
    try:
        got = read_image(data, max_pixels=10_000)
    except ImageReadError as exc:
        assert str(exc).startswith("<bytes>: ")
    else:
        check_rgb(got)
        assert got.shape[0] * got.shape[1] <= 10_000


@settings(FUZZ, max_examples=200)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(st.sampled_from(HEADERS), st.binary(max_size=300)).map(b"".join),
    )
)
def test_fuzz_random_bytes(data: bytes) -> None:
    _assert_image_or_error(data)


@settings(FUZZ, max_examples=250)
@given(
    st.sampled_from(SAMPLES).flatmap(
        lambda s: st.one_of(_truncated(s), _mutated(s), _truncated(s).flatmap(_mutated_or_same))
    )
)
def test_fuzz_damaged_real_files(data: bytes) -> None:
    _assert_image_or_error(data)


def test_samples_decode() -> None:
    for data in SAMPLES:
        check_rgb(read_image(data))


# ------------------------------------------------------------ paths and writing


def test_iter_image_paths(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in [
        "a.png",
        "b/c.JPG",
        "b/deep/d.tiff",
        "b/z.jpeg",
        "notes.txt",
        ".e.png",
        ".hidden/f.png",
        "b/g.bmp",
        "b/h.TIF",
    ]:
        (tmp_path / rel).write_bytes(b"x")
    loose = tmp_path / "loose.txt"
    missing = tmp_path / "missing.png"
    got = list(iter_image_paths([loose, tmp_path, missing]))
    names = [p.relative_to(tmp_path).as_posix() for p in got]
    assert names == [
        "loose.txt",
        "a.png",
        "b/c.JPG",
        "b/deep/d.tiff",
        "b/g.bmp",
        "b/h.TIF",
        "b/z.jpeg",
        "missing.png",
    ]
    assert list(iter_image_paths(iter([]))) == []


def test_image_suffixes() -> None:
    assert IMAGE_SUFFIXES == {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


@pytest.mark.parametrize("suffix", sorted(IMAGE_SUFFIXES) + [".PNG"])
def test_write_image_round_trip(tmp_path: Path, suffix: str) -> None:
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[:, :8] = (240, 20, 10)
    rgb[:, 8:] = (10, 30, 220)
    path = tmp_path / "out dir ü" / f"img 番号{suffix}"
    path.parent.mkdir()
    write_image(path, rgb)
    gray = np.repeat(rgb[..., :1], 3, axis=2)
    if suffix in (".jpg", ".jpeg"):
        assert_jpeg_close(read_image(path), rgb)
        write_image(str(path), rgb[..., 0])  # gray, path as str
        assert_jpeg_close(read_image(path), gray)
    else:
        np.testing.assert_array_equal(read_image(path), rgb)
        write_image(str(path), rgb[..., 0])
        np.testing.assert_array_equal(read_image(path), gray)


@pytest.mark.parametrize(
    ("name", "image", "needle"),
    [
        ("x.gif", np.zeros((2, 2, 3), np.uint8), "suffix"),
        ("x", np.zeros((2, 2, 3), np.uint8), "suffix"),
        ("x.png", np.zeros((2, 2, 3), np.uint16), "uint8"),
        ("x.png", [[0, 1]], "uint8"),
        ("x.png", np.zeros((2, 2, 4), np.uint8), "(H, W, 3)"),
        ("x.png", np.zeros((0, 2, 3), np.uint8), "0 pixels"),
    ],
)
def test_write_image_rejects(tmp_path: Path, name: str, image: np.ndarray, needle: str) -> None:
    with pytest.raises(ValueError) as info:
        write_image(tmp_path / name, image)
    assert needle in str(info.value)
    assert not (tmp_path / name).exists()
