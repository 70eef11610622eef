"""Every exception scalargrad raises on purpose, in one place.

All of them derive from ``ScalargradError``, the one user-facing error type: its message is
a single sentence naming what went wrong and where, fit to be shown to a person as it is
(the command line prints it as one ``Error:`` line). Each also derives from the built-in
exception that code written for plain floats would catch, so ``except ValueError`` or
``except ZeroDivisionError`` keeps working.

Anything else that escapes scalargrad is a bug, not bad input.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple


class ScalargradError(Exception):
    """Base class of the errors scalargrad raises on purpose."""


class DomainError(ScalargradError, ValueError):
    """An operation got an argument outside its domain, such as log(-1) or sqrt(-4)."""


class DivisionByZero(DomainError, ZeroDivisionError):
    """Division by zero, or zero raised to a negative power."""


class NumericOverflow(ScalargradError, OverflowError):
    """A result too large for a float, such as exp(1000)."""


class GraphLostError(ScalargradError, TypeError):
    """A recorded Scalar converted to a plain number inside strict_conversions()."""


class InputError(ScalargradError, ValueError):
    """Input that cannot be used: a malformed CSV or model file, an impossible option value."""


class DataError(InputError):
    """Data that cannot be used: missing, corrupt or unreadable files, or points that
    define no line."""


class MnistError(DataError):
    """The MNIST files are missing, corrupt or unreadable, or could not be downloaded."""


class Diverged(ScalargradError, ArithmeticError):
    """An optimisation whose loss or parameters stopped being finite, or whose loss grew by
    more than a large factor (the step was too big).

    In a training run (scalargrad.run), ``progress`` is how far the epoch had got before
    the batch that showed it (training.EpochProgress), and ``rolled_back`` is True once the
    run has been put back as it stood after its last good step, ready to be saved."""

    progress: Any = None
    rolled_back = False


class ExpressionError(InputError):
    """An expression that cannot be parsed or is not allowed.

    ``col_start``/``col_end`` delimit the offending characters of ``text`` (end exclusive;
    None when the whole expression is at fault); ``format()`` shows them with carets.
    """

    DISPLAY_WIDTH = 76   # longer texts are shown as a window around the error
    DISPLAY_MARGIN = 30  # characters shown before the error in such a window

    def __init__(self, message: str, text: str, col_start: Optional[int] = None,
                 col_end: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.col_start = col_start
        self.col_end = col_end

    def format(self) -> str:
        """The message, then the expression with a line of carets under the offending part."""
        if self.col_start is None:
            return self.message
        shown, carets = self._caret_display(self.col_start, self.col_end)
        return f"{self.message}\n  {shown}\n  {carets}"

    def _caret_display(self, start: int, end: Optional[int]) -> Tuple[str, str]:
        """The text (a window of it, if long) and a caret line under columns start..end."""
        end = start + 1 if end is None else max(start + 1, end)
        shown = "".join(c if c.isprintable() else "?" for c in self.text)
        low, high = 0, len(shown)
        if len(shown) > self.DISPLAY_WIDTH:
            low = max(0, min(start - self.DISPLAY_MARGIN, len(shown) - self.DISPLAY_WIDTH))
            high = low + self.DISPLAY_WIDTH
        prefix = "..." if low > 0 else ""
        suffix = "..." if high < len(shown) else ""
        window = prefix + shown[low:high] + suffix
        first = len(prefix) + start - low
        last = len(prefix) + min(end, high + 1) - low
        return window, " " * first + "^" * max(1, last - first)


class GraphTooLarge(InputError):
    """A graph with more nodes than a picture of it can show (view.graph.PICTURE_LIMIT)."""


class GraphvizError(InputError):
    """Graphviz's dot program was asked for but is not installed, or it failed."""


class WorkerFailed(ScalargradError, RuntimeError):
    """A process sharing the work of a training run died or failed; the run cannot go on.

    ``recovered`` is True when the run's model and optimizer were left holding their state
    after the last step every process finished (scalargrad.train.parallel keeps the optimizer's
    state in shared memory for this), so that the run can be saved and resumed exactly;
    ``progress`` is how far the epoch got (train.model.EpochProgress), once known."""

    recovered = False
    progress: Any = None
