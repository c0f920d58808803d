"""Rerolling and the stacked form: one row per variable, repeated lines as array operations."""

import gc
import math
import re
import threading
import warnings

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff as sd
from symdiff import numeric, vectorise
from symdiff.vectorise import (
    Joined,
    Lanes,
    Linear,
    Mixed,
    Pick,
    Scaled,
    join_fragments,
    reroll,
    sliced,
    uniform,
)


def rosenbrock(*x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def chain(*x):
    """z = sin(z)·x_i + cos(z): every line depends on the one before, nothing repeats."""
    z = x[0]
    for xi in x:
        z = sd.sin(z) * xi + sd.cos(z)
    return z


def rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    """The textbook gradient, written out by hand (rows: variables)."""
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def names(n):
    return [f"x{i}" for i in range(1, n + 1)]


def test_rosenbrock_rerolls_into_the_same_few_array_operations_at_any_size():
    small = reroll(sd.grad(rosenbrock, wrt=names(10))._adjoint)
    large = reroll(sd.grad(rosenbrock, wrt=names(100))._adjoint)
    assert len(small.ops) == len(large.ops) == 8  # against 107 and 1,187 scalar lines
    assert large.widest == 100
    assert str(large.ops[0]).startswith("v1 = v0[0:99]^2  # 99 × ")


def tanh_layer(*x, decimals=3):
    """Sum of tanh(W·x + b) over 10 units, the weights fixed as in the benchmark (where they
    have fewer decimals, more inputs have the same weight in two units)."""
    w = np.round(np.random.default_rng(len(x)).uniform(-1, 1, (10, len(x) + 1)), decimals)
    units = []
    for j in range(10):
        pre = float(w[j, -1])
        for i, xi in enumerate(x):
            pre = pre + float(w[j, i]) * xi
        units.append(sd.tanh(pre))
    return sum(units), w


def tanh_layer_gradient(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Written out by hand: W^T (1 - tanh(W x + b)^2), one column per point."""
    t = np.tanh(w[:, :-1] @ x + w[:, -1:])
    return w[:, :-1].T @ (1 - t * t)


@pytest.mark.parametrize("n", [20, 200])
def test_a_tanh_layer_rerolls_into_two_matrix_products_at_any_size(n):
    _, w = tanh_layer(*range(n))
    g = sd.grad(lambda *x: tanh_layer(*x)[0], wrt=names(n))
    program = reroll(g._adjoint)
    products = [
        op for op in program.ops if any(isinstance(t, Mixed) for t in getattr(op, "terms", ()))
    ]
    # against 2,114 scalar lines at n = 100; a few small ones where two inputs share a weight
    assert len(program.ops) <= 12
    assert products[0].size == 10 and max(op.size for op in products) >= 0.9 * n
    assert str(program.ops[0]).startswith(f"v1 = [{w[0, -1]}, {w[1, -1]}, ")
    x = np.random.default_rng(6).uniform(-2, 2, (n, 500))
    want = tanh_layer_gradient(x, w)
    np.testing.assert_allclose(g.lambdify(stacked=True)(x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.stack(g.lambdify()(*x)), want, rtol=1e-12, atol=1e-12)


def test_the_fragments_of_a_layer_join_into_one_line_with_the_same_numbers(monkeypatch):
    """Weights of one decimal: inputs share a weight between units, and their partials are
    lines of a few lanes each, one per pattern of shared weights; joined, they are one line
    that computes exactly what they computed."""
    n = 40
    _, w = tanh_layer(*range(n), decimals=1)
    g = sd.grad(lambda *x: tanh_layer(*x, decimals=1)[0], wrt=names(n))
    program = reroll(g._adjoint)
    joined = join_fragments(program)
    before = {op.name: op for op in program.ops}
    fragments = [op for op in program.ops if op.name not in {op.name for op in joined.ops}]
    lines = [op for op in joined.ops if op.name not in before and isinstance(op, Linear)]
    assert len(fragments) >= 10 and 1 <= len(lines) <= 3  # one line per count of terms
    assert sum(op.size for op in fragments) == sum(op.size for op in lines)
    assert {type(op) for op in joined.ops if op.name not in before} == {Joined, Linear}
    x = np.random.default_rng(8).uniform(-2, 2, (n, 300))
    want = tanh_layer_gradient(x, w)
    f = g.lambdify(stacked=True)
    whole_arrays = re.compile(r"= m\.join\(\[(v\d+, )+v\d+\]\)  # \d+ rows")
    assert whole_arrays.search(f.__source__)
    np.testing.assert_allclose(f(x), want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(numeric, "join_fragments", lambda program: program)
    unjoined = g.lambdify(stacked=True)
    assert not whole_arrays.search(unjoined.__source__)
    np.testing.assert_array_equal(f(x), unjoined(x))


def test_one_coefficient_stands_for_all_lanes_only_where_they_are_the_same():
    assert uniform([2.5, 2.5, 2.5]) == (2.5,)
    assert uniform((0.0, -0.0)) == (0.0, -0.0)  # -0.0·x + -0.0 is -0.0; 0.0·x + -0.0 is 0.0
    assert math.copysign(1, uniform([-0.0, -0.0])[0]) == -1


def test_a_matrix_product_the_outputs_alone_read_is_written_into_the_result(monkeypatch):
    """The layer's partials are rows of one matrix product, and the other rows (a fragment,
    a constant): each lands in its place, in one call or chunk by chunk, for numpy and
    (joined lazily) for dask."""
    n = 60
    _, w = tanh_layer(*range(n))
    g = sd.grad(lambda *v: 2.5 * v[0] + tanh_layer(*v[1:])[0], wrt=["y", *names(n)])
    f = g.lambdify(stacked=True)
    product = next(line for line in f.__source__.splitlines() if ", out)  #" in line)
    assert (
        "m.combine_into(W6_0, [(1, 28), (30, 31)], v4, out)" in product
        and "(in the result's rows)" in product
    )
    assert "return m.place(v" in f.__source__ and "(0, m.full(" in f.__source__

    def gradient(x):
        return np.concatenate([np.full((1, x.shape[1]), 2.5), tanh_layer_gradient(x[1:], w)])

    x = np.random.default_rng(12).uniform(-2, 2, (n + 1, 1_000))
    want = gradient(x)
    np.testing.assert_allclose(f(x), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.stack(g.lambdify()(*x)), want, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(numeric, "CHUNK", 64)
    monkeypatch.setattr(numeric, "CHUNK_LEAST", 64)
    chunked = g.lambdify(stacked=True)
    np.testing.assert_allclose(chunked(x), want, rtol=1e-12, atol=1e-12)
    z = x[:, :200] + 0.25j
    np.testing.assert_allclose(chunked(z), gradient(z), rtol=1e-12, atol=1e-12)
    da = pytest.importorskip("dask.array")
    lazy = f(da.from_array(x, chunks=(n + 1, 250)))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(scheduler="synchronous"), want, rtol=1e-12, atol=1e-12)


def test_jax_computes_the_layers_product_as_the_result_and_writes_the_rest_over_it():
    """As numpy does: the product's matrix has zero rows where the other outputs go, which are
    written over them, in place (XLA: no slice of the product copied, nothing joined)."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    n = 60
    _, w = tanh_layer(*range(n))
    g = sd.grad(lambda *v: 2.5 * v[0] + tanh_layer(*v[1:])[0], wrt=["y", *names(n)])
    source = g.source("jax", stacked=True)
    assert "v6 = m.combine(W6_0, v4)  # " in source and "(in the result's rows)" in source
    assert "return m.place(v6, [(0, m.full(" in source
    x = np.random.default_rng(12).uniform(-2, 2, (n + 1, 1_000))
    want = np.concatenate([np.full((1, x.shape[1]), 2.5), tanh_layer_gradient(x[1:], w)])
    np.testing.assert_allclose(g.lambdify("jax", stacked=True)(x), want, rtol=1e-12, atol=1e-12)
    hlo = jax.jit(numeric._load(source, "jax", "gradient")).lower(x).compile().as_text()
    assert "concatenate" not in hlo[hlo.index("\nENTRY") :]


def test_the_lines_are_compiled_only_when_a_call_runs_them(monkeypatch):
    """Where arrays run through the rerolled program, the line-by-line function (3 MB of
    source for the tanh layer at n = 1000) is compiled only for a call that needs it: one
    without arguments."""
    loaded = []
    load = numeric._load
    monkeypatch.setattr(
        numeric, "_load", lambda source, *a: loaded.append(source) or load(source, *a)
    )
    f = sd.grad(rosenbrock, wrt=names(30)).lambdify()
    x = np.random.default_rng(14).uniform(-1, 1, (30, 50))
    np.testing.assert_allclose(np.stack(f(*x)), rosenbrock_gradient(x), rtol=1e-12, atol=1e-9)
    assert len(loaded) == 1 and "def f(X, out=None):" in loaded[0]  # the rerolled program only
    assert f.__source__ == loaded[0]
    constant = sd.trace(" + ".join(f"sin({k})" for k in range(2, 12)))  # no variables
    monkeypatch.setattr(numeric, "_rerolling_pays", lambda graph, program: True)
    g = numeric.compile_graph(constant, "numpy")
    assert len(loaded) == 2
    assert g() == (pytest.approx(sum(math.sin(k) for k in range(2, 12)), rel=1e-15),)
    assert len(loaded) == 3 and "w1 = m.sin(2" in loaded[2]  # compiled now, and once
    assert g() == g()
    assert len(loaded) == 3


def test_a_product_written_into_the_result_raises_no_flag_the_lines_do_not(monkeypatch):
    """Zero rows of the product's matrix stand where other outputs go; times an infinity they
    would raise numpy's invalid flag (0·inf), which the lines never compute (the sum adds
    in BLAS's order: an ulp apart from the lines). Found by a reviewer."""
    n = 100
    text = "a*(" + " + ".join(f"{0.5 + i / 100}*x{i}" for i in range(n)) + ") + 2*b"
    g = sd.grad(text, wrt=["a", "b"])  # ∂/∂a: a matrix product over the parameters x
    assert "m.combine_into(" in g.source("numpy", stacked=True)
    x = np.ones((n + 2, 300))
    x[5, 7] = np.inf
    want = np.array([g.lambdify("math")(*x[:, k]) for k in (0, 7)]).T
    with np.errstate(invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(g.lambdify(stacked=True)(x)[:, [0, 7]], want, rtol=1e-14)
        np.testing.assert_allclose(np.stack(g.lambdify()(*x))[:, [0, 7]], want, rtol=1e-14)
        monkeypatch.setattr(numeric, "CHUNK", 64)
        monkeypatch.setattr(numeric, "CHUNK_LEAST", 64)
        np.testing.assert_allclose(g.lambdify(stacked=True)(x)[:, [0, 7]], want, rtol=1e-14)
    assert want[0, 1] == np.inf and want[1, 1] == 2.0


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_subclasses_of_numpy_arrays_get_the_numbers_plain_arrays_get(monkeypatch):
    """Masked arrays and `np.matrix` multiply by the layer's matrices as they did before
    `matmul` (found by a reviewer), in one call and chunk by chunk."""
    n = 20
    _, w = tanh_layer(*range(n))
    g = sd.grad(lambda *x: tanh_layer(*x)[0], wrt=names(n))
    x = np.random.default_rng(16).uniform(-1, 1, (n, 300))
    want = tanh_layer_gradient(x, w)
    for chunk in (numeric.CHUNK, 64):
        monkeypatch.setattr(numeric, "CHUNK", chunk)
        monkeypatch.setattr(numeric, "CHUNK_LEAST", min(chunk, numeric.CHUNK_LEAST))
        f = g.lambdify(stacked=True)
        masked = np.ma.masked_array(x, mask=np.zeros_like(x, bool))
        np.testing.assert_allclose(f(masked), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f(np.asmatrix(x)), want, rtol=1e-12, atol=1e-12)


def test_signs_of_zero_survive_lanes_joined_and_coefficients_shared():
    """`b - 0.0·z` has the partial -0.0 in z, `a + 0.0·y` +0.0 in y: rerolled, joined or
    not, each keeps its sign, as the math backend computes it (found by a reviewer)."""

    def f(a, b, y, z, x0, x1, x2):
        return sd.tanh(a + 0.0 * y) + sd.sin(b - 0.0 * z) + rosenbrock(x0, x1, x2)

    def alternating(*v):  # lanes of one line with coefficients +0.0 and -0.0 alternating
        return sum(
            sd.tanh(v[i] - 0.0 * v[8 + i] if i % 2 else v[i] + 0.0 * v[8 + i]) for i in range(8)
        )

    for function, n in ((lambda *v: f(*v), 7), (alternating, 16)):
        g = sd.grad(function, wrt=names(n))
        x = np.full((n, 1), 0.3)
        want = np.signbit(g.lambdify("math")(*x[:, 0]))
        assert want.any() and not want.all()
        assert (np.signbit(g.lambdify(stacked=True)(x)[:, 0]) == want).all()
        assert (np.signbit(np.stack(g.lambdify()(*x))[:, 0]) == want).all()


@pytest.mark.parametrize("shape", [(3, 400), (40, 8)])  # wide: multiplied as points x lanes
def test_combine_multiplies_a_matrix_into_its_place(shape):
    rng = np.random.default_rng(13)
    matrix = rng.uniform(-1, 1, shape)
    rows = rng.uniform(-1, 1, (shape[1], 2, 90))[:, :, ::3]  # a strided batch of 2 x 30
    want = np.einsum("ij,j...->i...", matrix, rows)
    np.testing.assert_allclose(numeric._combine(matrix, rows), want, rtol=1e-13)
    flat = rows.reshape(shape[1], 60)
    result = np.full((shape[0] + 2, 100), np.nan)
    into = result[1:-1, 20:80]  # a chunk of the result's rows
    assert numeric._combine(matrix, flat, into) is into
    np.testing.assert_allclose(into, want.reshape(shape[0], 60), rtol=1e-13)
    assert np.isnan(result[0]).all() and np.isnan(result[:, :20]).all()  # nothing else
    into[...] = np.nan
    assert numeric._combine(matrix, np.ma.masked_array(flat), into) is into  # (by tensordot)
    np.testing.assert_allclose(into, want.reshape(shape[0], 60), rtol=1e-13)
    z = rows + 1j
    np.testing.assert_allclose(
        numeric._combine(matrix, z), np.einsum("ij,j...->i...", matrix, z), rtol=1e-13
    )


LINEAR = ["0*x + y", "x + y - y", "2*(3*x)/4 - y", "-(x - 2*y) + 1", "x/0.5 + y/3 - (x + y)",
          "100*(y - x**2)**2 + (1 - x)**2", "pi*x - E*(y + x)",
          "(x + y)*(x - y) + 2*(x + y)"]  # fmt: skip


@pytest.mark.parametrize("text", LINEAR)
def test_linear_combinations_keep_what_the_lines_compute_at_special_values(text):
    """Zero coefficients stay (0·inf is NaN, as on the line-by-line program), and NaN and
    infinities come out where they did."""
    program = sd.adjoint_program(sd.trace(text))  # the value and both partials
    special = [-np.inf, -2.0, -0.5, -0.0, 0.0, 0.5, 3.0, np.inf, np.nan]
    x = np.array(np.meshgrid(special, special)).reshape(2, -1)
    rerolled = numeric._load(numeric._stacked_source(program, "numpy", "f"), "numpy")
    with np.errstate(all="ignore"):
        scalar = numeric.compile_graph(program, "numpy")
        want = np.stack(scalar(*x))
        got = rerolled(x)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, equal_nan=True)


def doubling(x, y):
    """s = s + s, forty times: each line reads the one before twice."""
    s = x
    for _ in range(40):
        s = s + s
    return sd.sin(s) * y


# found by a tester: a hang (doubling), overflowing coefficients, 2x - x at inf, signed zeros
AGREEMENT = [
    (doubling, [[1e-12, -3e-13], [2.0, 1.0]]),  # sin(2^40·x): moderate arguments
    (" + ".join(f"sin(x*1e200*1e200/1e200/1e200 + {k}*y)" for k in range(1, 11)), [[0.5], [1.0]]),
    (lambda x, y: x / 1e-300 / 1e-10 + y, [[1.0, -0.0], [2.0, 3.0]]),  # (its adjoint: 1e310)
    (" + ".join(f"({k + 1}*x - {k}*x)*y" for k in range(1, 9)), [[np.inf, 2.0], [1.0, 1.0]]),
    (" + ".join(f"atan2(x - x, -{k}*y)" for k in range(1, 9)), [[-2.0, 2.0], [1.0, 1.0]]),
    # x - y scaled, not 3x - 3y: at 1e16 + 2 and 1e16 that is 6, not 8
    (" + ".join(f"sin({k}*(x - y))" for k in range(3, 9)), [[1e16 + 2, 3.0], [1e16, 3.0]]),
    # a sum subtracted stays a line: -(x - y) at x = y is -0.0, and -x + y would be +0.0
    (lambda x, y: -(x - y), [[1.0, 2.0], [1.0, 3.0]]),
    (lambda x, y: (x - y) * x + (x - y) * -x, [[1.0, 2.0], [5.0, 3.0]]),  # its ∂/∂y: -(x - x)
]


@pytest.mark.parametrize(("function", "x"), AGREEMENT)
def test_the_rerolled_program_computes_what_the_lines_compute(function, x):
    """The same numbers, the same NaN and infinities, the same signs of zero (a sum in another
    order leaves a few ulps of its terms where they cancel; a matrix product sums from +0)."""
    graph = sd.trace(function, wrt=["x", "y"])
    try:
        programs = [graph, sd.adjoint_program(graph)]
    except sd.DomainError:  # a derivative constant that is not finite: refused, typed
        programs = [graph]
    for program in programs:
        rerolled = numeric._load(numeric._stacked_source(program, "numpy", "f"), "numpy")
        lines = numeric._load(numeric.to_source(program, "numpy"), "numpy")
        with np.errstate(all="ignore"):
            got, want = rerolled(np.array(x)), np.stack(lines(*np.array(x)))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, equal_nan=True)
        zeros = (got == 0) & (want == 0)
        assert (np.signbit(got) == np.signbit(want))[zeros].all()


def test_a_short_sum_of_one_lane_adds_in_the_lines_order():
    """Found by a tester: `z + x + y` was a matrix product W·v0, which added x + y first (1e308
    where the lines overflow to inf), and `x - y + z - w` gave NaN or inf by the batch's size."""
    for function, column in [
        (lambda x, y, z: z + x + y, [1e308, -1e308, 1e308]),
        (lambda x, y, z, w: x - y + z - w, [np.inf, 1e308, -1e308, 1e308]),
        (lambda x, y, z: x + y + z, [-0.0, -0.0, -0.0]),
    ]:
        graph = sd.trace(function)
        rerolled = numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")
        lines = numeric._load(numeric.to_source(graph, "numpy"), "numpy")
        for points in (1, 2, 50):
            x = np.repeat(np.array(column)[:, None], points, axis=1)
            with np.errstate(all="ignore"):
                got, want = rerolled(x), np.stack(lines(*x))
            np.testing.assert_array_equal(got, want)
            assert (np.signbit(got) == np.signbit(want)).all()


def test_a_zero_constant_is_kept_where_it_sets_the_sign_of_zero():
    """`0.0 + k·x` at x = -0.0 is +0.0, so atan2 gives π, not -π. (Only the value: the partial
    by y sums zeros in a matrix product, which gives +0.0 in numpy, as documented.)"""
    text = " + ".join(f"atan2(0.0 + {k}*x, -y)" for k in range(1, 9))
    graph = sd.trace(text, wrt=["x", "y"])
    x = np.array([[-0.0, 0.0], [1.0, 1.0]])
    rerolled = numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")
    lines = numeric._load(numeric.to_source(graph, "numpy"), "numpy")
    np.testing.assert_array_equal(rerolled(x), np.stack(lines(*x)))
    assert rerolled(x)[0, 0] == pytest.approx(8 * math.pi)


def test_sums_add_in_the_order_the_lines_add_them():
    """Found by a tester: w118 + (w98 + w95), with w98 = -w95 = 3.7e199, is w118 (-1.37) when
    the huge terms cancel first, as the lines add them, and 0 in another order."""
    body = "((x{j})^-1 + sign(x{j})) / sigmoid(x{i}/x{i})"
    text = " + ".join(body.format(i=i, j=i + 1) for i in range(5))
    program = sd.adjoint_program(sd.trace(text))  # variables x1, x0, x2, x3, x4, x5
    x = np.array([[1.0], [-3.9], [1e-200], [np.nan], [1e-200], [0.35]])
    rerolled = numeric._load(numeric._stacked_source(program, "numpy", "f"), "numpy")
    lines = numeric._load(numeric.to_source(program, "numpy"), "numpy")
    with np.errstate(all="ignore"):
        got, want = rerolled(x), np.stack(lines(*x))
    assert want[1, 0] == pytest.approx(-1.3678794411714423, rel=1e-15)
    np.testing.assert_array_equal(got, want)


def test_terms_from_different_arrays_add_in_the_lines_order():
    """`exp(x) + y·y - exp(w)` reads two exps and a product: (e + 1) - e, with e ≈ 1e16, is 2
    in floating point (e + 1 rounds up to e + 2), as the lines compute it; the exps first
    would give 1. Found on a GPU run, where the jax stacked form gave 1."""
    graph = sd.trace("exp(x) + y*y - exp(w)")
    e = math.log(1e16)
    (want,) = numeric.compile_graph(graph, "math")(e, 1.0, e)
    assert want == 2.0  # the line-by-line program, in plain floats
    rerolled = numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")
    assert rerolled(np.array([[e], [1.0], [e]]))[0, 0] == want
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    stacked = numeric.compile_graph(graph, "jax", stacked=True)
    assert float(stacked(np.array([[e], [1.0], [e]]))[0, 0]) == want


def test_lines_of_constants_only_become_rows_of_the_batch():
    """`1^2` and `3 + w` depend on no variable: numbers, made arrays of the batch's shape."""
    g = sd.grad("log(1 + (1)^2) * (x / (3 + (1)^2)) + y", simplify="none")
    rerolled = numeric._load(numeric._stacked_source(g._adjoint, "numpy", "f"), "numpy")
    want = [[math.log(2) / 4] * 3, [1.0] * 3]
    np.testing.assert_allclose(rerolled(np.zeros((2, 3))), want, rtol=1e-15)
    assert rerolled(np.zeros(2)).tolist() == pytest.approx([math.log(2) / 4, 1.0], rel=1e-15)


def test_a_saturated_layer_has_a_gradient_of_exactly_zero():
    """1 - tanh² is 0 where tanh is ±1; its constant is not multiplied into the weights, where
    Σw - Σw·tanh² would leave rounding noise."""
    g = sd.grad("tanh(0.3*x + 0.7*y - 0.1) + tanh(0.9*x - 0.2*y + 0.4) + tanh(0.1*x + 0.1*y)")
    x = np.array([[500.0, -600.0, 900.0], [400.0, -300.0, 800.0]])  # every unit saturated
    rerolled = numeric._load(numeric._stacked_source(g._adjoint, "numpy", "f"), "numpy")
    assert (rerolled(x) == 0.0).all() and (np.stack(g.lambdify()(*x)) == 0.0).all()


def test_a_chain_has_nothing_to_reroll_and_stays_one_lane_per_line():
    program = reroll(sd.grad(chain, wrt=names(6))._adjoint)
    assert program.widest == 6 and all(op.size == 1 for op in program.ops)


@pytest.mark.parametrize(
    ("lanes", "index"),
    [((0, 1, 2), ""), ((1, 2), "[1:3]"), ((2,), "[2:3]"), ((2, 1, 0), "[2::-1]"),
     ((0, 2), "[0:3:2]"), ((2, 0, 1), "[(2, 0, 1),]")],
)  # fmt: skip
def test_picks_print_as_slices_where_they_can(lanes, index):
    pick = Pick("v3", lanes, 3)
    assert pick.index == index


def run_stacked(graph):
    """The stacked numpy program on 50 points, special values among them."""
    rng = np.random.default_rng(len(graph.nodes))
    x = rng.normal(0, 2, (len(graph.variables), 50))
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308]
    x[:, :6] = special  # in every row, and scattered
    x[rng.integers(0, len(x), 20), rng.integers(6, 50, 20)] = rng.choice(special, 20)
    with np.errstate(all="ignore"):
        return numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")(x)


UNITS = {"sin": "sin({})", "cos": "cos({})", "exp": "exp({}/4)", "tanh": "tanh({})", "sq": "{}^2"}


def lane_picks(program):
    """Every pick an operation that `sliced` may cut reads lane by lane (a line with a matrix
    product is not cut), and the outputs."""
    for op in program.ops:
        if isinstance(op, Lanes):
            yield from (a for a in op.args if isinstance(a, Pick))
        elif isinstance(op, Linear) and not any(isinstance(t, Mixed) for t in op.terms):
            yield from (t.pick for t in op.terms)
    yield from (o for o in program.outputs if isinstance(o, Pick))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(sorted(UNITS)), st.integers(1, 7), st.integers(1, 7),
                       st.sampled_from([-2, 0.5, 1, 3])), min_size=2, max_size=24),
    st.lists(st.integers(1, 7), max_size=4),
    st.sampled_from([1, 2, 3, 8, 10**6]),
)  # fmt: skip
def test_sliced_programs_read_slices_and_compute_the_same_numbers(terms, units, cuts):
    """Random sums of c·u(x_i)·x_j over 7 inputs, and of units tanh(W·x)·sin(x_k) (a dense
    layer: matrix products beside lanes picked in any order). Cut in at most `cuts` pieces an
    operation, the program reads its picks as slices where it was cut, and the numbers are the
    uncut program's bit for bit (NaN where it has NaN, infinities, signs of zero)."""
    w = np.round(np.random.default_rng(7).uniform(-1, 1, (4, 7)), 2)
    layer = [
        f"tanh({' + '.join(f'{w[u, i]}*x{i + 1}' for i in range(7))})*sin(x{k})"
        for u, k in enumerate(units)
    ]
    text = " + ".join([f"{c}*{UNITS[u].format(f'x{i}')}*x{j}" for u, i, j, c in terms] + layer)
    graph = sd.grad(text, wrt=names(7), simplify="none")._adjoint
    program = reroll(graph)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vectorise, "CUTS", cuts)
        cut = sliced(program)
        got = run_stacked(graph)
        patch.setattr(numeric, "sliced", lambda program: program)
        want = run_stacked(graph)
    sizes = {"v0": program.inputs} | {op.name: op.size for op in cut.ops}
    picks = [p for op in cut.ops for p in vectorise.reads(op)] + list(lane_picks(cut))
    assert all(p.source in sizes and max(p.lanes) < p.size == sizes[p.source] for p in picks)
    if cuts == 10**6:  # never too many: every pick a slice
        assert not [str(p) for p in lane_picks(cut) if p.index.startswith("[(")]
    # each operation's lines, in pieces of at most `cuts`, each line computed once
    of = {node.name: op for op in program.ops for node in op.lines}
    grouped = {}
    for op in (op for op in cut.ops if not isinstance(op, Joined)):
        grouped.setdefault(of[op.lines[0].name].name, []).append(op)
    assert grouped.keys() == {op.name for op in program.ops}
    for op in program.ops:
        assert len(grouped[op.name]) <= cuts
        assert [n for piece in grouped[op.name] for n in piece.lines] == list(op.lines)
    np.testing.assert_array_equal(got, want)
    # (not NaN's sign: a coefficient -1 per lane is `-v` when all lanes have it, which flips
    # it, and `C·v` otherwise, which keeps it on x86)
    numbers = ~np.isnan(want)
    assert (np.signbit(got) == np.signbit(want))[numbers].all()


def test_a_line_with_a_matrix_product_is_not_cut():
    """Found by a reviewer: `v10 = W·v6 + v9` (3 lanes) was cut into 2 and 1 lanes, whose
    matrix products BLAS adds in another order than the whole one's (122 of 4,000 numbers
    differed by an ulp or two)."""
    w = [[0.3, -0.7, 0.2, 0.9], [-0.4, 0.5, 0.8, -0.1], [0.6, 0.1, -0.9, 0.3]]

    def f(*x):
        s = [sd.sin(x[3]), sd.sin(x[1]), sd.sin(x[0])]
        units = (sd.tanh(sum(w[j][i] * x[i] for i in range(4))) for j in range(3))
        return sum(u * s[(2 * j + 1) % 3] for j, u in enumerate(units))

    graph = sd.grad(f, wrt=names(4), simplify="none")._adjoint
    program = reroll(graph)
    products = [
        op
        for op in program.ops
        if isinstance(op, Linear) and {type(t) for t in op.terms} == {Mixed, Scaled}
    ]
    assert [str(op).split("  #")[0] for op in products] == ["v10 = W·v6 + v9"]
    cut = [op for op in sliced(program).ops if products[0].lines[0] in getattr(op, "lines", ())]
    assert cut[0].size == 3 and isinstance(cut[0].terms[0], Mixed)
    x = np.random.default_rng(1).normal(0, 2, (4, 1000))
    got = numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")(x)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numeric, "sliced", lambda program: program)
        want = numeric._load(numeric._stacked_source(graph, "numpy", "f"), "numpy")(x)
    np.testing.assert_array_equal(got, want)


def test_rosenbrocks_gradient_is_cut_where_its_lanes_turn():
    """`v4 = C·join(v2[8:9], v2[8::-1])` was one line; cut, it is two, and nothing is joined
    before the outputs."""
    source = sd.grad(rosenbrock, wrt=names(10)).source("jax", stacked=True)
    assert "m.join" not in source.split("return")[0]
    assert "v4 = 200.0 * v2[8:9]  # 1 × " in source
    assert " = -200.0 * v2[8::-1]  # 9 × " in source


def test_jax_fuses_rosenbrocks_stacked_gradient_into_one_kernel():
    """The speed of the stacked jax backend, as a property of what XLA compiles: one fused
    loop over the points, as for `jax.grad`. With `v4` joined from two slices XLA stored it
    and ran two loops (1.5-2.0 times `jax.grad`'s time on a CPU; one loop: 0.7)."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    for n in (10, 100):
        source = sd.grad(rosenbrock, wrt=names(n)).source("jax", stacked=True)
        jitted = jax.jit(numeric._load(source, "jax", "gradient"))
        x = np.random.default_rng(n).uniform(-1.5, 1.5, (n, 1000))
        hlo = jitted.lower(x).compile().as_text()
        entry = hlo[hlo.index("\nENTRY") :]
        assert len(re.findall(r" fusion\(", entry)) == 1, entry
        np.testing.assert_allclose(jitted(x), rosenbrock_gradient(x), rtol=1e-12, atol=1e-9)


def test_stacked_rosenbrock_equals_the_textbook_gradient():
    f = sd.grad(rosenbrock, wrt=names(40)).lambdify(stacked=True)
    x = np.random.default_rng(1).uniform(-1.5, 1.5, (40, 1000))
    np.testing.assert_allclose(f(x), rosenbrock_gradient(x), rtol=1e-12, atol=1e-9)


EXPRESSIONS = [
    "x1*x2 + sin(x1)",
    "x*y + 2*x",
    "3*x + y",
    "max(x, y)*tanh(x) + abs(y) + heaviside(x - y, 0.5)",
    "exp(x)*sqrt(y) + log(y)*atan2(x, y) + relu(x) + softplus(y) + sigmoid(x) + erf(y)",
    "(x**2 + y**2)**0.5 - x**y + sin(x)*sin(y)*sin(x*y)",
]


# the rule table's functions in SymPy, for references built independently of symdiff's parser
SYMPY_NAMES = {
    "max": sympy.Max, "abs": sympy.Abs, "erf": sympy.erf, "atan2": sympy.atan2,
    "heaviside": sympy.Heaviside, "relu": lambda a: sympy.Max(a, 0),
    "softplus": lambda a: sympy.log(1 + sympy.exp(a)), "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)),
}  # fmt: skip


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_stacked_numpy_equals_sympy_diff(text):
    g = sd.grad(text)
    symbols = sympy.symbols(list(g.graph.variables), real=True)
    expr = sympy.sympify(text, locals={**SYMPY_NAMES, **{str(s): s for s in symbols}})
    # heaviside'(x) = DiracDelta(x): zero at the random points, which never sit on the kink
    partials = [sympy.diff(expr, s).replace(sympy.DiracDelta, lambda *a: 0) for s in symbols]
    reference = sympy.lambdify(symbols, partials, "numpy")
    x = np.random.default_rng(2).uniform(0.2, 2.0, (len(symbols), 50))
    want = np.stack([np.broadcast_to(v, x.shape[1:]) for v in reference(*x)])
    rerolled = numeric._load(numeric._stacked_source(g._adjoint, "numpy", "f"), "numpy")
    for got in (g.lambdify(stacked=True)(x), rerolled(x)):  # small programs run by rows
        assert got.shape == (len(symbols), 50)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def assert_same(got, want):
    """Equal up to rounding: linear combinations are summed in their own order."""
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


def test_stacked_equals_the_per_variable_form_on_batches_of_any_shape_and_dtype():
    g = sd.grad(rosenbrock, wrt=names(5))
    rows, stacked = g.lambdify(), g.lambdify(stacked=True)
    x = np.random.default_rng(3).uniform(-1, 1, (5, 3, 4))
    assert_same(stacked(x), np.stack(rows(*x)))
    assert stacked(x).shape == (5, 3, 4)
    ints = np.arange(10).reshape(5, 2)
    assert_same(stacked(ints), np.stack(rows(*ints)))
    assert stacked(ints).dtype == np.float64
    assert stacked(x.astype(np.float32)).dtype == rows(*x.astype(np.float32))[0].dtype == np.float64
    assert_same(stacked(x[:, 0, 0]), np.stack(rows(*x[:, 0, 0])))


def test_a_large_batch_runs_in_chunks_with_the_same_numbers():
    g = sd.grad(rosenbrock, wrt=names(30))
    x = np.random.default_rng(4).uniform(-1, 1, (30, 70_001))
    np.testing.assert_allclose(
        g.lambdify(stacked=True)(x), rosenbrock_gradient(x), rtol=1e-12, atol=1e-9
    )


def test_per_variable_arguments_are_stacked_in_blocks_of_several_chunks(monkeypatch):
    """Blocks of 100 points stacked, each run in chunks of 64 and a rest of 36, the last block
    shorter: every point lands where it belongs, twice in a row and with another function
    stacking its arguments in between (the stack buffer is kept)."""
    monkeypatch.setattr(numeric, "CHUNK", 64)
    monkeypatch.setattr(numeric, "CHUNK_LEAST", 64)
    monkeypatch.setattr(numeric, "STACKED_LEAST", 100)
    monkeypatch.setattr(numeric._kept, "stack", None, raising=False)
    g = sd.grad(rosenbrock, wrt=names(30))
    rows = g.lambdify()
    x = np.random.default_rng(9).uniform(-1, 1, (30, 1_037))
    want = rosenbrock_gradient(x)
    small = sd.grad(rosenbrock, wrt=names(4)).lambdify()
    for _ in range(2):  # the stack buffer is one per thread, shared by both functions
        np.testing.assert_allclose(np.stack(rows(*x)), want, rtol=1e-12, atol=1e-9)
        assert numeric._kept.stack.nbytes == 30 * 100 * 8  # kept: a block, not a chunk
        np.testing.assert_allclose(
            np.stack(small(*x[:4])), rosenbrock_gradient(x[:4]), rtol=1e-12, atol=1e-9
        )
    np.testing.assert_array_equal(np.stack(rows(*x)), g.lambdify(stacked=True)(x))
    z = x[:, :300] + 0.5j  # the first chunk's dtype is the result's
    np.testing.assert_allclose(np.stack(rows(*z)), rosenbrock_gradient(z), rtol=1e-12)
    kept = numeric._kept.stack
    monkeypatch.setattr(numeric, "KEPT_BYTES", 1000)  # over the limit: a fresh buffer
    np.testing.assert_allclose(np.stack(rows(*x)), want, rtol=1e-12, atol=1e-9)
    assert numeric._kept.stack is kept  # (and the kept one stays)


def textbook_gradient(x: np.ndarray) -> np.ndarray:
    """The gradient of `sin(x1)·x2 + cos(x2)·x3 + x1·x3·x4`, which does not reroll."""
    x1, x2, x3, x4 = x
    return np.stack([np.cos(x1) * x2 + x3 * x4, np.sin(x1) - np.sin(x2) * x3,
                     np.cos(x2) + x1 * x4, x1 * x3])  # fmt: skip


@pytest.mark.parametrize(
    ("backend", "function", "n", "gradient", "threads"),
    [
        ("numpy", rosenbrock, 30, rosenbrock_gradient, 1),  # the stack of the rerolled program
        ("numpy", rosenbrock, 30, rosenbrock_gradient, 4),  # ... on several threads
        ("numpy", "sin(x1)*x2 + cos(x2)*x3 + x1*x3*x4", 4, textbook_gradient, 1),  # workspace
        ("numba", rosenbrock, 30, rosenbrock_gradient, 4),  # the numba kernel's stack
    ],
)
def test_a_gradient_computed_inside_another_call_leaves_its_buffers_alone(
    monkeypatch, backend, function, n, gradient, threads
):
    """A gc callback (or a signal handler) that computes a gradient while another one in the
    same thread is running: each works in buffers of its own (and where ranges are handed out
    to threads, it does not wait forever for the pool's lock)."""
    if backend == "numba":
        pytest.importorskip("numba", reason="the numba backend is optional")
        monkeypatch.setattr(numeric, "NUMBA_UNROLLED_LINES", 0)  # the rerolled kernel
    if threads > 1:
        monkeypatch.setattr(numeric, "_cpus", lambda: threads)  # on threads, as Python waits
        monkeypatch.setattr(numeric, "SLICE_WORK", 1000)
    monkeypatch.setattr(numeric, "CHUNK", 64)
    monkeypatch.setattr(numeric, "CHUNK_LEAST", 64)
    monkeypatch.setattr(numeric, "STACKED_LEAST", 100)
    outer = inner = sd.grad(function, wrt=names(n)).lambdify(backend)
    x = np.random.default_rng(10).uniform(-2, 2, (n, 1_000))
    y = np.full((n, 300), 7.0)
    calls, busy = [], []

    def callback(phase, info):
        if phase == "start" and not busy and len(calls) < 1000:
            busy.append(True)  # (the inner call collects garbage too)
            calls.append(np.stack(inner(*y)))
            busy.pop()

    gc.callbacks.append(callback)
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    try:
        got = np.stack(outer(*x))
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*threshold)
    assert len(calls) > 1, "the callback ran during the call"
    np.testing.assert_allclose(got, gradient(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(calls[-1], gradient(y), rtol=1e-12, atol=1e-9)


def test_numpy_runs_chunks_on_several_threads_as_it_would_on_one(monkeypatch):
    """Ranges of points on three threads, each stacking its own blocks: the numbers are those
    of one thread, bit for bit (the operations are elementwise), and numpy's error settings
    are the caller's in every thread."""
    monkeypatch.setattr(numeric, "CHUNK", 64)
    monkeypatch.setattr(numeric, "CHUNK_LEAST", 64)
    monkeypatch.setattr(numeric, "STACKED_LEAST", 100)
    monkeypatch.setattr(numeric, "SLICE_WORK", 1000)
    g = sd.grad(rosenbrock, wrt=names(30))
    x = np.random.default_rng(15).uniform(-1, 1, (30, 2_001))
    rows, stacked = g.lambdify(), g.lambdify(stacked=True)
    one = stacked(x)
    np.testing.assert_allclose(one, rosenbrock_gradient(x), rtol=1e-12, atol=1e-9)
    ranges = []  # (thread, first point) of each range
    in_parallel = numeric._in_parallel

    def spy(work, size, call):
        def seen(lo, hi):
            ranges.append((threading.current_thread().name, lo))
            call(lo, hi)

        in_parallel(work, size, seen)

    monkeypatch.setattr(numeric, "_in_parallel", spy)
    monkeypatch.setattr(numeric, "_cpus", lambda: 3)
    np.testing.assert_array_equal(stacked(x), one)
    np.testing.assert_array_equal(np.stack(rows(*x)), one)
    # three ranges a call; the pool may hand two to one idle thread, one after the other
    assert len(ranges) == 6 and len({lo for _, lo in ranges}) == 3
    assert sum(name.startswith("symdiff-worker") for name, _ in ranges) == 4
    x[5, 300] = 1e200  # in the first range, a pool thread's: x² overflows
    with np.errstate(over="raise"), pytest.raises(FloatingPointError, match="overflow"):
        stacked(x)
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(stacked(x)[5:7, 300]).all()


def test_the_stacked_source_reads_as_array_operations():
    source = sd.grad(rosenbrock, wrt=names(8)).source(stacked=True)
    assert "def gradient(X, out=None):" in source
    assert "v1 = v0[0:7] ** 2  # 7 × " in source
    assert source.count("\n") < 20


def test_stacked_input_of_the_wrong_height_is_refused():
    f = sd.grad("x*y").lambdify(stacked=True)
    with pytest.raises(sd.SymdiffError, match="2 rows"):
        f(np.ones((3, 4)))
    with pytest.raises(sd.SymdiffError, match="2 rows"):
        f(1.0)


def test_the_math_backend_has_no_stacked_form():
    with pytest.raises(sd.SymdiffError, match="stacked"):
        sd.grad("x*y").lambdify("math", stacked=True)


def test_dask_gives_what_numpy_gives_through_matrix_products():
    da = pytest.importorskip("dask.array")
    g = sd.grad(lambda *x: tanh_layer(*x)[0], wrt=names(30))
    x = np.random.default_rng(7).uniform(-1, 1, (30, 2000))
    f = g.lambdify()
    lazy = f(*(da.from_array(row, chunks=500) for row in x))
    assert all(isinstance(v, da.Array) for v in lazy)
    computed = np.stack([v.compute(scheduler="synchronous") for v in lazy])
    np.testing.assert_allclose(computed, np.stack(f(*x)), rtol=1e-14, atol=1e-15)


def test_dask_stays_lazy_in_the_stacked_form():
    da = pytest.importorskip("dask.array")
    g = sd.grad(rosenbrock, wrt=names(6))
    x = np.random.default_rng(5).uniform(-1, 1, (6, 1000))
    lazy = g.lambdify(stacked=True)(da.from_array(x, chunks=(6, 250)))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(
        lazy.compute(scheduler="synchronous"), rosenbrock_gradient(x), rtol=1e-12, atol=1e-12
    )


def test_jax_stacked_equals_numpy_stacked():
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    g = sd.grad(EXPRESSIONS[3] + " + " + EXPRESSIONS[4], simplify="none")  # numbers only
    x = np.random.default_rng(6).uniform(-2, 2, (2, 64))
    jitted = g.lambdify("jax", stacked=True)
    np.testing.assert_allclose(np.asarray(jitted(x)), g.lambdify(stacked=True)(x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jitted(x[:, :2].tolist())), jitted(x)[:, :2], rtol=1e-14)


def test_jax_stacked_runs_a_chain_in_pieces_over_its_rows():
    """A chain does not reroll: stacked, jax on a CPU runs its pieces over the rows (one array
    operation per line would be copied into every output's loop by XLA); on a GPU, the
    rerolled program in one jit, its pieces separated by barriers (whole, on an H100, it
    took 32 and 44 s to compile for the first two shapes below)."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    jax.config.update("jax_enable_x64", True)
    g = sd.grad(chain, wrt=names(20))
    by_rows = g.source("jax", stacked=True).startswith("def gradient(x1, x2,")
    assert by_rows == (jax.default_backend() == "cpu")
    assert g.source("jax", stacked=True).count("m.barrier(") == (196 - 1) // numeric.JAX_PIECE
    x = np.random.default_rng(9).uniform(-1, 1, (20, 2, 3))
    got = np.asarray(g.lambdify("jax", stacked=True)(x))
    np.testing.assert_allclose(got, g.lambdify(stacked=True)(x), rtol=1e-12, atol=1e-15)
    assert got.shape == (20, 2, 3)
    stacked = g.lambdify("jax", stacked=True)
    assert np.asarray(stacked(x[:, 0, 0])).shape == (20,)
    # the input checked and made floating point as on every path (found by a reviewer)
    ints = np.arange(20)[:, None] % 3
    np.testing.assert_allclose(np.asarray(stacked(ints)), np.asarray(stacked(ints * 1.0)))
    with pytest.raises(sd.SymdiffError, match="takes numbers"):
        stacked(np.array([["a"]] * 20))


def test_jax_matrix_products_keep_float32_precision():
    """A dense layer's gradient is two matrix products; in float32 they must give float32's
    accuracy (a GPU's default, TF32, gives relative errors of 1e-3). Run on a GPU as well."""
    jax = pytest.importorskip("jax", reason="the jax backend is optional: pip install symdiff[jax]")
    rng = np.random.default_rng(7)
    weights = rng.uniform(-1, 1, (6, 40)).round(3)

    def layer(*x):
        return sum(
            sd.tanh(sum(float(w) * xi for w, xi in zip(row, x, strict=True))) for row in weights
        )

    g = sd.grad(layer, wrt=names(40))
    assert any(
        isinstance(t, Mixed) for op in reroll(g._adjoint).ops for t in getattr(op, "terms", ())
    )
    x = rng.uniform(-0.3, 0.3, (40, 256))
    got = np.asarray(g.lambdify("jax", stacked=True)(jax.numpy.asarray(x, jax.numpy.float32)))
    want = g.lambdify(stacked=True)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * np.abs(want).max())


def test_lists_and_gradients_without_partials_work_stacked():
    f = sd.grad("x*y").lambdify(stacked=True)
    assert f([[2.0, 1.0], [3.0, 5.0]]).tolist() == [[3.0, 5.0], [2.0, 1.0]]
    nothing = sd.grad("3", wrt=[]).lambdify(stacked=True)
    assert nothing(np.zeros((0, 4))).shape == (0, 4)


def test_numba_stacked_runs_the_fused_loop_over_the_rows():
    pytest.importorskip("numba", reason="the numba backend is optional: symdiff[numba]")
    g = sd.grad(rosenbrock, wrt=names(6))
    x = np.random.default_rng(7).uniform(-1, 1, (6, 100))
    got = g.lambdify("numba", stacked=True)(x)
    np.testing.assert_allclose(got, rosenbrock_gradient(x), rtol=1e-12, atol=1e-12)
    assert "for _k in range(_n):" in g.source("numba", stacked=True)
    with pytest.raises(sd.SymdiffError, match="6 rows"):
        g.lambdify("numba", stacked=True)(x[:5])


def test_numpy_runs_by_rows_where_rerolling_does_not_halve_the_program():
    assert "def gradient(X, out=None):" not in sd.grad(chain, wrt=names(5)).source(stacked=True)
    assert "def gradient(X, out=None):" in sd.grad(rosenbrock, wrt=names(5)).source(stacked=True)
    # jax: the rerolled program, except a long chain where JAX computes on a CPU (in pieces)
    jax_chain = sd.grad(chain, wrt=names(5)).source("jax", stacked=True)
    assert ("def gradient(X):" in jax_chain) != numeric._jax_on_cpu()
    assert "def gradient(X):" in sd.grad(rosenbrock, wrt=names(5)).source("jax", stacked=True)


def test_gathers_work_on_dask_too():
    da = pytest.importorskip("dask.array")

    def scrambled(*x):  # each term pairs x[i] with x[3i mod n]: the lanes must be gathered
        n = len(x)
        return sum(
            sd.sin(x[i] * x[(3 * i) % n]) + sd.exp(-(x[(5 * i + 1) % n] ** 2)) for i in range(n)
        )

    g = sd.grad(scrambled, wrt=names(7))
    assert "m.take(" in g.source(stacked=True)
    x = np.random.default_rng(8).uniform(-1, 1, (7, 20))
    want = np.stack(g.lambdify()(*x))
    np.testing.assert_allclose(g.lambdify(stacked=True)(x), want, rtol=1e-13)
    lazy = g.lambdify(stacked=True)(da.from_array(x, chunks=(7, 5)))
    np.testing.assert_allclose(lazy.compute(scheduler="synchronous"), want, rtol=1e-13)
