"""Writing SVG by hand: escaping, numbers, text and how much room text takes.

All text is in a monospaced font, so its width is known without measuring it: a character
is CHAR_WIDTH of the font size wide (DejaVu Sans Mono and Menlo are 0.602, Consolas 0.55),
and a line spans from ASCENT above its baseline to DESCENT below. The pictures place their
labels with these numbers, and the tests check with them that no two labels overlap.
"""
from __future__ import annotations

from html import escape  # (xml.sax.saxutils's escape imports urllib: 40 ms)
from typing import List, Optional

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
CHAR_WIDTH = 0.61  # of the font size
ASCENT, DESCENT = 0.8, 0.25  # of the font size, above and below the baseline


def text_width(text: str, size: float) -> float:
    return len(text) * CHAR_WIDTH * size


def num(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def attribute(text: str) -> str:
    return escape(text, quote=False).replace('"', "&quot;")


def text(x: float, y: float, content: str, size: Optional[float], anchor: str = "start",
         fill: Optional[str] = "#222222", bold: bool = False, transform: Optional[str] = None,
         css_class: str = "") -> str:
    """A <text> element; y is the baseline (text-anchor is SVG's default, start, unless
    given; the font size and fill are the enclosing element's where None)."""
    extra = (f' text-anchor="{anchor}"' if anchor != "start" else "") + (
        ' font-weight="bold"' if bold else "") + (
        f' transform="{transform}"' if transform else "") + (
        f' class="{css_class}"' if css_class else "")
    font = f' font-size="{num(size)}"' if size is not None else ""
    colour = f' fill="{fill}"' if fill is not None else ""
    return (f'<text x="{num(x)}" y="{num(y)}"{font}{colour}{extra}>'
            f'{escape(content, quote=False)}</text>')


def wrap(words: List[str], size: float, width: float, separator: str = " · ") -> List[str]:
    """Phrases joined into lines no wider than width (a phrase longer than that is alone)."""
    lines: List[str] = []
    for phrase in words:
        if lines and text_width(lines[-1] + separator + phrase, size) <= width:
            lines[-1] += separator + phrase
        else:
            lines.append(phrase)
    return lines


def document(width: float, height: float, body: List[str], title: str = "",
             defs: str = "") -> str:
    """A standalone SVG document, white background, width x height pixels."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" '
            f'height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}" '
            f'font-family="{attribute(FONT_FAMILY)}">')
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', head]
    if title:
        parts.append(f"<title>{escape(title, quote=False)}</title>")
    if defs:
        parts.append(f"<defs>{defs}</defs>")
    parts.append(f'<rect x="0" y="0" width="{num(width)}" height="{num(height)}" fill="white"/>')
    parts.extend(body)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
