"""Reading an SVG document back for tests: what room each text and rectangle takes.

Text is measured as scalargrad draws it, in a monospaced font: a character is 0.61 of the
font size wide, and a line spans 0.8 of it above the baseline and 0.25 below.
"""
import re
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
CHAR_WIDTH, ASCENT, DESCENT = 0.61, 0.8, 0.25


def _transform(element, dx, dy):
    """The translation an element's transform adds, and whether it rotates by -90 degrees."""
    transform = element.get("transform", "")
    move = re.search(r"translate\(([-\d.]+),([-\d.]+)\)", transform)
    if move:
        dx, dy = dx + float(move.group(1)), dy + float(move.group(2))
    return dx, dy, "rotate(-90)" in transform


def shapes(svg_text):
    """(root, texts, rects) with texts as (string, box) and rects as boxes, in page
    coordinates; a box is (left, top, right, bottom)."""
    root = ET.fromstring(svg_text)
    texts, rects = [], []
    stack = [(root, 0.0, 0.0, None)]
    while stack:
        element, dx, dy, inherited = stack.pop()
        dx, dy, rotated = _transform(element, dx, dy)
        inherited = element.get("font-size", inherited)
        if element.tag == NS + "text":
            size = float(inherited)
            width = len(element.text) * CHAR_WIDTH * size
            x, y = float(element.get("x")) + dx, float(element.get("y")) + dy
            shift = {"start": 0.0, "middle": width / 2, "end": width}[
                element.get("text-anchor", "start")]
            if rotated:  # reads upwards: the baseline is vertical, the glyphs left of it
                texts.append((element.text, (x - ASCENT * size, y - width + shift,
                                             x + DESCENT * size, y + shift)))
            else:
                texts.append((element.text, (x - shift, y - ASCENT * size, x - shift + width,
                                             y + DESCENT * size)))
        elif element.tag == NS + "rect" and element.get("width") != "100%":
            x, y = float(element.get("x", 0)) + dx, float(element.get("y", 0)) + dy
            rects.append((x, y, x + float(element.get("width")), y + float(element.get("height"))))
        stack.extend((child, dx, dy, inherited) for child in element)
    return root, texts, rects


def path_points(d):
    """The end points of a path's commands (M, L, C, H and their relative forms), in order."""
    points, x, y = [], 0.0, 0.0
    for command, numbers in re.findall(r"([MLCHmlch])([^MLCHmlch]*)", d):
        values = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", numbers)]
        if command in "Hh":
            x = values[-1] + (x if command == "h" else 0.0)
        elif command.islower():
            x, y = x + values[-2], y + values[-1]
        else:
            x, y = values[-2], values[-1]
        points.append((x, y))
    return points


def intersect(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner, outer):
    return (outer[0] <= inner[0] + 1e-6 and inner[2] <= outer[2] + 1e-6
            and outer[1] <= inner[1] + 1e-6 and inner[3] <= outer[3] + 1e-6)


def assert_readable(svg_text):
    """Every text and rectangle is on the page, and no two texts overlap."""
    root, texts, rects = shapes(svg_text)
    page = (0.0, 0.0, float(root.get("width")), float(root.get("height")))
    for k, (text, box) in enumerate(texts):
        assert inside(box, page), text
        for other, other_box in texts[k + 1:]:
            assert not intersect(box, other_box), (text, other)
    for box in rects:
        assert inside(box, page)
    return root, texts, rects
