"""Numeric functions: numpy (vectorised), math, jax and numba backends."""

import decimal
import fractions
import gc
import importlib.util
import itertools
import math
import re
import sys
import time

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symdiff as sd
from symdiff import numeric
from symdiff.numeric import _OPERATORS as OPERATORS
from symdiff.numeric import compile_graph
from symdiff.primitives import PRIMITIVES
from symdiff.vectorise import reroll


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


@pytest.mark.parametrize(
    "text", ["abs(x)", "max(x, y) + min(x, y)", "max(y, x) - min(y, x)", "relu(x) * y",
             "sign(x) * y", "heaviside(x, 0.5) * y", "abs(y - x)"],
)  # fmt: skip
def test_nan_through_a_kink_is_nan_in_every_backend(text):
    """numpy's kinks give nan for nan (np.heaviside, np.maximum, np.sign): so must the math
    and numba backends, where a comparison would turn nan into 0 or 1 (abs'(nan) was -1,
    found by a tester) and Python's `max` would depend on the order of its arguments."""
    g = sd.grad(text)
    for args in itertools.product([float("nan"), 1.0, -2.0], repeat=len(g.graph.variables)):
        want = [float(v) for v in g.lambdify()(*(np.array(a) for a in args))]  # numpy's own
        backends = ["math"] + (["numba"] if importlib.util.find_spec("numba") else [])
        for backend in backends:
            got = [float(v) for v in g.lambdify(backend)(*args)]
            assert got == pytest.approx(want, nan_ok=True), (backend, args)
    assert any(map(math.isnan, g.lambdify("math")(*[float("nan")] * len(g.graph.variables))))


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


@pytest.mark.parametrize("backend", ["numpy", "math", "numba"])
def test_variables_named_like_builtins_are_safe(backend):
    """numba's loop calls `range`: a variable so named broke it (a tester's report)."""
    if backend == "numba" and importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed (optional backend)")
    g = sd.grad("range*len + exp(range)")
    d_range, d_len = g.lambdify(backend)(0.0, 2.0)  # by hand: len + exp(range), range
    assert (float(d_range), float(d_len)) == (3.0, 0.0)


def test_a_function_name_cannot_become_code(capsys):
    """A traced function's name goes into the generated docstring: three double quotes in it
    ended the string, and what followed ran (a tester's report)."""

    def f(x):
        return x * x

    f.__name__ = 'f"""\n    print("INJECTED")\n    """'
    g = sd.grad(f, at={"x": 1.0})
    assert g.lambdify("math")(2.0) == (4.0,)
    assert g.lambdify()(2.0)[0] == 4.0 and g.lambdify(stacked=True)(np.array([[2.0]]))[0] == 4.0
    assert "INJECTED" not in capsys.readouterr().out
    f.__name__ = 'a"""b\\'  # a backslash at the end, before the closing quotes
    assert sd.grad(f, at={"x": 1.0}).lambdify("math")(3.0) == (6.0,)


def test_a_wrong_number_of_arguments_is_a_typed_error():
    f = sd.grad("x*y").lambdify()
    with pytest.raises(sd.SymdiffError, match="takes 2 arguments, not 1"):
        f(1.0)
    with pytest.raises(TypeError):  # as Python says for any function
        sd.grad("x*y").lambdify("math")(1.0, 2.0, 3.0)


def test_parameters_are_arguments_too():
    g = sd.grad("a*x**2", wrt=["x"])
    assert g.lambdify("math")(3.0, 2.0) == (12.0,)  # (x, a): wrt first, then parameters


def test_unknown_backend():
    with pytest.raises(sd.SymdiffError, match="backend"):
        sd.grad("x").lambdify("fortran")


def rosenbrock(*x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def product(*x):
    result = x[0]
    for xi in x[1:]:
        result = result * xi
    return result


def chain(*x):
    z = x[0]
    for xi in x:
        z = sd.sin(z) * xi + sd.cos(z)
    return z


def names(n):
    return [f"x{i}" for i in range(1, n + 1)]


@pytest.mark.parametrize("f", [rosenbrock, product, chain], ids=lambda f: f.__name__)
def test_gradient_program_costs_at_most_three_times_the_function(f):
    from symdiff.closedform import count_program_ops, program

    n = 1000
    g = sd.grad(f, wrt=names(n))
    assignments, outputs = g.program()
    function_ops = count_program_ops(program(g.graph)[0])
    assert len(outputs) == n + 1  # the value, then every partial
    assert count_program_ops(assignments) <= 3 * function_ops
    # and it computes the same numbers as the numeric reverse sweep
    at = dict(zip(names(n), np.random.default_rng(1).uniform(0.5, 1.0, n), strict=True))
    values = sd.numeric.compile_graph(sd.adjoint_program(g.graph), "math")(*at.values())
    expected = g.at(at)
    assert values[1:] == pytest.approx([expected[v] for v in names(n)], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("f", [rosenbrock, product, chain], ids=lambda f: f.__name__)
def test_program_values_equal_the_flat_gradient(f):
    n = 6
    g = sd.grad(f, wrt=names(n), simplify="none")
    assignments, outputs = g.program()
    at = dict(zip(g.graph.symbols, np.random.default_rng(2).uniform(0.5, 1.0, n), strict=True))
    env = dict(at)
    for symbol, formula in assignments:
        env[symbol] = formula.xreplace(env)
    for var, output in zip(names(n), outputs[1:], strict=True):
        program_value = float(sympy.sympify(output).xreplace(env))
        flat_value = float(g[var].xreplace(at))
        assert program_value == pytest.approx(flat_value, rel=1e-12)


BACKEND_CASES = [
    "x1*x2 + sin(x1)",
    "erf(x1)*abs(x2) + max(x1, x2) + relu(x1 - 1)",
    "sigmoid(x1*x2) + softplus(-x1) + tanh(x2)^2 + atan2(x1, x2)",
    "sqrt(x1^2 + x2^2) + log(1 + exp(x1)) + heaviside(x2, 0.5)*x1",
]


def numba_or_skip():
    return pytest.importorskip("numba", reason="the numba backend is optional: symdiff[numba]")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("text", BACKEND_CASES)
def test_array_backends_agree_with_math_backend(text, backend):
    if backend == "numba":
        numba_or_skip()
    g = sd.grad(text, wrt=["x1", "x2"])
    rng = np.random.default_rng(3)
    x1, x2 = rng.uniform(-2, 2, 50), rng.uniform(-2, 2, 50)
    x2[:5] = x1[:5]  # ties for max: the kink conventions must agree too
    x2[5:8] = 0.0
    vectorised = g.lambdify(backend)(x1, x2)
    scalar = g.lambdify("math")
    assert all(v.dtype == np.float64 and v.shape == (50,) for v in vectorised)
    for i in range(50):
        assert tuple(v[i] for v in vectorised) == pytest.approx(scalar(x1[i], x2[i]), rel=1e-12)
        assert scalar(x1[i], x2[i]) == pytest.approx(tuple(g.at(x1=x1[i], x2=x2[i]).values()))


@pytest.mark.parametrize("text", BACKEND_CASES)
def test_jax_backend_agrees_with_math_backend(text):
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    g = sd.grad(text, wrt=["x1", "x2"])
    rng = np.random.default_rng(4)
    x1, x2 = rng.uniform(-2, 2, 20), rng.uniform(-2, 2, 20)
    fast = g.lambdify("jax")(jax.numpy.asarray(x1), jax.numpy.asarray(x2))
    scalar = g.lambdify("math")
    for i in range(20):
        assert tuple(float(v[i]) for v in fast) == pytest.approx(scalar(x1[i], x2[i]), rel=1e-12)


def test_jax_runs_a_deep_program_in_pieces_with_the_math_backends_numbers(monkeypatch):
    """A chain does not reroll: jax on a CPU runs it as jitted pieces, handing values from
    piece to piece (in one jit with barriers it ran 2.4-3.3 times slower); one partial is an
    input (x12), one a constant (7)."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    monkeypatch.setattr(numeric, "_jax_on_cpu", lambda: True)
    built = []
    pieces = numeric._jax_pieces
    monkeypatch.setattr(numeric, "_jax_pieces", lambda graph: built.append(graph) or pieces(graph))
    graph = sd.grad(_with_inputs_and_constant, wrt=names(13))._adjoint
    assert numeric._deep(graph, reroll(graph))
    x = np.random.default_rng(8).uniform(-1, 1, (13, 30))
    fast = compile_graph(graph, "jax")(*(jax.numpy.asarray(r) for r in x))
    scalar = compile_graph(graph, "math")
    for i in range(30):
        want = scalar(*x[:, i])
        assert tuple(float(v[i]) for v in fast) == pytest.approx(want, rel=1e-12, abs=1e-14)
        assert (float(fast[10][i]), float(fast[12][i])) == (x[11, i], 7.0)
    assert compile_graph(graph, "jax")(*x[:, 0])[12].shape == ()
    assert built == [graph, graph]


def test_a_graph_is_rerolled_once_for_all_its_sources_and_functions(monkeypatch):
    """Rerolling a large gradient takes seconds (Rosenbrock at n = 10,000): the sources and
    functions of one graph share one, which goes when the graph goes."""
    calls = []
    monkeypatch.setattr(numeric, "reroll", lambda graph: calls.append(id(graph)) or reroll(graph))
    g = sd.grad(rosenbrock, wrt=names(40))
    for stacked in (False, True):
        g.source("jax", stacked=stacked), g.source(stacked=stacked), g.lambdify(stacked=stacked)
    x = np.random.default_rng(11).uniform(-1, 1, (40, 5))
    np.testing.assert_allclose(g.lambdify(stacked=True)(x), np.stack(g.lambdify()(*x)))
    assert calls == [id(g._adjoint)]
    other = sd.grad(rosenbrock, wrt=names(40))._adjoint  # equal, not the same: rerolled anew
    numeric._rerolled(other)
    assert len(calls) == 2
    key = id(other)
    assert key in numeric._rerolls
    del other
    gc.collect()
    assert key not in numeric._rerolls


def _with_inputs_and_constant(*x):
    return chain(*x[:10]) + x[10] * x[11] + 7 * x[12]


def _barrier_sources():
    """(label, jax source) of deep programs: per variable and stacked."""
    for label, f, n in (("chain", chain, 20), ("product", product, 30),
                        ("inputs and constant", _with_inputs_and_constant, 13)):  # fmt: skip
        graph = sd.grad(f, wrt=names(n))._adjoint
        yield label, numeric.to_source(graph, "jax")
        yield label + ", stacked", numeric._stacked_source(graph, "jax", "f")


def check_barriers(source: str, label: str) -> None:
    """A deep program's jax source ends each piece of `JAX_PIECE` lines with a barrier over
    the values later lines read: a later line that read a value around the barrier would let
    XLA fuse across it (32-44 s to compile the 20-step chain on an H100), and a value no later
    line reads would be kept in memory for nothing."""
    names = re.compile(r"\b[A-Za-z_]\w*\b")
    # the lines after the signature and docstring, but the stacked input's `v0 = m.as_float(X)`
    body = [ln.split("#")[0].strip() for ln in source.splitlines()[2:] if "m.as_float" not in ln]
    piece: list[str] = []  # names defined since the last barrier
    sealed: set[str] = set()  # defined before a barrier, not passed through it
    barriers = 0
    for i, line in enumerate(body):
        target, _, value = line.partition(" = ") if " = " in line else ("", "", line)
        read = set(names.findall(value.removeprefix("return")))
        assert not read & sealed, (label, line)
        if "m.barrier(" in value:
            kept = [t.strip() for t in target.split(",") if t.strip()]
            later = set().union(
                *(names.findall(ln.partition(" = ")[2] or ln) for ln in body[i + 1 :])
            )
            assert kept == [d for d in piece if d in later], (label, line)
            assert len(piece) == numeric.JAX_PIECE
            sealed |= set(piece) - set(kept)
            piece, barriers = [], barriers + 1
        elif target and not target.startswith("_"):
            piece.append(target)
    lines = sum(1 for ln in body if " = " in ln and "m.barrier(" not in ln and "_shape" not in ln)
    assert barriers == (lines - 1) // numeric.JAX_PIECE, label


@pytest.mark.parametrize("label, source", list(_barrier_sources()), ids=lambda v: v[:30])
def test_jax_barriers_pass_exactly_what_later_lines_read(label, source):
    check_barriers(source, label)


STEPS = {
    "sin": lambda a, b: sd.sin(a),
    "cos": lambda a, b: sd.cos(a),
    "exp": lambda a, b: sd.exp(a / 4),
    "tanh": lambda a, b: sd.tanh(a),
    "mul": lambda a, b: a * b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(st.tuples(st.sampled_from(sorted(STEPS)), st.integers(-12, 12)), min_size=12,
                max_size=80))  # fmt: skip
def test_jax_barriers_hold_for_random_deep_programs(steps):
    """Each step combines the last value with one before it (an input, or one many pieces
    back), so values live across several barriers."""

    def f(*x):
        values = list(x)
        for step, k in steps:
            values.append(STEPS[step](values[-1], values[k % len(values)]))
        return values[-1]

    graph = sd.grad(f, wrt=names(4))._adjoint
    assume(numeric._deep(graph, numeric._rerolled(graph)))
    check_barriers(numeric.to_source(graph, "jax"), "per variable")
    check_barriers(numeric._stacked_source(graph, "jax", "f"), "stacked")


def test_jax_off_the_cpu_runs_a_deep_program_in_one_jit_with_barriers(monkeypatch):
    """Where JAX computes on a GPU, a deep program runs whole in one jit, in pieces separated
    by barriers (not jitted piece by piece), with the math backend's numbers."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    monkeypatch.setattr(numeric, "_jax_on_cpu", lambda: False)
    monkeypatch.setattr(numeric, "_jax_pieces", None)  # not called
    g = sd.grad(_with_inputs_and_constant, wrt=names(13))
    assert g.source("jax").count("m.barrier(") == g.source("jax", stacked=True).count("m.barrier(")
    assert g.source("jax", stacked=True).startswith("def gradient(X):")
    assert g.source("jax").count("m.barrier(") > 3
    x = np.random.default_rng(10).uniform(-1, 1, (13, 30))
    per_variable = g.lambdify("jax")(*(jax.numpy.asarray(r) for r in x))
    stacked = np.asarray(g.lambdify("jax", stacked=True)(x))
    scalar = g.lambdify("math")
    for i in range(30):
        want = scalar(*x[:, i])
        assert tuple(float(v[i]) for v in per_variable) == pytest.approx(want, rel=1e-12, abs=1e-14)
        assert tuple(stacked[:, i]) == pytest.approx(want, rel=1e-12, abs=1e-14)
        assert (stacked[10, i], stacked[12, i]) == (x[11, i], 7.0)


def test_dask_arrays_stay_lazy_and_agree_with_numpy():
    da = pytest.importorskip("dask.array")  # in the dev extra: always there in CI
    import dask

    g = sd.grad(rosenbrock, wrt=names(4))
    f = g.lambdify()
    x = np.random.default_rng(5).uniform(-1, 1, (4, 30_000))
    lazy = f(*(da.from_array(row, chunks=7_000) for row in x))
    assert all(isinstance(v, da.Array) for v in lazy)
    with dask.config.set(scheduler="synchronous"):
        computed = dask.compute(*lazy)
    for a, b in zip(computed, f(*x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15)


@pytest.mark.parametrize("points", [50, 20_000], ids=["one chunk", "chunks"])
def test_numpy_results_are_not_views_of_the_stack_kept_between_calls(points):
    """The per-variable numpy function stacks its arguments into a buffer that it keeps
    between calls (a fresh one faulted its pages in on every call: 3 of 6 ms for the tanh
    layer at n = 1000). No result may be a view of it, or the next call would change the last
    one's numbers: here every partial is an argument, `∂(Σ xi·yi)/∂xi = yi`."""
    text = " + ".join(f"x{i}*y{i}" for i in range(10))
    g = sd.grad(text, wrt=[f"x{i}" for i in range(10)], simplify="none")
    f = compile_graph(g._adjoint, "numpy")
    x = np.random.default_rng(13).uniform(-1, 1, (20, points))
    first = f(*x)
    np.testing.assert_array_equal(np.stack(first), x[10:])
    f(*(x + 1))
    np.testing.assert_array_equal(np.stack(first), x[10:])


def test_large_batches_run_in_chunks_with_the_same_numbers():
    g = sd.grad("x1*x2 + sin(x1)")
    f = g.lambdify()
    x1, x2 = np.linspace(-3, 3, 50_001), np.linspace(0, 1, 50_001)
    d1, d2 = f(x1, x2)
    np.testing.assert_allclose(d1, x2 + np.cos(x1), rtol=1e-15)
    np.testing.assert_array_equal(d2, x1)
    assert f(x1.reshape(3, -1)[:, :10], 2.0)[1].shape == (3, 10)  # broadcasting survives


def test_source_says_which_primal_step_each_line_differentiates():
    source = sd.grad("x1*x2 + sin(x1)").source()
    assert "w6 = m.cos(x1, out=_b[0])  # w̄1 += w̄4·∂w4/∂w1 for w4 = sin(w1)" in source
    assert "w7 = m.add(x2, w6, out=_b[0])  # w̄1 += w̄3·∂w3/∂w1 for w3 = w1·w2" in source
    assert source.startswith("def gradient(x1, x2, _b=m.no_buffers):")
    assert "w6 = m.cos(x1)  # w̄1 += w̄4" in sd.grad("x1*x2 + sin(x1)").source("math")
    assert (
        "return (" in sd.grad("3", wrt=[]).source() or "return ()" in sd.grad("3", wrt=[]).source()
    )
    assert sd.grad("3", wrt=[]).lambdify("math")() == ()


# The numba backend: the same program, compiled into one loop over the points. numba is in the
# dev extra, so these run in CI; only small graphs are compiled (a large one takes seconds).


def primitive_texts():
    """One expression per primitive of the rule table, each in its own variables a<i>, b<i>
    (so that each partial in the adjoint program belongs to one primitive)."""
    texts = []
    for i, p in enumerate(PRIMITIVES.values()):
        args = [f"a{i}", f"b{i}"][: p.arity]
        args = ["0.5" if k in p.constant_args else a for k, a in enumerate(args)]
        if p.name in OPERATORS:
            texts.append(OPERATORS[p.name].format(*args))
        else:
            texts.append(f"{p.name}({', '.join(args)})")
    return texts


SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 1e-300, 1e300,
           800.0, -800.0, 3.7]  # fmt: skip
# constant powers take other paths in numba's code (unrolled, or C's pow on two constants)
LITERAL_POWERS = ["c**2", "c**3", "c**-1", "c**0.5", "c**0", "2**3*d", "1/0*d", "0**-1.0*d"]


@pytest.mark.parametrize("form", ["unrolled", "rerolled"])
def test_numba_matches_numpy_for_every_primitive_at_kinks_nan_and_inf(form):
    numba_or_skip()
    texts = primitive_texts()
    assert len(texts) == len(PRIMITIVES)  # the whole table, walked
    graph = sd.trace([*texts, *LITERAL_POWERS, "10**30*d"])
    program = sd.adjoint_program(graph, [1] * len(graph.outputs))  # values, then partials
    fused = compile_graph(program, "numba")
    if form == "rerolled":  # the kernel for long programs, here over a short one
        kernel = numeric._numba_stacked(program, reroll(program))

        def fused(*args):
            return tuple(kernel(np.stack(np.broadcast_arrays(*args))))

    vectorised = compile_graph(program, "numpy")
    x, y = (np.array(v) for v in zip(*itertools.product(SPECIAL, SPECIAL), strict=True))
    args = [y if v.startswith("b") else x for v in program.variables]
    with np.errstate(all="ignore"):
        ours, theirs = fused(*args), vectorised(*args)
    checked = 0
    for name, a, b in zip(program.output_names, ours, theirs, strict=True):
        if name == program.output_names[len(graph.outputs) - 1]:  # 10**30: int64 in numpy
            with np.errstate(over="ignore"):  # (1e30 · 1e300 is inf, as wanted)
                np.testing.assert_array_equal(a, 1e30 * x)
            continue
        # the same nan, the same infinities, the same numbers to a few ulps
        np.testing.assert_allclose(a, np.broadcast_to(b, a.shape), rtol=1e-13, equal_nan=True)
        checked += 1
    assert checked == len(program.outputs) - 1

    def same(a, v):  # nan is nan, and -0.0 is not 0.0
        return (a == v) & (np.signbit(a) == np.signbit(v)) | np.isnan(a) & math.isnan(v)

    def value(text, at_x, at_y=0.0):
        k = [*texts, *LITERAL_POWERS].index(text)
        return float(ours[k][same(x, at_x) & same(y, at_y)][0])

    assert math.isnan(value("log(a16)", -1.0)) and math.isnan(value("sqrt(a17)", -1.0))
    assert math.isnan(value("asin(a9)", 2.0)) and value("a3 / b3", 1.0) == math.inf
    assert math.isnan(value("max(a24, b24)", math.nan, 1.0))
    assert math.isnan(value("max(a24, b24)", 1.0, math.nan))
    assert math.isnan(value("min(a25, b25)", 1.0, math.nan))
    assert math.isnan(value("relu(a22)", math.nan)) and value("relu(a22)", -0.0) == 0.0
    assert math.isnan(value("sign(a19)", math.nan)) and value("sign(a19)", -0.0) == 0.0
    assert value("heaviside(a27, 0.5)", 0.0) == 0.5 and math.isnan(
        value("heaviside(a27, 0.5)", math.nan)
    )
    assert value("softplus(a23)", 800.0) == 800.0 and value("softplus(a23)", 0.0) == math.log(2)
    assert value("sigmoid(a21)", -800.0) == 0.0 and value("sigmoid(a21)", 800.0) == 1.0
    assert value("erf(a20)", 0.5) == pytest.approx(math.erf(0.5), rel=1e-15)
    assert value("c**-1", 0.0) == math.inf and value("c**-1", -0.0) == -math.inf
    assert math.isnan(value("c**0.5", -math.inf)) and value("0**-1.0*d", 1.0) == math.inf


def test_numba_tanh_and_sigmoid_are_numpys_to_two_ulp_and_vectorise():
    """numba's tanh is arithmetic (libm's is a call per number, which no loop vectorises):
    numpy's to 2 ulp everywhere, the same signed zeros, ±1 at ±inf, nan at nan."""
    numba_or_skip()
    tanh = compile_graph(sd.trace("tanh(x)"), "numba")
    rng = np.random.default_rng(6)
    x = np.concatenate([
        rng.uniform(-25, 25, 200_000), rng.normal(0, 1, 200_000),
        rng.uniform(-1, 1, 200_000) * 10.0 ** rng.uniform(-300, 1.5, 200_000),
        np.nextafter(0.625, [0, 1]), np.nextafter(20.0, [0, 30]), [19.0625, 710.0, 5e-324],
    ])  # fmt: skip
    x = np.concatenate([x, -x])
    got, want = tanh(x)[0], np.tanh(x)
    assert np.all(np.abs(got - want) <= 2 * np.spacing(np.abs(want)))
    assert np.array_equal(np.signbit(got), np.signbit(x))
    special = tanh(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]))[0]
    assert special[:4].tolist() == [0.0, -0.0, 1.0, -1.0] and math.isnan(special[4])
    assert math.copysign(1, special[1]) == -1
    assert tanh(0.5)[0] == pytest.approx(math.tanh(0.5), rel=1e-15)

    def ir(f):  # the kernel's LLVM code
        return "".join(numeric._numba_kernel(f.__source__, 1, 1).inspect_llvm().values())

    assert "@tanh(" not in ir(tanh)  # no call of libm's: computed in the loop
    assert "@sinh(" in ir(compile_graph(sd.trace("sinh(x)"), "numba"))  # (as sinh calls libm)

    sigmoid = compile_graph(sd.trace("sigmoid(x)"), "numba")  # 1/2 + tanh(x/2)/2, so it too
    assert "@tanh(" not in ir(sigmoid)
    want = compile_graph(sd.trace("sigmoid(x)"), "numpy")(x)[0]
    assert np.abs(sigmoid(x)[0] - want).max() <= 2**-53  # (numpy's formula: absolute error)
    assert sigmoid(np.array([-800.0, 0.0, 800.0]))[0].tolist() == [0.0, 0.5, 1.0]


def test_numba_broadcasts_and_gives_numpy_scalars_for_scalars():
    numba_or_skip()
    g = sd.grad("x1*x2 + sin(x1)")
    fused, vectorised = g.lambdify("numba"), g.lambdify("numpy")
    x1, x2 = np.linspace(-1, 2, 3).reshape(3, 1), np.linspace(0, 3, 4)
    d1, d2 = fused(x1, x2)
    assert d1.shape == d2.shape == (3, 4)
    np.testing.assert_allclose(d1, x2 + np.cos(x1), rtol=1e-15)
    np.testing.assert_array_equal(d2, np.broadcast_to(x1, (3, 4)))
    for a, b in zip(fused(x1, x2), vectorised(x1, x2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15)

    scalars = fused(2.0, 3.0)
    assert all(type(v) is np.float64 for v in scalars)
    assert scalars == (3 + math.cos(2), 2.0) == fused(2, 3)  # integers compute in float64
    single = fused(np.float32(2.0), [3.0])
    assert single[0].dtype == np.float64 and single[0].tolist() == [3 + math.cos(2)]

    c = sd.grad("3*x + y").lambdify("numba")(np.zeros(4), 1.0)  # constant partials, broadcast
    assert c[0].tolist() == [3.0] * 4 and c[1].tolist() == [1.0] * 4
    assert [v.shape for v in fused(np.zeros((2, 0)), 1.0)] == [(2, 0), (2, 0)]
    assert sd.grad("3", wrt=[]).lambdify("numba")() == ()


def test_numba_rerolls_a_long_program_and_compiles_it_in_seconds(monkeypatch):
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 500)
    g = sd.grad(rosenbrock, wrt=names(300))  # 3,587 lines: minutes to compile unrolled
    start = time.perf_counter()
    fused, stacked = g.lambdify("numba"), g.lambdify("numba", stacked=True)
    assert time.perf_counter() - start < 60  # about 2 s here; no timing bar, only a hang guard
    source = g.source("numba")
    assert "for _s in range(_lo, _hi, 1024):" in source  # rerolled, in blocks of points
    assert "m.empty" not in source  # every operation computed in the outputs' loops
    x = np.random.default_rng(8).uniform(-1.5, 1.5, (300, 2, 250))
    want = np.stack(g.lambdify("numpy")(*x))
    np.testing.assert_allclose(np.stack(fused(*x)), want, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(stacked(x), want, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(fused(*x[:, 0, 0]), want[:, 0, 0], rtol=1e-13, atol=1e-12)
    first = fused(*x)  # the arguments' stack is a buffer kept between calls; results are not
    fused(*(2 * x))
    np.testing.assert_allclose(np.stack(first), want, rtol=1e-13, atol=1e-12)
    monkeypatch.setattr(numeric, "_cpus", lambda: 4)  # a batch split across threads
    monkeypatch.setattr(numeric, "SLICE_WORK", 1000)
    np.testing.assert_array_equal(stacked(x), stacked(x.copy()))


SHARED = "tanh(x1 - x2)*x3 + tanh(x2 - x3)*x1 + tanh(x3 - x1)*x2 + exp(x1*x2) + exp(x2*x3)"
WEIGHTS = [[0.5, -1.25, 2.0, 0.75, -0.5, 1.5], [-2.0, 0.25, 1.0, -1.5, 0.5, 1.25],
           [1.0, 1.0, -0.75, 0.5, 2.5, -1.0], [0.25, -0.5, 0.5, -2.0, 1.0, 0.75]]  # fmt: skip


def layer(*x):
    return sum(sd.tanh(sum(w * xi for w, xi in zip(row, x, strict=True))) for row in WEIGHTS)


@pytest.mark.parametrize("case", ["rosenbrock", "shared", "layer"])
def test_numba_fused_kernel_computes_what_the_lines_compute(case):
    """The rerolled kernel computes the operations it does not store inside the loops that
    read them: the numbers are the unrolled kernel's, bit for bit (but for matrix products,
    which add in their own order), and sympy.diff's."""
    numba_or_skip()
    symbols = sympy.symbols(names(40 if case == "rosenbrock" else 6 if case == "layer" else 3))
    if case == "rosenbrock":
        g, calls, expr = sd.grad(rosenbrock, wrt=names(40)), {}, rosenbrock(*symbols)
    elif case == "shared":
        g, calls = sd.grad(SHARED), {"m.tanh(": 1, "m.exp(": 1}
        expr = sympy.sympify(SHARED, locals={str(s): s for s in symbols})
    else:  # the layer's sums are matrix products: what they read is stored; the gradient's
        # product, which only the outputs read, is written straight into the result's rows
        g = sd.grad(layer, wrt=names(6))
        calls = {"m.tanh(": 1, "m.empty(": 2, "# 6 × output: w̄1 += w̄7·∂w7/∂w1": 1}
        expr = sum(sympy.tanh(sum(w * s for w, s in zip(r, symbols, strict=True))) for r in WEIGHTS)
    x = np.random.default_rng(4).uniform(-2, 2, (len(symbols), 3000))
    program = reroll(g._adjoint)
    source = numeric._numba_rerolled_source(g._adjoint, "f", program)
    for call, count in calls.items():  # each computed once, where several lanes read it
        assert source.count(call) == count
    fused = numeric._numba_stacked(g._adjoint, program)(x)
    unrolled = np.stack(compile_graph(g._adjoint, "numba")(*x))
    assert "for _k in range(_n)" in g.source("numba")  # (the unrolled kernel, one loop)
    if case == "layer":
        np.testing.assert_allclose(fused, unrolled, rtol=1e-13, atol=1e-15)
    else:
        np.testing.assert_array_equal(fused, unrolled)
    want = sympy.lambdify(symbols, [sympy.diff(expr, s) for s in symbols], "numpy")(*x)
    np.testing.assert_allclose(fused, np.stack(want), rtol=1e-12, atol=1e-12)


READOUT = [[0.25, 1.0, -2.0, 0.5], [-0.5, 1.0, 0.25, -1.25], [0.5, -0.75, 1.0, 2.0],
           [-2.0, 0.5, -1.5, 0.75]]  # fmt: skip


@pytest.mark.parametrize("order", [(2, 0, "x1*x2", 3, 1), (1, 0, 1, 2, 3)], ids=["into", "twice"])
def test_numba_writes_a_product_only_outputs_read_into_their_rows(monkeypatch, order):
    """A matrix product that only the outputs read, each row once, is computed into the
    result's rows, wherever they are (an index per lane); one that an output reads twice is
    stored and copied. Either way the numbers are the readout's, computed by hand."""
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 0)

    def two_layers(*x):
        h = [sd.tanh(sum(w * xi for w, xi in zip(row, x, strict=True))) for row in WEIGHTS]
        out = [sum(v * hj for v, hj in zip(row, h, strict=True)) for row in READOUT]
        return tuple(x[0] * x[1] if k == "x1*x2" else out[k] for k in order)

    graph = sd.trace(two_layers, wrt=names(6))
    f = compile_graph(graph, "numba", stacked=True)
    assert ("_o = OUT[I" in f.__source__) == (order[2] == "x1*x2")
    # the loops that decide between the kernels are the ones written
    assert numeric._numba_loops(reroll(graph)) == f.__source__.count("for _l in range(")
    assert f.__source__.count("m.empty(") == (2 if order[2] == "x1*x2" else 3)
    x = np.random.default_rng(9).uniform(-2, 2, (6, 2500))  # three blocks of points
    h = np.tanh(np.array(WEIGHTS) @ x)
    want = [x[0] * x[1] if k == "x1*x2" else np.array(READOUT[k]) @ h for k in order]
    np.testing.assert_allclose(f(x), np.stack(want), rtol=1e-13, atol=1e-14)


def test_numba_matrix_products_add_their_columns_in_the_lines_order(monkeypatch):
    """A product adds `NUMBA_COLUMNS` columns a pass (21 inputs: the 5 past whole groups
    first, then a loop over two groups of 8), in the columns' order: the lines' numbers bit for
    bit, here where the lines add the inputs in that order too."""
    numba_or_skip()
    weights = np.random.default_rng(10).uniform(-1, 1, (3, 21)).round(3)

    def wide(*x):
        units = []
        for row in weights:
            pre = float(row[0]) * x[0]  # (no 0 + first: a bias, which the product adds first)
            for w, xi in zip(row[1:], x[1:], strict=True):
                pre = pre + float(w) * xi
            units.append(sd.tanh(pre))
        return sum(units)

    g = sd.grad(wide, wrt=names(21), simplify="none")
    x = np.random.default_rng(11).uniform(-1, 1, (21, 1500))
    lines = np.stack(compile_graph(g._adjoint, "numba")(*x))
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 0)
    f = compile_graph(g._adjoint, "numba", stacked=True)
    assert f.__source__.count(f"for _j in range(5, 21, {numeric.NUMBA_COLUMNS}):") == 1
    np.testing.assert_array_equal(f(x), lines)
    t = np.tanh(weights @ x)
    np.testing.assert_allclose(f(x), weights.T @ (1 - t**2), rtol=1e-13, atol=1e-14)


def sweeps(count, left, right):
    """`count` sweeps of y_i <- y_left(i) · y_right(i): every value read at two lanes."""

    def f(*x):
        y = list(x)
        for _ in range(count):
            y = [y[a] * y[b] for a, b in zip(left(len(y)), right(len(y)), strict=True)]
        return sum(y)

    return f


def test_numba_fused_kernel_grows_linearly_and_compiles_the_cheaper_form(monkeypatch):
    """A value read at two lanes, by readers read at two lanes, ...: fused, each level would
    double the work (62,225 lines of source at 14 sweeps, found by a tester); a loop computes
    at most `NUMBA_FUSED_OPS` operations per lane. And a program whose rerolled kernel has
    many loops (which compile in quadratic time) compiles unrolled."""
    numba_or_skip()
    loops = numeric.NUMBA_LOOPS
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 0)  # rerolled, however many loops
    monkeypatch.setattr(numeric, "NUMBA_LOOPS", 10**6)
    order = [3, 0, 6, 2, 7, 5, 1, 4]
    f = sweeps(14, lambda n: order, lambda n: order[::-1])
    g = sd.grad(f, wrt=names(8), simplify="none")
    source = g.source("numba")
    bodies = source.split("for _l in range(")[1:]
    assert bodies and max(b.count("            _t") for b in bodies) <= numeric.NUMBA_FUSED_OPS
    assert source.count("\n") < 1500
    x = np.random.default_rng(7).uniform(0.9999, 1.0001, (8, 50))  # products of 2^14 of them
    want = np.stack(compile_graph(g._adjoint, "numpy")(*x))
    assert np.isfinite(want).all() and 1e3 < np.abs(want).min() < np.abs(want).max() < 1e6
    np.testing.assert_allclose(g.lambdify("numba", stacked=True)(x), want, rtol=1e-13)

    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 1000)
    monkeypatch.setattr(numeric, "NUMBA_LOOPS", loops)
    stencil = sweeps(10, lambda n: range(n - 1), lambda n: range(1, n))
    g = sd.grad(stencil, wrt=names(40), simplify="none")  # 1,280 lines, 215 loops rerolled
    assert numeric._lines(g._adjoint) > 1000 and numeric._rerolling_pays(
        g._adjoint, reroll(g._adjoint)
    )
    assert "for _k in range(_n)" in g.source("numba")  # unrolled: 2 s, not 4 minutes


@pytest.mark.parametrize("lines", [10_000, 0], ids=["unrolled", "rerolled"])
def test_numba_stacked_form_equals_the_per_variable_form(monkeypatch, lines):
    """Stacked, the unrolled kernel reads the rows and writes one block (no stack of its
    outputs afterwards); the rerolled one reads the stack. Shapes and dtypes as numpy's."""
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", lines)
    g = sd.grad(rosenbrock, wrt=names(5))
    rows, stacked = g.lambdify("numba"), g.lambdify("numba", stacked=True)
    assert ("for _k in range(_n)" in stacked.__source__) == bool(lines)
    x = np.random.default_rng(3).uniform(-1, 1, (5, 3, 4))
    got = stacked(x)
    assert got.shape == (5, 3, 4) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.stack(rows(*x)))
    np.testing.assert_allclose(got[0], -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]))
    np.testing.assert_array_equal(stacked(x.transpose(0, 2, 1)), got.transpose(0, 2, 1))
    ints = np.arange(10).reshape(5, 2)
    np.testing.assert_array_equal(stacked(ints), np.stack(rows(*ints)))
    point = stacked([1, 1, 1, 1, 1])  # a list, one point: the minimum, gradient zero
    assert point.shape == (5,) and point.tolist() == [0.0] * 5
    with pytest.raises(sd.SymdiffError, match="complex"):
        stacked(x + 1j)


def test_numba_rerolled_edges_found_by_a_tester(monkeypatch):
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 0)
    total = compile_graph(sd.trace("x0 + x1 + x2 + x3"), "numba")(-0.0, -0.0, -0.0, -0.0)[0]
    assert total == 0.0 and math.copysign(1, total) == -1  # -0.0, as the lines add it
    constants = compile_graph(sd.trace("sin(1) + sin(1) + sin(1)"), "numba", stacked=True)
    assert constants(np.empty((0, 3))).tolist() == [[3 * math.sin(1)] * 3]  # no variables
    for backend in ("numba", "numpy"):
        with pytest.raises(sd.SymdiffError, match="arrays of numbers"):
            compile_graph(sd.trace("x0*x1 + x2"), backend, stacked=True)([[1, 2], [3], [4]])


def skipping_layer(*x):
    """Three units over six inputs: the first has no term for x6, the second none for x2 (a
    line of the same shape, over other inputs), the third multiplies x3 by a written zero."""
    rows = [[0.5, -1.0, 0.25, 2.0, -0.5, None], [1.0, None, -0.75, 0.5, 2.5, -1.0],
            [0.25, -0.5, 0.0, -2.0, 1.0, 0.75]]  # fmt: skip
    return sum(
        sd.tanh(sum(w * xi for w, xi in zip(row, x, strict=True) if w is not None)) for row in rows
    )


@pytest.mark.parametrize("lines", [10_000, 0], ids=["unrolled", "rerolled"])
def test_infinite_inputs_through_matrix_products_give_the_lines_numbers(monkeypatch, lines):
    """A matrix product combines the rows every lane of a line combines, no others: where a
    unit has no term for an input, no zero weight multiplies that input's infinity into a
    NaN, and the partials stay the finite ones the lines compute (tanh saturates). A zero the
    user wrote is a term in the lines too: NaN in every form."""
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", lines)
    g = sd.grad(skipping_layer, wrt=names(6), simplify="none")
    program = reroll(g._adjoint)
    matrices = [t for op in program.ops for t in getattr(op, "terms", ()) if hasattr(t, "matrix")]
    assert matrices  # the layer's sums are matrix products
    x = np.random.default_rng(8).uniform(-1, 1, (6, 4))
    x[1, 0], x[1, 1], x[2, 2] = np.inf, -np.inf, np.inf  # x2 = ±inf; x3 = inf
    scalar = compile_graph(g._adjoint, "math")
    with np.errstate(invalid="ignore"):  # 0.0 · inf, as written
        want = np.array([scalar(*map(float, x[:, p])) for p in range(4)]).T
        assert np.isfinite(want[:, :2]).all() and np.isnan(want[:, 2]).all()
        assert np.isfinite(want[:, 3]).all()
        for backend in ("numpy", "numba"):
            got = compile_graph(g._adjoint, backend, stacked=True)(x)
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
            rows = np.stack(compile_graph(g._adjoint, backend)(*x))
            np.testing.assert_allclose(rows, want, rtol=1e-13, atol=1e-15)
    # by hand: at x2 = inf the first and third units saturate, so only the second counts
    t2 = np.tanh(x[0, 0] - 0.75 * x[2, 0] + 0.5 * x[3, 0] + 2.5 * x[4, 0] - x[5, 0])
    np.testing.assert_allclose(want[0, 0], 1 - t2**2, rtol=1e-13)


def test_numba_large_batches_run_on_threads_with_the_same_numbers(monkeypatch):
    numba_or_skip()
    pools = []
    threads = numeric._threads
    monkeypatch.setattr(numeric, "_threads", lambda: pools.append(threads()) or pools[-1])
    g = sd.grad("x1*x2 + sin(x1) + exp(-x2**2)")
    fused = g.lambdify("numba")
    lines = fused.__source__.count("\n")
    size = 3 * numeric.SLICE_WORK // lines + 7  # three slices' work (and an odd size)
    x1, x2 = np.linspace(-3, 3, size), np.linspace(0, 1, size)
    monkeypatch.setattr(numeric, "_cpus", lambda: 1)
    serial = fused(x1, x2)
    assert not pools
    monkeypatch.setattr(numeric, "_cpus", lambda: 4)  # even on a small machine
    threaded = fused(x1, x2)
    assert len(pools) == 1  # the batch was split
    for a, b, c in zip(threaded, serial, g.lambdify("numpy")(x1, x2), strict=True):
        np.testing.assert_array_equal(a, b)  # slicing changes no number
        np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-15)  # libm and numpy: ulps
    assert fused(x1[:100], x2[:100])[0].tolist() == threaded[0][:100].tolist()
    assert len(pools) == 1  # a small batch runs on the calling thread


@pytest.mark.parametrize("lines", [10_000, 0], ids=["unrolled", "rerolled"])
def test_numba_reads_float64_rows_as_they_are_and_converts_the_rest(monkeypatch, lines):
    """Contiguous float64 rows of one length go to the kernel unconverted; strided,
    big-endian, float32 or integer rows are converted first. The numbers are the same."""
    numba_or_skip()
    monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", lines)
    g = sd.grad(rosenbrock, wrt=names(5))
    f = g.lambdify("numba")
    x = np.random.default_rng(12).uniform(-1, 1, (5, 40))
    want = np.stack(g.lambdify("numpy")(*x))
    np.testing.assert_allclose(-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), want[0])
    converted = []
    real_array = numeric._real_array
    monkeypatch.setattr(numeric, "_real_array", lambda a: converted.append(a) or real_array(a))
    np.testing.assert_array_equal(np.stack(f(*x)), want)
    assert converted == []
    strided = np.repeat(x[0], 2)[::2]  # a stride of two numbers
    for other in (strided, x[0].astype(">f8"), x[0][:, None][:, 0]):  # the last: plain
        converted.clear()
        np.testing.assert_array_equal(np.stack(f(other, *x[1:])), want)
        assert len(converted) == (0 if other.strides == (8,) and other.dtype == np.float64 else 5)
    small = x.astype(np.float32)
    np.testing.assert_allclose(np.stack(f(*small)), np.stack(g.lambdify("numpy")(*small)))
    short = [x[0], np.array([0.5]), *x[2:]]  # plain rows of other lengths: broadcast
    np.testing.assert_array_equal(np.stack(f(*short)), np.stack(g.lambdify("numpy")(*short)))
    with pytest.raises(sd.SymdiffError, match="do not broadcast"):
        f(x[0], x[1, :3], *x[2:])
    at = [[1, 2]] * 5  # lists of integers: the minimum, and 2 everywhere
    assert np.stack(f(*at))[:, 1].tolist() == [1602.0, 1202.0, 1202.0, 1202.0, -400.0]
    assert not np.stack(f(*at))[:, 0].any()


def test_numba_refuses_complex_and_other_array_types():
    numba_or_skip()
    f = sd.grad("x1*x2 + sin(x1)").lambdify("numba")
    for z in (np.array([1 + 2j]), 1j):
        with pytest.raises(sd.SymdiffError, match="imaginary part"):
            f(z, 1.0)
    with pytest.raises(sd.SymdiffError, match="numbers, not arrays of <U1"):
        f(np.array(["a"]), 1.0)
    with pytest.raises(sd.SymdiffError, match=r"use the numpy backend .* for dask"):
        f(np.ma.masked_array([1.0], mask=[True]), 1.0)
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(np.ones(10), chunks=5)
    with pytest.raises(sd.SymdiffError, match=r"not Array; use the numpy backend"):
        f(lazy, lazy)
    with pytest.raises(TypeError, match="takes 2 arguments, not 1"):
        f(1.0)


def test_complex_input_where_a_partial_is_real_only_is_a_typed_error():
    """numpy and JAX define heaviside (the partials of abs, max, min, relu) for real numbers
    only; the error says so, and complex numbers still work elsewhere."""
    g = sd.grad("abs(a)*b + max(a, b)")
    z = np.array([0.3 + 0.2j, 0.5 - 0.1j])
    backends = ["numpy"] + (["jax"] if importlib.util.find_spec("jax") else [])
    for backend in backends:
        with pytest.raises(sd.SymdiffError, match="defined for real numbers only"):
            g.lambdify(backend)(z, z)
        with pytest.raises(sd.SymdiffError, match="defined for real numbers only"):
            g.lambdify(backend, stacked=True)(np.stack([z, z]))
    with pytest.raises(TypeError, match="takes 2 arguments, not 1"):
        g.lambdify()(z)
    d1, d2 = sd.grad("sin(a)*b").lambdify()(z, z)
    np.testing.assert_allclose(d1, np.cos(z) * z, rtol=1e-15)
    np.testing.assert_allclose(d2, np.sin(z), rtol=1e-15)


def test_the_math_backend_takes_real_numbers_only():
    f = sd.grad("x1*x2 + sin(x1)").lambdify("math")
    for bad, kind in ((np.array([1.0, 2.0]), "ndarray"), (1j, "complex numbers"), ("2", "str")):
        with pytest.raises(sd.SymdiffError, match=f"takes real numbers, not {kind}"):
            f(bad, 3.0)
    assert f(np.array(2.0), np.float32(3)) == pytest.approx((3 + math.cos(2), 2.0), rel=1e-15)
    assert f(True, fractions.Fraction(1, 2)) == pytest.approx((0.5 + math.cos(1), 1.0))
    assert f(np.True_, decimal.Decimal("0.5")) == pytest.approx((0.5 + math.cos(1), 1.0))
    assert f(sympy.pi, 2) == pytest.approx((1.0, math.pi), rel=1e-15)
    with pytest.raises(sd.SymdiffError, match=r"at \(-1.0, 2.0\): math domain error"):
        sd.grad("log(x1)*x2").lambdify("math")(-1.0, 2.0)
    # Python's ** gives a complex number where numpy gives nan: the math backend uses math.pow
    for text in ("x^0.5", "abs(x^0.5)", "sin(x^0.5)", "x^(1/3)"):
        with pytest.raises(sd.SymdiffError, match=r"at \(-1.0,\): math domain error"):
            sd.grad(text).lambdify("math")(-1.0)
    with pytest.raises(sd.SymdiffError, match="math domain error"):  # numpy: sqrt(-inf) = nan
        sd.grad("atan(x^0.5)").lambdify("math")(-math.inf)
    with pytest.raises(sd.SymdiffError, match="int too large to convert to float"):
        sd.grad("x^2").lambdify("math")(10**400)
    # relu(-0.0) is +0.0, as np.maximum(-0.0, 0.0) gives: atan2 sees the sign (a reviewer)
    args = (-0.0, -1.5)
    g = sd.grad("atan2(relu(x), y)*x", wrt=["x", "y"], simplify="none")
    assert g.lambdify("math")(*args) == tuple(g.lambdify()(*map(np.array, args)))
    assert math.copysign(1.0, g.lambdify("math")(*args)[0]) == 1.0
    assert sd.grad("x^3").lambdify("math")(2) == (12.0,)
    assert type(sd.grad("x^3").lambdify("math")(2)[0]) is float
    # Python raises ZeroDivisionError where numpy gives inf (found by a fuzz of special values)
    for text, args in (("x/y", (1.0, 0.0)), ("x/y", (0.0, 0.0)), ("x + y^(-2)", (1.0, 0.0))):
        with pytest.raises(sd.SymdiffError, match=r"math backend cannot compute this at \("):
            sd.grad(text).lambdify("math")(*args)


def test_constants_compute_in_floats_and_must_fit_in_one():
    """numpy and numba lines compute in floats, never int64, where (2+1)^-2 raised numpy's
    ValueError and 3^70 would overflow; a constant beyond a float (1e400) is refused, where
    the generated code read `inf` as a name (a reviewer)."""
    backends = ["numpy", "math"] + (["numba"] if importlib.util.find_spec("numba") else [])
    for backend in backends:
        one = 1.0 if backend == "math" else np.array([1.0])
        for text, want in (("x*(2+1)^(-2)", 1 / 9), ("x*(2+1)^70", 3.0**70)):
            assert np.ravel(sd.grad(text).lambdify(backend)(one)[0])[0] == want, backend
        with pytest.raises(sd.SymdiffError, match="1e400 does not fit in a 64-bit float"):
            sd.grad("x*1e400^(-1)").lambdify(backend)
    assert "m.mul(3.0, " in sd.grad("3*x^2 + x").source()


def test_numba_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    g = sd.grad("x1*x2 + sin(x1)")
    with pytest.raises(sd.SymdiffError) as err:
        g.lambdify("numba")
    assert str(err.value) == "the numba backend needs numba: pip install 'symdiff[numba]'"
    assert "for _k in range(_n):" in g.source("numba")  # the source needs no numba


def test_numba_source_is_one_loop_over_the_points_with_the_same_lines():
    g = sd.grad("x1*x2 + sin(x1)")
    source = g.source("numba")
    assert source.splitlines()[:5] == [
        "def gradient(_n, _in0, _in1, _out0, _out1):",
        '    """gradient of x1*x2 + sin(x1) (generated by symdiff, backend numba)."""',
        "    for _k in range(_n):  # one point at a time: the whole program, in registers",
        "        x1 = _in0[_k]",
        "        x2 = _in1[_k]",
    ]
    assert "        w6 = m.cos(x1)  # w̄1 += w̄4·∂w4/∂w1 for w4 = sin(w1)" in source
    assert source.endswith("        _out0[_k] = w7\n        _out1[_k] = x1")
    # the body is the math backend's, line for line (one function writes both)
    body = [line.strip() for line in g.source("math").splitlines() if "  # w" in line]
    assert body == [line.strip() for line in source.splitlines() if "  # w" in line]
    # constants are floats, except a small integer power, which numba unrolls
    powers = numeric.to_source(sd.trace("3*x**2 + 2**x"), "numba")
    assert "x ** 2  #" in powers and "3.0 * " in powers and "2.0 ** x" in powers
