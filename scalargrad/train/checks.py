"""The checks that training's settings, model files and checkpoints share: each refusal is
one InputError line naming the problem."""
from __future__ import annotations

import math
import sys
from typing import Any

from ..errors import InputError


def require(ok: bool, problem: str) -> None:
    """InputError(problem) unless ok."""
    if not ok:
        raise InputError(problem)


def whole(x: Any, least: int, most: float = math.inf) -> bool:
    """An int (not a bool) from least to most."""
    return type(x) is int and least <= x <= most


def finite_number(x: Any) -> bool:
    """A JSON number that is a finite float (booleans, text and null are not numbers here;
    an int too large for a float is not one either)."""
    if type(x) is float:
        return math.isfinite(x)
    return type(x) is int and abs(x) <= sys.float_info.max


def fraction(x: Any) -> bool:
    """A finite number from 0 to 1."""
    return finite_number(x) and 0 <= x <= 1


def json_type(x: Any) -> str:
    """How a parsed JSON value is described in errors."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             type(None): "null"}
    return names.get(type(x), repr(x))
