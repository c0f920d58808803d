"""`symdiff.testing.check_grads`: any gradient against central finite differences."""

import math

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.closedform import Gradient
from symdiff.testing import check_grads, gradient_values

AT = {"x1": 2, "x2": 3}


def test_passes_on_a_symdiff_gradient_and_returns_the_differences():
    fd = check_grads(sd.grad("x1*x2 + sin(x1)"), AT)
    assert set(fd) == {"x1", "x2"}
    assert fd["x1"] == pytest.approx(3 + math.cos(2), rel=1e-10)
    assert fd["x2"] == pytest.approx(2.0, rel=1e-10)


def test_expression_alone_checks_symdiffs_own_gradient():
    fd = check_grads("100*(y - x^2)^2 + (1 - x)^2", {"x": -1.2, "y": 1})
    assert fd["x"] == pytest.approx(-215.6, rel=1e-9)  # 400·x(x² - y) - 2(1 - x)
    assert fd["y"] == pytest.approx(-88.0, rel=1e-9)  # 200(y - x²)
    check_grads(lambda x, y: x * sd.exp(y), {"x": 0.5, "y": -1.0})  # a traced function


def test_user_callables_returning_a_dict_an_array_or_a_scalar():
    def f(x, y):
        return math.sin(x) * y**2

    def grad_dict(x, y):
        return {"x": math.cos(x) * y**2, "y": 2 * math.sin(x) * y}

    def grad_array(x, y):
        return np.array([math.cos(x) * y**2, 2 * math.sin(x) * y])

    point = {"x": 0.7, "y": -1.5}
    fd = check_grads(f, point, grad_dict)
    assert fd["y"] == pytest.approx(2 * math.sin(0.7) * -1.5, rel=1e-9)
    check_grads(f, point, grad_array)
    check_grads(f, point, grad_dict(**point))  # precomputed numbers
    check_grads(lambda t: t**3, {"t": 2.0}, lambda t: 3 * t**2)  # a scalar for one variable


def test_raises_on_a_wrong_gradient_with_both_numbers():
    def wrong(x1, x2):
        return {"x1": x2 + math.sin(x1), "x2": x1}  # sin for cos

    with pytest.raises(AssertionError) as info:
        check_grads("x1*x2 + sin(x1)", AT, wrong)
    message = str(info.value)
    assert message.startswith(
        "the gradient does not match central finite differences at x1 = 2, x2 = 3:"
    )
    assert "d/dx1: gradient 3.9093, finite differences 2.58385" in message
    assert "d/dx2" not in message  # only the mismatches are listed


def test_raises_on_a_wrong_symdiff_gradient():
    good = sd.grad("x**3")
    x = good.graph.symbol_of["x"]
    bad = Gradient(good.graph, {"x": 3 * x}, "none")  # x**2 lost
    check_grads(good, {"x": 1.5})
    with pytest.raises(AssertionError) as info:
        check_grads(bad, {"x": 1.5})
    # the formulas are wrong; the code generated from the graph's program is right
    assert "d/dx: closed form 4.5, finite differences 6.75" in str(info.value)
    assert "lambdify" not in str(info.value)
    assert bad.lambdify("math")(1.5) == (6.75,)


def test_tolerances():
    def nearly(x):
        return {"x": 2 * x * (1 + 1e-5)}

    with pytest.raises(AssertionError, match="tolerance"):
        check_grads("x^2", {"x": 3}, nearly)
    check_grads("x^2", {"x": 3}, nearly, rtol=1e-4)
    check_grads("x^2", {"x": 3}, nearly, atol=1e-3, rtol=0)
    with pytest.raises(AssertionError):
        check_grads("x^2", {"x": 3}, {"x": math.nan})  # NaN never passes


def test_shape_problems_are_assertion_errors():
    with pytest.raises(AssertionError, match="no partial for x2"):
        check_grads("x1*x2", AT, {"x1": 3.0})
    with pytest.raises(AssertionError, match="3 entries for 2 variables"):
        check_grads("x1*x2", AT, [3.0, 2.0, 1.0])
    with pytest.raises(AssertionError, match="not a number"):
        check_grads("x1*x2", AT, {"x1": "three", "x2": 2.0})


def test_wrt_parameters_and_steps():
    fd = check_grads("a*x^2", {"x": 2, "a": 5}, {"x": 20.0}, wrt=["x"])
    assert list(fd) == ["x"]
    fd = check_grads(lambda x, a: a * x**2, {"x": 2, "a": 5}, [20.0], wrt=["x"], step=1e-3)
    assert fd["x"] == pytest.approx(20.0, rel=1e-12)  # exact for a quadratic, any step
    with pytest.raises(AssertionError):  # a huge step breaks the differences of a cubic
        check_grads("x^3", {"x": 1}, step=1.0)


def test_bad_points_are_variable_errors():
    with pytest.raises(sd.VariableError, match="no value for x2"):
        check_grads("x1*x2", {"x1": 1})
    with pytest.raises(sd.VariableError, match="no value for z"):
        check_grads(lambda x: x, {"x": 1}, [1.0], wrt=["z"])


def test_gradient_values_forms():
    point = {"x": 2.0, "y": 3.0}
    assert gradient_values({"y": 1, "x": 2}, point, ["x", "y"]) == {"x": 2.0, "y": 1.0}
    assert gradient_values(np.array([[1.0], [2.0]]), point, ["x", "y"]) == {"x": 1.0, "y": 2.0}
    g = sd.grad("x*y^2")
    assert gradient_values(g, point, ["x", "y"]) == {"x": 9.0, "y": 12.0}
    sympy_numbers = {"x": sympy.Integer(9), "y": sympy.Float(12)}
    assert gradient_values(sympy_numbers, point, ["x", "y"]) == {"x": 9.0, "y": 12.0}


# --- a tester's reports: raw ZeroDivisionError, KeyError, TypeError, ValueError before ---------


def product(x, y):
    return x * y


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: check_grads(sd.grad("sqrt(x)"), {"x": 0}), sd.DomainError, "undefined at x = 0"),
        (lambda: check_grads("x*y", {"x": 1, "y": 2}, step=0), sd.SymdiffError, "positive"),
        (lambda: check_grads("x*y", {"x": 1, "y": 2}, step=math.nan), sd.SymdiffError, "finite"),
        (lambda: check_grads("x*y", {"x": 1, "y": 2}, step={"x": 1e-5}), sd.VariableError, "y"),
        (lambda: check_grads("x*x", {"x": 1}, rtol=-1), sd.SymdiffError, "rtol must be"),
        (lambda: check_grads("x*x", {"x": 1}, atol=math.inf), sd.SymdiffError, "atol must be"),
        (
            lambda: check_grads("x*y", {"x": 1, "y": 2}, sd.grad("x*y*z")),
            sd.VariableError,
            "uses z, which the point does not give",
        ),
        (lambda: check_grads(product, {"x": 1.0}), sd.VariableError, "missing a required"),
        (lambda: check_grads(lambda x: None, {"x": 1.0}, [1.0]), sd.SymdiffError, "got None"),
        (lambda: check_grads(lambda x: 1j * x, {"x": 1.0}, [1.0]), sd.SymdiffError, "real number"),
        (lambda: check_grads(product, {"x": 1, "y": 2}, ["ab", 1]), AssertionError, "not real"),
        (lambda: check_grads(product, {"x": 1, "y": 2}, [1j, 1]), AssertionError, "not real"),
        (lambda: check_grads(product, {"x": 1, "y": 2}, {2.0, 1.0}), AssertionError, "no order"),
        # in a dict, numpy's complex lost its imaginary part (float() only warns): one check now
        (
            lambda: check_grads(product, {"x": 1, "y": 2}, {"x": np.complex128(2 + 1j), "y": 1}),
            AssertionError,
            "the partial for x is not a number, or not real",
        ),
        # x*x overflows a step away from 1e200: the differences are at fault, not the gradient
        (
            lambda: check_grads(lambda x: x * x, {"x": 1e200}, lambda x: [2 * x]),
            AssertionError,
            "finite differences are not finite",
        ),
    ],
)
def test_bad_input_is_a_typed_error_or_a_clear_assertion(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_numbers_of_other_libraries_are_numbers():
    """A reviewer's report: after the checks above, a JAX scalar, a Decimal, or a gradient
    as a 0-d array were refused; `float()` takes them, and so does check_grads."""
    import decimal

    assert check_grads(lambda x: decimal.Decimal(x) ** 2, {"x": 1.5}, np.array(3.0)) == {
        "x": pytest.approx(3.0)
    }
    jax = pytest.importorskip("jax")  # (an optional extra: the dev extra installs it)
    jax.config.update("jax_enable_x64", True)
    assert check_grads(lambda x: jax.numpy.sin(x), {"x": 1.0}, lambda x: jax.grad(jax.numpy.sin)(x))
    with pytest.raises(sd.SymdiffError, match="does not move x = 1e\\+07"):
        check_grads("x**2", {"x": 1e7}, step=1e-12)  # was a ZeroDivisionError


def test_a_function_may_return_a_one_element_array_and_tiny_partials_need_atol_0():
    assert check_grads(lambda x: np.array([x * x]), {"x": 1.5}, [3.0])["x"] == pytest.approx(3.0)
    check_grads(lambda x: 1e-9 * x, {"x": 1.0}, [0.0])  # atol alone passes a wrong partial...
    with pytest.raises(AssertionError, match="gradient 0, finite differences 1e-09"):
        check_grads(lambda x: 1e-9 * x, {"x": 1.0}, [0.0], atol=0)  # ...documented, and atol=0


def test_a_value_numpy_cannot_read_is_taken_by_float():
    """A PyTorch tensor that needs its gradient refuses numpy (RuntimeError) but not
    `float()`: check_grads reads it as float() does (PyTorch is not a test dependency)."""

    class Tensor:
        dtype = object()

        def __init__(self, value):
            self.value = value

        def __float__(self):
            return self.value

        def __array__(self, *args, **kwargs):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    assert check_grads(lambda x: Tensor(x * x), {"x": 1.5}, lambda x: [2 * x]) == {
        "x": pytest.approx(3.0)
    }
