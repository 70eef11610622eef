"""Small greyscale images as PNG files, written by hand (no imaging library): for the
training report's misclassified digits, as data: URIs of a few hundred bytes."""
from __future__ import annotations

import base64
import struct
import zlib
from typing import Sequence


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def greyscale_png(pixels: Sequence[float], side: int, ink: bool = True) -> bytes:
    """A side x side PNG of pixels in [0, 1] (row-major); with ink, 1 is black on white."""
    rows = b"".join(
        b"\x00" + bytes(round(255 * (1 - v if ink else v)) for v in
                        (min(max(p, 0.0), 1.0) for p in pixels[r * side:(r + 1) * side]))
        for r in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
