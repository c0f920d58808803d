"""Numeric functions: numpy (vectorised) and math backends."""

import math

import numpy as np
import pytest

import symdiff as sd


def test_numpy_backend_is_vectorised_and_broadcasts_constants():
    f = sd.grad("x1*x2 + sin(x1)").lambdify()
    x1, x2 = np.linspace(-1, 2, 7), np.linspace(0, 3, 7)
    d1, d2 = f(x1, x2)
    np.testing.assert_allclose(d1, x2 + np.cos(x1), rtol=1e-15)
    np.testing.assert_array_equal(d2, x1)
    c = sd.grad("3*x + y").lambdify()(np.zeros(4), np.ones(4))
    assert c[0].shape == (4,) and (c[0] == 3).all()


def test_math_backend_gives_floats():
    f = sd.grad("x1*x2 + sin(x1)").lambdify("math")
    assert f(2.0, 3.0) == (3 + math.cos(2), 2.0)


def test_backends_agree_including_kinks_and_erf():
    g = sd.grad("erf(x)*abs(y) + max(x, y) + relu(x - 1)")
    fast, scalar = g.lambdify(), g.lambdify("math")
    xs, ys = np.array([0.3, 1.0, -2.0, 2.0]), np.array([0.3, 0.0, 1.5, -1.0])
    vec = fast(xs, ys)
    for i in range(4):
        ref = g.at(x=xs[i], y=ys[i])
        assert scalar(xs[i], ys[i]) == pytest.approx(tuple(ref.values()), rel=1e-12)
        assert (vec[0][i], vec[1][i]) == pytest.approx(tuple(ref.values()), rel=1e-12)


def test_variable_names_that_shadow_modules_are_safe():
    f = sd.grad("numpy*math + exp(numpy)").lambdify()
    d_numpy, d_math = f(np.array([0.0]), np.array([2.0]))
    assert d_numpy[0] == 3.0 and d_math[0] == 0.0


def test_parameters_are_arguments_too():
    g = sd.grad("a*x**2", wrt=["x"])
    assert g.lambdify("math")(3.0, 2.0) == (12.0,)  # (x, a): wrt first, then parameters


def test_unknown_backend():
    with pytest.raises(sd.SymdiffError, match="backend"):
        sd.grad("x").lambdify("fortran")
