"""What every command taking an EXPRESSION shares (check-grad, graph, explain, trace): an
expression that may start with '-', usage errors in one line, and the --at values."""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Sequence, Tuple

import click

from scalargrad.check.expression import CONSTANTS, Expression, parse
from scalargrad.errors import DomainError, ExpressionError, NumericOverflow

from .errors import BadInput


def at_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --at option: NAME=VALUE, repeated or separated by commas."""
    return click.option("--at", "assignments", multiple=True,
                        metavar="NAME=VALUE[,NAME=VALUE...]",
                        help="A variable's value: a number or a constant expression such as "
                             "pi/4. Repeat, or separate with commas.")(command)


_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?", re.DOTALL)


def leading_minus_expression_last(args: List[str], params: Sequence[click.Parameter]) -> List[str]:
    """args with an expression that starts with '-' ("-x*y") moved behind '--', where click
    reads it as the argument rather than as options.

    Option names (-h, --at, --at=x=1) and option values (--seed -3) keep their meaning, and
    an unknown --name stays for click to report; the first other word starting with '-'
    before any plain argument is the expression.
    """
    options = [p for p in params if isinstance(p, click.Option)]
    names = {name for p in options for name in (*p.opts, *p.secondary_opts)}
    with_value = {name for p in options if not p.is_flag for name in p.opts}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or arg == "-" or not arg.startswith("-"):
            return args
        if arg in with_value:
            i += 2
        elif arg in names or _LONG_OPTION.fullmatch(arg):
            i += 1
        else:
            rest = args[:i] + args[i + 1:]
            return rest + ["--", arg] if "--" not in rest else rest + [arg]
    return args


class ExpressionCommand(click.Command):
    """Takes an expression that starts with '-' as written, and reports usage errors in one
    line, like every other bad input."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        try:
            args = leading_minus_expression_last(args, self.get_params(ctx))
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise BadInput(error.format_message()) from None


def parse_assignments(assignments: Sequence[str], expression: Expression) -> Dict[str, float]:
    """The --at values by name; refuses repeated names and names not in the expression."""
    values: Dict[str, float] = {}
    for assignment in (item for option in assignments for item in option.split(",")):
        name, value = parse_assignment(assignment)
        if name in values:
            raise BadInput(f"--at gives {name} twice")
        values[name] = value
    unknown = [name for name in values if name not in expression.variables]
    if unknown:
        constants = "".join(f"; {name} is a constant ({name} = {CONSTANTS[name]!r}), not a "
                            "variable" for name in unknown if name in CONSTANTS)
        raise BadInput(f"--at names {listed(unknown)}, which the expression does not use "
                       f"(its variables: {listed(expression.variables) or 'none'}){constants}")
    return values


def parse_assignment(assignment: str) -> Tuple[str, float]:
    """(name, value) from "name=value", the value a number or a constant expression."""
    name, equals, text = (part.strip() for part in assignment.partition("="))
    if not equals or not name.isidentifier() or not text:
        raise BadInput(f"--at expects NAME=VALUE, as in x=0.5, not {assignment.strip()!r}")
    try:
        value = parse(text)
    except ExpressionError as error:
        raise BadInput(f"--at {name}: {error.format()}") from None
    if value.variables:
        raise BadInput(f"--at {name}: the value must be a number or a constant "
                       f"expression such as pi/4, not {text!r}")
    try:
        number = value.evaluate({})
    except (DomainError, NumericOverflow) as error:
        raise BadInput(f"--at {name}: {error}") from None
    if not math.isfinite(number):
        raise BadInput(f"--at {name}: the value is {number}")
    return name, number


def listed(names: Sequence[str]) -> str:
    """Names as messages list them."""
    return ", ".join(names)
