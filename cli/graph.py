"""`scalargrad graph EXPR --at x=1`: the computation graph with every node's value and gradient.

The view and its formats are scalargrad.view.graph (the SVG drawing scalargrad.view.graph_svg);
this module picks the format, colours the tree for the terminal and writes the output.
"""
from __future__ import annotations

import json
from pathlib import PurePath
from typing import Optional, Sequence

import click
from rich.console import Console
from rich.text import Text

from scalargrad.errors import GraphTooLarge
from scalargrad.view.graph import PICTURE_LIMIT, GraphView, TreeRow
from scalargrad.view.numbers import short
from scalargrad.output_file import check_writable, write_atomically

from .errors import BadInput, Failure
from .recorded_expression import ExpressionCommand, Recorded, at_option, record

FORMATS = ("tree", "dot", "svg", "html", "json")
EXTENSIONS = {".txt": "tree", ".dot": "dot", ".gv": "dot", ".svg": "svg", ".html": "html",
              ".htm": "html", ".json": "json"}

_HELP = f"""Show the computation graph of EXPRESSION at a point: every node's operation,
value and gradient (d output / d node, by reverse mode).

\b
  scalargrad graph "sin(x)*y + exp(x*y)" --at x=0.5,y=2
  scalargrad graph "tanh(w*x + b)" --at w=-3,x=2,b=6.88 --output neuron.svg
  scalargrad graph "x*y + x" --at x=2,y=3 --format dot | dot -Tpng > graph.png
  scalargrad graph "x*y + sin(x)" --at x=2,y=3 --wrt x --output sweep.html

\b
Formats: tree (the default: a node used twice is shown once, then as @n),
dot (Graphviz text, micrograd's style), svg (drawn by scalargrad: no
Graphviz needed; --engine dot has Graphviz's dot program draw it instead),
html (a page that plays the forward pass and the reverse sweep, step by
step; with --wrt, forward mode's tangents too; it needs no network),
json (nodes and edges). Nodes are numbered %n as in `scalargrad trace`.
The built-in layout (svg, html) draws at most {PICTURE_LIMIT} nodes; the
other formats, and --engine dot, show any size.
"""

_EPILOG = """\b
Exit status: 0 when shown, 2 for bad input (a refused expression, missing
values, a point outside the domain, an unwritable --output, a graph too large
to lay out, --engine dot without Graphviz), 1 if the output could not be
written after all."""


@click.command("graph", cls=ExpressionCommand, help=_HELP, epilog=_EPILOG)
@click.argument("expression")
@at_option
@click.option("--format", "format_name", type=click.Choice(FORMATS), default=None,
              help="tree, dot, svg, html or json  [default: from the --output extension "
                   "(.txt .dot .gv .svg .html .json), else tree]")
@click.option("--engine", type=click.Choice(["builtin", "dot"]), default="builtin",
              show_default=True, help="Who draws the SVG: scalargrad, or Graphviz's dot "
                                      "program (if installed).")
@click.option("--output", "output_path", metavar="FILE", default=None,
              help="Write to FILE instead of the terminal (checked before anything is done).")
@click.option("--wrt", metavar="NAME", default=None,
              help="html: also play forward mode's tangents d node / d NAME (an input).")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
def graph_command(expression: str, assignments: Sequence[str], format_name: Optional[str],
                  engine: str, output_path: Optional[str], wrt: Optional[str],
                  as_json: bool) -> None:
    chosen = _format(format_name, output_path, as_json)
    if engine == "dot" and chosen != "svg":
        raise BadInput(f"--engine chooses who draws SVG, but the format is {chosen}")
    if wrt is not None and chosen != "html":
        raise BadInput(f"--wrt seeds the tangents the html page plays, but the format is "
                       f"{chosen}")
    if output_path is not None:
        check_writable(output_path)
    recorded = record(expression, assignments)
    if wrt is not None and wrt not in recorded.inputs:
        raise BadInput(f"--wrt {wrt}: not a variable of the expression (its variables: "
                       f"{', '.join(recorded.inputs)})")
    view = recorded.view()
    try:
        text = _render(view, recorded, chosen, engine, wrt, styled=output_path is None)
    except GraphTooLarge as error:
        raise BadInput(f"{error}; --format tree, dot or json (or `scalargrad trace`) show "
                       "any size") from None
    if output_path is None:
        if text is not None:
            click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        write_atomically(output_path, text if text is not None else view.tree() + "\n")
    except OSError as error:  # checked writable above: the disk filled up, say
        raise Failure(f"cannot write {output_path}: "
                      f"{getattr(error, 'strerror', None) or error}") from None
    count = len(view.nodes)
    click.echo(f"wrote {output_path} ({chosen}, {count:,} node{'s' if count != 1 else ''})",
               err=True)


def _format(format_name: Optional[str], output_path: Optional[str], as_json: bool) -> str:
    """The format asked for: --json, --format, else the --output file's extension."""
    if as_json:
        if format_name not in (None, "json"):
            raise BadInput(f"--json conflicts with --format {format_name}")
        format_name = "json"
    if output_path is None:
        return format_name or "tree"
    if not output_path.strip():
        raise BadInput("the --output path is empty")
    suffix = PurePath(output_path).suffix.lower()
    implied = EXTENSIONS.get(suffix)
    if format_name is None:
        if implied is None:
            known = " ".join(EXTENSIONS)
            raise BadInput(f"cannot tell the format from the name {output_path!r}: give "
                           f"--format, or a file name ending in one of {known}")
        return implied
    if implied is not None and implied != format_name:
        raise BadInput(f"--format {format_name} conflicts with the file name "
                       f"{output_path!r}, which says {implied}")
    return format_name


def _render(view: GraphView, recorded: Recorded, chosen: str, engine: str,
            wrt: Optional[str], styled: bool) -> Optional[str]:
    """The text to write; None for a tree printed here, in colour, on the terminal."""
    if chosen == "json":
        document = {"expression": str(recorded.expression), "point": recorded.point,
                    **view.to_dict()}
        return json.dumps(document, indent=2)
    if chosen == "dot":
        return view.dot()
    if chosen == "svg":
        return view.svg(engine=engine)
    if chosen == "html":
        return view.html(wrt=wrt)
    if not styled:
        return view.tree() + "\n"
    rows = view.tree_rows()
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(recorded.title, style="bold"))
    for row in rows:
        console.print(_styled_row(row))
    return None


def _styled_row(row: TreeRow) -> Text:
    """A tree row in colour: the operation bold, values plain, gradients magenta."""
    line = Text()
    line.append(row.prefix, style="dim")
    node = row.node
    if node is None:
        return line.append(f"{short(row.constant or 0.0)} (constant)", style="dim")
    if row.repeated:
        return line.append(node.name or f"{row.tag} (above)", style="cyan" if node.name else "dim")
    if row.tag:
        line.append(f"{row.tag}: ", style="yellow")
    if node.is_leaf:
        line.append(node.name or "input", style="bold cyan")
    else:
        if node.name:
            line.append(f"{node.name}: ", style="cyan")
        line.append(node.operation, style="bold")
    line.append(f" = {short(node.value)}")
    line.append(f"   grad {short(node.grad)}", style="magenta")
    if row.continued:
        line.append("   (continued below)", style="dim")
    return line
