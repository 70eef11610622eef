"""scalargrad.view.png: greyscale PNGs written by hand, read back by their definition."""
import struct
import zlib

from scalargrad.view.png import data_uri, greyscale_png


def test_a_png_holds_its_pixels_as_ink():
    pixels = [0.0, 0.5, 1.0, 0.25, 0.0, 1.0, 2.0, -1.0, 0.75]
    data = greyscale_png(pixels, 3)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and struct.unpack(">IIBBBBB", data[16:16 + length]) == (
        3, 3, 8, 0, 0, 0, 0)
    crc = struct.unpack(">I", data[16 + length:20 + length])[0]
    assert crc == zlib.crc32(b"IHDR" + data[16:16 + length])
    start = data.index(b"IDAT")
    size = struct.unpack(">I", data[start - 4:start])[0]
    rows = zlib.decompress(data[start + 4:start + 4 + size])
    assert rows == bytes([0, 255, 128, 0, 0, 191, 255, 0, 0, 0, 255, 64])  # 1 is black
    assert data.endswith(b"IEND\xaeB`\x82")
    assert data_uri(data).startswith("data:image/png;base64,iVBORw0KGgo")
