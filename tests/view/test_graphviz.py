"""scalargrad.view.graphviz: Graphviz's dot program, present, absent or failing (faked on PATH)."""
import os
import stat

import pytest

from scalargrad import Scalar, graph
from scalargrad.errors import GraphvizError
from scalargrad.view.graphviz import dot_to_svg


def fake_dot(folder, script):
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return str(folder) + os.pathsep + "/usr/bin:/bin"  # found first; sh's tools after it


def test_missing_dot_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizError, match="not installed"):
        dot_to_svg("digraph {}")


def test_dot_gets_the_dot_text_and_its_svg_is_returned(monkeypatch, tmp_path):
    # the fake dot wraps what it reads in an SVG comment, and records its arguments
    monkeypatch.setenv("PATH", fake_dot(tmp_path, 'echo "$@" > "$(dirname "$0")/args"\n'
                                                  'echo "<svg><!--"; cat; echo "--></svg>"\n'))
    x = Scalar(2.0)
    view = graph(x * 3, names={"x": x})
    result = view.svg(engine="dot")
    assert result.startswith("<svg><!--") and view.dot() in result
    assert (tmp_path / "args").read_text().strip() == "-Tsvg"


def test_a_failing_dot_reports_its_first_error_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path, 'echo "Error: syntax error in line 1" >&2\n'
                                                  'echo more >&2\nexit 1\n'))
    with pytest.raises(GraphvizError, match="failed: Error: syntax error in line 1$"):
        dot_to_svg("digraph {")


def test_a_dot_that_prints_nothing_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path, "exit 3\n"))
    with pytest.raises(GraphvizError, match="exit status 3"):
        dot_to_svg("digraph {}")


@pytest.mark.skipif(not any(os.access(os.path.join(p, "dot"), os.X_OK)
                            for p in os.environ.get("PATH", "").split(os.pathsep)),
                    reason="Graphviz is not installed")
def test_the_real_dot_draws_the_view():
    x = Scalar(2.0)
    assert "<svg" in graph(x * x, names={"x": x}).svg(engine="dot")
