"""The public verbs: `trace`, `grad`, `derive` (and `evaluate`, `reverse` from their stages).

Example:
    >>> import symdiff as sd
    >>> sd.grad("x**2*y + y + 2").at(x=3, y=4)
    {'x': 24.0, 'y': 10.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy

from .closedform import Gradient, Simplify, check_defined, simplify_formulas
from .derivation import Derivation
from .errors import VariableError
from .forward import Primal, bind, evaluate
from .graph import Graph
from .parse import parse_many
from .reverse import input_adjoints, reverse, seed_value
from .tracer import trace_function

Expression = str | sympy.Expr | Graph


def trace(
    expr: Expression,
    wrt: Sequence[str] | None = None,
    *,
    prefix: str | None = None,
    at: Mapping[str, object] | None = None,
) -> Graph:
    """Parse an expression into its Wengert list (a `Graph`), never evaluating its text.

    Args:
        expr: text (`"x1*x2 + sin(x1)"`, `^` means power), a SymPy expression, a Python
            function of scalars (traced by operator overloading), a `Graph`, or a list or
            name -> expression mapping of these (one graph with several outputs).
        wrt: the variables to differentiate, in order; absent ones get derivative 0, other
            variables of the expression are parameters. Default: all, in order of appearance.
        prefix: the node letter (`w` unless a variable would clash).
        at: for a Python function that branches on its inputs, the point whose branch to take.

    Raises:
        ParseError: the text uses a construct outside the expression language.
        LimitError: the input is past a size bound.

    Example:
        >>> print(trace("x*x"))
        w1 = x
        w2 = w1·w1
        z = w2
    """
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    if isinstance(expr, Graph):
        if wrt is not None and tuple(wrt) != expr.wrt:
            raise VariableError("a traced graph keeps its wrt; trace the expression again instead")
        return expr
    if callable(expr) and not isinstance(expr, sympy.Basic):
        return trace_function(expr, wrt, at, prefix)
    if isinstance(expr, list | tuple | Mapping):
        return parse_many(expr, wrt, prefix)
    return parse_many([expr], wrt, prefix, single=True)


def grad(
    expr: Expression, wrt: Sequence[str] | None = None, *, simplify: Simplify = "auto"
) -> Gradient:
    """The closed-form gradient of a scalar expression, by a symbolic reverse sweep.

    Args:
        expr: text, SymPy expression or `Graph`.
        wrt: variables and their order (see `trace`).
        simplify: `"auto"` (simplify small results only), `"full"` or `"none"`.

    Returns:
        A `Gradient`: `{variable: formula}` with `.at(...)` and `.lambdify()`.

    Example:
        >>> g = grad("x1*x2 + sin(x1)")
        >>> g["x1"], g["x2"]
        (x2 + cos(x1), x1)
    """
    graph = trace(expr, wrt)
    return _gradient(graph, reverse(graph), simplify)


def _gradient(graph: Graph, steps, simplify: Simplify) -> Gradient:
    by_var = input_adjoints(graph, steps)
    raw = [by_var[v].expanded for v in graph.wrt]
    formulas = dict(zip(graph.wrt, simplify_formulas(raw, simplify, len(graph)), strict=True))
    check_defined(formulas)
    return Gradient(graph, formulas, simplify)


def derive(
    expr: Expression,
    at: Mapping[str, object] | None = None,
    wrt: Sequence[str] | None = None,
    *,
    seed: object = 1,
    simplify: Simplify = "auto",
) -> Derivation:
    """The whole reverse-mode derivation: primal table, adjoint steps, gradient.

    Args:
        expr: text, SymPy expression or `Graph`.
        at: a point for the numbers; without it the derivation is purely symbolic.
        wrt: variables and their order (see `trace`).
        seed: the output's adjoint z̄ (default 1).
        simplify: policy for the gradient's closed form.

    Example:
        >>> d = derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
        >>> [str(s.expanded) for s in d.steps]
        ['1', '1', '1', 'x1', 'x2 + cos(x1)']
    """
    graph = trace(expr, wrt)
    point = bind(graph, at) if at is not None else None
    values = evaluate(graph, point) if point is not None else None
    steps = reverse(graph, point, seed, Primal(graph))
    gradient = _gradient(graph, steps, simplify)
    return Derivation(graph, point, values, steps, gradient, seed_value(seed))
