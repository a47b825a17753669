"""Small image files for tests: random pixels, chosen formats, optional metadata."""

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

_rng = np.random.default_rng(1234)


def write_image(
    path: Path,
    *,
    size: tuple[int, int] = (64, 48),
    fmt: str | None = None,
    mode: str = "RGB",
    png_text: dict[str, str] | None = None,
    exif_description: str | None = None,
) -> Path:
    """Writes an image of random pixels; the format follows the suffix unless `fmt` is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = _rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels.squeeze(axis=2) if channels == 1 else pixels, mode)
    params: dict = {}
    if png_text:
        info = PngInfo()
        for key, value in png_text.items():
            info.add_text(key, value)
        params["pnginfo"] = info
    if exif_description:
        exif = Image.Exif()
        exif[0x010E] = exif_description  # ImageDescription
        params["exif"] = exif.tobytes()
    image.save(path, format=fmt, **params)
    return path


def write_png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares `width`×`height` but holds almost no data: a decompression bomb
    for any reader that trusts the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return markers
