"""Typed errors: every failure caused by input is a `SymdiffError` (also a `ValueError`).

Example:
    >>> import symdiff as sd
    >>> try:
    ...     sd.trace("x.y")
    ... except sd.ParseError as err:
    ...     print(err.column)
    2
"""

from __future__ import annotations

from collections.abc import Iterable


class SymdiffError(ValueError):
    """Base class of every error caused by the input: its message says what and how to fix it."""


class ParseError(SymdiffError):
    """The expression text (or SymPy object) uses a construct symdiff does not accept.

    Attributes:
        column: 1-based column of the offending construct in the text, or None.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column, self.reason = column, message
        super().__init__(f"{message} (column {column})" if column is not None else message)


class LimitError(SymdiffError):
    """The input is past one of symdiff's size bounds (length, nesting, graph size, constants)."""


class VariableError(SymdiffError):
    """A point or a `wrt` list names the variables wrongly (missing, unknown or repeated)."""


class DomainError(SymdiffError):
    """A primitive was evaluated outside its domain (`log(-1)`, `1/0`, an overflow).

    Attributes:
        node: name of the graph node (`"w3"`), op: the primitive, value: the offending argument.
    """

    def __init__(
        self, message: str, node: str | None = None, op: str | None = None, value: object = None
    ) -> None:
        self.node, self.op, self.value = node, op, value
        super().__init__(message)


def listed(names: Iterable[object], most: int = 8) -> str:
    """Names for a message: all of them, or the first few and how many there are, so that an
    error about a 1,500-variable expression stays one readable line.

    Example:
        >>> listed(["x1", "x2"])
        'x1, x2'
        >>> listed(f"x{i}" for i in range(1, 1501))
        'x1, x2, x3, x4, x5, x6, x7, x8, … (1500 in all)'
    """
    names = [str(name) for name in names]
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])}, … ({len(names)} in all)"


def shortened(text: object, most: int = 80) -> str:
    """Text for a message, its middle elided past `most` characters, so that an error about a
    4,000-digit constant or a long guard stays one readable line.

    Example:
        >>> shortened("w2 = w1·" + "9" * 4000, 30)
        'w2 = w1·99999999999…9999999999'
        >>> shortened("abcdefgh", 2)
        'a…h'
    """
    text = str(text)
    if len(text) <= most:
        return text
    tail = max(1, most // 3)
    return f"{text[: max(1, most - tail - 1)]}…{text[-tail:]}"
