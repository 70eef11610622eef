"""Exceptions raised when an operation is undefined at its arguments."""


class DomainError(ValueError):
    """An operation got an argument outside its domain, such as log(-1) or sqrt(-4)."""


class DivisionByZero(DomainError, ZeroDivisionError):
    """Division by zero, or zero raised to a negative power.

    Subclasses both ValueError (through DomainError) and ZeroDivisionError, so code that
    catches either, as it would for plain floats, keeps working.
    """


class NumericOverflow(OverflowError):
    """A result too large for a float, such as exp(1000)."""
