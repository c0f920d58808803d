"""Tracing by operator overloading: Python functions (and generated programs) -> Graph.

A `Traced` value stands for a graph node while a function runs: arithmetic, `abs`, numpy's
ufuncs (through methods such as `.sin()`), symdiff's own functions (`sd.sin`) and, in a plain
Python function, `math.sin` and friends record primitives on a `Tape`. Loops simply unroll. A
comparison (`if x < 2:`) needs a point: the tape then evaluates as it records, takes the branch the
point takes, and the graph states the condition under which its derivatives hold.

The same tape builds the adjoint program (`reverse.adjoint_program`), with constant folding on.

Example:
    >>> import symdiff as sd
    >>> def horner(x):
    ...     result = 0
    ...     for c in (3, 0, 2):
    ...         result = result * x + c
    ...     return result
    >>> sd.grad(horner).at(x=2)
    {'x': 12.0}
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sympy

from .errors import DomainError, ParseError, SymdiffError, VariableError
from .forward import apply_numeric, apply_symbolic
from .graph import Const, Graph, GraphBuilder, Node, postorder
from .primitives import FUNCTIONS, NUMERIC, PRIMITIVES, SYMBOLIC

_COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_RELATIONS = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge,
              "==": lambda a, b: sympy.Eq(a, b, evaluate=False),
              "!=": lambda a, b: sympy.Ne(a, b, evaluate=False)}  # fmt: skip
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def constant(value: object) -> Const:
    """A Python or SymPy number as a graph constant."""
    if isinstance(value, Const):
        return value
    if isinstance(value, bool):
        raise SymdiffError("booleans are not numbers here; use 0 or 1")
    if isinstance(value, numbers.Integral):
        return Const(sympy.Integer(int(value)), str(int(value)))
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise DomainError(f"the constant {value} is not finite")
        return Const(sympy.Float(float(value)), repr(float(value)))
    if isinstance(value, sympy.Expr) and value.is_number and value.is_finite is not False:
        if value.is_extended_real is False:  # (nan's realness SymPy leaves open)
            raise DomainError(
                f"{value} is not a real number; symdiff differentiates functions of real numbers"
            )
        return Const(value, str(value))
    raise SymdiffError(
        f"a traced function used a {type(value).__name__} ({value!r}) where a "
        "number or a traced value was expected"
    )


class Tape:
    """Records primitives into a `GraphBuilder` as traced values are combined.

    Args:
        point: variable values; with it every node is also evaluated (branches need it).
        fold: fold constants and drop multiplications by 1 and additions of 0 (for generated
            programs; a user's function is recorded as written).
    """

    def __init__(
        self,
        point: Mapping[str, float] | None = None,
        fold: bool = False,
        builder: GraphBuilder | None = None,
    ) -> None:
        self.builder = builder or GraphBuilder()
        self.point = point
        self.values: dict[int, float] | None = None if point is None else {}
        self.fold = fold
        self.branches: list[tuple[str, Any, Any, bool]] = []

    def variable(self, name: str, symbol: sympy.Symbol | None = None) -> Traced:
        ref = self.builder.variable(name, symbol)
        if self.values is not None:
            self.values[ref] = float(self.point[name])
        return Traced(self, ref)

    def ref(self, value: object) -> int | Const:
        """A traced value's reference, or a number as a constant."""
        if isinstance(value, Traced):
            if value.tape is not self:
                raise SymdiffError("values from two different traces were combined")
            return value.ref
        return constant(value)

    def apply(self, op: str, *args: object) -> Traced:
        refs = tuple(self.ref(a) for a in args)
        if self.fold:
            folded = self._fold(op, refs)
            if folded is not None:
                return Traced(self, folded)
        ref = self.builder.apply(op, refs)
        if self.values is not None and ref not in self.values:
            nums = [float(r) if isinstance(r, Const) else self.values[r] for r in refs]
            shown = Node(f"#{ref}", op, tuple(r if isinstance(r, Const) else f"#{r}" for r in refs))
            self.values[ref] = apply_numeric(shown, PRIMITIVES[op].value, *nums)
        return Traced(self, ref)

    def value(self, ref: int | Const) -> float:
        if isinstance(ref, Const):
            return float(ref)
        if self.values is None:
            raise VariableError(
                "a branch on a traced value (a comparison, an if, max() or "
                "bool()) needs a point: pass at={...} so the branch can be taken"
            )
        return self.values[ref]

    def compare(self, op: str, a: object, b: object) -> bool:
        ra, rb = self.ref(a), self.ref(b)
        result = bool(_COMPARISONS[op](self.value(ra), self.value(rb)))
        self.branches.append((op, ra, rb, result))
        return result

    def _fold(self, op: str, refs: tuple) -> int | Const | None:
        if all(isinstance(r, Const) for r in refs):
            shown = Node("constant", op, refs)
            return constant(apply_symbolic(shown, PRIMITIVES[op].value, *(r.value for r in refs)))
        a, b = (*refs, None)[:2]

        def is_(r, v):
            return isinstance(r, Const) and r.value == v

        rules = {
            "mul": [(is_(a, 1), b), (is_(b, 1), a), (is_(a, 0) or is_(b, 0), constant(0))],
            "add": [(is_(a, 0), b), (is_(b, 0), a)],
            "sub": [(is_(b, 0), a)],
            "div": [(is_(b, 1), a)],
            "pow": [(is_(b, 1), a)],
        }
        for condition, result in rules.get(op, []):
            if condition:
                return result
        if op == "mul" and (is_(a, -1) or is_(b, -1)):
            return self.apply("neg", Traced(self, b if is_(a, -1) else a)).ref
        if op == "sub" and is_(a, 0):
            return self.apply("neg", Traced(self, b)).ref
        if op == "neg" and not isinstance(a, Const) and self.builder.op_of(a)[0] == "neg":
            return self.builder.op_of(a)[1][0]
        return None

    def formula(self, ref: int | Const) -> sympy.Expr:
        """A reference's formula in the input variables (iterative: chains can be long)."""
        if isinstance(ref, Const):
            return ref.value
        memo: dict[int, sympy.Expr] = {}

        def children(r: int) -> list[int]:
            op, args = self.builder.op_of(r)
            return [] if op == "input" else [a for a in args if not isinstance(a, Const)]

        def combine(r: int) -> sympy.Expr:
            op, args = self.builder.op_of(r)
            if op == "input":
                return self.builder.symbol(args[0])
            values = [a.value if isinstance(a, Const) else memo[a] for a in args]
            return PRIMITIVES[op].value(SYMBOLIC, *values)

        return postorder(ref, children, combine, memo)

    def guards(self) -> tuple[sympy.Basic, ...]:
        """The recorded branches as relations in the input variables (`x*y < 1`)."""
        relations = [
            _RELATIONS[op if result else _NEGATED[op]](self.formula(a), self.formula(b))
            for op, a, b, result in self.branches
        ]
        return tuple(dict.fromkeys(r for r in relations if r is not sympy.true))

    def conditions(self) -> tuple[str, ...]:
        """The recorded branches as text (`x·y < 1`)."""
        from .render import math_str

        return tuple(
            f"{math_str(g.lhs)} {g.rel_op} {math_str(g.rhs)}" if g is not sympy.false else "false"
            for g in self.guards()
        )


class Traced:
    """A value being traced: a node of the graph under construction (or a folded constant)."""

    __array_priority__ = 1000  # numpy defers to our operators (x * np.float64(2))

    def __init__(self, tape: Tape, ref: int | Const) -> None:
        self.tape, self.ref = tape, ref

    def __repr__(self) -> str:
        return f"Traced({self.ref})"

    def _op(self, op: str, *args: object) -> Traced:
        return self.tape.apply(op, *args)

    __add__ = lambda self, o: self._op("add", self, o)  # noqa: E731
    __radd__ = lambda self, o: self._op("add", o, self)  # noqa: E731
    __sub__ = lambda self, o: self._op("sub", self, o)  # noqa: E731
    __rsub__ = lambda self, o: self._op("sub", o, self)  # noqa: E731
    __mul__ = lambda self, o: self._op("mul", self, o)  # noqa: E731
    __rmul__ = lambda self, o: self._op("mul", o, self)  # noqa: E731
    __truediv__ = lambda self, o: self._op("div", self, o)  # noqa: E731
    __rtruediv__ = lambda self, o: self._op("div", o, self)  # noqa: E731
    __pow__ = lambda self, o: self._op("pow", self, o)  # noqa: E731
    __rpow__ = lambda self, o: self._op("pow", o, self)  # noqa: E731
    __neg__ = lambda self: self._op("neg", self)  # noqa: E731
    __pos__ = lambda self: self  # noqa: E731
    __abs__ = lambda self: self._op("abs", self)  # noqa: E731
    __lt__ = lambda self, o: self.tape.compare("<", self, o)  # noqa: E731
    __le__ = lambda self, o: self.tape.compare("<=", self, o)  # noqa: E731
    __gt__ = lambda self, o: self.tape.compare(">", self, o)  # noqa: E731
    __ge__ = lambda self, o: self.tape.compare(">=", self, o)  # noqa: E731
    __eq__ = lambda self, o: self.tape.compare("==", self, o)  # noqa: E731
    __ne__ = lambda self, o: self.tape.compare("!=", self, o)  # noqa: E731
    __hash__ = object.__hash__

    def _sympy_(self):
        # SymPy numbers on the left (2*x with SymPy's 2) then return NotImplemented, and Python
        # falls back to our reflected operator instead of float()
        raise sympy.SympifyError(self)

    def __bool__(self) -> bool:
        return self.tape.compare("!=", self, 0)

    def __float__(self) -> float:
        raise SymdiffError(
            "float() of a traced value would drop its derivative (a function symdiff does not "
            "trace, such as math.hypot, calls float()); use symdiff's functions (sd.sin, ...), "
            "the math functions of the rule table, or numpy's ufuncs"
        )

    __int__ = __index__ = __float__

    # numpy calls these methods when its ufuncs meet an object (np.sin(x) -> x.sin())
    def sin(self):
        return self._op("sin", self)

    def cos(self):
        return self._op("cos", self)

    def tan(self):
        return self._op("tan", self)

    def arcsin(self):
        return self._op("asin", self)

    def arccos(self):
        return self._op("acos", self)

    def arctan(self):
        return self._op("atan", self)

    def sinh(self):
        return self._op("sinh", self)

    def cosh(self):
        return self._op("cosh", self)

    def tanh(self):
        return self._op("tanh", self)

    def exp(self):
        return self._op("exp", self)

    def log(self):
        return self._op("log", self)

    def sqrt(self):
        return self._op("sqrt", self)

    def arctan2(self, other):
        return self._op("atan2", self, other)


def _function(name: str) -> Callable[..., Any]:
    """The traced version of a rule-table function: records on a tape, or computes plain numbers."""
    prim = PRIMITIVES[name]

    def call(*args: object) -> Any:
        if len(args) != prim.arity:
            raise SymdiffError(f"{name}() takes {prim.arity} argument(s), got {len(args)}")
        tape = next((a.tape for a in args if isinstance(a, Traced)), None)
        if tape is not None:
            return tape.apply(name, *args)
        if all(isinstance(a, sympy.Expr) for a in args):
            return prim.value(SYMBOLIC, *args)
        return prim.value(NUMERIC, *map(float, args))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{prim.text.format(*'xy'[: prim.arity])}, traced when given a traced value."
    return call


#: symdiff's own functions: `sd.sin(x)` works on numbers, SymPy numbers and traced values.
FUNCTIONS_TRACED: dict[str, Callable[..., Any]] = {name: _function(name) for name in FUNCTIONS}


class TRACING:
    """Namespace for the rule table that records on a tape (used to build adjoint programs)."""

    pi = sympy.pi
    pow = staticmethod(_function("pow"))


for _name, _fn in FUNCTIONS_TRACED.items():
    setattr(TRACING, _name, staticmethod(_fn))


# math functions that are rule-table functions of the same name
_SAME_NAME = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "sqrt",
              "erf", "atan2")  # fmt: skip


def _math_shim() -> types.SimpleNamespace:
    """A stand-in for the `math` module inside a traced function."""
    f = FUNCTIONS_TRACED

    def log(x, base=None):
        return f["log"](x) if base is None else f["log"](x) / f["log"](base)

    shim = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    shim.update({name: f[name] for name in _SAME_NAME})
    shim.update(log=log, fabs=f["abs"], pow=lambda x, y: x**y)
    return types.SimpleNamespace(**shim)


_MATH = _math_shim()
_MATH_BY_FUNCTION = {
    getattr(math, name): getattr(_MATH, name) for name in (*_SAME_NAME, "log", "fabs", "pow")
}


def _with_traced_math(f: Callable) -> Callable:
    """`f` with `math` (and functions imported from it) replaced by traced versions."""
    if not isinstance(f, types.FunctionType):
        return f
    globals_ = dict(f.__globals__)
    for key, value in f.__globals__.items():
        if value is math:
            globals_[key] = _MATH
        elif callable(value) and value in _MATH_BY_FUNCTION:
            globals_[key] = _MATH_BY_FUNCTION[value]
    traced = types.FunctionType(f.__code__, globals_, f.__name__, f.__defaults__, f.__closure__)
    traced.__kwdefaults__ = f.__kwdefaults__
    return traced


def trace_function(
    f: Callable,
    wrt: Sequence[str] | None = None,
    at: Mapping[str, object] | None = None,
    prefix: str | None = None,
) -> Graph:
    """Trace a Python function of scalars into a `Graph`, its parameters as the variables.

    Args:
        f: a function of positional scalar parameters (or of `*x`, named by `wrt`), returning a
            number, a traced value, or a list/tuple/dict of them (several outputs).
        wrt: the variables to differentiate (default: all parameters, in order).
        at: a point; needed when the function branches on a traced value.
        prefix: node name prefix.

    Raises:
        VariableError: the function branches but no point was given.

    Example:
        >>> def f(x):
        ...     return x * x if x > 0 else -x
        >>> g = trace_function(f, at={"x": 3})
        >>> print(g)
        w1 = x
        w2 = w1·w1
        z = w2
        given x > 0
    """
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        raise ParseError(f"cannot read the parameters of {f!r}") from None
    if len(params) == 1 and params[0].kind == params[0].VAR_POSITIONAL:
        if wrt is None:  # f(*x): the names of its scalars come from wrt
            raise VariableError("a function of *args needs wrt=[names], one per argument")
        names = list(wrt)
    elif any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise ParseError(
            "a traced function takes named scalar parameters, or *args with wrt=[names]"
        )
    else:
        names = [p.name for p in params]
    point = None
    if at is not None:
        from .forward import to_float

        unknown = [k for k in at if k not in names]
        missing = [n for n in names if n not in at]
        if unknown or missing:
            raise VariableError(f"at= must give exactly the parameters {names}")
        point = {k: to_float(v, k) for k, v in at.items()}
    tape = Tape(point)
    inputs = [tape.variable(name) for name in names]
    try:
        result = _with_traced_math(f)(*inputs)
    except SymdiffError:
        raise
    except Exception as err:  # the user's function failed on traced values: say so, typed
        raise SymdiffError(
            f"tracing {getattr(f, '__name__', 'the function')}() failed: "
            f"{type(err).__name__}: {err}"
        ) from err
    if isinstance(result, Mapping):
        labels, results = [str(k) for k in result], list(result.values())
    elif isinstance(result, list | tuple):
        labels, results = None, list(result)
    else:
        labels, results = None, [result]
    refs = [tape.ref(r) for r in results]
    single = not isinstance(result, Mapping | list | tuple)
    source = getattr(f, "__name__", "f") + "(" + ", ".join(names) + ")"
    graph = tape.builder.finish(refs[0] if single else refs, wrt, source, prefix, labels)
    return replace(graph, conditions=tape.conditions(), guards=tape.guards())
