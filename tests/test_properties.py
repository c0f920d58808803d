"""Property tests: random expression trees, grad against sympy.diff at random points."""

import contextlib
import math

import numpy as np
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff as sd
from symdiff import numeric

NAMES = ["x", "y", "z"]
SYMBOLS = {n: sympy.Symbol(n, real=True) for n in NAMES}

# (text template, SymPy builder): functions safe on all reals, so every point is in the domain
UNARY = [
    ("sin({})", sympy.sin),
    ("cos({})", sympy.cos),
    ("exp(({})/4)", lambda a: sympy.exp(a / 4)),
    ("tanh({})", sympy.tanh),
    ("sigmoid({})", lambda a: 1 / (1 + sympy.exp(-a))),
    ("log(1 + ({})^2)", lambda a: sympy.log(1 + a**2)),
    ("sqrt(2 + ({})^2)", lambda a: sympy.sqrt(2 + a**2)),
    ("atan({})", sympy.atan),
    ("-({})", lambda a: -a),
    ("({})^2", lambda a: a**2),
]
BINARY = [
    ("({}) + ({})", lambda a, b: a + b),
    ("({}) - ({})", lambda a, b: a - b),
    ("({}) * ({})", lambda a, b: a * b),
    ("({}) / (3 + ({})^2)", lambda a, b: a / (3 + b**2)),
]


def leaves():
    names = st.sampled_from(NAMES).map(lambda n: (n, SYMBOLS[n]))
    numbers = st.integers(1, 5).map(lambda k: (str(k), sympy.Integer(k)))
    return names | numbers


def extend(children):
    unary = st.tuples(st.sampled_from(UNARY), children).map(
        lambda t: (t[0][0].format(t[1][0]), t[0][1](t[1][1]))
    )
    binary = st.tuples(st.sampled_from(BINARY), children, children).map(
        lambda t: (t[0][0].format(t[1][0], t[2][0]), t[0][1](t[1][1], t[2][1]))
    )
    return unary | binary


expressions = st.recursive(leaves(), extend, max_leaves=12)
points = st.tuples(*[st.floats(-2, 2, allow_nan=False) for _ in NAMES])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, points)
def test_grad_agrees_with_sympy_diff(expr, point):
    text, reference = expr
    g = sd.grad(text, wrt=NAMES, simplify="none")
    at = dict(zip(NAMES, point, strict=True))
    numeric = g.at(at)
    subs = {SYMBOLS[n]: v for n, v in at.items()}
    for name in NAMES:
        expected = float(sympy.diff(reference, SYMBOLS[name]).evalf(subs=subs))
        closed = float(g[name].evalf(subs={g.graph.symbol_of[n]: v for n, v in at.items()}))
        assert math.isclose(numeric[name], expected, rel_tol=1e-8, abs_tol=1e-9), (text, name)
        assert math.isclose(closed, expected, rel_tol=1e-8, abs_tol=1e-9), (text, name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.lists(points, min_size=1, max_size=4))
def test_the_rerolled_program_agrees_with_sympy_diff(expr, batch):
    """The rerolled program (array operations and linear combinations over the stacked
    variables) on a batch of points, against SymPy's derivative at each point."""
    text, reference = expr
    g = sd.grad(text, wrt=NAMES, simplify="none")
    rerolled = numeric._load(numeric._stacked_source(g._adjoint, "numpy", "f"), "numpy")
    got = rerolled(np.array(batch).T)
    for k, point in enumerate(batch):
        subs = {SYMBOLS[n]: v for n, v in zip(NAMES, point, strict=True)}
        for i, name in enumerate(NAMES):
            expected = float(sympy.diff(reference, SYMBOLS[name]).evalf(subs=subs))
            assert math.isclose(got[i, k], expected, rel_tol=1e-8, abs_tol=1e-9), (text, name)


@settings(max_examples=60, deadline=None)
@given(expressions)
def test_sympy_input_and_text_input_give_the_same_gradient(expr):
    text, reference = expr
    from_text = sd.grad(text, wrt=NAMES, simplify="none")
    from_sympy = sd.grad(reference, wrt=NAMES, simplify="none")
    at = {"x": 0.3, "y": -0.7, "z": 1.1}
    a, b = from_text.at(at), from_sympy.at(at)
    for name in NAMES:
        assert math.isclose(a[name], b[name], rel_tol=1e-9, abs_tol=1e-12), (text, name)


# every primitive, with inputs at the edges of floating point: the math backend computes with
# Python's `math` one number at a time, numpy with its own functions over arrays
EDGY_UNARY = ["sin({})", "cos({})", "exp({})", "tanh({})", "sigmoid({})", "softplus({})",
              "abs({})", "relu({})", "sign({})", "atan({})", "sqrt({})", "log({})", "erf({})",
              "sinh({})", "-({})", "({})^2", "({})^0.5", "({})^(-1)"]  # fmt: skip
EDGY_BINARY = ["({}) + ({})", "({}) * ({})", "({}) / ({})", "max({}, {})", "min({}, {})",
               "atan2({}, {})", "heaviside({}, 0.5) * ({})", "({})^({})"]  # fmt: skip
edgy = st.recursive(
    st.sampled_from(["x", "y", "2", "0.5"]),
    lambda children: (
        st.tuples(st.sampled_from(EDGY_UNARY), children).map(lambda t: t[0].format(t[1]))
        | st.tuples(st.sampled_from(EDGY_BINARY), children, children).map(
            lambda t: t[0].format(t[1], t[2])
        )
    ),
    max_leaves=5,
)
# (not 40: sin(exp(40)) turns exp's last bit, which libraries round differently, into noise)
EDGES = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.5, 2.5]


# the same examples in every run: a tie of ±0 that platforms break differently must not make
# CI flaky
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(edgy, st.sampled_from(EDGES), st.sampled_from(EDGES))
def test_the_math_backend_gives_numpys_numbers_or_a_typed_error(text, x, y):
    """nan, ±inf and ±0 through every primitive: the math backend raises `SymdiffError` (where
    Python's `math` refuses) or gives numpy's numbers, nan for nan. It gave -1 for abs'(nan),
    a complex number for (-1)^0.5 and a ZeroDivisionError for 1/0 (found by a fuzz)."""
    try:
        g = sd.grad(text, wrt=["x", "y"], simplify="none")
        with np.errstate(all="ignore"):
            want = [float(v) for v in g.lambdify()(np.array(x), np.array(y))]
    except sd.DomainError:  # a constant that is not real: sqrt(cos(2)); (-2)^x by x
        return
    try:
        got = g.lambdify("math")(x, y)
    except sd.SymdiffError:
        return
    assert all(type(v) is float for v in got), (text, got)
    for a, b in zip(got, want, strict=True):
        same = (math.isnan(a) and math.isnan(b)) or a == b
        assert same or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (text, x, y, got, want)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="xy12.+-*/^()sinexp, _'[]", max_size=30))
def test_any_token_soup_parses_or_raises_a_typed_error(text):
    with contextlib.suppress(sd.SymdiffError):
        sd.trace(text)
