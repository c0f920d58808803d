"""Python functions traced by operator overloading: loops unroll, branches are recorded."""

import math

import numpy as np
import pytest

import symdiff as sd


def horner(x):
    result = 0
    for c in (2, -3, 0, 5, 1):  # 2x⁴ - 3x³ + 5x + 1
        result = result * x + c
    return result


def newton_sqrt(a):
    x = a
    for _ in range(6):  # a fixed number of steps: the graph is a straight line
        x = (x + a / x) / 2
    return x


def piecewise(x, y):
    if x * y < 1:
        return math.sin(x) * y
    return np.exp(x) + y**2


def test_horner_agrees_with_the_polynomial_written_out():
    traced = sd.grad(horner)
    written = sd.grad("2*x^4 - 3*x^3 + 5*x + 1")
    for x in (-1.3, 0.0, 0.7, 2.0):
        assert math.isclose(traced.at(x=x)["x"], written.at(x=x)["x"], rel_tol=1e-13)
        assert math.isclose(
            traced.at(x=x)["x"], 8 * x**3 - 9 * x**2 + 5, rel_tol=1e-13, abs_tol=1e-13
        )
    x = traced.graph.symbols[0]
    assert (traced["x"] - (8 * x**3 - 9 * x**2 + 5)).expand() == 0


def test_newton_iteration_for_sqrt_differentiates_to_one_over_two_sqrt():
    g = sd.grad(newton_sqrt)
    assert math.isclose(g.at(a=2.0)["a"], 1 / (2 * math.sqrt(2)), rel_tol=1e-12)
    value = sd.evaluate(g.graph, {"a": 2.0})
    assert math.isclose(sd.forward.output_value(g.graph, value), math.sqrt(2), rel_tol=1e-15)
    assert len(g.graph) > 6 * 3  # the loop is unrolled


def test_branch_needs_a_point():
    with pytest.raises(sd.VariableError, match="at="):
        sd.grad(piecewise)


@pytest.mark.parametrize(
    ("at", "branch"), [({"x": 0.5, "y": 1.0}, "<"), ({"x": 2.0, "y": 3.0}, ">=")]
)
def test_branch_taken_is_recorded_and_agrees_with_the_expression(at, branch):
    g = sd.grad(piecewise, at=at)
    written = "sin(x)*y" if branch == "<" else "exp(x) + y^2"
    expected = sd.grad(written, wrt=["x", "y"]).at(at)
    assert g.at(at) == pytest.approx(expected, rel=1e-14)
    assert g.graph.conditions == (f"x·y {branch} 1",)
    assert f"holds where x·y {branch} 1" in str(sd.derive(piecewise, at=at))


def test_math_numpy_and_symdiff_functions_record_primitives():
    def f(x, y):
        return math.log(x) + np.tanh(y) + sd.sigmoid(x * y) + abs(x - y) + math.sqrt(x)

    g = sd.grad(f)
    ops = {n.op for n in g.graph.nodes}
    assert {"log", "tanh", "sigmoid", "abs", "sqrt"} <= ops
    expected = sd.grad("log(x) + tanh(y) + sigmoid(x*y) + abs(x - y) + sqrt(x)").at(x=0.8, y=0.3)
    assert g.at(x=0.8, y=0.3) == pytest.approx(expected, rel=1e-14)


def test_several_outputs_and_jacobian_of_a_function():
    def polar(r, t):
        return [r * math.cos(t), r * math.sin(t)]

    assert sd.jacobian(polar) == sd.jacobian(["r*cos(t)", "r*sin(t)"])


def test_float_of_a_traced_value_is_refused():
    def f(x):
        return float(x) * 2

    with pytest.raises(sd.SymdiffError, match="float"):
        sd.grad(f)


def test_symdiff_functions_work_on_plain_numbers():
    assert (
        sd.sin(0.5) == math.sin(0.5) and sd.relu(-2.0) == 0.0 and sd.atan2(1.0, 1.0) == math.pi / 4
    )


def test_a_number_that_is_not_real_is_refused():
    import sympy

    for number in (sympy.I, sympy.log(-2), sympy.sqrt(-3)):

        def f(x):
            return x * number  # noqa: B023 (called in this iteration)

        with pytest.raises(sd.DomainError, match="is not a real number"):
            sd.grad(f)
