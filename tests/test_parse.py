"""Parsing text and SymPy expressions into the Wengert list."""

import math
import time

import pytest
import sympy

import symdiff as sd
from symdiff.parse import MAX_DEPTH, parse_sympy


def value(text, **point):
    graph = sd.trace(text)
    return sd.forward.output_value(graph, sd.evaluate(graph, point))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2", -9.0),
        ("2**-x*3", 2**-3 * 3),
        ("x**2**2", 81.0),
        ("x^2^2", 81.0),
        ("x - 1 - 1", 1.0),
        ("x / 3 / 3", 1 / 3),
        ("2*-x", -6.0),
        ("-x*2", -6.0),
        ("+x", 3.0),
        ("--x", 3.0),
        ("(x+1)*(x-1)", 8.0),
        ("1e1*x", 30.0),
        (".5*x", 1.5),
        ("1_000*x", 3000.0),
        ("pi*x", 3 * math.pi),
        ("E**x", math.e**3),
        ("x^-1", 1 / 3),
        ("max(x, 2*x) - min(x, 1)", 5.0),
        ("atan2(x, 1)", math.atan2(3, 1)),
    ],
)
def test_precedence_and_associativity_match_python(text, expected):
    assert math.isclose(value(text, x=3), expected, rel_tol=1e-14)


def test_caret_is_power_not_xor():
    assert [str(n) for n in sd.trace("x^2").nodes] == ["w1 = x", "w2 = w1^2"]


def test_integers_stay_exact_and_decimals_are_kept():
    graph = sd.trace("2*x + 0.5*x")
    consts = [a for n in graph.nodes for a in n.args if isinstance(a, sd.Const)]
    assert consts[0].value == sympy.Integer(2) and consts[0].value.is_Integer
    assert str(consts[1]) == "0.5" and consts[1].value.is_Float


def test_structure_is_kept_as_written():
    # SymPy would cancel x - x and reorder y*x; the graph keeps what the user wrote
    assert [str(n) for n in sd.trace("y*x - (y*x)").nodes][2:] == ["w3 = w1·w2", "w4 = w3 - w3"]
    assert [n.var for n in sd.trace("b + a").nodes] == ["b", "a", None]


def test_wrt_fixes_order_and_adds_absent_variables():
    graph = sd.trace("x1*x2", wrt=["x2", "x1", "x3"])
    assert [str(n) for n in graph.nodes] == ["w1 = x2", "w2 = x1", "w3 = x3", "w4 = w2·w1"]
    assert sd.grad("x1*x2", wrt=["x2", "x1", "x3"]).at(x1=2, x2=5, x3=0) == {
        "x2": 2.0,
        "x1": 5.0,
        "x3": 0.0,
    }


def test_variables_outside_wrt_are_parameters():
    g = sd.grad("a*x**2 + b*x", wrt=["x"])
    a, x, b = (sympy.Symbol(n, real=True) for n in "axb")
    assert list(g) == ["x"] and sympy.expand(g["x"] - (2 * a * x + b)) == 0
    assert g.at(a=1, b=2, x=3) == {"x": 8.0}


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("x.y", 2, "attribute access"),
        ("x[0]", 2, "subscript"),
        ("lambda x: x", 1, "lambda"),
        ("'s'", 1, "string"),
        ("f'{x}'", 1, "f-string"),
        ("x if y else z", 3, "conditional"),
        ("(y := 2)", 4, "walrus"),
        ("foo(x)", 1, "unknown function 'foo'"),
        ("__import__('os')", 1, "dunder"),
        ("x == 1", 3, "comparison"),
        ("x // 2", 3, "floor"),
        ("sin(x=1)", 6, "keyword argument"),
        ("[x for x in y]", 1, "subscript or list"),
        ("x and y", 3, "boolean"),
        ("2x", 1, "implicit multiplication"),
        ("1j", 1, "complex"),
        ("sin(x, y)", 1, "takes 1 argument"),
        ("(x", 1, "never closed"),
        ("x)", 2, "no matching"),
        ("x +", 4, "ends where an operand"),
        ("sin", 1, "is a function"),
        ("x, y", 2, "tuple"),
    ],
)
def test_refused_constructs_name_themselves_and_their_column(text, column, words):
    with pytest.raises(sd.ParseError) as info:
        sd.trace(text)
    assert info.value.column == column
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_injection_executes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in [
        "__import__('os').system('touch CANARY')",
        "().__class__.__bases__[0].__subclasses__()",
        'exec(\'open("CANARY", "w")\')',
        "eval('1')",
        "open('CANARY', 'w')",
    ]:
        with pytest.raises(sd.ParseError):
            sd.grad(text)
    assert list(tmp_path.iterdir()) == []


def test_long_flat_sum_parses_without_recursion():
    text = " + ".join(f"x{i}*y{i}" for i in range(10_000))
    assert len(text) > 100_000
    graph = sd.trace(text)
    assert len(graph) == 20_000 + 10_000 + 9_999


def test_a_million_characters_parse():
    text = "+".join(["x*y"] * 250_001)
    assert len(text) > 999_999
    graph = sd.trace(text)  # shared: x*y is one node, the sum is a chain
    assert len(graph) == 2 + 1 + 250_000


def test_limits_give_clear_errors():
    with pytest.raises(sd.LimitError, match="nests deeper"):
        sd.trace("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(sd.LimitError, match="characters"):
        sd.trace("x" * 2_000_001)
    with pytest.raises(sd.ParseError, match="longer than 4,000 digits"):
        sd.trace("1" * 5000)
    with pytest.raises(sd.ParseError, match="outside 1e"):
        sd.trace("1e999999")


@pytest.mark.parametrize(
    "text", ["9**9**9**9", "9^9^9", "(9**9)**(9**9)", "2**(3*10**8)", "10**10**10*x"]
)
def test_constant_towers_are_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(sd.SymdiffError):
        sd.grad(text)
        sd.evaluate(sd.trace(text), {"x": 1} if "x" in text else {})
    assert time.perf_counter() - start < 5  # a guard against hangs, not a benchmark


def test_sympy_input_maps_to_the_same_primitives():
    x1, x2 = sympy.symbols("x1 x2")
    graph = parse_sympy(x1 * x2 + sympy.sin(x1))
    assert [n.op for n in graph.nodes] == ["input", "input", "mul", "sin", "add"]
    assert sd.grad(x1 * x2 + sympy.sin(x1))["x1"] == x2 + sympy.cos(x1)


def test_sympy_subtraction_division_and_roots_read_as_written():
    x, y = sympy.symbols("x y")
    ops = [n.op for n in sd.trace(x / y - sympy.sqrt(x)).nodes]
    assert ops == ["input", "input", "div", "sqrt", "sub"]


def test_sympy_dag_is_walked_once_per_shared_subexpression():
    x = sympy.Symbol("x")
    e = x
    for _ in range(60):  # as a tree this has ~2**60 nodes
        e = e * e + e
    graph = sd.trace(e)
    assert len(graph) < 400
    value_at = sd.forward.output_value(graph, sd.evaluate(graph, {"x": 1e-30}))
    assert math.isclose(value_at, 1e-30 * (1 + 60 * 1e-30), rel_tol=1e-9)


@pytest.mark.parametrize(
    "obj",
    [
        sympy.I,
        sympy.oo,
        sympy.nan,
        sympy.Function("f")(sympy.Symbol("x")),
        sympy.Integral(sympy.Symbol("x")),
    ],
)
def test_unsupported_sympy_objects_are_parse_errors(obj):
    with pytest.raises(sd.ParseError):
        sd.trace(obj)


def test_non_expression_inputs_are_refused():
    with pytest.raises(sd.ParseError):
        sd.trace(object())
    with pytest.raises(sd.ParseError, match="expression 2"):
        sd.trace(["x", b"y"])
    assert sd.grad(3).variables == ()
