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

import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Literal

import numpy as np
import sympy

from .errors import DomainError, LimitError, SymdiffError
from .forward import Primal, bind, check_guards, evaluate, tangent_values, tangents, tree_size
from .graph import Const, Graph
from .numeric import compile_graph, to_source
from .primitives import PRIMITIVES, SYMBOLIC
from .reverse import adjoint_program, adjoint_values, input_adjoints, reverse

Simplify = Literal["auto", "full", "none"]

#: "auto" simplifies only graphs with at most this many nodes ...
AUTO_MAX_NODES = 200
#: ... and formulas with at most this many operations each ...
AUTO_MAX_OPS = 80
#: ... and in all.
AUTO_MAX_TOTAL_OPS = 400
#: ... and for at most this many seconds in all (SymPy's simplify can run for minutes).
AUTO_SECONDS = 3.0


def simplify_formulas(formulas: list[sympy.Expr], policy: Simplify, graph_size: int) -> list:
    """Apply the simplification policy to a list of formulas.

    Example:
        >>> x = sympy.Symbol("x")
        >>> simplify_formulas([sympy.sin(x)**2 + sympy.cos(x)**2], "auto", 5)
        [1]
    """
    check_policy(policy)
    if policy == "none" or (policy == "auto" and not _within_budget(formulas, graph_size)):
        return list(formulas)
    if policy == "full":
        return [sympy.simplify(f) for f in formulas]
    deadline = time.monotonic() + AUTO_SECONDS
    return [_simplify_before(f, deadline) for f in formulas]


class _OutOfTime(Exception):
    pass


def _simplify_before(formula: sympy.Expr, deadline: float) -> sympy.Expr:
    """`sympy.simplify(formula)`, or the formula unchanged if that would pass the deadline.

    Small formulas can still send `simplify` into minutes of work (tanh layers do), so "auto"
    interrupts it with a timer signal. Only the main thread can take signals: elsewhere "auto"
    keeps the formula as it is rather than risk the hang.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0 or threading.current_thread() is not threading.main_thread():
        return formula
    if not hasattr(signal, "setitimer"):  # no interval timers (Windows): nothing bounds it
        return formula

    running = [True]
    hook = sys.unraisablehook

    def unraisable(event: object) -> None:
        """A tick that lands in a finalizer or a gc callback cannot stop simplify: Python
        reports it as unraisable (pytest failed a test for it, in CI under load). Dropped
        here; the next tick stops simplify. Anything else goes to the hook in place."""
        if not isinstance(getattr(event, "exc_value", None), _OutOfTime):
            hook(event)

    def out_of_time(signum: int, frame: types.FrameType | None) -> None:
        # not once simplify has returned (a late tick must not escape), nor while an
        # unraisable exception is reported (it would escape the hook, and the report be lost)
        if running[0] and not _called_from(frame, unraisable.__code__):
            raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, out_of_time)
    try:
        sys.unraisablehook = unraisable
        # and again every 0.1 s, for the ticks that land where they cannot stop it
        signal.setitimer(signal.ITIMER_REAL, remaining, 0.1)
        simplified = sympy.simplify(formula)
        running[0] = False
        return simplified
    except _OutOfTime:
        return formula
    finally:
        # a tick may land here too, until `running` is false (not contextlib.suppress: a tick
        # may land in its __enter__, outside the block it guards)
        while running[0]:
            try:  # noqa: SIM105
                running[0] = False
            except _OutOfTime:
                pass
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = hook


def _called_from(frame: types.FrameType | None, code: types.CodeType) -> bool:
    """Whether `frame` runs `code`, or is called from a frame that does."""
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def check_policy(policy: object) -> None:
    """Refuse an unknown simplification policy."""
    if policy not in ("auto", "full", "none"):
        raise SymdiffError(f"simplify must be 'auto', 'full' or 'none', got {policy!r}")


def _within_budget(formulas: list[sympy.Expr], graph_size: int) -> bool:
    if graph_size > AUTO_MAX_NODES:
        return False
    total = 0
    memo: dict = {}
    for formula in formulas:
        ops = tree_size(formula, memo)  # count_ops would walk a shared DAG as a tree
        if ops > AUTO_MAX_OPS:
            return False
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

    A `Mapping[str, sympy.Expr]` of flat closed forms, built on first use (they are a view: for
    large graphs they can be far bigger than the graph, and building them stops with a
    `LimitError` past a size budget). The primary form is the program: `.program()` is the
    straight-line gradient program (O(graph) operations), `.lambdify(backend)` compiles it,
    `.source()` shows it, and `.at(...)` runs the numeric reverse sweep.

    Attributes:
        graph: the traced expression.
        variables: the differentiation variables, in order.
        simplify: the policy the formulas were produced under.
        seed: the output seed (cotangent) the sweep started from; 1 for a plain gradient.
    """

    def __init__(
        self,
        graph: Graph,
        formulas: Mapping[str, sympy.Expr] | Callable[[], Mapping[str, sympy.Expr]],
        simplify: Simplify,
        seed: object = 1,
    ):
        self.graph = graph
        self.variables = graph.wrt
        self.simplify = simplify
        self.seed = seed
        self._formulas = None if callable(formulas) else dict(formulas)
        self._build = formulas if callable(formulas) else None
        self._error: LimitError | None = None

    def __getitem__(self, name: str) -> sympy.Expr:
        if self._formulas is None:
            if self._error is not None:
                raise self._error
            try:
                self._formulas = dict(self._build())
            except LimitError as err:  # remembered: the program still works, the view does not
                self._error = err
                raise
        return self._formulas[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    def __repr__(self) -> str:
        if self._formulas is None:
            summary = f"Gradient({len(self.variables)} variables, graph of {len(self.graph)} nodes)"
            if len(self.graph) > AUTO_MAX_NODES:
                return summary
            try:
                self[self.variables[0]] if self.variables else None
            except LimitError:
                return summary
        body = ", ".join(f"{v!r}: {self[v]}" for v in self.variables)
        return f"Gradient({{{body}}})"

    def __str__(self) -> str:
        from .render import gradient_text

        return gradient_text(self)

    def _latex(self, printer: object = None) -> str:
        """`sympy.latex(gradient)`: one `\\frac{\\partial z}{\\partial x}` row per variable."""
        from .document import gradient_latex

        return gradient_latex(self)

    def _repr_latex_(self) -> str:
        from .document import display_math

        return display_math(self._latex())

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
        bar = adjoint_values(graph, evaluate(graph, merged), self.seed)
        return {v: bar[graph.input_of[v]] for v in self.variables}

    @cached_property
    def _adjoint(self) -> Graph:
        return adjoint_program(self.graph, self.seed, keep_outputs=False)

    def program(self) -> tuple[list[tuple[sympy.Symbol, sympy.Expr]], list[sympy.Expr]]:
        """The straight-line program for the value and every partial, in `sympy.cse` form.

        Returns:
            `(assignments, outputs)`: `(w_k, formula)` pairs in evaluation order, and the
            function value followed by one expression per partial.

        Example:
            >>> import symdiff as sd
            >>> assignments, outputs = sd.grad("x1*x2 + sin(x1)").program()
            >>> assignments[-2:], outputs
            ([(w6, cos(x1)), (w7, w6 + x2)], [w5, w7, x1])
        """
        return program(adjoint_program(self.graph, self.seed))

    def source(self, backend: str = "numpy", stacked: bool = False) -> str:
        """The Python source `lambdify(backend, stacked)` compiles: one line per step, each
        noting the Wengert line or the reverse step it computes. With `stacked`, one line per
        array operation of the rerolled program (numpy where rerolling halves the program, jax
        unless JAX computes on the CPU and the program is a long chain that does not reroll),
        else the program that runs over the stacked rows. Where rerolling halves the program,
        the numpy backend runs the rerolled program for per-variable arguments too (their
        stack), so `source("numpy", stacked=True)` is what computes. For jax, a long chain's
        lines come in pieces of 16 ended by `m.barrier`, which XLA does not fuse across; on a
        CPU each piece is jitted on its own."""
        return to_source(self._adjoint, backend, "gradient", stacked)

    def lambdify(
        self, backend: str = "numpy", stacked: bool = False
    ) -> Callable[..., tuple] | Callable[..., object]:
        """A fast numeric function of all the graph's variables: one value per partial.

        Generated from the gradient program (not from the flat formulas), so it costs a small
        multiple of the function itself whatever the size.

        The function takes the graph's variables in the order of `graph.variables` (the
        differentiation variables first, then any parameters) and returns one value per
        partial, in the order of `variables`; integers compute in floating point.

        Args:
            backend: `"numpy"` (vectorised over arrays; dask arrays stay lazy; where
                rerolling halves the program, the arguments are stacked and run through the
                rerolled program, as with `stacked`, a large batch in ranges of points on
                every core where that program has no matrix products, which BLAS runs on
                every core itself), `"math"`
                (plain floats), `"jax"` (jit-compiled, on a GPU where JAX has one; a long
                program that does not reroll in pieces of 16 lines, jitted one by one on a
                CPU and in one jit with barriers between them elsewhere; in JAX's default
                precision, float32 unless `jax_enable_x64` is set) or
                `"numba"` (numpy arrays in float64, one compiled loop over the points, on all
                CPU cores for large batches; a program of over a thousand lines that rerolls
                as its rerolled program, each output's loop computing in registers what it
                reads (fused, as XLA fuses); compiling takes seconds for large programs;
                `pip install 'symdiff[numba]'`).
            stacked: take one array `X` of shape `(n, ...)`, one row per graph variable, and
                return one array of shape `(partials, ...)`. For numpy where it halves the
                program, and for jax unless it is a long chain that does not reroll and JAX
                computes on the CPU, the program is then rerolled (`symdiff.vectorise`): its
                repeated lines run as one array operation each, and its sums with constant
                weights (a dense layer and its adjoint) as matrix products, which XLA fuses
                into a few kernels however many variables there are (Rosenbrock: one, as
                for `jax.grad`). Otherwise it runs over the rows.

        Raises:
            SymdiffError: an unknown backend, or one whose package is not installed. The
                function it returns raises `SymdiffError` for input it cannot compute with:
                not numbers, arguments that do not broadcast, complex numbers for math and
                numba, and for numpy and jax where the program uses a function defined for
                real numbers only (heaviside, in the partials of abs, max, min and relu); for
                math, also where Python's `math` refuses a value (the log of a negative
                number, an overflow).

        Example:
            >>> import numpy as np, symdiff as sd
            >>> f = sd.grad("x1*x2 + sin(x1)").lambdify()
            >>> f(np.array([2.0, 0.0]), np.array([3.0, 1.0]))[1]
            array([2., 0.])

            >>> fused = sd.grad("x1*x2 + sin(x1)").lambdify("numba")  # compiles now
            >>> fused(np.array([2.0, 0.0]), np.array([3.0, 1.0]))[1]
            array([2., 0.])

            >>> sd.grad("x1*x2 + sin(x1)").lambdify(stacked=True)(np.array([[2.0], [3.0]]))
            array([[2.58385316],
                   [2.        ]])
        """
        return compile_graph(self._adjoint, backend, stacked)


def program(graph: Graph) -> tuple[list[tuple[sympy.Symbol, sympy.Expr]], list[sympy.Expr]]:
    """A graph as a straight-line program in the form `sympy.cse` returns.

    Returns:
        `(assignments, outputs)`: one `(w_k, formula)` per primitive node in evaluation order, the
        formulas in the input variables and earlier w's; and one expression per output.

    Example:
        >>> import symdiff as sd
        >>> program(sd.trace("x*x + 1"))
        ([(w2, x**2), (w3, w2 + 1)], [w3])
    """
    env: dict[str, sympy.Expr] = {}
    assignments = []
    for node in graph.nodes:
        if node.is_input:
            env[node.name] = graph.symbol_of[node.var]
            continue
        args = [a.value if isinstance(a, Const) else env[a] for a in node.args]
        env[node.name] = symbol = graph.w(node.name)
        assignments.append((symbol, PRIMITIVES[node.op].value(SYMBOLIC, *args)))
    outputs = [o.value if isinstance(o, Const) else env[o] for o in graph.outputs]
    return assignments, outputs


def count_program_ops(assignments: list[tuple[sympy.Symbol, sympy.Expr]]) -> int:
    """Operations of a straight-line program, counted with `sympy.count_ops`."""
    return sum(sympy.count_ops(formula) for _, formula in assignments)


def choose_mode(outputs: int, inputs: int, mode: str = "auto") -> tuple[str, str]:
    """Forward or reverse mode for an m x n Jacobian, by counting sweeps.

    Example:
        >>> choose_mode(1, 3)[1]
        'auto: 1 reverse sweep (one per output) instead of 3 forward sweeps (one per input)'
    """
    mode = {"forward": "fwd", "reverse": "rev"}.get(mode, mode)  # (derive's words)
    if mode not in ("auto", "fwd", "rev"):
        raise SymdiffError(
            f"mode must be 'auto', 'fwd' (or 'forward') or 'rev' (or 'reverse'), got {mode!r}"
        )

    def sweeps(n: int, kind: str, per: str) -> str:
        return f"{n} {kind} sweep{'s' if n != 1 else ''} (one per {per})"

    rev, fwd = sweeps(outputs, "reverse", "output"), sweeps(inputs, "forward", "input")
    if mode == "auto":
        if outputs <= inputs:
            return "rev", f"auto: {rev} instead of {fwd}"
        return "fwd", f"auto: {fwd} instead of {rev}"
    return mode, f"{mode} as asked: {rev if mode == 'rev' else fwd}"


def jacobian_of(graph: Graph, mode: str = "auto", simplify: Simplify = "auto") -> sympy.Matrix:
    """The Jacobian of a graph's outputs with respect to `graph.wrt`, sweep by sweep.

    Reverse mode runs one reverse sweep per output (seed: that output's unit cotangent) and
    reads a row off the input adjoints; forward mode runs one tangent sweep per input (seed: that
    input's unit tangent) and reads a column off the output tangents.

    Returns:
        An m x n `sympy.Matrix` with attributes `mode` (`"fwd"`/`"rev"`), `reason` (why),
        `outputs` (output names) and `variables`, and a method `at(point)` (or `at(r=2, ...)`):
        its numbers at a point, a numpy array, by numeric sweeps (`jacobian_values`).

    Example:
        >>> import symdiff as sd
        >>> J = jacobian_of(sd.trace(["r*cos(t)", "r*sin(t)"]))
        >>> J, J.mode
        (Matrix([
        [cos(t), -r*sin(t)],
        [sin(t),  r*cos(t)]]), 'rev')
        >>> J.at(r=2, t=0)
        array([[1., 0.],
               [0., 2.]])
    """
    m, n = len(graph.outputs), len(graph.wrt)
    mode, reason = choose_mode(m, n, mode)
    primal = Primal(graph)
    rows: list[list[sympy.Expr]] = [[sympy.S.Zero] * n for _ in range(m)]
    if mode == "rev":
        for i in range(m):
            if isinstance(graph.outputs[i], Const):
                continue
            seed = [int(k == i) for k in range(m)]
            steps = input_adjoints(graph, reverse(graph, seed=seed, primal=primal))
            for j, var in enumerate(graph.wrt):
                rows[i][j] = steps[var].expanded
    else:
        for j, var in enumerate(graph.wrt):
            dots = {s.node: s.expanded for s in tangents(graph, {var: 1}, primal=primal)}
            for i, out in enumerate(graph.outputs):
                rows[i][j] = sympy.S.Zero if isinstance(out, Const) else dots[out]
    flat = simplify_formulas([e for row in rows for e in row], simplify, len(graph))
    matrix = sympy.Matrix(m, n, flat)
    matrix.mode, matrix.reason = mode, reason
    matrix.outputs, matrix.variables = graph.output_names, graph.wrt
    matrix.at = _values_at(graph, mode)
    return matrix


def _values_at(graph: Graph, mode: str, traced: Graph | None = None) -> Callable[..., np.ndarray]:
    """A matrix's `at`: `jacobian_values` of `graph` at a point, given as a mapping or as
    keywords (as `Gradient.at` takes it). `traced`: the function's own graph, whose branch the
    point must take (an adjoint program keeps no record of it)."""

    def at(point: Mapping[str, object] | None = None, /, **values: object) -> np.ndarray:
        point = {**(point or {}), **values}
        if traced is not None:
            check_guards(traced, bind(traced, point))
        return jacobian_values(graph, point, mode)

    return at


def hessian_of(graph: Graph, simplify: Simplify = "auto") -> sympy.Matrix:
    """The Hessian of a scalar graph, from the graph itself: forward over reverse.

    The reverse sweep is first written out as a program (`adjoint_program`), then one forward
    sweep per variable runs over that program; no flat gradient is expanded and handed to
    `sympy.hessian`. The matrix is symmetric (the lower triangle mirrors the upper).

    Returns:
        A `sympy.Matrix` with `mode`, `reason`, `variables` and `at(point)` (its numbers at a
        point: forward sweeps over the adjoint program, a numpy array).

    Example:
        >>> import symdiff as sd
        >>> H = hessian_of(sd.trace("x**2*y"))
        >>> H
        Matrix([
        [2*y, 2*x],
        [2*x,   0]])
        >>> H.at(x=3, y=1)
        array([[2., 6.],
               [6., 0.]])
    """
    scalar = graph.output  # raises for several outputs
    del scalar
    program = adjoint_program(graph, keep_outputs=False)
    jac = jacobian_of(program, "fwd", simplify)
    n = jac.rows
    hess = sympy.Matrix(n, n, lambda i, j: jac[min(i, j), max(i, j)])
    hess.mode, hess.reason = "fwd-over-rev", f"{n} forward sweeps over the adjoint program"
    hess.variables = graph.wrt  # rows and columns, in this order
    hess.at = _values_at(program, "fwd", traced=graph)
    return hess


def jacobian_values(graph: Graph, point: Mapping[str, object], mode: str = "auto") -> np.ndarray:
    """The Jacobian at a point by numeric sweeps (no SymPy): one per output or per input.

    Example:
        >>> import symdiff as sd
        >>> jacobian_values(sd.trace(["x*y", "x + y"]), {"x": 2, "y": 3})
        array([[3., 2.],
               [1., 1.]])
    """
    m, n = len(graph.outputs), len(graph.wrt)
    mode = choose_mode(m, n, mode)[0]
    values = evaluate(graph, point)
    result = np.zeros((m, n))
    if mode == "rev":
        for i in range(m):
            bar = adjoint_values(graph, values, [int(k == i) for k in range(m)])
            result[i] = [bar[graph.input_of[v]] for v in graph.wrt]
    else:
        for j, var in enumerate(graph.wrt):
            dot = tangent_values(graph, values, {var: 1})
            result[:, j] = [0.0 if isinstance(o, Const) else dot[o] for o in graph.outputs]
    return result
