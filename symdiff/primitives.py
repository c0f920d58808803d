"""The rule table: every primitive symdiff knows, one entry each (DESIGN invariant 4).

An entry gives the arity, the value, one local partial per argument, and text and LaTeX templates.
`value` and each partial are written once against a namespace `m` of math functions: `NUMERIC`
(floats, the `math` module) for the numeric sweeps and `SYMBOLIC` (SymPy) for the formulas, so
the number and the formula of a step can never drift apart. Partials take the node's own output
`o` first, then its arguments, so `exp' = o`, `tanh' = 1 - o²`, `sqrt' = 1/(2·o)`.

Kinks follow JAX, so a sweep here gives what `jax.grad` gives at the kink:

    abs'(0) = 1        relu'(0) = 0        sign'(x) = 0
    max(a, b), min(a, b) at a tie: 1/2 to each argument

Symbolically these are Heaviside steps with the value at 0 given (`Heaviside(x, 1)`), so the
expanded formula evaluated at the kink gives the same number as the numeric sweep.

Example:
    >>> from symdiff.primitives import PRIMITIVES, NUMERIC
    >>> sin = PRIMITIVES["sin"]
    >>> sin.value(NUMERIC, 0.0), sin.partials[0](NUMERIC, 0.0, 0.0)
    (0.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy

from .errors import LimitError

#: An exact constant power with more digits than this is refused (`9**9**9**9` must not hang).
MAX_CONSTANT_DIGITS = 4_000  # below Python's 4,300-digit limit on printing integers


@dataclass(frozen=True)
class Primitive:
    """One row of the rule table.

    Attributes:
        name: the primitive's name, also the function name in expressions (`sin`).
        arity: number of arguments.
        value: `value(m, *args)` computes the output with namespace `m`.
        partials: one `d(m, o, *args)` per argument: the local partial d out / d arg.
        text: plain-text template over argument strings (`"{0}·{1}"`).
        latex: LaTeX template over argument LaTeX (`r"\\sin {0}"`).
        domain: what the arguments must satisfy, for error messages ("" when all reals).
        callable: whether expressions may call it by name (operators are not called).
        kink: for non-smooth primitives, `kink(*args)` tells whether float arguments sit on
            the kink, and `convention` says which derivative symdiff takes there.
        constant_args: positions of arguments that must not depend on a variable.
    """

    name: str
    arity: int
    value: Callable[..., Any]
    partials: tuple[Callable[..., Any], ...]
    text: str
    latex: str
    domain: str = ""
    callable: bool = True
    kink: Callable[..., bool] | None = None
    convention: str = ""
    constant_args: tuple[int, ...] = ()


def _stable_sigmoid(a: float) -> float:
    # 1/(1+exp(-a)) overflows for a < -709; the two-branch form never does.
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _stable_softplus(a: float) -> float:
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


# The kinks as numpy computes them (np.sign, np.maximum, np.minimum, np.heaviside): nan for
# nan, so the math backend gives the numbers the array backends give, where Python's `max`
# would depend on the argument order and a comparison would turn nan into 0 or 1. numba
# compiles these same functions.


def _sign(a: float) -> float:
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    return 0.0 if a == 0 else a  # both zeros give 0.0


def _maximum(a: float, b: float) -> float:
    return a if a >= b or a != a else b


def _minimum(a: float, b: float) -> float:
    return a if a <= b or a != a else b


def _relu(a: float) -> float:
    return a if a > 0.0 or a != a else 0.0  # 0.0 for -0.0, as np.maximum(-0.0, 0.0) gives


def _power(a: float, b: float) -> float:
    # np.power takes the exponent 0.5 as a square root: nan at -inf (an error in math), where
    # C's pow gives inf
    return math.sqrt(a) if b == 0.5 else math.pow(a, b)


class ConstantNumber(float):
    """A constant argument's value in a numeric sweep (`forward.arg_value`): a float that says
    it is written in the expression, not computed, for rules that treat constants apart."""


def _zero(exponent: object) -> bool:
    # a constant x^0 is 1 everywhere, so its partial is 0 (as sympy.diff gives), where
    # 0·x^(-1) would be undefined at x = 0. Only a constant: a computed exponent that is 0 at
    # the point keeps y·x^(y-1), as the generated code and the closed form compute it, and a
    # traced value is never compared (that would record a branch)
    if isinstance(exponent, sympy.Number):
        return bool(exponent.is_zero)  # (SymPy's Float(0.0) == 0 is False)
    return isinstance(exponent, ConstantNumber) and exponent == 0


def _heaviside(a: float, at_zero: float) -> float:
    if a != a:
        return a
    if a == 0:
        return float(at_zero)
    return 1.0 if a > 0 else 0.0


class NUMERIC:
    """Float namespace: `math` functions, numerically stable sigmoid and softplus."""

    pi = math.pi
    sin, cos, tan = math.sin, math.cos, math.tan
    asin, acos, atan, atan2 = math.asin, math.acos, math.atan, math.atan2
    sinh, cosh, tanh = math.sinh, math.cosh, math.tanh
    exp, log, sqrt, erf = math.exp, math.log, math.sqrt, math.erf
    pow = staticmethod(_power)
    abs = staticmethod(abs)
    sign = staticmethod(_sign)
    heaviside = staticmethod(_heaviside)
    sigmoid = staticmethod(_stable_sigmoid)
    softplus = staticmethod(_stable_softplus)
    relu = staticmethod(_relu)
    max = staticmethod(_maximum)
    min = staticmethod(_minimum)


def constant_power_digits(base: sympy.Expr, exponent: sympy.Expr) -> float:
    """Decimal digits of `base**exponent` when both are exact numbers, else 0.

    Example:
        >>> round(constant_power_digits(sympy.Integer(10), sympy.Integer(400)))
        400
    """
    if not (base.is_Rational and exponent.is_Rational) or base == 0:
        return 0.0
    size = max(abs(math.log10(abs(int(base.p)))), abs(math.log10(int(base.q))), 1e-9)
    return float(abs(exponent)) * size


def _symbolic_pow(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    if constant_power_digits(sympy.sympify(base), sympy.sympify(exponent)) > MAX_CONSTANT_DIGITS:
        raise LimitError(
            f"the constant {base}**{exponent} would have more than {MAX_CONSTANT_DIGITS} digits; "
            "use a smaller exponent or a float"
        )
    return sympy.Pow(base, exponent)


class SYMBOLIC:
    """SymPy namespace; kinks as Heaviside steps with JAX's value at 0."""

    pi = sympy.pi
    sin, cos, tan = sympy.sin, sympy.cos, sympy.tan
    asin, acos, atan, atan2 = sympy.asin, sympy.acos, sympy.atan, sympy.atan2
    sinh, cosh, tanh = sympy.sinh, sympy.cosh, sympy.tanh
    exp, log, sqrt, erf = sympy.exp, sympy.log, sympy.sqrt, sympy.erf
    pow = staticmethod(_symbolic_pow)
    abs, sign = sympy.Abs, sympy.sign
    heaviside = staticmethod(lambda a, at_zero: sympy.Heaviside(a, sympy.nsimplify(at_zero)))
    sigmoid = staticmethod(lambda a: 1 / (1 + sympy.exp(-a)))
    softplus = staticmethod(lambda a: sympy.log(1 + sympy.exp(a)))
    relu = staticmethod(lambda a: sympy.Max(a, 0))
    max, min = sympy.Max, sympy.Min


def _table(*entries: Primitive) -> dict[str, Primitive]:
    return {p.name: p for p in entries}


P = Primitive
half = 0.5

# fmt: off
#: The rule table. One line per primitive: name, arity, value, partials (o = own output), text, LaTeX.
PRIMITIVES: dict[str, Primitive] = _table(
    P("add", 2, lambda m, a, b: a + b, (lambda m, o, a, b: 1, lambda m, o, a, b: 1), "{0} + {1}", "{0} + {1}", callable=False),
    P("sub", 2, lambda m, a, b: a - b, (lambda m, o, a, b: 1, lambda m, o, a, b: -1), "{0} - {1}", "{0} - {1}", callable=False),
    P("mul", 2, lambda m, a, b: a * b, (lambda m, o, a, b: b, lambda m, o, a, b: a), "{0}·{1}", r"{0} \cdot {1}", callable=False),
    P("div", 2, lambda m, a, b: a / b, (lambda m, o, a, b: 1 / b, lambda m, o, a, b: -o / b), "{0}/{1}", r"\frac{{{0}}}{{{1}}}", "a non-zero divisor", callable=False),
    P("neg", 1, lambda m, a: -a, (lambda m, o, a: -1,), "-{0}", "-{0}", callable=False),
    P("pow", 2, lambda m, a, b: m.pow(a, b), (lambda m, o, a, b: 0 if _zero(b) else b * m.pow(a, b - 1), lambda m, o, a, b: o * m.log(a)), "{0}^{1}", "{0}^{{{1}}}", "a positive base, or an integer exponent and a non-zero base where the power is negative", callable=False),
    P("sin", 1, lambda m, a: m.sin(a), (lambda m, o, a: m.cos(a),), "sin({0})", r"\sin {0}"),
    P("cos", 1, lambda m, a: m.cos(a), (lambda m, o, a: -m.sin(a),), "cos({0})", r"\cos {0}"),
    P("tan", 1, lambda m, a: m.tan(a), (lambda m, o, a: 1 + o**2,), "tan({0})", r"\tan {0}"),
    P("asin", 1, lambda m, a: m.asin(a), (lambda m, o, a: 1 / m.sqrt(1 - a**2),), "asin({0})", r"\arcsin {0}", "an argument in [-1, 1] (in (-1, 1) for the derivative)"),
    P("acos", 1, lambda m, a: m.acos(a), (lambda m, o, a: -1 / m.sqrt(1 - a**2),), "acos({0})", r"\arccos {0}", "an argument in [-1, 1] (in (-1, 1) for the derivative)"),
    P("atan", 1, lambda m, a: m.atan(a), (lambda m, o, a: 1 / (1 + a**2),), "atan({0})", r"\arctan {0}"),
    P("sinh", 1, lambda m, a: m.sinh(a), (lambda m, o, a: m.cosh(a),), "sinh({0})", r"\sinh {0}"),
    P("cosh", 1, lambda m, a: m.cosh(a), (lambda m, o, a: m.sinh(a),), "cosh({0})", r"\cosh {0}"),
    P("tanh", 1, lambda m, a: m.tanh(a), (lambda m, o, a: 1 - o**2,), "tanh({0})", r"\tanh {0}"),
    P("exp", 1, lambda m, a: m.exp(a), (lambda m, o, a: o,), "exp({0})", r"e^{{{0}}}"),
    P("log", 1, lambda m, a: m.log(a), (lambda m, o, a: 1 / a,), "log({0})", r"\log {0}", "a positive argument"),
    P("sqrt", 1, lambda m, a: m.sqrt(a), (lambda m, o, a: 1 / (2 * o),), "sqrt({0})", r"\sqrt{{{0}}}", "a non-negative argument (positive for the derivative)"),
    P("abs", 1, lambda m, a: m.abs(a), (lambda m, o, a: 2 * m.heaviside(a, 1) - 1,), "abs({0})", r"\left|{0}\right|", kink=lambda a: a == 0, convention="abs'(0) = 1"),
    P("sign", 1, lambda m, a: m.sign(a), (lambda m, o, a: 0,), "sign({0})", r"\operatorname{{sign}} {0}", kink=lambda a: a == 0, convention="sign'(0) = 0"),
    P("erf", 1, lambda m, a: m.erf(a), (lambda m, o, a: 2 / m.sqrt(m.pi) * m.exp(-a**2),), "erf({0})", r"\operatorname{{erf}} {0}"),
    P("sigmoid", 1, lambda m, a: m.sigmoid(a), (lambda m, o, a: o * (1 - o),), "sigmoid({0})", r"\sigma({0})"),
    P("relu", 1, lambda m, a: m.relu(a), (lambda m, o, a: m.heaviside(a, 0),), "relu({0})", r"\operatorname{{relu}} {0}", kink=lambda a: a == 0, convention="relu'(0) = 0"),
    P("softplus", 1, lambda m, a: m.softplus(a), (lambda m, o, a: m.sigmoid(a),), "softplus({0})", r"\operatorname{{softplus}} {0}"),
    P("max", 2, lambda m, a, b: m.max(a, b), (lambda m, o, a, b: m.heaviside(a - b, half), lambda m, o, a, b: m.heaviside(b - a, half)), "max({0}, {1})", r"\max({0}, {1})", kink=lambda a, b: a == b, convention="1/2 to each argument at a tie"),
    P("min", 2, lambda m, a, b: m.min(a, b), (lambda m, o, a, b: m.heaviside(b - a, half), lambda m, o, a, b: m.heaviside(a - b, half)), "min({0}, {1})", r"\min({0}, {1})", kink=lambda a, b: a == b, convention="1/2 to each argument at a tie"),
    P("atan2", 2, lambda m, a, b: m.atan2(a, b), (lambda m, o, a, b: b / (a**2 + b**2), lambda m, o, a, b: -a / (a**2 + b**2)), "atan2({0}, {1})", r"\operatorname{{atan2}}({0}, {1})", "not both arguments 0 (for the derivative)"),
    P("heaviside", 2, lambda m, a, h: m.heaviside(a, h), (lambda m, o, a, h: 0, lambda m, o, a, h: 0), "heaviside({0}, {1})", r"H_{{{1}}}({0})", kink=lambda a, h: a == 0, convention="heaviside'(0) = 0 (its value at 0 is the second argument)", constant_args=(1,)),
)
# fmt: on

#: Functions an expression may call by name, mapped to their primitive.
FUNCTIONS: dict[str, Primitive] = {name: p for name, p in PRIMITIVES.items() if p.callable}

#: Named constants an expression may use.
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E}
