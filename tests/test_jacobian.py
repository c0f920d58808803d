"""Jacobians and Hessians from the graph, against sympy.Matrix.jacobian / sympy.hessian."""

import math
import random

import numpy as np
import pytest
import sympy
from refs import central_difference

import symdiff as sd


def reference(exprs, graph):
    """The expressions rebuilt independently with SymPy (text parsed by SymPy in the test)."""
    names = {s.name: s for s in graph.symbols}
    return sympy.Matrix([sympy.sympify(e.replace("^", "**"), locals=names) for e in exprs])


def assert_numerically_equal(ours, expected, symbols, points=4, seed=1):
    rng = random.Random(seed)
    for _ in range(points):
        subs = {s: rng.uniform(0.3, 1.5) for s in symbols}
        a = np.array(ours.evalf(subs=subs), dtype=float)
        b = np.array(expected.evalf(subs=subs), dtype=float)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


CASES = {
    "polar map": (["r*cos(t)", "r*sin(t)"], ["r", "t"], "rev"),
    "shared subexpressions": (
        ["exp(x*y) + z", "exp(x*y)*sin(z)", "sqrt(exp(x*y) + y^2)"],
        ["x", "y", "z"],
        "rev",
    ),
    "more outputs than inputs": (["x*y", "x + y", "x/y", "sin(x)*cos(y)"], ["x", "y"], "fwd"),
    "more inputs than outputs": (["a*b*c + d", "log(a + b^2) - c*d"], ["a", "b", "c", "d"], "rev"),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", ["rev", "fwd", "auto"])
def test_jacobian_matches_sympy(name, mode):
    exprs, wrt, cheaper = CASES[name]
    jac = sd.jacobian(exprs, wrt=wrt, mode=mode)
    graph = sd.trace(exprs, wrt)
    expected = reference(exprs, graph).jacobian([graph.symbol_of[v] for v in wrt])
    assert jac.shape == (len(exprs), len(wrt))
    assert_numerically_equal(jac, expected, graph.symbols)
    assert jac.mode == (cheaper if mode == "auto" else mode)
    if mode == "auto":
        assert "instead of" in jac.reason


def test_shared_subexpressions_are_one_node_across_outputs():
    graph = sd.trace(CASES["shared subexpressions"][0])
    assert sum(1 for n in graph.nodes if n.op == "exp") == 1


def test_jvp_and_vjp_contract_the_jacobian():
    exprs, wrt, _ = CASES["shared subexpressions"]
    at = {"x": 0.4, "y": 0.9, "z": 1.3}
    jac = np.array(
        sd.jacobian(exprs, wrt=wrt).subs({s: at[s.name] for s in sd.trace(exprs).symbols}),
        dtype=float,
    )
    tangent = [0.5, -1.0, 2.0]
    cotangent = [1.0, 0.25, -3.0]
    primal, jv = sd.jvp(exprs, at=at, tangent=dict(zip(wrt, tangent, strict=True)))
    np.testing.assert_allclose(jv, jac @ tangent, rtol=1e-12)
    primal2, vj = sd.vjp(exprs, at=at, cotangent=cotangent)
    np.testing.assert_allclose([vj[v] for v in wrt], np.array(cotangent) @ jac, rtol=1e-12)
    assert primal == primal2 and len(primal) == 3
    # and against central differences
    graph = sd.trace(exprs, wrt)

    def directional(h):
        point = {v: at[v] + h * t for v, t in zip(wrt, tangent, strict=True)}
        values = sd.evaluate(graph, point)
        return np.array([values[o] for o in graph.outputs])

    fd = (directional(1e-6) - directional(-1e-6)) / 2e-6
    np.testing.assert_allclose(jv, fd, rtol=1e-6)


def test_jvp_on_the_worked_example():
    value, tangent = sd.jvp("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}, tangent={"x1": 1, "x2": 0})
    assert value == 6 + math.sin(2) and tangent == 3 + math.cos(2)


def test_jacobian_values_by_numeric_sweeps_match_symbolic():
    exprs = CASES["more outputs than inputs"][0]
    graph = sd.trace(exprs)
    at = {"x": 0.7, "y": 1.9}
    symbolic = np.array(sd.jacobian(exprs).subs({s: at[s.name] for s in graph.symbols}), float)
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(sd.closedform.jacobian_values(graph, at, mode), symbolic)


ROSENBROCK = "100*(y - x**2)**2 + (1 - x)**2"


def test_hessian_of_rosenbrock_matches_sympy():
    hess = sd.hessian(ROSENBROCK, wrt=["x", "y"])
    x, y = sd.trace(ROSENBROCK, ["x", "y"]).symbols
    expected = sympy.hessian(100 * (y - x**2) ** 2 + (1 - x) ** 2, (x, y))
    assert (hess - expected).applyfunc(sympy.simplify) == sympy.zeros(2, 2)
    assert hess == hess.T


def test_hessian_of_the_worked_example():
    hess = sd.hessian("x1*x2 + sin(x1)")
    x1 = sd.trace("x1*x2 + sin(x1)").symbols[0]
    assert hess == sympy.Matrix([[-sympy.sin(x1), 1], [1, 0]])


def test_hessian_vector_product_without_the_matrix():
    at, v = {"x": 0.3, "y": 0.8}, {"x": 2.0, "y": -1.0}
    hess = sd.hessian(ROSENBROCK, wrt=["x", "y"])
    x, y = sd.trace(ROSENBROCK, ["x", "y"]).symbols
    dense = np.array(hess.subs({x: 0.3, y: 0.8}), dtype=float) @ [2.0, -1.0]
    hv = sd.hvp(ROSENBROCK, at=at, vector=v, wrt=["x", "y"])
    np.testing.assert_allclose([hv["x"], hv["y"]], dense, rtol=1e-12)
    # and against differences of the gradient
    g = sd.grad(ROSENBROCK, wrt=["x", "y"])
    fd = [
        central_difference(lambda p, var=var: g.at(x=p[0], y=p[1])[var], [0.3, 0.8], 0) * 2
        - central_difference(lambda p, var=var: g.at(x=p[0], y=p[1])[var], [0.3, 0.8], 1)
        for var in ("x", "y")
    ]
    np.testing.assert_allclose([hv["x"], hv["y"]], fd, rtol=1e-5)


def chained_rosenbrock(n):
    return " + ".join(f"100*(x{i + 1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(1, n))


def test_chained_rosenbrock_hessian_is_tridiagonal():
    n = 20
    wrt = [f"x{i}" for i in range(1, n + 1)]
    pattern = sd.hessian_sparsity(chained_rosenbrock(n), wrt=wrt)
    tridiagonal = {(i, j) for i in range(n) for j in range(n) if abs(i - j) <= 1}
    assert pattern.nonzeros == tridiagonal and pattern.shape == (n, n)
    hess = sd.hessian(chained_rosenbrock(n), wrt=wrt)
    assert all(hess[i, j] == 0 for i in range(n) for j in range(n) if abs(i - j) > 1)
    graph = sd.trace(chained_rosenbrock(n), wrt)
    expected = sympy.hessian(reference([chained_rosenbrock(n)], graph)[0], graph.symbols)
    assert_numerically_equal(hess, expected, graph.symbols, points=2)


def test_the_modes_have_one_vocabulary():
    """`jacobian` takes derive's words (forward, reverse) and derive takes jacobian's (fwd,
    rev): a reviewer found each refusing the other's."""
    for word, mode in (("forward", "fwd"), ("reverse", "rev"), ("fwd", "fwd")):
        matrix = sd.jacobian(["x*y", "x + y"], mode=word)
        assert matrix.mode == mode and str(matrix) == "Matrix([[y, x], [1, 1]])"
        # by hand at (2, 3): d(x*y) = (y, x), d(x + y) = (1, 1)
        assert matrix.at(x=2, y=3).tolist() == [[3.0, 2.0], [1.0, 1.0]]
    assert sd.derive("x*y", {"x": 2, "y": 3}, mode="fwd").mode == "forward"
    assert sd.derive("x*y", {"x": 2, "y": 3}, mode="rev").gradient.at(x=2, y=3) == {
        "x": 3.0,
        "y": 2.0,
    }
    with pytest.raises(sd.SymdiffError, match="'rev' \\(or 'reverse'\\)"):
        sd.jacobian("x*y", mode="sideways")


def test_matrices_give_their_numbers_at_a_point():
    """`J.at(...)` and `H.at(...)`: the matrices' numbers (a reviewer found no way to them;
    `subs` with names does nothing, the symbols being real), against SymPy's own."""
    x, y = sympy.symbols("x y")
    f = 100 * (y - x**2) ** 2 + (1 - x) ** 2
    H = sd.hessian("100*(y - x**2)**2 + (1 - x)**2", wrt=["x", "y"])
    expected = np.array(sympy.hessian(f, (x, y)).subs({x: 0.5, y: -1.5}), dtype=float)
    np.testing.assert_allclose(H.at(x=0.5, y=-1.5), expected, rtol=1e-14)
    np.testing.assert_allclose(H.at({"x": 0.5, "y": -1.5}), expected, rtol=1e-14)
    exprs = [x * sympy.sin(y), sympy.exp(x) + y**3, x / y]
    J = sd.jacobian(["x*sin(y)", "exp(x) + y^3", "x/y"], wrt=["x", "y"])
    reference = sympy.Matrix(exprs).jacobian([x, y]).subs({x: 1.25, y: 0.5})
    np.testing.assert_allclose(J.at(x=1.25, y=0.5), np.array(reference, float), rtol=1e-14)
    with pytest.raises(sd.VariableError, match="no value for y"):
        J.at(x=1)


def test_a_hessians_numbers_keep_to_the_traced_branch():
    """H.at ran the adjoint program, which keeps no record of the branch a traced function
    took: on the other branch it gave the first branch's Hessian (a reviewer's report)."""

    def f(x, y):
        return x**2 * y if x > 0 else -x

    H = sd.hessian(f, at={"x": 1.0, "y": 2.0})
    assert H.at(x=1.0, y=2.0).tolist() == [[4.0, 2.0], [2.0, 0.0]]  # by hand: 2y, 2x; 2x, 0
    with pytest.raises(sd.DomainError, match="took another branch"):
        H.at(x=-1.0, y=2.0)
