"""The public verbs: `trace`, `grad`, `derive` (and `evaluate`, `reverse` from their stages).

Example:
    >>> import symdiff as sd
    >>> sd.grad("x**2*y + y + 2").at(x=3, y=4)
    {'x': 24.0, 'y': 10.0}
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import sympy

from .closedform import (
    AUTO_MAX_NODES,
    Gradient,
    Simplify,
    check_defined,
    check_policy,
    hessian_of,
    jacobian_of,
    simplify_formulas,
)
from .derivation import Derivation
from .errors import LimitError, ParseError, SymdiffError, VariableError
from .forward import (
    Primal,
    arg_value,
    bind,
    evaluate,
    input_tangents,
    tangent_values,
    tangents,
)
from .graph import Const, Graph
from .parse import parse_many
from .reverse import (
    adjoint_program,
    adjoint_values,
    input_adjoints,
    output_seeds,
    reverse,
    seeds_by_output,
)
from .sparsity import SparseJacobian, Sparsity
from .sparsity import hessian_sparsity as _hessian_sparsity
from .sparsity import jacobian_sparsity as _jacobian_sparsity
from .sparsity import sparse_jacobian as _sparse_jacobian
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
    if isinstance(expr, type):  # sympy.sin, a class: not an expression, not a traceable function
        raise ParseError(
            f"expected an expression, got the class {expr.__name__}; call it, e.g. "
            f"{expr.__name__}(x)"
        )
    if callable(expr) and not isinstance(expr, sympy.Basic):
        return trace_function(expr, wrt, at, prefix)
    if isinstance(expr, list | tuple | Mapping):
        return parse_many(expr, wrt, prefix)
    return parse_many([expr], wrt, prefix, single=True)


def grad(
    expr: Expression,
    wrt: Sequence[str] | None = None,
    *,
    simplify: Simplify = "auto",
    at: Mapping[str, object] | None = None,
    seed: object = 1,
) -> Gradient:
    """The closed-form gradient of a scalar expression, by a symbolic reverse sweep.

    Args:
        expr: text, SymPy expression, Python function or `Graph` (see `trace`).
        wrt: variables and their order (see `trace`).
        simplify: `"auto"` (simplify small results only), `"full"` or `"none"`.
        at: for a Python function that branches, the point whose branch to take.
        seed: the output's adjoint (for several outputs, a cotangent: the result is then the
            vector-Jacobian product).

    Returns:
        A `Gradient`: `{variable: formula}` with `.at(...)` and `.lambdify()`.

    Example:
        >>> g = grad("x1*x2 + sin(x1)")
        >>> g["x1"], g["x2"]
        (x2 + cos(x1), x1)
    """
    graph = trace(expr, wrt, at=at)
    check_policy(simplify)
    output_seeds(graph, seed)  # a bad seed fails here, not when the formulas are first read
    if len(graph) <= AUTO_MAX_NODES:  # small: flat formulas now, so errors show at once
        with contextlib.suppress(LimitError):  # too big flat: still a gradient program
            return _gradient(graph, reverse(graph, seed=seed), simplify, seed)
    return _gradient(graph, lambda: reverse(graph, seed=seed), simplify, seed)


def _gradient(graph: Graph, steps, simplify: Simplify, seed: object = 1) -> Gradient:
    """A `Gradient` whose flat formulas come from `steps` (a sweep, or a thunk running one)."""

    def formulas() -> dict[str, sympy.Expr]:
        by_var = input_adjoints(graph, steps() if callable(steps) else steps)
        raw = [by_var[v].expanded for v in graph.wrt]
        result = dict(zip(graph.wrt, simplify_formulas(raw, simplify, len(graph)), strict=True))
        check_defined(result)
        return result

    return Gradient(graph, formulas() if not callable(steps) else formulas, simplify, seed)


def derive(
    expr: Expression,
    at: Mapping[str, object] | None = None,
    wrt: Sequence[str] | None = None,
    *,
    mode: str = "reverse",
    seed: object = None,
    simplify: Simplify = "auto",
) -> Derivation:
    """The whole derivation: primal table, then the reverse (or forward) sweep and its result.

    Args:
        expr: text, SymPy expression, Python function or `Graph` (see `trace`).
        at: a point for the numbers; without it the derivation is purely symbolic.
        wrt: variables and their order (see `trace`).
        mode: `"reverse"` (adjoints w̄, the gradient) or `"forward"` (tangents ẇ, one
            directional derivative).
        seed: reverse: the output's adjoint z̄ (default 1; for several outputs a cotangent,
            default the first output's unit vector). Forward: the input tangent
            `{variable: ẋ}` (default: the first variable's unit vector).
        simplify: policy for the closed form.

    Example:
        >>> d = derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
        >>> [str(s.expanded) for s in d.steps]
        ['1', '1', '1', 'x1', 'x2 + cos(x1)']
        >>> f = derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}, mode="forward")
        >>> f.output_tangents
        {'z': (x2 + cos(x1), 2.5838531634528574)}
    """
    graph = trace(expr, wrt, at=at if callable(expr) else None)
    point = bind(graph, at) if at is not None else None
    values = evaluate(graph, point) if point is not None else None
    primal = Primal(graph)
    mode = {"fwd": "forward", "rev": "reverse"}.get(mode, mode)  # (jacobian's words)
    if mode == "forward":
        if seed is None:
            seed = {graph.wrt[0]: 1} if graph.wrt else {}
        steps = tangents(graph, seed, point, primal)
        return Derivation(graph, point, values, (), None, input_tangents(graph, seed), mode, steps)
    if mode != "reverse":
        raise SymdiffError(
            f"mode must be 'reverse' (or 'rev') or 'forward' (or 'fwd'), got {mode!r}"
        )
    if seed is None:
        seed = 1 if len(graph.outputs) == 1 else [int(i == 0) for i in range(len(graph.outputs))]
    steps = reverse(graph, point, seed, primal)
    gradient = _gradient(graph, steps, simplify, seed)
    shown = seeds_by_output(graph, seed)
    shown_seed = shown[graph.output_names[0]] if len(graph.outputs) == 1 else shown
    return Derivation(graph, point, values, steps, gradient, shown_seed, mode)


def jacobian(
    exprs: Expression,
    wrt: Sequence[str] | None = None,
    *,
    mode: str = "auto",
    simplify: Simplify = "auto",
    at: Mapping[str, object] | None = None,
) -> sympy.Matrix:
    """The Jacobian of several expressions (a list, a mapping, or one expression: 1 x n).

    Args:
        exprs: the outputs, traced into one graph that shares their subexpressions.
        wrt: variables and their order (see `trace`).
        mode: `"rev"` or `"reverse"` (one reverse sweep per output), `"fwd"` or `"forward"`
            (one forward sweep per input) or `"auto"` (whichever needs fewer sweeps; the
            matrix's `.reason` says which and why).
        simplify: policy for the entries.
        at: for Python functions that branch, the point whose branch to take. The matrix is
            symbolic all the same: its numbers at a point are `J.at(...)` (below).

    Returns:
        An m x n `sympy.Matrix` with `.mode`, `.reason`, and `.at(point)` (or `.at(r=2, ...)`):
        its numbers at a point, a numpy array, by numeric sweeps.

    Example:
        >>> J = jacobian(["r*cos(t)", "r*sin(t)"], wrt=["r", "t"])
        >>> J
        Matrix([
        [cos(t), -r*sin(t)],
        [sin(t),  r*cos(t)]])
        >>> J.at(r=2, t=0)
        array([[1., 0.],
               [0., 2.]])
    """
    return jacobian_of(trace(exprs, wrt, at=at), mode, simplify)


def hessian(
    expr: Expression,
    wrt: Sequence[str] | None = None,
    *,
    simplify: Simplify = "auto",
    at: Mapping[str, object] | None = None,
) -> sympy.Matrix:
    """The Hessian of a scalar expression: forward sweeps over its adjoint program.

    Args:
        expr: the expression (text, SymPy, or a Python function; see `trace`).
        wrt: variables and their order: rows and columns (default: in order of appearance).
        simplify: policy for the entries.
        at: for Python functions that branch, the point whose branch to take. The matrix is
            symbolic all the same: its numbers at a point are `H.at(...)` (below); `hvp`
            multiplies it by a vector at a point without forming it.

    Returns:
        A symmetric n x n `sympy.Matrix` with `.at(point)` (or `.at(x=1, ...)`): its numbers
        at a point, a numpy array, by forward sweeps over the adjoint program.

    Example:
        >>> H = hessian("100*(y - x**2)**2 + (1 - x)**2", wrt=["x", "y"])
        >>> H
        Matrix([
        [1200*x**2 - 400*y + 2, -400*x],
        [               -400*x,    200]])
        >>> H.at(x=1, y=1)
        array([[ 802., -400.],
               [-400.,  200.]])
    """
    return hessian_of(trace(expr, wrt, at=at), simplify)


def _outputs(graph: Graph, values: Mapping[str, float]) -> list[float]:
    return [float(arg_value(values, out)) for out in graph.outputs]


def _one_or_list(graph: Graph, items: list) -> object:
    return items[0] if len(graph.outputs) == 1 and not isinstance(graph.outputs, list) else items


def jvp(
    exprs: Expression,
    at: Mapping[str, object],
    tangent: object,
    wrt: Sequence[str] | None = None,
) -> tuple[object, object]:
    """Forward mode at a point: the outputs and their directional derivative along `tangent`.

    Args:
        exprs: one expression or several (see `trace`).
        at: the point.
        tangent: `{variable: ẋ}` (absent variables 0) or a sequence in `wrt` order.

    Returns:
        `(outputs, tangents)`: floats for one expression, lists for several.

    Example:
        >>> jvp("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}, tangent={"x1": 1, "x2": 0})
        (6.909297426825682, 2.5838531634528574)
    """
    graph = trace(exprs, wrt, at=at if callable(exprs) else None)
    values = evaluate(graph, at)
    dots = tangent_values(graph, values, tangent)
    outs = _outputs(graph, values)
    touts = [0.0 if isinstance(o, Const) else dots[o] for o in graph.outputs]
    single = _single(exprs)
    return (outs[0], touts[0]) if single else (outs, touts)


def vjp(
    exprs: Expression,
    at: Mapping[str, object],
    cotangent: object,
    wrt: Sequence[str] | None = None,
) -> tuple[object, dict[str, float]]:
    """Reverse mode at a point: the outputs and `cotangent`ᵀ·J, one number per variable.

    Args:
        exprs: one expression or several (see `trace`).
        at: the point.
        cotangent: one number per output (a sequence or a mapping output name -> number).

    Example:
        >>> vjp(["x*y", "x + sin(y)"], at={"x": 1, "y": 2}, cotangent=[1, 0])
        ([2.0, 1.9092974268256817], {'x': 2.0, 'y': 1.0})
    """
    graph = trace(exprs, wrt, at=at if callable(exprs) else None)
    values = evaluate(graph, at)
    bars = adjoint_values(graph, values, cotangent)
    outs = _outputs(graph, values)
    grads = {v: bars[graph.input_of[v]] for v in graph.wrt}
    return (outs[0] if _single(exprs) else outs), grads


def hvp(
    expr: Expression,
    at: Mapping[str, object],
    vector: object,
    wrt: Sequence[str] | None = None,
) -> dict[str, float]:
    """Hessian-vector product at a point without the Hessian: one forward sweep over the
    adjoint program, seeded with `vector`.

    Example:
        >>> hvp("x**2*y", at={"x": 1, "y": 2}, vector={"x": 1, "y": 0})
        {'x': 4.0, 'y': 2.0}
    """
    graph = trace(expr, wrt, at=at if callable(expr) else None)
    program = adjoint_program(graph, keep_outputs=False)
    dots = tangent_values(program, evaluate(program, at), vector)
    return {
        v: 0.0 if isinstance(o, Const) else dots[o]
        for v, o in zip(graph.wrt, program.outputs, strict=True)
    }


def _single(exprs: object) -> bool:
    return not isinstance(exprs, list | tuple | Mapping) and not (
        isinstance(exprs, Graph) and len(exprs.outputs) != 1
    )


def jacobian_sparsity(exprs: Expression, wrt: Sequence[str] | None = None) -> Sparsity:
    """The Jacobian's structural pattern (`.shape`, `.nonzeros`), from graph reachability.

    Example:
        >>> jacobian_sparsity(["x*y", "y + 1"]).nonzeros == {(0, 0), (0, 1), (1, 1)}
        True
    """
    return _jacobian_sparsity(trace(exprs, wrt))


def hessian_sparsity(expr: Expression, wrt: Sequence[str] | None = None) -> Sparsity:
    """The Hessian's structural pattern, from the adjoint program's reachability."""
    return _hessian_sparsity(trace(expr, wrt))


def sparse_jacobian(
    exprs: Expression,
    wrt: Sequence[str] | None = None,
    *,
    at: Mapping[str, object] | None = None,
    simplify: Simplify = "auto",
) -> SparseJacobian:
    """The Jacobian by compressed forward sweeps: one per colour of the column colouring.

    Example:
        >>> sj = sparse_jacobian(["x1 - x2", "x2 - x3", "x3 - x1*x2"])
        >>> sj.sweeps, sj.matrix.shape
        (3, (3, 3))
    """
    return _sparse_jacobian(trace(exprs, wrt), at, simplify)
