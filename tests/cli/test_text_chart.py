"""cli/text_chart.py: chart panels in the terminal."""
from rich.console import Console

from scalargrad.view.chart import Dots, Line, Panel
from scalargrad_cli.text_chart import panel_text, print_panels


def test_a_rising_line_goes_from_the_bottom_left_to_the_top_right():
    panel = Panel("Rising", "x", "y", [Line([(0, 0), (10, 10)], "up", "red")])
    lines = panel_text(panel, width=20, height=5).plain.splitlines()
    assert lines[0] == "Rising"
    plot = [line.split("┤")[-1].split("│")[-1] for line in lines[1:6]]
    assert plot[0].rstrip()[-1] != " " and plot[0].strip() and plot[0].index(plot[0].strip()) > 10
    assert plot[-1][0] != " " and plot[-1].rstrip() == plot[-1][:len(plot[-1].rstrip())]
    assert all(0x2800 <= ord(c) <= 0x28FF for row in plot for c in row if c != " ")
    assert lines[6].strip().startswith("└")
    assert "up" in lines[-1]


def test_dots_are_marks_and_labels_sit_on_their_rows():
    panel = Panel("P", "epoch", "loss", [Dots([(1, 1.0), (2, 0.5)], "epoch's loss", "blue")])
    text = panel_text(panel, width=20, height=6).plain
    assert text.count("●") == 3  # two dots and the legend's
    assert "epoch" in text and "┤" in text


def test_log_scale_and_breaks():
    panel = Panel("L", "step", "loss", [Line([(0, 100.0), (1, 10.0), (2, float("nan")),
                                              (3, 1.0), (4, 0.0)], "loss", "red")], log_y=True)
    text = panel_text(panel, width=30, height=8).plain
    labels = [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]
    assert labels == ["100", "10", "1"]


def test_panels_side_by_side_when_there_is_room():
    panels = [Panel(name, "x", "y", [Line([(0, 0), (1, 1)], "", "red")]) for name in "AB"]
    wide, narrow = Console(width=200, record=True), Console(width=60, record=True)
    print_panels(wide, panels)
    print_panels(narrow, panels)
    assert wide.export_text().splitlines()[0].split() == ["A", "B"]
    assert narrow.export_text().splitlines()[0].strip() == "A"


def test_chart_colours_become_the_terminals_basic_colours_by_hue():
    from scalargrad.view import fit_chart, training_chart
    from scalargrad_cli.text_chart import terminal_colour
    assert [terminal_colour(c) for c in fit_chart.MOMENT_COLOURS] == ["red", "yellow", "green"]
    assert terminal_colour(training_chart.TEST_COLOUR) == "green"
    assert terminal_colour("#555555") == "bright_black" and terminal_colour("magenta") == "magenta"
