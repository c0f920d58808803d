"""Check a gradient against central finite differences, in a test suite: `check_grads`.

Example:
    >>> import symdiff as sd
    >>> from symdiff.testing import check_grads
    >>> fd = check_grads(sd.grad("x1*x2 + sin(x1)"), at={"x1": 2, "x2": 3})
    >>> round(fd["x1"], 8)
    2.58385316
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from .closedform import Gradient
from .comparison import central_differences
from .errors import DomainError, SymdiffError, VariableError, listed, shortened
from .forward import bind, evaluate, output_value, to_float
from .graph import Graph
from .numeric import lambdify
from .render import number_str, point_str

#: Default tolerances: |gradient - FD| <= atol + rtol·|FD|. Central differences with the
#: default step are good to about 1e-10 relative on well-scaled functions, so these leave room.
RTOL = 1e-6
ATOL = 1e-8

GradientLike = Gradient | Callable[..., object] | Mapping[str, float] | Sequence[float]


def check_grads(
    f: object,
    at: Mapping[str, object],
    grad: GradientLike | None = None,
    *,
    wrt: Sequence[str] | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    step: float | Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Assert that a gradient matches central finite differences of its function at a point.

    Args:
        f: the function: a symdiff `Gradient` (its graph is the function and, unless `grad` is
            given, the gradient checked: both its closed-form formulas and the code
            `lambdify("math")` generates), an expression (text, SymPy, `Graph`),
            or a Python function returning a float, called with the point as keyword arguments
            (`f(x1=2.0, x2=3.0)`).
        at: the point, `{name: value}` (values may be constant text such as `"pi/4"`).
        grad: the gradient to check: a `Gradient`; a callable taking the point as keyword
            arguments and returning `{variable: partial}` or a sequence/array in `wrt` order;
            or those numbers themselves. Default: `f` itself when it is a `Gradient`, else
            symdiff's own `grad(f)`.
        wrt: the variables to check, in order (default: the expression's `wrt`, or every key
            of `at` for a Python function).
        rtol, atol: a partial passes when |gradient - FD| <= atol + rtol·|FD|. Where the
            partials are tiny (a function scaled by 1e-12), `atol` alone passes them, however
            wrong: pass `atol=0` or one scaled to the function.
        step: the finite-difference step: one for all, one per variable, or None for
            cbrt(ε)·max(1, |x|).

    Returns:
        The finite-difference gradient, `{variable: float}`.

    Raises:
        AssertionError: a partial is off, or the gradient lacks a variable or has the wrong
            length; the message lists each mismatch with both numbers.
        VariableError: the point does not fit the function.

    Example:
        >>> import math
        >>> check_grads(lambda x: math.sin(x) * x, {"x": 1.0}, lambda x: [math.cos(x) * x])
        Traceback (most recent call last):
        ...
        AssertionError: the gradient does not match central finite differences at x = 1:
          d/dx: gradient 0.540302, finite differences 1.38177 (|difference| 0.841471 > tolerance 1.39177e-06)
    """  # noqa: E501 -- the doctest shows the message as it prints
    if isinstance(f, Gradient):
        graph = f.graph
        grad = f if grad is None else grad
    elif callable(f) and not isinstance(f, Graph):
        graph = None
    else:
        from .api import trace

        graph = trace(f, wrt)
    if graph is not None:
        point = bind(graph, at)
        names = tuple(graph.wrt if wrt is None else wrt)

        def fun(p: dict[str, float]) -> float:
            return output_value(graph, evaluate(graph, p))

    else:
        if not isinstance(at, Mapping):
            raise VariableError("the point must be a mapping {name: value}")
        point = {k: to_float(v, k) for k, v in at.items()}
        names = tuple(point if wrt is None else wrt)
        _fits(f, point)

        def fun(p: dict[str, float]) -> float:
            return _value_of_f(f(**p))

    unknown = [v for v in names if v not in point]
    if unknown:
        raise VariableError(f"the point gives no value for {listed(unknown)}")
    _check_tolerances(rtol, atol, step, names)
    if grad is None:
        from .api import grad as symbolic_grad

        grad = symbolic_grad(graph) if graph is not None else symbolic_grad(f, wrt, at=point)
    candidates = {"gradient": gradient_values(grad, point, names)}
    if isinstance(grad, Gradient):  # its formulas, and the code generated from its program
        program = grad.lambdify("math")(*_arguments(grad, point))
        candidates = {
            "closed form": candidates["gradient"],
            "lambdify('math')": dict(zip(grad.variables, program, strict=True)),
        }
    fd = central_differences(fun, point, names, step)
    problems = []
    broken = [v for v in names if not math.isfinite(fd[v])]
    if broken:  # not the gradient's fault: say so rather than report a mismatch
        raise AssertionError(
            f"the finite differences are not finite at {point_str(point)} for "
            f"{listed(broken)} ({', '.join(number_str(fd[v]) for v in broken)}): the function "
            "overflows or is undefined a step away; choose another point or `step`"
        )
    for label, given in candidates.items():
        for v in names:
            difference = abs(given[v] - fd[v])
            tolerance = atol + rtol * abs(fd[v])
            if not difference <= tolerance:  # NaN fails too
                problems.append(
                    f"  d/d{v}: {label} {number_str(given[v])}, finite differences "
                    f"{number_str(fd[v])} (|difference| {difference:.6g} > "
                    f"tolerance {tolerance:.6g})"
                )
    if problems:
        head = f"the gradient does not match central finite differences at {point_str(point)}:"
        raise AssertionError("\n".join([head, *problems]))
    return fd


def gradient_values(
    grad: GradientLike, point: Mapping[str, float], names: Sequence[str]
) -> dict[str, float]:
    """A gradient's numbers at a point as `{variable: float}`, whatever form it comes in.

    A `Gradient` is evaluated through its closed-form formulas; a callable is called with the
    point as keyword arguments.

    Raises:
        AssertionError: a variable is missing, or a sequence has the wrong length.

    Example:
        >>> gradient_values(lambda x, y: (y, x), {"x": 2.0, "y": 3.0}, ["x", "y"])
        {'x': 3.0, 'y': 2.0}
    """
    if isinstance(grad, Gradient):
        graph = grad.graph
        function = lambdify([grad[v] for v in grad.variables], graph.symbols, "math")
        arguments = _arguments(grad, point)
        try:
            values = function(*arguments)
        except (ArithmeticError, ValueError) as err:  # sqrt'(0): 1/(2·0)
            raise DomainError(
                f"the closed-form gradient is undefined at {point_str(point)} ({err})"
            ) from None
        result: object = dict(zip(grad.variables, values, strict=True))
    elif callable(grad):
        result = grad(**point)
    else:
        result = grad
    if isinstance(result, Mapping):
        missing = [v for v in names if v not in result]
        if missing:
            raise AssertionError(f"the gradient gives no partial for {listed(missing)}")
        return {v: _number(result[v], v) for v in names}
    if isinstance(result, numbers.Real):
        result = [result]
    if isinstance(result, set | frozenset):
        raise AssertionError(f"the gradient is a set, which has no order: {result!r}")
    if isinstance(result, Iterator):  # a generator of partials
        result = list(result)
    try:
        if _complex(result):
            raise TypeError
        flat = np.asarray(result, dtype=float).ravel()  # arrays of any kind, 0-d too
    except (TypeError, ValueError):  # "ab", a complex number
        raise AssertionError(f"the gradient is not real numbers: {result!r}") from None
    if flat.size != len(names):
        raise AssertionError(
            f"the gradient has {flat.size} entries for {len(names)} variables ({', '.join(names)})"
        )
    return {v: float(x) for v, x in zip(names, flat, strict=True)}


def _arguments(grad: Gradient, point: Mapping[str, float]) -> list[float]:
    """A `Gradient`'s arguments from the point: all its graph's variables."""
    missing = [v for v in grad.graph.variables if v not in point]
    if missing:
        raise VariableError(
            f"the gradient's expression uses {listed(missing)}, which the point does not give"
        )
    return [point[v] for v in grad.graph.variables]


def _fits(f: Callable, point: Mapping[str, float]) -> None:
    """Refuse a point that `f` cannot be called with, before calling it."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # a builtin without one: calling will tell
        return
    try:
        signature.bind(**point)
    except TypeError as err:
        raise VariableError(f"the point does not fit the function's arguments: {err}") from None


def _real(value: object) -> float | None:
    """A real number from a value: a float, a numpy, JAX or PyTorch scalar or one-element
    array, a Decimal; None for a complex number, None, a string or anything else."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if value is None or isinstance(value, str | bytes) or _complex(value):
        return None  # (float() of numpy's complex drops the imaginary part, with a warning)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _value_of_f(value: object) -> float:
    number = _real(value)
    if number is None:
        raise SymdiffError(f"f must return a real number, got {shortened(repr(value))}")
    return number


def _complex(value: object) -> bool:
    """Whether numpy sees complex numbers; for what numpy cannot read (a PyTorch tensor that
    needs its gradient), `float()` decides after."""
    try:
        return bool(np.iscomplexobj(value))
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return False


def _check_tolerances(
    rtol: float, atol: float, step: float | Mapping[str, float] | None, names: Sequence[str]
) -> None:
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise SymdiffError(f"{name} must be a finite number >= 0, got {value!r}")
    if step is None:
        return
    steps = step if isinstance(step, Mapping) else dict.fromkeys(names, step)
    missing = [v for v in names if v not in steps]
    if missing:
        raise VariableError(f"step gives no step for {listed(missing)}")
    for v in names:
        h = steps[v]
        if not (isinstance(h, numbers.Real) and math.isfinite(h) and h > 0):
            raise SymdiffError(f"the step for {v} must be a positive finite number, got {h!r}")


def _number(value: object, name: str) -> float:
    number = _real(value)
    if number is None:
        raise AssertionError(f"the partial for {name} is not a number, or not real: {value!r}")
    return number


__all__ = ["ATOL", "RTOL", "check_grads", "gradient_values"]
