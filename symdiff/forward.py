"""Forward pass: a float value for every node, and the symbolic primal of every node.

Example:
    >>> import symdiff as sd
    >>> values = sd.evaluate(sd.trace("x1*x2 + sin(x1)"), {"x1": 2, "x2": 3})
    >>> values["w3"], round(values["w5"], 4)
    (6.0, 6.9093)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import sympy

from .errors import DomainError, LimitError, ParseError, VariableError, listed, shortened
from .graph import Arg, Const, Graph, Node, postorder
from .primitives import NUMERIC, PRIMITIVES, SYMBOLIC, ConstantNumber

Point = Mapping[str, float]


def bind(graph: Graph, point: Mapping[str, object] | None) -> dict[str, float]:
    """Check a point against the graph's variables and return it as floats.

    Values may be numbers or constant expression text (`"pi/4"`), which is parsed, not evaluated.

    Raises:
        VariableError: a variable is missing or unknown, or a value is not a finite number.

    Example:
        >>> import symdiff as sd
        >>> bind(sd.trace("sin(x)"), {"x": "pi/2"})
        {'x': 1.5707963267948966}
    """
    point = dict(point or {})
    missing = [v for v in graph.variables if v not in point]
    unknown = [v for v in point if v not in graph.input_of]
    if unknown:
        raise VariableError(
            f"the point names {listed(unknown)}, which the expression "
            f"does not use; its variables are {listed(graph.variables) or 'none'}"
        )
    if missing:
        raise VariableError(f"the point gives no value for {listed(missing)}")
    return {v: to_float(point[v], v) for v in graph.variables}


def to_float(value: object, name: str = "value") -> float:
    """A finite float from a number or from constant expression text (`"pi/4"`)."""
    if isinstance(value, str):
        from .parse import parse_text  # parse imports graph only; the cycle is at call time

        try:
            graph = parse_text(value)
        except ParseError as err:  # (which value, of several in a point)
            raise ParseError(f"the value of {name}, {shortened(value)!r}: {err}") from None
        if graph.variables:
            raise VariableError(
                f"the value of {name}, {shortened(value)!r}, must be a constant expression"
            )
        result = output_value(graph, evaluate(graph, {}))
    elif isinstance(value, bool) or not isinstance(value, numbers.Real | sympy.Expr):
        raise VariableError(f"the value of {name} must be a real number, got {value!r}")
    else:
        try:
            result = float(value)
        except OverflowError:  # 10**400, Fraction(10**400): past float64
            raise VariableError(
                f"the value of {name} must be finite in float64, got {shortened(value)}"
            ) from None
        except (TypeError, ValueError):
            raise VariableError(f"the value of {name} must be a real number, got {value}") from None
    if not math.isfinite(result):
        raise VariableError(f"the value of {name} must be finite, got {result}")
    return result


def arg_value(env: Mapping[str, object], arg: Arg, symbolic: bool = False):
    """An argument's value in an environment: the node's entry, or the constant itself."""
    if isinstance(arg, Const):
        return arg.value if symbolic else ConstantNumber(arg.value)
    return env[arg]


def apply_numeric(node: Node, fn, *args: float, out: float | None = None) -> float:
    """Call a rule of `node` on floats (a partial when `out` is given); math errors raise."""
    try:
        result = fn(NUMERIC, *args) if out is None else fn(NUMERIC, out, *args)
    except (ValueError, ZeroDivisionError, OverflowError) as err:
        raise _domain_error(node, args, err, out is not None) from None
    if isinstance(result, complex):
        raise _domain_error(node, args, ValueError("not a real number"), out is not None)
    if not math.isfinite(result):
        raise _domain_error(node, args, OverflowError("not finite"), out is not None)
    return float(result)


def apply_symbolic(node: Node, fn, *args: sympy.Expr, out: sympy.Expr | None = None):
    """Call a rule of `node` on SymPy formulas; SymPy's own arithmetic errors (a Heaviside of
    a complex number, 0.0/0.0 inside a kink rule) become a `DomainError`."""
    try:
        return fn(SYMBOLIC, *args) if out is None else fn(SYMBOLIC, out, *args)
    except (ArithmeticError, ValueError, TypeError) as err:
        raise DomainError(
            f"{node} is undefined for these constants ({err})", node.name, node.op
        ) from None


def _domain_error(node: Node, args: tuple, err: Exception, derivative: bool) -> DomainError:
    prim = PRIMITIVES[node.op]
    # the node arguments with their values, each once (constants are in the formula already)
    values = dict.fromkeys(f"{a} = {v:g}" for a, v in zip(node.args, args, strict=True)
                           if isinstance(a, str))  # fmt: skip
    shown = ", ".join(values) or "these constants"
    overflow = isinstance(err, OverflowError)
    # (an overflow is no fault of the arguments: the domain would be the wrong advice)
    need = f"; {prim.name} needs {prim.domain}" if prim.domain and not overflow else ""
    if prim.name == "log" and args == (0.0,):  # log(sigmoid(-800)): the classic underflow
        need += " (an argument of exactly 0 may be a float underflow)"
    kind = "overflows" if overflow else "is undefined"
    what = f"the derivative of {shortened(node)}" if derivative else shortened(node)
    return DomainError(
        f"{what} {kind} at {shown}{need}", node.name, prim.name, args[0] if len(args) == 1 else args
    )


def evaluate(graph: Graph, point: Mapping[str, object] | None = None) -> dict[str, float]:
    """Forward pass: the float value of every node at a point.

    Args:
        graph: from `trace`.
        point: a value for every variable (`{"x1": 2, "x2": 3}`).

    Returns:
        `{node name: value}` in node order.

    Raises:
        VariableError: the point does not fit the variables.
        DomainError: a primitive is evaluated outside its domain (`log(-1)`, `1/0`).

    Example:
        >>> import symdiff as sd
        >>> sd.evaluate(sd.trace("x*x"), {"x": 3})
        {'w1': 3.0, 'w2': 9.0}
    """
    bound = bind(graph, point)
    check_guards(graph, bound)
    env: dict[str, float] = {}
    for node in graph.nodes:
        if node.is_input:
            env[node.name] = bound[node.var]
        else:
            args = [arg_value(env, a) for a in node.args]
            env[node.name] = apply_numeric(node, PRIMITIVES[node.op].value, *args)
    return env


def check_guards(graph: Graph, point: Mapping[str, float]) -> None:
    """Refuse a point on the other side of a branch the traced function took.

    Raises:
        DomainError: a recorded condition (`x > 0`) is false at the point.
    """
    if not graph.guards:
        return
    subs = {graph.symbol_of[v]: sympy.Float(x) for v, x in point.items()}
    for guard in graph.guards:
        if guard.xreplace(subs) is sympy.false:
            from .render import math_str

            lhs, rhs = shortened(math_str(guard.lhs)), shortened(math_str(guard.rhs))
            raise DomainError(
                f"the traced function took another branch at this point: its graph holds where "
                f"{lhs} {guard.rel_op} {rhs}; trace it again with at= this point"
            )


def output_value(graph: Graph, values: Mapping[str, float]) -> float:
    """The output's value given the node values from `evaluate`."""
    return float(arg_value(values, graph.output))


class Primal(Mapping[str, sympy.Expr]):
    """Each node's formula in the input variables, expanded lazily and memoised.

    Only the nodes that are asked for are expanded, so asking for one input's adjoint in a
    10,000-term sum never builds the sum. Iterative, so long chains hit no recursion limit.
    A formula that would pass `MAX_FORMULA_SIZE` operations written out (`z = sin(z)*x + cos(z)`
    doubles at every step) raises a `LimitError` before SymPy is asked to build it.

    Example:
        >>> import symdiff as sd
        >>> Primal(sd.trace("x1*x2 + sin(x1)"))["w5"]
        x1*x2 + sin(x1)
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._memo: dict[str, sympy.Expr] = {
            graph.input_of[v]: s for v, s in zip(graph.variables, graph.symbols, strict=True)
        }
        self._size = dict.fromkeys(self._memo, 1)
        #: tree sizes of formulas, shared by `size` so each subexpression is measured once
        self.sizes: dict = {}

    def __getitem__(self, name: str) -> sympy.Expr:
        def children(top: str) -> list[str]:
            return [a for a in self.graph.node(top).args if isinstance(a, str)]

        def combine(top: str) -> sympy.Expr:
            node = self.graph.node(top)
            size = 1 + sum(self._size[a] for a in children(top))
            check_formula_size(size)  # before SymPy builds it
            self._size[top] = size
            args = [arg_value(self._memo, a, symbolic=True) for a in node.args]
            return apply_symbolic(node, PRIMITIVES[node.op].value, *args)

        return postorder(name, children, combine, self._memo)

    def size(self, formula: sympy.Expr) -> int:
        """A formula's size written out as a tree (see `tree_size`), memoised."""
        return tree_size(formula, self.sizes)

    def arg(self, arg: Arg) -> sympy.Expr:
        """An argument's formula: a node's primal, or the constant."""
        return arg.value if isinstance(arg, Const) else self[arg]

    def __iter__(self):
        return (node.name for node in self.graph.nodes)

    def __len__(self) -> int:
        return len(self.graph.nodes)

    def expand(self, formula: sympy.Expr) -> sympy.Expr:
        """A formula in the w's rewritten in the inputs, expanding only the w's it mentions."""
        if formula.is_Number:
            return formula
        mapping = {s: self[s.name] for s in formula.free_symbols if self.graph.has_node(s.name)}
        try:  # SymPy re-evaluates on substitution: Heaviside of a complex constant fails there
            return formula.xreplace(mapping)
        except (ArithmeticError, ValueError, TypeError) as err:
            raise DomainError(f"the formula {formula} is undefined here ({err})") from None


def local_partial(graph: Graph, node_name: str, position: int) -> sympy.Expr:
    """∂node/∂(its argument `position`), in the w's: the rule table applied to symbols.

    Example:
        >>> import symdiff as sd
        >>> local_partial(sd.trace("x1*x2 + sin(x1)"), "w4", 0)
        cos(w1)
    """
    node = graph.node(node_name)
    args = [a.value if isinstance(a, Const) else graph.w(a) for a in node.args]
    partial = apply_symbolic(
        node, PRIMITIVES[node.op].partials[position], *args, out=graph.w(node_name)
    )
    return sympy.S(partial)  # the rule may return a plain int (add's partials are 1)


def input_tangents(graph: Graph, tangent: object) -> dict[str, sympy.Expr]:
    """The tangent seed as `{variable: number}`: a mapping (absent variables get 0) or a
    sequence in `wrt` order.

    Example:
        >>> import symdiff as sd
        >>> input_tangents(sd.trace("x*y"), {"x": 1})
        {'x': 1, 'y': 0}
    """
    from .reverse import seed_value  # the same number rules as the reverse seed

    if isinstance(tangent, Mapping):
        unknown = [k for k in tangent if k not in graph.input_of]
        if unknown:
            raise VariableError(f"the tangent names {unknown}, which the graph does not use")
        given = dict(tangent)
    elif isinstance(tangent, Sequence) and not isinstance(tangent, str):
        if len(tangent) != len(graph.wrt):
            raise VariableError(
                f"the tangent has {len(tangent)} entries for {len(graph.wrt)} variables"
            )
        given = dict(zip(graph.wrt, tangent, strict=True))
    else:
        raise VariableError("the tangent must be a mapping {variable: number} or a sequence")
    return {v: seed_value(given.get(v, 0)) for v in graph.variables}


def tangent_values(graph: Graph, values: Mapping[str, float], tangent: object) -> dict[str, float]:
    """Numeric forward-mode sweep: every node's tangent ẇ as a float.

    Example:
        >>> import symdiff as sd
        >>> g = sd.trace("x1*x2 + sin(x1)")
        >>> tangent_values(g, sd.evaluate(g, {"x1": 2, "x2": 3}), {"x1": 1})["w5"]
        2.5838531634528574
    """
    seeds = input_tangents(graph, tangent)
    dot: dict[str, float] = {}
    for node in graph.nodes:
        if node.is_input:
            dot[node.name] = float(seeds[node.var])
            continue
        args = [arg_value(values, a) for a in node.args]
        partials = PRIMITIVES[node.op].partials
        total = 0.0
        for position, arg in enumerate(node.args):
            if isinstance(arg, str) and dot[arg] != 0.0:
                d = apply_numeric(node, partials[position], *args, out=values[node.name])
                total += d * dot[arg]
        dot[node.name] = total
    return dot


@dataclass(frozen=True)
class TangentStep:
    """The tangent ẇ of one node in a forward-mode sweep.

    Attributes:
        node: the node (`"w3"`).
        terms: `(argument, ∂node/∂argument)` pairs, the partials in the w's.
        local: the formula in the w's and ẇ's (`w2*wdot1 + w1*wdot2`).
        expanded: the same in the inputs, with the seed's numbers for the input tangents.
        value: its number at the point, from `tangent_values`, or None.
        seed: for an input, its seed (ẋ).
    """

    node: str
    terms: tuple[tuple[str, sympy.Expr], ...]
    local: sympy.Expr
    expanded: sympy.Expr
    value: float | None = None
    seed: sympy.Expr | None = None

    def __str__(self) -> str:
        from .render import tangent_text

        return tangent_text(self)


def tangents(
    graph: Graph,
    tangent: object,
    at: Mapping[str, object] | None = None,
    primal: Primal | None = None,
) -> tuple[TangentStep, ...]:
    """Symbolic forward-mode sweep: one `TangentStep` per node, inputs first.

    Args:
        graph: from `trace`.
        tangent: the seed: `{variable: ẋ}` (absent ones 0) or a sequence in `wrt` order.
        at: a point; each step then carries its number.
        primal: the graph's `Primal`, to share expansions.

    Example:
        >>> import symdiff as sd
        >>> [str(s.expanded) for s in tangents(sd.trace("x1*x2 + sin(x1)"), {"x1": 1})]
        ['1', '0', 'x2', 'cos(x1)', 'x2 + cos(x1)']
    """
    seeds = input_tangents(graph, tangent)
    numbers = None if at is None else tangent_values(graph, evaluate(graph, at), tangent)
    primal = primal or Primal(graph)
    expanded: dict[str, sympy.Expr] = {}
    steps = []
    for node in graph.nodes:
        if node.is_input:
            seed = seeds[node.var]
            expanded[node.name] = seed
            step = TangentStep(node.name, (), seed, seed, None, seed)
        else:
            terms = tuple(
                (arg, local_partial(graph, node.name, position))
                for position, arg in enumerate(node.args)
                if isinstance(arg, str)
            )
            local = sympy.Add(*[d * graph.wdot(arg) for arg, d in terms])
            expanded[node.name] = sympy.Add(
                *[primal.expand(d) * expanded[arg] for arg, d in terms if expanded[arg] != 0]
            )
            step = TangentStep(node.name, terms, local, expanded[node.name])
        if numbers is not None:
            step = replace(step, value=numbers[node.name])
        steps.append(step)
    return tuple(steps)


#: Formulas expanded to the inputs with more operations than this (as trees) are refused.
MAX_FORMULA_SIZE = 200_000


def check_formula_size(size: int) -> None:
    """Refuse to build a flat formula of `size` operations past `MAX_FORMULA_SIZE`."""
    if size > MAX_FORMULA_SIZE:
        raise LimitError(
            f"a formula expanded to the inputs would have more than {MAX_FORMULA_SIZE:,} "
            "operations; use the gradient program instead (Gradient.program(), .lambdify(), "
            ".at(), adjoint_program)"
        )


def tree_size(expr: sympy.Expr, memo: dict | None = None) -> int:
    """The number of operations of a formula written out as a tree, in time linear in its DAG.

    SymPy shares subexpressions, so a formula can be small in memory and astronomically large
    as text; this is the size that printing, `simplify` and `count_ops` pay for.

    Example:
        >>> x = sympy.Symbol("x")
        >>> e = x
        >>> for _ in range(100):
        ...     e = sympy.sin(e) * e
        >>> tree_size(e) > 10**30
        True
    """
    memo = {} if memo is None else memo
    return postorder(expr, lambda e: e.args, lambda e: 1 + sum(memo[a] for a in e.args), memo)
