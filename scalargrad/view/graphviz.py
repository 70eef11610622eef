"""Graphviz's dot program, for those who have it installed and prefer its drawings."""
from __future__ import annotations

import shutil
import subprocess

from ..errors import GraphvizError

TIMEOUT = 60  # seconds


def dot_to_svg(dot_text: str) -> str:
    """The SVG that ``dot -Tsvg`` makes of dot_text; GraphvizError if dot is not on PATH,
    fails or takes longer than TIMEOUT."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError("Graphviz's dot program is not installed (not found on PATH); "
                            "the built-in SVG renderer needs nothing")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot_text, capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GraphvizError(f"Graphviz's dot program failed: {error}") from None
    if done.returncode != 0 or not done.stdout.strip():
        message = done.stderr.strip().splitlines()[0] if done.stderr.strip() else \
            f"exit status {done.returncode}"
        raise GraphvizError(f"Graphviz's dot program failed: {message}")
    return done.stdout
