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


def test_y_ticks_are_evenly_apart_and_cover_the_data():
    for low, high in [(0.013, 0.087), (-3.0, 7.0), (0.23, 2.31), (88.0, 89.75)]:
        panel = Panel("T", "x", "y", [Line([(0, low), (1, high)], "", "red")])
        rows = panel_text(panel, width=30, height=9).plain.splitlines()[1:]
        ticked = [k for k, line in enumerate(rows) if "┤" in line]
        assert len(ticked) >= 3 and len({b - a for a, b in zip(ticked, ticked[1:])}) == 1
        values = [float(rows[k].split("┤")[0]) for k in ticked]
        assert values[0] >= high and values[-1] <= low  # top tick above, bottom below


def test_a_mark_sits_on_the_row_its_line_passes():
    points = [(x, 0.37 + 0.013 * x * x) for x in range(7)]
    for height in range(5, 12):
        def plot(series):
            rows = panel_text(Panel("M", "x", "y", series), width=12, height=height)
            return [line.split("┤")[-1].split("│")[-1] for line in rows.plain.splitlines()[1:]
                    if "┤" in line or "│" in line]
        line_only = plot([Line(points, "", "red")])
        marked = plot([Line(points, "", "red"), Dots(points, "", "blue", shape="diamond")])
        cells = [(r, c) for r, row in enumerate(marked) for c, ch in enumerate(row) if ch == "◆"]
        assert len(cells) >= 5
        assert all(0x2800 < ord(line_only[r][c]) <= 0x28FF for r, c in cells)


def test_dots_differ_by_shape_without_colour():
    panel = Panel("S", "x", "y", [Dots([(0, 1.0)], "train", "red"),
                                  Dots([(1, 2.0)], "test", "red", shape="square", joined=True)])
    text = panel_text(panel, width=20, height=5).plain
    assert "● train" in text and "─■ test" in text
