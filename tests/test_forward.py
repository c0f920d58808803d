"""Forward pass: values, points, domain errors."""

import math

import pytest

import symdiff as sd


def test_f_x_y_values():
    graph = sd.trace("x**2*y + y + 2")
    values = sd.evaluate(graph, {"x": 3, "y": 4})
    assert sd.forward.output_value(graph, values) == 42.0
    assert list(values) == [n.name for n in graph.nodes]


def test_point_values_may_be_constant_expressions():
    values = sd.evaluate(sd.trace("sin(x)"), {"x": "pi/2"})
    assert values["w2"] == 1.0


@pytest.mark.parametrize(
    ("text", "point", "node", "op"),
    [
        ("log(x)", {"x": -1}, "w2", "log"),
        ("1/x", {"x": 0}, "w2", "div"),
        ("sqrt(x - 2)", {"x": 1}, "w3", "sqrt"),
        ("asin(x)", {"x": 2}, "w2", "asin"),
        ("exp(x)", {"x": 1000}, "w2", "exp"),
        ("x**0.5", {"x": -4}, "w2", "pow"),
        ("log(x - x)", {"x": 3}, "w3", "log"),
    ],
)
def test_domain_errors_name_node_primitive_and_value(text, point, node, op):
    with pytest.raises(sd.DomainError) as info:
        sd.evaluate(sd.trace(text), point)
    err = info.value
    assert (err.node, err.op) == (node, op)
    assert node in str(err) and op in str(err)


@pytest.mark.parametrize(
    ("text", "point"),
    [("x^2", {"x": 1e200}), ("x/y", {"x": 1, "y": 1e-320}), ("exp(x)", {"x": 1000})],
)
def test_an_overflow_says_so_without_blaming_the_arguments(text, point):
    """x^2 at 1e200 has a fine base and exponent: the message is the overflow alone, not
    "pow needs a positive base" (a reviewer's report)."""
    with pytest.raises(sd.DomainError, match="overflows") as info:
        sd.grad(text).at(**point)
    assert "needs" not in str(info.value)
    with pytest.raises(sd.DomainError, match="is undefined at w1 = 0; pow needs a positive base"):
        sd.grad("x^-1").at(x=0)  # a domain error keeps its advice


def test_derivative_outside_its_domain_is_a_domain_error():
    with pytest.raises(sd.DomainError, match="derivative of w2 = sqrt"):
        sd.grad("sqrt(x)").at(x=0)


@pytest.mark.parametrize(
    ("point", "words"),
    [
        ({"x": 1}, "no value for y"),
        ({"x": 1, "y": 2, "q": 3}, "does not use"),
        ({"x": "a", "y": 1}, "constant expression"),
        ({"x": float("nan"), "y": 1}, "finite"),
        ({"x": None, "y": 1}, "real number"),
        ({"x": "1 +", "y": 1}, "operand"),
    ],
)
def test_bad_points_are_variable_errors(point, words):
    with pytest.raises(sd.SymdiffError, match=words):
        sd.evaluate(sd.trace("x*y"), point)


def test_values_are_floats_even_for_integer_inputs():
    values = sd.evaluate(sd.trace("x1*x2 + sin(x1)"), {"x1": 2, "x2": 3})
    assert all(isinstance(v, float) for v in values.values())
    assert math.isclose(values["w5"], 6 + math.sin(2))


def test_tangent_sweep_of_the_worked_example():
    graph = sd.trace("x1*x2 + sin(x1)")
    steps = sd.tangents(graph, {"x1": 1}, at={"x1": 2, "x2": 3})
    assert [str(s) for s in steps] == [
        "ẇ1 = ẇ1 (seed) = 1 = 1",
        "ẇ2 = ẇ2 (seed) = 0 = 0",
        "ẇ3 = w2·ẇ1 + w1·ẇ2 = x2 = 3",
        "ẇ4 = cos(w1)·ẇ1 = cos(x1) = -0.416147",
        "ẇ5 = 1·ẇ3 + 1·ẇ4 = x2 + cos(x1) = 2.58385",
    ]
    assert steps[-1].value == 3 + math.cos(2)


def test_forward_mode_agrees_with_reverse_mode_for_every_direction():
    text = "exp(x*y)*sin(z) + log(1 + x^2)/y"
    at = {"x": 0.4, "y": 1.7, "z": -0.3}
    gradient = sd.grad(text).at(at)
    graph = sd.trace(text)
    values = sd.evaluate(graph, at)
    for var in graph.variables:
        dots = sd.tangent_values(graph, values, {var: 1})
        assert math.isclose(dots[graph.output], gradient[var], rel_tol=1e-13)
    # a general direction is the dot product with the gradient
    direction = {"x": 0.5, "y": -2.0, "z": 3.0}
    _, tangent = sd.jvp(text, at=at, tangent=direction)
    assert math.isclose(tangent, sum(gradient[v] * d for v, d in direction.items()), rel_tol=1e-13)


def test_derive_forward_mode():
    d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}, mode="forward", seed={"x2": 1})
    assert d.output_tangents == {"z": (d.graph.symbols[0], 2.0)}
    assert d.seed == {"x1": 0, "x2": 1} and d.gradient is None
    assert "forward (tangent), seed ẋ1 = 0, ẋ2 = 1" in str(d)
    with pytest.raises(sd.SymdiffError, match="mode"):
        sd.derive("x", mode="sideways")


def test_bad_tangents():
    with pytest.raises(sd.VariableError, match="does not use"):
        sd.jvp("x*y", at={"x": 1, "y": 2}, tangent={"q": 1})
    with pytest.raises(sd.VariableError, match="entries"):
        sd.jvp("x*y", at={"x": 1, "y": 2}, tangent=[1, 2, 3])
