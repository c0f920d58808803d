"""`compare`: every method against the 50-digit closed form, at their expected accuracy."""

import importlib.util
import json
import math
import struct

import mpmath
import pytest
import sympy

import symdiff as sd
from symdiff import comparison
from symdiff.primitives import PRIMITIVES

EPS = 2.0**-52
#: The methods that differentiate the float64 program exactly (no step): rounding only.
EXACT = ("closed_form", "program", "reverse", "forward", "complex_step", "sympy_diff")
OPTIONAL = ("jax", "torch")


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


@pytest.fixture(scope="module")
def worked():
    return sd.compare("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})


def test_one_row_per_method_in_order(worked):
    assert [r.key for r in worked.rows] == [
        "reference",
        "closed_form",
        "program",
        "reverse",
        "forward",
        "central",
        "complex_step",
        "sympy_diff",
        "jax",
        "torch",
    ]
    assert worked.variables == ("x1", "x2") and worked.point == {"x1": 2.0, "x2": 3.0}
    assert worked.row("reference").reference and worked.row("reference").errors is None
    with pytest.raises(KeyError, match="no method 'nope'"):
        worked.row("nope")


def test_reference_is_the_closed_form_to_50_digits(worked):
    with mpmath.workdps(80):
        exact = 3 + mpmath.cos(2)
        assert abs(mpmath.mpf(str(worked.reference["x1"])) - exact) < mpmath.mpf(10) ** -48
    assert str(worked.reference["x1"]).startswith("2.5838531634528576130024317704992378102")
    assert float(worked.reference["x2"]) == 2.0
    assert worked.row("reference").values == {"x1": 2.5838531634528574, "x2": 2.0}


def test_worked_example_exact_methods_are_correctly_rounded(worked):
    true = 3 + math.cos(2)
    for key in EXACT:
        row = worked.row(key)
        assert row.values == {"x1": true, "x2": 2.0}, key
        # 2.5838531634528574 is the float nearest to the 50-digit value: the error is that
        # rounding, 1.9e-16, and nothing more
        assert row.abs_error == pytest.approx(1.9e-16, rel=0.05), key
        assert row.rel_error < EPS / 2, key
        assert row.errors["x2"] == 0.0 and row.seconds >= 0.0, key


def test_worked_example_central_differences_at_their_accuracy(worked):
    row = worked.row("central")
    # truncation h²·|f'''|/6 plus round-off ε·|f|/h, with h = cbrt(ε)·max(1, |x|): ~1e-11
    assert 1e-13 < row.abs_error < 1e-9
    assert row.rel_error < 1e-10
    assert row.values["x2"] == pytest.approx(2.0, abs=1e-10)
    assert row.note == "h = cbrt(ε)·max(1, |x|)"


def test_errors_are_measured_against_the_reference(worked):
    row = worked.row("central")
    with mpmath.workdps(60):
        expected = abs(mpmath.mpf(row.values["x1"]) - mpmath.mpf(str(worked.reference["x1"])))
    assert row.errors["x1"] == pytest.approx(float(expected), rel=1e-12)
    assert row.rel_error == pytest.approx(row.abs_error / float(worked.reference["x1"]))


@pytest.mark.parametrize("key", OPTIONAL)
def test_jax_and_torch_rows(worked, key):
    row = worked.row(key)
    if installed(key):
        assert row.values == {"x1": 3 + math.cos(2), "x2": 2.0}
        assert row.rel_error < EPS / 2 and row.note == "float64"
    else:
        assert row.values is None and row.errors is None
        assert row.note == f"not installed (pip install 'symdiff[{key}]')"


@pytest.mark.parametrize("key", OPTIONAL)
def test_absent_optional_package_is_a_note_not_an_error(monkeypatch, key):
    real = comparison._installed
    monkeypatch.setattr(comparison, "_installed", lambda p: p != key and real(p))
    row = sd.compare("x*x", at={"x": 3}).row(key)
    assert row.values is None and row.seconds is None
    assert row.note == f"not installed (pip install 'symdiff[{key}]')"
    assert f"not installed (pip install 'symdiff[{key}]')" in str(sd.compare("x", at={"x": 1}))


def sinc_cancellation(x: float) -> float:
    """How much the derivative of sin(x)/x cancels: (|cos x/x| + |sin x/x²|) / |f'(x)|."""
    derivative = math.cos(x) / x - math.sin(x) / x**2
    return (abs(math.cos(x) / x) + abs(math.sin(x) / x**2)) / abs(derivative)


@pytest.mark.parametrize(("x", "cancels"), [(2.0, (1, 10)), (0.1, (100, 1e3)), (1e-3, (1e6, 1e7))])
def test_removable_singularity_sinc(x, cancels):
    cmp = sd.compare("sin(x)/x", at={"x": x})
    with mpmath.workdps(80):
        t = mpmath.mpf(x)
        exact = mpmath.cos(t) / t - mpmath.sin(t) / t**2
        ref = mpmath.mpf(str(cmp.reference["x"]))
        assert abs(ref - exact) <= abs(exact) * mpmath.mpf(10) ** -48
    # every exact-in-exact-arithmetic method differentiates the same float64 program, and the
    # derivative cos(x)/x - sin(x)/x² cancels: rounding error ε times the cancellation factor
    kappa = sinc_cancellation(x)
    for key in EXACT:
        assert cmp.row(key).rel_error <= 4 * EPS * kappa, (key, kappa)
    assert cancels[0] <= kappa < cancels[1]
    # the function itself is ≈ 1 and smooth: central differences keep their absolute accuracy
    assert cmp.row("central").abs_error < 1e-10
    assert cmp.row("central").rel_error < (1e-6 if x == 1e-3 else 1e-9)


def test_removable_singularity_expm1_every_float_method_loses_the_same_digits():
    # exp(x) - 1 is rounded before the division: at x = 1e-5 its ulp error, 1e-16, becomes
    # 1e-16/x² = 1e-6 in the derivative. Every float64 method differentiates that rounded
    # program, so all are off by ~1e-6; only the 50-digit closed form is right.
    x = 1e-5
    cmp = sd.compare("(exp(x) - 1)/x", at={"x": x})
    with mpmath.workdps(80):
        t = mpmath.mpf(x)
        exact = mpmath.exp(t) / t - mpmath.expm1(t) / t**2
        assert abs(mpmath.mpf(str(cmp.reference["x"])) - exact) < mpmath.mpf(10) ** -48
    reverse = cmp.row("reverse").values["x"]
    for key in (*EXACT, "central"):
        row = cmp.row(key)
        assert 1e-7 < row.rel_error < 1e-5, key
    # the graph's own program, differentiated exactly, gives (nearly) the same rounded number
    # by every route; the simplified closed form (x·e^x - e^x + 1)/x² rounds differently
    for key in ("program", "reverse", "forward", "complex_step", "sympy_diff"):
        assert cmp.row(key).values["x"] == pytest.approx(reverse, rel=1e-10), key


def test_step_sweep_draws_the_v(worked):
    sweep = worked.sweep
    assert sweep.steps == tuple(10.0**-k for k in range(1, 16))
    central = sweep.central["x1"]
    best = central.index(min(central))
    assert 3 <= best <= 8  # the bottom of the V: h between 1e-4 and 1e-9
    assert min(central) < 1e-10
    # steps are relative: x1 = 2 moves by 2h; h = 0.1: truncation, (2h)²·|cos(2)|/6 ≈ 3e-3
    assert central[0] > 1e-3
    assert central[-1] > 1e-3  # h = 1e-15: round-off, ε·|f|/(2h)
    assert central[0] == pytest.approx(0.04 * abs(math.cos(2)) / 6, rel=0.01)
    complex_errors = sweep.complex["x1"]
    assert complex_errors[0] == pytest.approx(0.04 * abs(math.cos(2)) / 6, rel=0.01)
    assert all(e < 5e-16 for e in complex_errors[7:])  # no round-off however small h is
    assert sweep.default == pytest.approx({"x1": 2.0 ** (-52 / 3), "x2": 2.0 ** (-52 / 3)})
    assert comparison.default_step(3.0) == pytest.approx(3 * 2.0 ** (-52 / 3))


def test_a_float64_underflow_is_named():
    # d/dx x^-1074 at 2 = -1074·2^-1075: math.pow raises ERANGE, which printed as a tuple
    cmp = sd.compare("x**-1074", at={"x": 2})
    assert float(cmp.reference["x"]) == pytest.approx(-1074 * 2.0**-1075, rel=1e-3)  # subnormal
    assert cmp.row("closed_form").note == "failed: a result out of float64's range"


def test_the_plot_format_follows_the_suffix(worked, tmp_path):
    """fd.svg and fd.pdf held PNG bytes (a tester's report)."""
    assert worked.plot(tmp_path / "fd.svg").read_bytes().startswith(b"<?xml")
    assert worked.plot(tmp_path / "fd.pdf").read_bytes().startswith(b"%PDF-")
    assert worked.plot(tmp_path / "fd").read_bytes().startswith(b"\x89PNG")


def test_the_step_sweep_moves_a_large_coordinate():
    """At x = 1e7 an absolute step of 1e-10 vanishes in x's rounding (x + h == x), and every
    such step's error was NaN, left out of the plot (a tester's report): relative steps move
    x at every step of the sweep."""
    sweep = sd.compare("x**2", at={"x": 1e7}).sweep
    central = sweep.central["x"]
    assert all(math.isfinite(e) for e in central)
    assert central[0] < 1e-3 * 2e7 and central[-1] > central[4]  # truncation 0, round-off
    assert min(central) == 0.0  # x**2: central differences are exact but for rounding


def test_plot_is_a_png_written_by_matplotlib(worked, tmp_path):
    path = worked.plot(tmp_path / "fd.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (700, 450)
    assert b"tEXtSoftware\x00Matplotlib version" in data  # the tEXt chunk matplotlib writes
    assert data.endswith(b"IEND\xaeB`\x82")


def test_plot_of_str_path_and_errors(tmp_path):
    cmp = sd.compare("exp(x)", at={"x": 0})
    assert cmp.plot(str(tmp_path / "e.png")).stat().st_size > 1000
    with pytest.raises(sd.SymdiffError, match="cannot write the plot"):
        cmp.plot(tmp_path / "missing" / "e.png")
    undefined = sd.compare("sqrt(x)", at={"x": 0})
    assert undefined.reference is None and undefined.sweep is None
    with pytest.raises(sd.SymdiffError, match="nothing to plot"):
        undefined.plot(tmp_path / "s.png")


def test_complex_step_not_applicable_to_kinks():
    cmp = sd.compare("abs(x)*y + max(x, y)", at={"x": 0, "y": 2})
    row = cmp.row("complex_step")
    assert row.values is None
    assert row.note == (
        "not applicable: abs, max are not analytic (the complex step needs an analytic function)"
    )
    assert cmp.sweep.complex is None
    assert any("abs(w1) sits on its kink" in n for n in cmp.notes)
    # symdiff's abs'(0) = 1 (JAX's); the reference, from the same convention, agrees
    assert cmp.row("reverse").values == {"x": 2.0, "y": 1.0}
    assert cmp.row("reverse").abs_error == 0
    # sympy.diff has its own convention at the kink, d|x|/dx = sign(x) = 0
    assert cmp.row("sympy_diff").values == {"x": 0.0, "y": 1.0}
    assert "not applicable: abs, max" in str(cmp)


def test_undefined_reference_is_reported_not_raised():
    cmp = sd.compare("sqrt(x)", at={"x": 0})
    assert cmp.row("reference").note == "d/dx is infinite at the point (its closed form gives zoo)"
    assert cmp.row("reverse").note.startswith("failed: the derivative of w2 = sqrt(w1)")
    assert cmp.row("central").note.startswith("failed: w2 = sqrt(w1) is undefined")
    assert all(r.errors is None for r in cmp.rows)
    assert cmp.notes[-1].startswith("no reference")


def test_bad_input_raises_typed_errors():
    with pytest.raises(sd.DomainError, match="log needs a positive argument"):
        sd.compare("log(x)", at={"x": -1})
    with pytest.raises(sd.VariableError, match="one output"):
        sd.compare(["x*y", "y"], at={"x": 1, "y": 2})
    with pytest.raises(sd.VariableError, match="no value for y"):
        sd.compare("x*y", at={"x": 1})
    with pytest.raises(sd.VariableError, match="needs a variable to differentiate"):
        sd.compare("2*a", at={"a": 1}, wrt=[])
    # a tester's reports: these gave a table without a reference, a TypeError, an OverflowError
    with pytest.raises(sd.SymdiffError, match="simplify must be"):
        sd.compare("x*x", at={"x": 1}, simplify="bogus")
    for steps in (5, None, ["a"], [1e-3, -1e-4], [], [math.nan]):
        with pytest.raises(sd.SymdiffError, match="steps must be"):
            sd.compare("x*x", at={"x": 1}, steps=steps)
    with pytest.raises(sd.VariableError, match="must be finite"):
        sd.compare("x*x", at={"x": 10**400})


X = sympy.Symbol("x")


@pytest.mark.parametrize(
    ("text", "formula", "at", "kind"),
    [
        ("acos(x)", sympy.acos(X), 1, "infinite"),  # -1/sqrt(1 - x²): 1/0
        ("asin(x)", sympy.asin(X), -1, "infinite"),
        ("sqrt(x - 1)", sympy.sqrt(X - 1), 1, "infinite"),
        ("sqrt(1 - cos(x))", sympy.sqrt(1 - sympy.cos(X)), 0, "undefined"),  # 0/0
    ],
)
def test_no_reference_where_the_derivative_is_infinite_or_undefined(text, formula, at, kind):
    """evalf(subs=...) took the exact 0 under these roots for a tiny number and gave finite
    references of 1e86-1e89 (or 0 with every method "exact" for sqrt(1 - cos(x)) at 0): a
    tester's report. SymPy's one-sided limits say there is no finite derivative."""
    slope = sympy.diff(formula, X)
    one_sided = [sympy.limit(slope, X, at, side) for side in ("+", "-")]
    assert not all(v.is_finite for v in one_sided) or one_sided[0] != one_sided[1]
    cmp = sd.compare(text, at={"x": at})
    assert cmp.reference is None and cmp.sweep is None
    assert cmp.row("reference").note.startswith(f"d/dx is {kind} at the point")
    assert all(r.errors is None for r in cmp.rows)


def test_the_reference_keeps_50_digits_with_decimal_constants_and_big_powers():
    """A reviewer's reports on the exact reference: a formula's 0.1, a 53-bit Float times the
    point's exact rational, was rounded back to 53 bits (the reference 5.55e-17 where the
    truth is 4.44e-17, and every float64 row "exact"); and x**n at n = 1e5, a parameter, ran
    for 27 s in exact rationals. Checked against mpmath's own 60 digits."""
    x = 1.0000000000000002
    cmp = sd.compare("0.1*x**2 - 0.2*x", at={"x": x})
    with mpmath.workdps(60):
        truth = 2 * mpmath.mpf(0.1) * mpmath.mpf(x) - mpmath.mpf(0.2)  # the doubles' values
        assert abs(mpmath.mpf(str(cmp.reference["x"])) - truth) < mpmath.mpf(10) ** -60
        assert cmp.row("closed_form").abs_error > 0  # float64 is off here, and now shows it
        got = comparison.reference_values(sd.grad("x**n", wrt=["x"]), {"x": 0.9999, "n": 1e5})
        truth = mpmath.mpf(100000) * mpmath.mpf(0.9999) ** 99999
        assert abs(mpmath.mpf(str(got["x"])) / truth - 1) < mpmath.mpf(10) ** -45


def test_a_nan_partial_is_not_an_error_of_zero():
    """`max` keeps NaN only in first place: a NaN partial after a finite one showed as error 0
    (a tester's report, jax.grad's row)."""
    row = comparison.Row("m", "m", {"x": 1.0, "y": math.nan}, {"x": 0.0, "y": math.nan})
    assert math.isnan(row.abs_error)
    assert math.isnan(comparison._rel_error({"x": 0.0, "y": math.nan}, {"x": 1, "y": 2}))


def test_the_reference_of_a_swollen_formula_comes_at_once():
    """Nested `(e)*y + (e)*(e)*0.5`, seven deep (20 KB of text): evalf(subs=...) ran for
    minutes; exact arithmetic collapses it. Checked against the float64 closed form."""
    e = "x"
    for _ in range(7):
        e = f"({e})*y + ({e})*({e})*0.5"
    cmp = sd.compare(e, at={"x": 0.1, "y": 0.2})
    x, y = sympy.symbols("x y")
    formula = x
    for _ in range(7):
        formula = formula * y + formula * formula / 2
    for v, s in (("x", x), ("y", y)):
        expected = float(
            sympy.diff(formula, s).subs({x: sympy.Rational(0.1), y: sympy.Rational(0.2)})
        )
        assert float(cmp.reference[v]) == pytest.approx(expected, rel=1e-14)


def test_wrt_parameters_and_constant_point():
    cmp = sd.compare("a*x^2", at={"x": "pi/4", "a": 3}, wrt=["x"])
    assert cmp.variables == ("x",) and cmp.point == {"x": math.pi / 4, "a": 3.0}
    assert cmp.row("reverse").values == {"x": 6 * (math.pi / 4)}
    assert cmp.row("reverse").rel_error < EPS
    assert cmp.row("sympy_diff").rel_error < EPS


def test_python_function_and_constant_output():
    cmp = sd.compare(lambda x, y: x * sd.sin(y), at={"x": 2, "y": 0.5})
    assert cmp.row("forward").values == pytest.approx({"x": math.sin(0.5), "y": 2 * math.cos(0.5)})
    const = sd.compare("x - x + 3", at={"x": 1})
    for key in ("reverse", "forward", "complex_step", "sympy_diff"):
        assert const.row(key).values == {"x": 0.0}, key


def test_table_text(worked):
    text = str(worked)
    lines = text.splitlines()
    assert lines[0] == "z = x1*x2 + sin(x1)   at x1 = 2, x2 = 3"
    assert lines[3].split()[:5] == ["method", "dz/dx1", "dz/dx2", "abs", "error"]
    assert lines[5].startswith("closed form, float64     2.5838531634528574   2        1.9e-16")
    assert "dz/dx1 = 2.5838531634528576130024317704992378102339992289245" in lines


def test_to_dict_is_json(worked):
    data = json.loads(json.dumps(worked.to_dict()))
    assert data["expression"] == "x1*x2 + sin(x1)" and data["at"] == {"x1": 2.0, "x2": 3.0}
    assert data["reference"]["x1"].startswith("2.58385316345285761300243")
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["reverse"]["values"] == {"x1": 3 + math.cos(2), "x2": 2.0}
    assert rows["reverse"]["abs_errors"]["x2"] == 0.0
    assert rows["central"]["rel_error"] == worked.row("central").rel_error
    assert len(data["step_sweep"]["central"]["x1"]) == 15
    # non-finite numbers are null, so the JSON stays standard
    inf = sd.compare("sqrt(x)", at={"x": 0}).to_dict()
    assert json.loads(json.dumps(inf, allow_nan=False))["step_sweep"] is None


def analytic_cases():
    """One expression per analytic primitive of the rule table, at a point in its domain."""
    ops = {"add": "x + y", "sub": "x - y", "mul": "x*y", "div": "x/y", "neg": "-x"}
    ops["pow"] = "x^y"
    cases = []
    for name, prim in PRIMITIVES.items():
        if name in comparison.NOT_ANALYTIC:
            continue
        if name in ops:
            text = ops[name]
        elif prim.arity == 1:
            text = f"{name}(x)"
        else:
            text = f"{name}(x, y)"
        cases.append(text)
    cases.append("atan2(x, -y)")  # the x < 0 branch of atan2's extension
    return cases


@pytest.mark.parametrize("text", analytic_cases())
def test_complex_step_through_every_analytic_primitive(text):
    point = {"x": 0.3, "y": 0.7} if "y" in text else {"x": 0.3}
    cmp = sd.compare(text, at=point)
    assert cmp.row("complex_step").rel_error < 4 * EPS, cmp.row("complex_step")
    assert cmp.row("reverse").rel_error < 4 * EPS


def test_every_primitive_is_covered_by_a_namespace():
    analytic = [p for p in PRIMITIVES if p not in comparison.NOT_ANALYTIC]
    assert sorted(comparison.NOT_ANALYTIC) == ["abs", "heaviside", "max", "min", "relu", "sign"]
    assert len(analytic_cases()) == len(analytic) + 1


KINKED = ["abs(x)", "sign(x)*x", "relu(x)", "max(x, y)", "min(x, y)", "heaviside(x, 1)*y"]


@pytest.mark.parametrize("key", OPTIONAL)
def test_jax_and_torch_through_every_primitive(key):
    texts = [*analytic_cases(), *KINKED]
    for text in texts:
        point = {"x": 0.3, "y": 0.7} if "y" in text else {"x": 0.3}
        row = sd.compare(text, at=point).row(key)
        if installed(key):
            assert row.rel_error < 4 * EPS, (text, row)
        else:
            assert row.note.startswith("not installed"), text
