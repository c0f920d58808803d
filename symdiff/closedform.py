"""Closed forms: the gradient as one formula per variable, simplified under a size budget.

`simplify="auto"` runs `sympy.simplify` only when the graph and the formulas are small (a budget
on nodes and operations), so large graphs never go through `simplify` and never hang;
`"full"` always simplifies; `"none"` keeps the formulas as the reverse sweep expanded them.

Example:
    >>> import symdiff as sd
    >>> g = sd.grad("x1*x2 + sin(x1)")
    >>> g["x1"], g.at(x1=2, x2=3)["x2"]
    (x2 + cos(x1), 2.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Literal

import sympy

from .errors import DomainError, SymdiffError
from .forward import evaluate
from .graph import Graph
from .reverse import adjoint_values

Simplify = Literal["auto", "full", "none"]

#: "auto" simplifies only graphs with at most this many nodes ...
AUTO_MAX_NODES = 200
#: ... and formulas with at most this many operations each ...
AUTO_MAX_OPS = 80
#: ... and in all.
AUTO_MAX_TOTAL_OPS = 400


def simplify_formulas(formulas: list[sympy.Expr], policy: Simplify, graph_size: int) -> list:
    """Apply the simplification policy to a list of formulas.

    Example:
        >>> x = sympy.Symbol("x")
        >>> simplify_formulas([sympy.sin(x)**2 + sympy.cos(x)**2], "auto", 5)
        [1]
    """
    if policy not in ("auto", "full", "none"):
        raise SymdiffError(f"simplify must be 'auto', 'full' or 'none', got {policy!r}")
    if policy == "none" or (policy == "auto" and not _within_budget(formulas, graph_size)):
        return list(formulas)
    return [sympy.simplify(f) for f in formulas]


def _within_budget(formulas: list[sympy.Expr], graph_size: int) -> bool:
    if graph_size > AUTO_MAX_NODES:
        return False
    total = 0
    for formula in formulas:
        ops = sympy.count_ops(formula)
        total += ops
        if ops > AUTO_MAX_OPS or total > AUTO_MAX_TOTAL_OPS:
            return False
    return True


def check_defined(formulas: Mapping[str, sympy.Expr]) -> None:
    """Refuse formulas that SymPy found undefined everywhere (a division by the constant 0)."""
    for name, formula in formulas.items():
        if formula.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise DomainError(
                f"the derivative with respect to {name} is undefined ({formula}): "
                "the expression divides by zero or is otherwise undefined"
            )


class Gradient(Mapping[str, sympy.Expr]):
    """The gradient of a scalar expression: `{variable: ∂z/∂variable}` in variable order.

    A `Mapping[str, sympy.Expr]`; `.at(...)` evaluates it (with the numeric reverse sweep),
    `.lambdify()` turns it into a fast numeric function.

    Attributes:
        graph: the traced expression.
        variables: the differentiation variables, in order.
        simplify: the policy the formulas were produced under.
    """

    def __init__(self, graph: Graph, formulas: Mapping[str, sympy.Expr], simplify: Simplify):
        self.graph = graph
        self.variables = graph.wrt
        self.simplify = simplify
        self._formulas = dict(formulas)

    def __getitem__(self, name: str) -> sympy.Expr:
        return self._formulas[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    def __repr__(self) -> str:
        body = ", ".join(f"{v!r}: {self[v]}" for v in self.variables)
        return f"Gradient({{{body}}})"

    def __str__(self) -> str:
        from .render import gradient_text

        return gradient_text(self)

    def at(
        self, point: Mapping[str, object] | None = None, /, **values: object
    ) -> dict[str, float]:
        """The gradient's value at a point, as floats.

        Args:
            point: `{name: value}`; keyword arguments work too (`at(x1=2, x2=3)`).

        Example:
            >>> import symdiff as sd
            >>> sd.grad("x1*x2 + sin(x1)").at(x1=2, x2=3)
            {'x1': 2.5838531634528574, 'x2': 2.0}
        """
        merged = {**(point or {}), **values}
        graph = self.graph
        bar = adjoint_values(graph, evaluate(graph, merged))
        return {v: bar[graph.input_of[v]] for v in self.variables}

    def lambdify(self, backend: str = "numpy") -> Callable[..., tuple]:
        """A numeric function of all the graph's variables returning one value per partial.

        Args:
            backend: `"numpy"` (vectorised over arrays, with common-subexpression elimination)
                or `"math"` (plain floats).

        Example:
            >>> import numpy as np, symdiff as sd
            >>> f = sd.grad("x1*x2 + sin(x1)").lambdify()
            >>> f(np.array([2.0, 0.0]), np.array([3.0, 1.0]))[1]
            array([2., 0.])
        """
        from .numeric import lambdify

        return lambdify([self[v] for v in self.variables], self.graph.symbols, backend)
