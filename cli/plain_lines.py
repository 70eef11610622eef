"""Rich renderables printed without the spaces rich pads lines with: a table's last column
is padded to its width, which leaves trailing spaces on every line of piped output."""
from __future__ import annotations

import re

from rich.console import Console, RenderableType

_TRAILING = re.compile(r"[ ]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def print_trimmed(console: Console, *renderables: RenderableType) -> None:
    """Print the renderables on console (in its styles, at its width), each line's
    trailing spaces removed."""
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    text = _TRAILING.sub(r"\1", captured.get())
    console.file.write(text)
    console.file.flush()
