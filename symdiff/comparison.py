"""Symbolic against numeric AD, side by side: one gradient by every method, and its error.

Every method differentiates the same graph at the same point; every error is measured against
the closed form evaluated in 50-digit arithmetic (SymPy `evalf`, i.e. mpmath), the reference.

    method                    what it computes
    closed form, 50 digits    the reference: symdiff's closed form, `evalf(n=50)` at the point
    closed form, float64      the same formulas, lambdified to `math`
    gradient program          `Gradient.lambdify("math")`: code generated from the reverse sweep
    reverse sweep             `adjoint_values`: one numeric reverse sweep
    forward sweep             `tangent_values`: one numeric forward sweep per variable
    central differences       (f(x+h) - f(x-h)) / 2h with h = cbrt(ε)·max(1, |x|)
    complex step              Im f(x + ih) / h with h = 1e-20 (analytic primitives only)
    sympy.diff                `sympy.diff` of the primal formula, lambdified to `math`
    jax, torch                their autodiff over the graph, when they are installed

Example:
    >>> import symdiff as sd
    >>> cmp = sd.compare("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
    >>> cmp.row("reverse").values
    {'x1': 2.5838531634528574, 'x2': 2.0}
    >>> cmp.row("complex_step").abs_error < 1e-15, cmp.row("central").abs_error < 1e-9
    (True, True)
"""

from __future__ import annotations

import cmath
import importlib.util
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mpmath
import sympy

from .closedform import Gradient, Simplify, check_policy
from .derivation import Derivation
from .errors import SymdiffError, VariableError, shortened
from .forward import Primal, bind, evaluate, output_value, tangent_values
from .graph import Const, Graph
from .numeric import lambdify
from .primitives import PRIMITIVES
from .render import number_str, point_str, table
from .reverse import adjoint_values

#: Digits of the reference: the closed form evaluated by SymPy's `evalf` (mpmath).
REFERENCE_DIGITS = 50
#: Machine epsilon of float64.
EPS = 2.0**-52
#: The steps of the finite-difference sweep drawn by `Comparison.plot`: 10^-1 ... 10^-15, each
#: relative to the coordinate (times max(1, |x|), as the default step is).
STEPS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 16))
#: Past this exponent a power of the point's exact rationals would have thousands of digits:
#: the reference then substitutes floats of `REFERENCE_DIGITS` + 20 digits instead.
EXACT_POWER = 1000
#: The complex step: no subtraction, so it can be far below √ε without round-off.
COMPLEX_STEP = 1e-20

#: Primitives the complex step cannot go through: those with a kink are not analytic.
NOT_ANALYTIC: frozenset[str] = frozenset(p.name for p in PRIMITIVES.values() if p.kink)


def default_step(x: float) -> float:
    """The central-difference step for a coordinate `x`: cbrt(ε)·max(1, |x|).

    It balances truncation (∝ h²) against round-off (∝ ε/h).

    Example:
        >>> f"{default_step(2.0):.3g}"
        '1.21e-05'
    """
    return EPS ** (1 / 3) * max(1.0, abs(x))


def central_differences(
    fun: Callable[[dict[str, float]], float],
    point: Mapping[str, float],
    wrt: Sequence[str],
    step: float | Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Central finite differences of a scalar function of a point, one variable at a time.

    Args:
        fun: takes the whole point `{name: float}` and returns a float.
        point: where to differentiate.
        wrt: the variables to differentiate.
        step: one absolute step, one per variable, or None for `default_step`.

    Example:
        >>> g = central_differences(lambda p: p["x"] ** 3, {"x": 2.0}, ["x"])
        >>> abs(g["x"] - 12) < 1e-8
        True
    """
    result = {}
    for var in wrt:
        x = float(point[var])
        if step is None:
            h = default_step(x)
        else:
            h = float(step[var] if isinstance(step, Mapping) else step)
        up, down = x + h, x - h
        if up == down:  # (a step below x's rounding: 1e-12 at x = 1e7)
            raise SymdiffError(f"the step {h:g} does not move {var} = {x:g} in float64")
        # divide by the step actually taken: x ± h are rounded, and the rounding would show
        result[var] = (fun({**point, var: up}) - fun({**point, var: down})) / (up - down)
    return result


# --- the complex step: the graph in complex arithmetic -----------------------------------------


def _complex_atan2(y: complex, x: complex) -> complex:
    # atan2's analytic extension near the real point: atan(y/x) plus the quadrant's constant
    if x.real > 0:
        return cmath.atan(y / x)
    if x.real < 0:
        return cmath.atan(y / x) + (math.pi if y.real >= 0 else -math.pi)
    return math.copysign(math.pi / 2, y.real) - cmath.atan(x / y)


def _complex_erf(a: complex) -> complex:
    # mpmath's complex erf is accurate relative to |erf|; 40 digits keep the O(h) imaginary part
    with mpmath.workdps(40):
        return complex(mpmath.erf(mpmath.mpc(a.real, a.imag)))


def _complex_sigmoid(a: complex) -> complex:
    if a.real >= 0:  # the two-branch form never overflows, as in the float rule
        return 1 / (1 + cmath.exp(-a))
    e = cmath.exp(a)
    return e / (1 + e)


def _complex_softplus(a: complex) -> complex:
    if a.real > 0:
        return a + cmath.log(1 + cmath.exp(-a))
    return cmath.log(1 + cmath.exp(a))


class COMPLEX:
    """Complex namespace for the rule table's values: `cmath` for the analytic primitives."""

    pi = math.pi
    sin, cos, tan = cmath.sin, cmath.cos, cmath.tan
    asin, acos, atan = cmath.asin, cmath.acos, cmath.atan
    sinh, cosh, tanh = cmath.sinh, cmath.cosh, cmath.tanh
    exp, log, sqrt = cmath.exp, cmath.log, cmath.sqrt
    atan2 = staticmethod(_complex_atan2)
    erf = staticmethod(_complex_erf)
    pow = staticmethod(lambda a, b: a**b)
    sigmoid = staticmethod(_complex_sigmoid)
    softplus = staticmethod(_complex_softplus)


def evaluate_with(
    graph: Graph,
    namespace: object,
    inputs: Mapping[str, Any],
    constant: Callable[[Const], Any] = float,
) -> Any:
    """The output of a graph evaluated with another namespace (complex, jax.numpy, torch).

    The rule table's `value` of each node is applied with `namespace`, so every backend runs the
    same primitives as the float sweep.

    Args:
        graph: from `trace`, with one output.
        namespace: functions by the rule table's names (`sin`, `pow`, `step`, ...).
        inputs: a value for every variable of the graph.
        constant: turns a constant argument into the backend's number.

    Example:
        >>> import symdiff as sd
        >>> evaluate_with(sd.trace("x*sin(x)"), COMPLEX, {"x": 1j})
        (-1.1752011936438014+0j)
    """
    env: dict[str, Any] = {}
    for node in graph.nodes:
        if node.is_input:
            env[node.name] = inputs[node.var]
        else:
            args = [constant(a) if isinstance(a, Const) else env[a] for a in node.args]
            env[node.name] = PRIMITIVES[node.op].value(namespace, *args)
    out = graph.output
    return constant(out) if isinstance(out, Const) else env[out]


def non_analytic(graph: Graph) -> list[str]:
    """The primitives of a graph that the complex step cannot differentiate through.

    Example:
        >>> import symdiff as sd
        >>> non_analytic(sd.trace("abs(x) + max(x, 1) + sin(x)"))
        ['abs', 'max']
    """
    return list(dict.fromkeys(n.op for n in graph.nodes if n.op in NOT_ANALYTIC))


def complex_step(
    graph: Graph, point: Mapping[str, float], wrt: Sequence[str], h: float = COMPLEX_STEP
) -> dict[str, float]:
    """Complex-step derivatives Im f(x + ih)/h: no subtraction, so no round-off in h.

    Raises:
        SymdiffError: the graph uses a non-analytic primitive (abs, max, relu, ...).

    Example:
        >>> import symdiff as sd
        >>> complex_step(sd.trace("x**3"), {"x": 2.0}, ["x"])
        {'x': 12.0}
    """
    bad = non_analytic(graph)
    if bad:
        raise SymdiffError(
            f"not applicable: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not analytic "
            "(the complex step needs an analytic function)"
        )
    result = {}
    for var in wrt:
        inputs = {v: complex(x, h if v == var else 0.0) for v, x in point.items()}
        result[var] = complex(evaluate_with(graph, COMPLEX, inputs)).imag / h
    return result


# --- JAX and PyTorch: their autodiff over the same graph ---------------------------------------


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _jax_gradient(graph: Graph, point: Mapping[str, float], wrt: Sequence[str]) -> dict:
    import jax
    import jax.numpy as jnp

    from .numeric import namespace

    ns = namespace("jax")  # the rule table's names on jax.numpy, as the jax backend uses them
    # what a JAX user writes: jax.nn's relu has relu'(0) = 0, where maximum(x, 0) splits 1/2
    ns.relu, ns.sigmoid, ns.softplus = jax.nn.relu, jax.nn.sigmoid, jax.nn.softplus
    ns.pow = jnp.power  # generated code writes `**`; the rule table calls m.pow

    def f(*xs):
        inputs = {**point, **dict(zip(wrt, xs, strict=True))}
        return evaluate_with(graph, ns, inputs, lambda c: jnp.asarray(float(c.value)))

    # float64 for this call only: JAX defaults to float32, and the flag is process-wide
    was = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        args = [jnp.asarray(point[v], dtype=jnp.float64) for v in wrt]
        partials = jax.grad(f, argnums=tuple(range(len(wrt))))(*args)
        return {v: float(d) for v, d in zip(wrt, partials, strict=True)}
    finally:
        jax.config.update("jax_enable_x64", was)


def _torch_gradient(graph: Graph, point: Mapping[str, float], wrt: Sequence[str]) -> dict:
    import torch

    def const(c: Const):
        return torch.tensor(float(c.value), dtype=torch.float64)

    # torch.heaviside has no derivative at all; JAX's convention is 0 everywhere, as ours

    ns = SimpleNamespace(
        pi=math.pi,
        sin=torch.sin, cos=torch.cos, tan=torch.tan,
        asin=torch.asin, acos=torch.acos, atan=torch.atan, atan2=torch.atan2,
        sinh=torch.sinh, cosh=torch.cosh, tanh=torch.tanh,
        exp=torch.exp, log=torch.log, sqrt=torch.sqrt, erf=torch.erf,
        pow=torch.pow, abs=torch.abs, sign=torch.sign,
        heaviside=lambda a, h: torch.where(a > 0, 1.0, torch.where(a == 0, h, 0.0)),
        sigmoid=torch.sigmoid, softplus=torch.nn.functional.softplus, relu=torch.relu,
        max=torch.maximum, min=torch.minimum,
    )  # fmt: skip
    leaves = {v: torch.tensor(point[v], dtype=torch.float64, requires_grad=True) for v in wrt}
    inputs = {v: leaves.get(v, torch.tensor(x, dtype=torch.float64)) for v, x in point.items()}
    out = evaluate_with(graph, ns, inputs, const)
    if not out.requires_grad:  # a constant output: torch has no graph to go back through
        return dict.fromkeys(wrt, 0.0)
    partials = torch.autograd.grad(out, [leaves[v] for v in wrt], allow_unused=True)
    return {v: 0.0 if d is None else float(d) for v, d in zip(wrt, partials, strict=True)}


# --- the comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One method's gradient at the point, and its error against the 50-digit reference.

    Attributes:
        key: a short name to look the row up (`"reverse"`, `"central"`, `"jax"`).
        method: the method as the table shows it.
        values: `{variable: partial}` as floats, or None when the method did not run.
        errors: `{variable: |value - reference|}`, or None.
        rel_error: the norm-wise relative error, max |error| / max |reference| (0 when both
            are 0), or None.
        seconds: wall time to produce the values from the graph, set-up included (building
            the closed form, lambdify, sympy.diff, tracing), or None.
        note: how the method ran, or why it did not ("not installed", "not applicable: ...").
        reference: whether this row is the reference itself.
    """

    key: str
    method: str
    values: dict[str, float] | None
    errors: dict[str, float] | None = None
    rel_error: float | None = None
    seconds: float | None = None
    note: str = ""
    reference: bool = False

    @property
    def abs_error(self) -> float | None:
        """The largest absolute error over the partials."""
        return None if not self.errors else _worst(list(self.errors.values()))


@dataclass(frozen=True)
class StepSweep:
    """Errors of the central difference and of the complex step for a range of steps.

    Attributes:
        steps: the relative steps h (coordinate x moves by h·max(1, |x|)).
        central: `{variable: [|error| per step]}`.
        complex: the same for the complex step, or None when it does not apply.
        default: `{variable: the default central step, relative}`.
    """

    steps: tuple[float, ...]
    central: dict[str, list[float]]
    complex: dict[str, list[float]] | None
    default: dict[str, float]


@dataclass(frozen=True)
class Comparison:
    """The gradient of one expression at one point by every method, with errors and times.

    Attributes:
        graph: the traced expression.
        point: the point, as floats (parameters included).
        variables: the differentiation variables.
        reference: `{variable: partial}` as 50-digit SymPy Floats, or None when the closed
            form is undefined at the point.
        rows: one `Row` per method, the reference first.
        sweep: the finite-difference step sweep (see `plot`).
        notes: remarks on the point (kinks, an undefined reference).
    """

    graph: Graph
    point: dict[str, float]
    variables: tuple[str, ...]
    reference: dict[str, sympy.Float] | None
    rows: tuple[Row, ...]
    sweep: StepSweep | None
    notes: tuple[str, ...] = ()

    def row(self, key: str) -> Row:
        """The row of a method by key: `reference`, `closed_form`, `program`, `reverse`,
        `forward`, `central`, `complex_step`, `sympy_diff`, `jax`, `torch`."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"no method {key!r}; the methods are {[r.key for r in self.rows]}")

    def __str__(self) -> str:
        return comparison_text(self)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: the point, the reference (as 50-digit strings), every row and
        the step sweep; non-finite numbers become None.

        Example:
            >>> import json, symdiff as sd
            >>> d = sd.compare("x*x", at={"x": 3}).to_dict()
            >>> d["reference"]["x"][:12], d["rows"][3]["method"], d["rows"][3]["values"]
            ('6.0000000000', 'reverse sweep', {'x': 6.0})
            >>> json.loads(json.dumps(d)) == d
            True
        """
        sweep = self.sweep
        return {
            "expression": self.graph.source,
            "variables": list(self.variables),
            "at": dict(self.point),
            "reference": None
            if self.reference is None
            else {v: str(r) for v, r in self.reference.items()},
            "rows": [
                {
                    "key": r.key,
                    "method": r.method,
                    "values": _finite_map(r.values),
                    "abs_errors": _finite_map(r.errors),
                    "abs_error": _finite(r.abs_error),
                    "rel_error": _finite(r.rel_error),
                    "seconds": r.seconds,
                    "note": r.note,
                }
                for r in self.rows
            ],
            "step_sweep": None
            if sweep is None
            else {
                "steps": list(sweep.steps),
                "relative_to": "max(1, |x|)",  # coordinate x moves by h·max(1, |x|)
                "default": sweep.default,
                "central": {v: [_finite(e) for e in es] for v, es in sweep.central.items()},
                "complex": None
                if sweep.complex is None
                else {v: [_finite(e) for e in es] for v, es in sweep.complex.items()},
            },
            "notes": list(self.notes),
        }

    def plot(self, path: str | Path) -> Path:
        """Draw the finite-difference error against the step (log-log) into a file: PNG, or
        SVG or PDF by the file's suffix.

        The central difference makes a V: truncation error falls as h² to the right, round-off
        grows as ε/h to the left; the complex step has no subtraction and stays flat. Drawn with
        matplotlib's Agg backend (no display needed, pyplot's global state untouched).

        Raises:
            SymdiffError: there is no reference to measure against, or the file can't be written.

        Example:
            >>> import symdiff as sd, tempfile, os
            >>> path = os.path.join(tempfile.mkdtemp(), "fd.png")
            >>> out = sd.compare("sin(x)", at={"x": 1}).plot(path)
            >>> out.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
            True
        """
        if not str(path).strip():  # (Path("") is the directory ".")
            raise SymdiffError("the plot needs a file name, such as fd.png")
        return plot_sweep(self, Path(path))


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _finite_map(values: Mapping[str, float] | None) -> dict[str, float | None] | None:
    return None if values is None else {k: _finite(v) for k, v in values.items()}


def reference_values(
    gradient: Gradient, point: Mapping[str, float], digits: int = REFERENCE_DIGITS
) -> dict[str, sympy.Float]:
    """The closed form evaluated in `digits`-digit arithmetic (SymPy `evalf`, mpmath inside).

    The point's floats, and the formula's decimal constants (0.1 is the double nearest 0.1,
    as float64 computes with it), are substituted as the exact rationals they are, and SymPy's
    exact arithmetic finds where a formula divides by an exact 0 (`acos'(1)`, `sqrt(x - 1)'` at 1:
    infinite) or is 0/0 (`sqrt(1 - cos(x))'` at 0, which has two one-sided limits); then the
    result is evaluated, evalf raising its working precision through cancellations on its own,
    so the only rounding is in the result. (`evalf(subs=...)` alone took those zeros for tiny
    numbers and gave finite references of 1e89, and spent minutes on formulas that exact
    arithmetic collapses in a second.) A formula with a power above `EXACT_POWER` at the point
    (`x**n` at n = 1e5 too) gets floats of `digits` + 20 digits instead of the rationals, whose
    powers would have thousands of digits.

    Raises:
        SymdiffError: a partial is not a finite real number at the point.

    Example:
        >>> import symdiff as sd
        >>> reference_values(sd.grad("exp(x)"), {"x": 1.0}, 20)
        {'x': 2.7182818284590452354}
        >>> reference_values(sd.grad("acos(x)"), {"x": 1.0})
        Traceback (most recent call last):
        ...
        symdiff.errors.SymdiffError: d/dx is infinite at the point (its closed form gives zoo)
    """
    symbols = gradient.graph.symbol_of
    exact = {s: sympy.Rational(point[v]) for v, s in symbols.items()}
    floats = {s: sympy.Float(point[v], digits + 20) for v, s in symbols.items()}
    result = {}
    for var in gradient.variables:
        formula = sympy.S(gradient[var])
        powers = (p.exp.xreplace(floats) for p in formula.atoms(sympy.Pow))
        huge = any(e.is_Number and abs(e) > EXACT_POWER for e in powers)
        decimals = {f: sympy.Rational(f) for f in formula.atoms(sympy.Float)}  # exactly
        value = formula.xreplace(floats) if huge else formula.xreplace(decimals).xreplace(exact)
        value = value.evalf(n=digits)
        if not (value.is_Number and value.is_finite and value.is_real):
            kind = "infinite" if value.has(sympy.zoo, sympy.oo, -sympy.oo) else "undefined"
            raise SymdiffError(
                f"d/d{var} is {kind} at the point (its closed form gives {shortened(value)})"
            )
        result[var] = sympy.Float(value, digits)
    return result


def _errors(values: Mapping[str, float], reference: Mapping[str, sympy.Float]) -> dict:
    with mpmath.workdps(REFERENCE_DIGITS + 10):
        # NaN compares false with everything: keep it as NaN rather than as a small error
        return {
            v: math.nan if math.isnan(x) else float(abs(mpmath.mpf(x) - mpmath.mpf(reference[v])))
            for v, x in values.items()
        }


def _worst(errors: Sequence[float]) -> float:
    """The largest error, NaN where one is NaN (`max` keeps a NaN only in first place)."""
    return math.nan if any(math.isnan(e) for e in errors) else max(errors, default=0.0)


def _rel_error(errors: Mapping[str, float], reference: Mapping[str, sympy.Float]) -> float:
    biggest = max((abs(float(r)) for r in reference.values()), default=0.0)
    worst = _worst(list(errors.values()))
    if biggest == 0.0 and not math.isnan(worst):
        return 0.0 if worst == 0.0 else math.inf
    return worst / biggest


def compare(
    expr: object,
    at: Mapping[str, object],
    wrt: Sequence[str] | None = None,
    *,
    simplify: Simplify = "auto",
    steps: Sequence[float] = STEPS,
) -> Comparison:
    """The gradient at a point by every method, each with its error against a 50-digit
    reference and its time.

    A method that fails at the point (a domain error at x ± h, a non-analytic primitive for the
    complex step, JAX or PyTorch not installed) gets a row with the reason instead of numbers.

    Args:
        expr: text, SymPy expression, Python function or `Graph` (see `trace`), one output.
        at: the point: a value for every variable (numbers or constant text like `"pi/4"`).
        wrt: the variables to differentiate (see `trace`).
        simplify: the closed form's simplification policy.
        steps: the steps of the finite-difference sweep for `plot`.

    Returns:
        A `Comparison`: `print` it for the table, `.to_dict()` for JSON, `.plot(path)`.

    Raises:
        VariableError: the point does not fit the variables, or there are several outputs.
        DomainError: the function itself is undefined at the point.
        ParseError, LimitError: as `trace`.

    Example:
        >>> import symdiff as sd
        >>> cmp = sd.compare("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
        >>> cmp.row("closed_form").values, cmp.row("closed_form").abs_error < 1e-15
        ({'x1': 2.5838531634528574, 'x2': 2.0}, True)
    """
    from .api import grad, trace  # the public verbs sit above this stage

    check_policy(simplify)
    steps = _checked_steps(steps)
    graph = trace(expr, wrt, at=at if callable(expr) else None)
    if len(graph.outputs) != 1:
        raise VariableError(f"compare needs one output; the expression has {len(graph.outputs)}")
    point = bind(graph, at)
    wrt = graph.wrt
    if not wrt:
        raise VariableError("compare needs a variable to differentiate; the expression has none")
    values = evaluate(graph, point)  # a function undefined at the point has no derivative there
    kinks = Derivation(graph=graph, point=point, values=values, steps=(), gradient=None, seed=1)
    notes = kinks.kinks

    def fun(p: dict[str, float]) -> float:
        return output_value(graph, evaluate(graph, p))

    built: dict[str, tuple[Gradient, float]] = {}

    def closed_form() -> Gradient:
        # built once; its cost is part of both closed-form rows
        if not built:
            start = time.perf_counter()
            built["g"] = (grad(graph, simplify=simplify), time.perf_counter() - start)
        return built["g"][0]

    def closed_form_float() -> dict[str, float]:
        g = closed_form()
        function = lambdify([g[v] for v in wrt], graph.symbols, "math")
        return dict(zip(wrt, function(*(point[v] for v in graph.variables)), strict=True))

    def program() -> dict[str, float]:
        function = closed_form().lambdify("math")
        return dict(zip(wrt, function(*(point[v] for v in graph.variables)), strict=True))

    def sympy_diff() -> dict[str, float]:
        formula = Primal(graph).arg(graph.output)
        partials = [sympy.diff(formula, graph.symbol_of[v]) for v in wrt]
        try:
            numbers = lambdify(partials, graph.symbols, "math")(
                *(point[v] for v in graph.variables)
            )
        except NameError:  # sympy.diff may bring functions `math` lacks (DiracDelta of sign)
            exact = {s: sympy.Rational(point[v]) for v, s in graph.symbol_of.items()}
            numbers = [float(d.evalf(n=30, subs=exact)) for d in partials]
        return dict(zip(wrt, numbers, strict=True))

    def forward() -> dict[str, float]:
        out = graph.output
        result = {}
        for v in wrt:
            dots = tangent_values(graph, values, {v: 1})
            result[v] = 0.0 if isinstance(out, Const) else dots[out]
        return result

    def reverse() -> dict[str, float]:
        bars = adjoint_values(graph, values)
        return {v: bars[graph.input_of[v]] for v in wrt}

    skipped = {}
    for package in ("jax", "torch"):
        # imported here, so that the import is not timed as the method
        if not _installed(package):
            skipped[package] = f"not installed (pip install 'symdiff[{package}]')"
            continue
        try:
            importlib.import_module(package)
        except ImportError as err:
            skipped[package] = f"not importable: {err}"

    methods: list[tuple[str, str, Callable[[], dict[str, float]], str]] = [
        ("closed_form", "closed form, float64", closed_form_float, f"simplify={simplify}"),
        ("program", "gradient program", program, "Gradient.lambdify('math')"),
        ("reverse", "reverse sweep", reverse, "adjoint_values, 1 sweep"),
        (
            "forward",
            "forward sweep",
            forward,
            f"tangent_values, {len(wrt)} sweep{'s' * (len(wrt) != 1)}",
        ),
        (
            "central",
            "central differences",
            lambda: central_differences(fun, point, wrt),
            "h = cbrt(ε)·max(1, |x|)",
        ),
        (
            "complex_step",
            "complex step",
            lambda: complex_step(graph, point, wrt),
            f"h = {COMPLEX_STEP:g}",
        ),
        ("sympy_diff", "sympy.diff", sympy_diff, "of the primal formula, float64"),
        ("jax", "jax.grad", lambda: _jax_gradient(graph, point, wrt), "float64"),
        ("torch", "torch.autograd", lambda: _torch_gradient(graph, point, wrt), "float64"),
    ]

    reference = None
    start = time.perf_counter()
    try:
        reference = reference_values(closed_form(), point)
        ref_note = f"{REFERENCE_DIGITS}-digit evalf of the closed form"
    except SymdiffError as err:
        ref_note = str(err)
        notes.append(f"no reference: {err}; errors are not shown")
    ref_seconds = time.perf_counter() - start  # the closed form's build included
    ref_values = None if reference is None else {v: float(r) for v, r in reference.items()}
    rows = [
        Row(
            "reference",
            f"closed form, {REFERENCE_DIGITS} digits",
            ref_values,
            seconds=ref_seconds,
            note=ref_note,
            reference=True,
        )
    ]
    for key, label, method, note in methods:
        if key in skipped:
            rows.append(Row(key, label, None, note=skipped[key]))
            continue
        start = time.perf_counter()
        try:
            found = method()
        except Exception as err:  # one method failing must not hide the others
            rows.append(Row(key, label, None, note=_failure(err)))
            continue
        seconds = time.perf_counter() - start
        if key == "closed_form":
            seconds += built["g"][1]
        found = {v: float(x) for v, x in found.items()}
        errors = rel = None
        if reference is not None:
            errors = _errors(found, reference)
            rel = _rel_error(errors, reference)
        rows.append(Row(key, label, found, errors, rel, seconds, note))

    sweep = None
    if reference is not None:
        sweep = step_sweep(graph, point, wrt, reference, steps)
    return Comparison(graph, point, wrt, reference, tuple(rows), sweep, tuple(notes))


def _checked_steps(steps: object) -> tuple[float, ...]:
    """The sweep's steps: positive finite numbers (relative steps, so at most about 1)."""
    try:
        if isinstance(steps, str | bytes):
            raise TypeError
        checked = tuple(float(h) for h in steps)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise SymdiffError(f"steps must be a sequence of numbers, got {steps!r}") from None
    if not checked or not all(math.isfinite(h) and h > 0 for h in checked):
        raise SymdiffError(f"steps must be positive finite numbers, got {list(checked)}")
    return checked


def _failure(err: Exception) -> str:
    text = str(err)
    if isinstance(err, OverflowError) and err.args and isinstance(err.args[0], int):
        text = "a result out of float64's range"  # (not the errno tuple it carries)
    if text.startswith("not applicable"):
        return text
    if not isinstance(err, SymdiffError | ArithmeticError | ValueError):
        text = f"{type(err).__name__}: {text}"  # an unexpected failure: say what kind
    return f"failed: {text}"


def step_sweep(
    graph: Graph,
    point: Mapping[str, float],
    wrt: Sequence[str],
    reference: Mapping[str, sympy.Float],
    steps: Sequence[float] = STEPS,
) -> StepSweep:
    """The absolute error of the central difference and of the complex step for each step.

    Each step is relative: coordinate x takes h·max(1, |x|), as the default step does, so that
    at x = 1e7 the small steps still move x (an absolute 1e-10 would vanish in its rounding).
    A step at which the function is undefined (x ± h outside the domain) gives NaN.

    Example:
        >>> import symdiff as sd
        >>> g = sd.trace("exp(x)")
        >>> ref = reference_values(sd.grad(g), {"x": 0.0})
        >>> s = step_sweep(g, {"x": 0.0}, ["x"], ref, [1e-1, 1e-5])
        >>> [f"{e:.0e}" for e in s.central["x"]], [f"{e:.0e}" for e in s.complex["x"]]
        (['2e-03', '1e-11'], ['2e-03', '2e-11'])
    """

    def fun(p: dict[str, float]) -> float:
        return output_value(graph, evaluate(graph, p))

    def errors_of(method: Callable[[float], dict[str, float]]) -> dict[str, list[float]]:
        result: dict[str, list[float]] = {v: [] for v in wrt}
        for h in steps:
            try:
                found = method(h)
            except (SymdiffError, ArithmeticError, ValueError):
                found = dict.fromkeys(wrt, math.nan)
            for v, e in _errors(found, reference).items():
                result[v].append(e)
        return result

    def scaled(h: float) -> dict[str, float]:
        return {v: h * max(1.0, abs(point[v])) for v in wrt}

    central = errors_of(lambda h: central_differences(fun, point, wrt, scaled(h)))
    analytic = not non_analytic(graph)
    complex_errors = (
        errors_of(
            lambda h: {v: complex_step(graph, point, [v], s)[v] for v, s in scaled(h).items()}
        )
        if analytic
        else None
    )
    default = {v: default_step(point[v]) / max(1.0, abs(point[v])) for v in wrt}
    return StepSweep(tuple(steps), central, complex_errors, default)


# --- showing it ---------------------------------------------------------------------------------


def _seconds_str(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _error_str(error: float | None) -> str:
    if error is None:
        return "-"
    return "0" if error == 0 else f"{error:.1e}"


def comparison_text(cmp: Comparison) -> str:
    """The comparison as a table: one row per method, then the reference in full.

    Example:
        >>> import symdiff as sd
        >>> print(comparison_text(sd.compare("x*x", at={"x": 3})).splitlines()[7].split())
        ['reverse', 'sweep', '6', '0', '0', ...]
    """
    graph = cmp.graph
    head = f"z = {graph.source}   at {point_str(cmp.point)}"
    lines = [head, "errors against the closed form in 50-digit arithmetic", ""]
    labels = [f"dz/d{v}" for v in cmp.variables]
    rows = [["method", *labels, "abs error", "rel error", "time", "note"]]
    for r in cmp.rows:
        shown = [number_str(r.values[v], None) if r.values else "-" for v in cmp.variables]
        if r.reference:
            errors = ["reference" if cmp.reference is not None else "-", ""]
        else:
            errors = [_error_str(r.abs_error), _error_str(r.rel_error)]
        rows.append([r.method, *shown, *errors, _seconds_str(r.seconds), r.note])
    lines += table(rows, indent="")
    if cmp.reference is not None:
        lines += ["", f"reference ({REFERENCE_DIGITS} digits)"]
        lines += [f"dz/d{v} = {r}" for v, r in cmp.reference.items()]
    lines += [f"note: {note}" for note in cmp.notes]
    return "\n".join(line.rstrip() for line in lines)


def plot_sweep(cmp: Comparison, path: Path) -> Path:
    """Draw `cmp.sweep` (see `Comparison.plot`) and return the path written."""
    if cmp.sweep is None:
        raise SymdiffError("nothing to plot: there is no reference at this point")
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf", "eps", "ps"):
        raise SymdiffError(f"the plot is drawn as .png, .svg, .pdf or .eps, not {path.suffix}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sweep = cmp.sweep
    # an exact result has error 0, which a log axis cannot show: draw it on a floor
    floor = 1e-20
    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, var in enumerate(cmp.variables):
        colour = f"C{i}"
        ax.loglog(
            sweep.steps,
            [max(e, floor) for e in sweep.central[var]],
            "o-",
            color=colour,
            label=f"central difference, dz/d{var}",
        )
        if sweep.complex is not None:
            ax.loglog(
                sweep.steps,
                [max(e, floor) for e in sweep.complex[var]],
                "s--",
                color=colour,
                alpha=0.6,
                label=f"complex step, dz/d{var}",
            )
        ax.axvline(sweep.default[var], color=colour, linestyle=":", linewidth=1)
    ax.set_xlabel("step h, relative (x moves by h·max(1, |x|))")
    curves = [*sweep.central.values(), *(sweep.complex or {}).values()]
    exact = any(e == 0 for errors in curves for e in errors)
    ax.set_ylabel(
        "absolute error against the 50-digit reference"
        + (f"\n(exact results drawn at {floor:g})" if exact else "")
    )
    ax.set_title(f"finite differences: z = {cmp.graph.source}", fontsize=10)
    ax.invert_xaxis()  # smaller steps to the right, as one refines
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(path, format=fmt)
    except OSError as err:
        raise SymdiffError(f"cannot write the plot to {path}: {err.strerror or err}") from None
    return path


__all__ = [
    "COMPLEX",
    "Comparison",
    "Row",
    "StepSweep",
    "central_differences",
    "compare",
    "complex_step",
    "default_step",
    "evaluate_with",
    "reference_values",
    "step_sweep",
]
