"""How numbers are written in every view: short in pictures, and as JSON allows."""
from __future__ import annotations

import math
from typing import Optional, Union


def short(x: float) -> str:
    """A number as pictures show it: four significant digits."""
    return f"{x:.4g}"


def json_number(x: Optional[float]) -> Union[float, str, None]:
    """x, or its name where JSON has no number for it (inf, -inf, nan); None (null) stays."""
    return x if x is None or math.isfinite(x) else str(x)
