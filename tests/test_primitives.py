"""The rule table, walked: every primitive against sympy.diff and central differences."""

import math

import pytest
import sympy
from refs import central_difference

import symdiff as sd
from symdiff.graph import GraphBuilder
from symdiff.primitives import NUMERIC, PRIMITIVES, SYMBOLIC

A, B = sympy.symbols("a b", real=True)
POSITIVE_POINTS = [(0.3, 0.45), (0.7, 1.3), (0.55, 0.2)]
SIGNED_POINTS = [(-0.6, 0.8), (-1.1, -0.35), (0.9, -0.25)]


def points_for(prim):
    # a primitive with a domain restriction is tested inside (0, 1); others on both signs too
    return POSITIVE_POINTS + ([] if prim.domain else SIGNED_POINTS)


HALF = sympy.Rational(1, 2)


def arguments(prim, values):
    """The primitive's arguments: the values in order, 1/2 where an argument must be constant."""
    values = iter(values)
    return [HALF if i in prim.constant_args else next(values) for i in range(prim.arity)]


def graph_of(prim):
    b = GraphBuilder()
    names = iter("ab")
    args = [a if a is HALF else b.variable(a) for a in arguments(prim, names)]
    args = [sd.Const(a, "1/2") if a is HALF else a for a in args]
    return b.finish(b.apply(prim.name, tuple(args)), source=prim.name)


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_partials_match_sympy_diff(name):
    prim = PRIMITIVES[name]
    gradient = sd.grad(graph_of(prim), simplify="none")
    symbols = [gradient.graph.symbol_of[v] for v in gradient.variables]
    reference = prim.value(SYMBOLIC, *arguments(prim, symbols))
    for point in points_for(prim):
        subs = dict(zip(symbols, point, strict=False))
        for var, symbol in zip(gradient.variables, symbols, strict=True):
            ours = gradient[var].evalf(subs=subs)
            expected = sympy.diff(reference, symbol).evalf(subs=subs)
            assert math.isclose(float(ours), float(expected), rel_tol=1e-10, abs_tol=1e-12), (
                name,
                var,
                point,
            )


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_partials_match_central_differences(name):
    prim = PRIMITIVES[name]
    graph = graph_of(prim)
    gradient = sd.grad(graph)
    for point in points_for(prim):
        variables = list(point[: len(graph.variables)])
        values = gradient.at(dict(zip(graph.variables, variables, strict=True)))

        def f(x, prim=prim):
            return prim.value(NUMERIC, *map(float, arguments(prim, x)))

        for i, var in enumerate(graph.variables):
            fd = central_difference(f, variables, i)
            assert math.isclose(values[var], fd, rel_tol=1e-6, abs_tol=1e-8), (name, var, point)


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_numeric_and_symbolic_values_agree(name):
    prim = PRIMITIVES[name]
    for point in points_for(prim):
        args = arguments(prim, point)
        symbolic = prim.value(SYMBOLIC, *map(sympy.Float, args))
        assert math.isclose(
            prim.value(NUMERIC, *map(float, args)), float(symbolic), rel_tol=1e-12, abs_tol=1e-15
        )


@pytest.mark.parametrize("name", [n for n, p in PRIMITIVES.items() if p.callable])
def test_every_callable_primitive_parses_by_name(name):
    prim = PRIMITIVES[name]
    text = f"{name}({', '.join(map(str, arguments(prim, 'ab')))})"
    assert sd.trace(text).nodes[-1].op == name


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("abs(x)", {"x": 0}, {"x": 1.0}),
        ("relu(x)", {"x": 0}, {"x": 0.0}),
        ("sign(x)", {"x": 0}, {"x": 0.0}),
        ("max(x, y)", {"x": 1, "y": 1}, {"x": 0.5, "y": 0.5}),
        ("min(x, y)", {"x": 2, "y": 2}, {"x": 0.5, "y": 0.5}),
        ("max(x, y)", {"x": 2, "y": 1}, {"x": 1.0, "y": 0.0}),
        ("abs(x)", {"x": -3}, {"x": -1.0}),
    ],
)
def test_kinks_follow_jax(text, at, expected):
    d = sd.derive(text, at=at)
    assert d.gradient_values == expected
    # the closed form says the same at the kink
    subs = {d.graph.symbol_of[v]: x for v, x in at.items()}
    assert {v: float(d.gradient[v].subs(subs)) for v in d.gradient} == expected


def test_kink_is_reported_in_the_derivation():
    assert "sits on its kink" in str(sd.derive("abs(x)", at={"x": 0}))
    assert "kink" not in str(sd.derive("abs(x)", at={"x": 1}))


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("x**3", 2.0, 12.0),
        ("x^0.5", 4.0, 0.25),
        ("x**-2", 2.0, -0.25),
        ("2**x", 3.0, 8 * math.log(2)),
        ("x**x", 2.0, 4 * (math.log(2) + 1)),
    ],
)
def test_pow_with_constant_and_variable_exponents(text, x, expected):
    assert math.isclose(sd.grad(text).at(x=x)["x"], expected, rel_tol=1e-12)


def test_partials_use_the_output_where_the_table_says_so():
    # exp' = out, tanh' = 1 - out², sqrt' = 1/(2·out): the local formulas mention the node itself
    for text, local in [("exp(x)", "w2"), ("tanh(x)", "1 - w2^2"), ("sqrt(x)", "1/(2·w2)")]:
        step = sd.derive(text).steps[-1]
        assert sd.render.math_str(step.terms[0].partial) == local


def test_stable_numeric_sigmoid_and_softplus():
    assert sd.grad("sigmoid(x)").at(x=-1000)["x"] == 0.0
    assert sd.evaluate(sd.trace("softplus(x)"), {"x": 800})["w2"] == 800.0
    assert sd.grad("softplus(x)").at(x=800)["x"] == 1.0
