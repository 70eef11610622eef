"""Checks of option values that click's own types leave to the command."""
from __future__ import annotations

import math
from typing import Optional

import click


def finite(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> Optional[float]:
    """Reject NaN and infinity, which click's FloatRange lets through."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value
