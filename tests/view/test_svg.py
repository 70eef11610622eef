"""scalargrad.view.svg: the small pieces every picture is written with."""
import xml.etree.ElementTree as ET

from scalargrad.view import svg


def test_text_is_escaped_and_measured():
    element = ET.fromstring(svg.text(10, 20, 'a < b & "c"', 13, anchor="middle", bold=True))
    assert element.text == 'a < b & "c"' and element.get("font-weight") == "bold"
    assert element.get("text-anchor") == "middle" and element.get("font-size") == "13"
    assert svg.text_width("abcd", 10) == 4 * svg.CHAR_WIDTH * 10


def test_numbers_are_short():
    assert [svg.num(v) for v in (1.0, 2.50, 3.14159, -0.001, 0.0)] == ["1", "2.5", "3.14", "0",
                                                                      "0"]


def test_phrases_wrap_to_a_width():
    lines = svg.wrap(["one", "two", "three"], 10, svg.text_width("one · two", 10))
    assert lines == ["one · two", "three"]
    assert svg.wrap(["a very long phrase"], 10, 5) == ["a very long phrase"]


def test_a_document_is_well_formed_with_a_title_and_a_white_background():
    root = ET.fromstring(svg.document(100, 50, [svg.text(1, 10, "hi", 12)], title="T & U"))
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("width") == "100" and root.get("viewBox") == "0 0 100 50"
    assert root.find(ns + "title").text == "T & U"
    assert root.find(ns + "rect").get("fill") == "white"
