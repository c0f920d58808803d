"""Attacks on the expression parser (DESIGN invariants 1 "No eval" and 7 "Typed errors").

The contract for user text given to `trace` / `grad` / the CLI: the accepted subset (numbers,
names, + - * / ** ^, unary signs, parentheses, registered functions, pi and E) keeps Python's
precedence; everything else is a `ParseError` naming the construct at its 1-based column; and no
input, however hostile, may execute code, hang, blow up memory, give a silently wrong result or
escape as anything but a `SymdiffError`.

Inputs that hang today run in child processes with a CPU-time budget, so a regression costs
seconds, not the whole test run.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import operator
import os
import string
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff as sd
from symdiff.parse import MAX_DEPTH, parse_sympy

ROOT = Path(__file__).resolve().parents[1]


def value(text: str, **point: float) -> float:
    graph = sd.trace(text)
    return sd.forward.output_value(graph, sd.evaluate(graph, point))


def refused(text: str) -> sd.ParseError:
    with pytest.raises(sd.ParseError) as info:
        sd.trace(text)
    return info.value


# ---------------------------------------------------------------------------------------------
# (1) refused constructs: the error names the construct and points at its column

REFUSED = [
    # attribute access, subscripts, displays
    ("x.y", 2, "attribute access"),
    ("x . y", 3, "attribute access"),
    ("sin(x).real", 7, "attribute access"),
    ("1 .real", 3, "attribute access"),
    ("x[0]", 2, "subscript"),
    ("[x]", 1, "subscript or list"),
    ("x[1:2]", 2, "subscript"),
    ("{x}", 1, "set or dict"),
    ("{'a': x}", 1, "set or dict"),
    ("x...", 2, "Ellipsis"),
    ("...", 1, "Ellipsis"),
    # lambdas, comprehensions, conditionals, keywords
    ("lambda: x", 1, "lambda"),
    ("(lambda x: x)(2)", 2, "lambda"),
    ("[x for x in y]", 1, "subscript or list"),
    ("x if y else z", 3, "conditional"),
    ("x and y", 3, "boolean operator"),
    ("x or y", 3, "boolean operator"),
    ("not x", 1, "boolean operator"),
    ("x is y", 3, "identity"),
    ("x in y", 3, "membership"),
    ("None", 1, "None"),
    ("x + True", 5, "boolean constant"),
    ("yield x", 1, "yield"),
    ("await x", 1, "await"),
    ("import os", 1, "'import'"),
    ("del x", 1, "'del'"),
    # strings and f-strings
    ("'abc'", 1, "string literal"),
    ('"abc"', 1, "string literal"),
    ("x + 'a'", 5, "string literal"),
    ("b'x'", 1, "string literal"),
    ("rb'x'", 1, "string literal"),
    ("f'{x}'", 1, "f-string"),
    ("x + rf'{x}'", 5, "f-string"),
    ('F"{x}"', 1, "f-string"),
    # assignment, walrus, annotations, statements, comments
    ("(y := 2)", 4, "walrus"),
    ("x = 1", 3, "assignment"),
    ("sin(x=1)", 6, "keyword argument"),
    ("x: 1", 2, "annotation"),
    ("x -> y", 3, "annotation"),
    ("x; y", 2, "statement separator"),
    ("x # c", 3, "comment"),
    ("x \\\n+ y", 3, "backslash"),
    # operators outside the language
    ("x == 1", 3, "comparison"),
    ("x != 1", 3, "comparison"),
    ("x < 1", 3, "comparison"),
    ("x >= 1", 3, "comparison"),
    ("x // 2", 3, "floor division"),
    ("x % 2", 3, "modulo"),
    ("x @ y", 3, "matrix multiplication"),
    ("x & y", 3, "bitwise and"),
    ("x | y", 3, "bitwise or"),
    ("~x", 1, "bitwise not"),
    ("x << 2", 3, "shift"),
    ("x >> 2", 3, "shift"),
    ("*x", 1, "'*'"),
    ("**x", 1, "'**'"),
    ("x $ y", 3, "'$'"),
    ("`x`", 1, "'`'"),
    ("x ? y", 3, "'?'"),
    ("!x", 1, "'!'"),
    ("x\x1by", 2, "'\\x1b'"),
    ("x\u200by", 2, "'\\u200b'"),
    # dunders and calls of things that are not registered functions
    ("__import__('os')", 1, "dunder"),
    ("x + __class__", 5, "dunder"),
    ("__builtins__", 1, "dunder"),
    ("eval('1')", 1, "unknown function 'eval'"),
    ("exec('1')", 1, "unknown function 'exec'"),
    ("getattr(x, 'y')", 1, "unknown function 'getattr'"),
    ("x + open('f')", 5, "unknown function 'open'"),
    ("x(y)", 1, "unknown function 'x'"),
    ("pi(2)", 1, "unknown function 'pi'"),
    ("add(x, y)", 1, "unknown function 'add'"),
    ("pow(x, 2)", 1, "unknown function 'pow'"),
    ("sin(x)(y)", 7, "call of a non-function"),
    ("(x)(y)", 4, "call of a non-function"),
    ("sin", 1, "is a function"),
    ("x + exp", 5, "is a function"),
    # numbers that are not decimal literals, implicit multiplication
    ("2x", 1, "implicit multiplication"),
    ("2 x", 3, "implicit multiplication"),
    ("x y", 3, "implicit multiplication"),
    ("1j", 1, "complex"),
    ("0x1F", 1, "number base"),
    ("0b101", 1, "number base"),
    # arity, brackets, tuples, truncation
    ("sin(x, y)", 1, "takes 1 argument"),
    ("max(x)", 1, "takes 2 argument"),
    ("max(x, y, z)", 1, "takes 2 argument"),
    ("sin()", 1, "needs 1 argument"),
    ("max(x,)", 1, "needs 2 argument"),
    ("(x", 1, "never closed"),
    ("x + (y * (z)", 5, "never closed"),
    ("sin(x", 1, "never closed"),
    ("x)", 2, "no matching"),
    ("()", 2, "')'"),
    ("x, y", 2, "tuple"),
    ("(x, y)", 3, "tuple"),
    ("max(x, (y, z))", 10, "tuple"),
    ("x +", 4, "ends where an operand"),
    ("-", 2, "ends where an operand"),
    ("x\x00", 2, "NUL"),
]


@pytest.mark.parametrize(("text", "column", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_construct_is_named_at_its_column(text, column, words):
    err = refused(text)
    assert isinstance(err, sd.SymdiffError) and isinstance(err, ValueError)
    assert err.column == column, (str(err), err.column)
    assert words in str(err)


def test_empty_text_is_a_parse_error():
    for text in ["", "   ", "\n\t "]:
        assert "empty" in str(refused(text))


def test_non_constant_heaviside_default_has_a_column():
    # the error is typed, but the contract also wants the column of the offending token:
    # either the call (1) or the non-constant argument (14)
    err = refused("heaviside(x, y)")
    assert err.column in (1, 14), str(err)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("x²", 2),  # superscript two: not part of a Python identifier
        ("½*x", 1),  # vulgar fraction: neither a name nor a number
        ("x*¾", 3),
        ("x*３", 3),  # fullwidth digit three
        ("٣*x", 1),  # Arabic-Indic digit three
    ],
)
def test_non_ascii_digits_and_number_forms_are_refused(text, column):
    # Python refuses all of these; symdiff takes `x²` and `½` as variable names (which `wrt`
    # then rejects as non-identifiers) and `３`, `٣` as the number 3
    err = refused(text)
    assert err.column == column, str(err)


def test_lookalike_names_are_not_silently_distinct_variables():
    # `𝑥` (U+1D465) is the identifier `x` to Python (NFKC); reading `𝑥 - x` as two variables
    # turns what the user sees as 0 into a two-variable expression with gradient (1, -1)
    try:
        graph = sd.trace("𝑥 - x")
    except sd.ParseError as err:
        assert err.column == 1
    else:
        assert len(graph.variables) == 1, graph.variables


def test_every_accepted_name_is_a_python_identifier():
    # names the parser accepts must be names `wrt` and `--at` accept too
    for text in ["x1*x2", "ℯ + _a", "αβ*γ", "x_1**2", "ñ/ü"]:
        graph = sd.trace(text)
        assert all(v.isidentifier() for v in graph.variables), graph.variables
        assert sd.grad(text, wrt=list(graph.variables)).variables == graph.variables


# ---------------------------------------------------------------------------------------------
# (2) injection: nothing is ever executed

INJECTIONS = [
    "__import__('os').system('touch CANARY')",
    "__import__ ( 'os' ) . system ( 'touch CANARY' )",
    "().__class__.__bases__[0].__subclasses__()",
    "getattr(__builtins__, 'exec')('open(\"CANARY\", \"w\")')",
    'exec(\'open("CANARY", "w")\')',
    "eval(\"open('CANARY', 'w')\")",
    "open('CANARY', 'w')",
    "x + open('CANARY', 'w')",
    "sin(open('CANARY', 'w'))",
    "max(x, __import__('os').system('touch CANARY'))",
    "(lambda: open('CANARY', 'w'))()",
    "[open('CANARY', 'w') for _ in (1,)]",
    'f\'{open("CANARY", "w")}\'',
    "x if open('CANARY', 'w') else y",
    "(c := open('CANARY', 'w'))",
    "x; import os; os.system('touch CANARY')",
    "x\nimport os\nos.system('touch CANARY')",
    "x # \nopen('CANARY', 'w')",
    "x\x00open('CANARY', 'w')",
    "\x00__import__('os').system('touch CANARY')",
    "＿＿import＿＿('os').system('touch CANARY')",  # fullwidth low lines: NFKC `__import__`
    "__ｉｍｐｏｒｔ__('os').system('touch CANARY')",  # fullwidth letters
    "ｏｐｅｎ('CANARY', 'w')",
    'ｅｘｅｃ(\'open("CANARY","w")\')',
    '\u0435val(\'open("CANARY","w")\')',  # Cyrillic e
    "sin\u200b(open('CANARY', 'w'))",
    'sympify(\'open("CANARY","w")\')',
    "Symbol('x').__class__",
    "x.__class__.__mro__[-1].__subclasses__()",
    "__" + "a" * 10_000 + "__",
    "_" * 5000 + "import" + "_" * 5000 + "(1)",
    "sin(" + "x" * 100_000 + ")()",
]


def test_injection_attempts_execute_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in INJECTIONS:
        with pytest.raises(sd.ParseError) as info:
            sd.grad(text)
        assert isinstance(info.value.column, int), (text, str(info.value))
    with pytest.raises(sd.SymdiffError):  # a point's value is text too: parsed, never evaluated
        sd.grad("x").at(x="__import__('os').system('touch CANARY')")
    with pytest.raises(sd.SymdiffError):
        sd.trace("x", wrt="__import__('os').system('touch CANARY')")
    assert list(tmp_path.iterdir()) == []


def test_cli_injection_executes_nothing_and_exits_2(tmp_path, monkeypatch, capsys):
    from symdiff.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["grad", "__import__('os').system('touch CANARY')"]) == 2
    assert main(["grad", "x", "--at", "x=open('CANARY','w')"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert list(tmp_path.iterdir()) == []


def test_hostile_sympy_symbol_names_stay_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = '__import__("os").system("touch CANARY")'
    s = sympy.Symbol(name)
    gradient = sd.grad(s * s)
    assert gradient.at({name: 2}) == {name: 4.0}
    # generated code must never splice the name in as code: refusing it is fine too
    with contextlib.suppress(sd.SymdiffError):
        assert float(gradient.lambdify()(2.0)[0]) == 4.0
    assert list(tmp_path.iterdir()) == []


def test_very_long_names_are_plain_variables():
    name = "v" * 1_999_999
    graph = sd.trace(name)
    assert graph.variables == (name,)
    graph = sd.trace("a" * 500_000 + " * " + "b" * 500_000)
    assert [len(v) for v in graph.variables] == [500_000, 500_000]


# ---------------------------------------------------------------------------------------------
# (3) precedence and associativity equal Python's (the reference is Python evaluating
#     literal strings written here, with ^ read as **)

POINT = {"x": 1.7, "y": 0.6, "z": 2.3}
PRECEDENCE = [
    "-x**2",
    "-x^2",
    "2**-x*3",
    "2^-x*3",
    "x**y**z",
    "x^y^z",
    "x^y**z",
    "x**y^z",
    "(x**y)**z",
    "x**-y**z",
    "-x**y**z",
    "-x**-y",
    "x**-y*z",
    "x - y - z",
    "x - y + z",
    "x - (y - z)",
    "x / y / z",
    "x / y * z",
    "x * y / z",
    "x + y * z",
    "x * y + z",
    "x * y ** z",
    "x ** y * z",
    "x / -y ** 2",
    "2*-x",
    "-x*2",
    "x*-y",
    "x--y",
    "x---y",
    "x-+-y",
    "+-+x",
    "--x",
    "-(-x)",
    "-x-y",
    "2**-1",
    "-2**2",
    "-2^2",
    "(-2)**2",
    "-2**-2",
    "2**-2**2",
    "2**3**2",
    "2^3^2",
    "2**2**3**0",
    "10-2-3",
    "100/10/5",
    "7/2",
    "1/3*3",
    "x - y * z ** 2 / 4 + 1",
    "x**.5",
    ".5**x",
    "5.**-x",
    "1e2**-1",
    "1_000.5*x",
    "x*1e-3",
    "2*pi*x",
    "E**-x",
    "-pi**2",
    "sin(x)**2",
    "-sin(x)**2",
    "sin(x**2)",
    "exp(-x**2)",
    "max(x, y)**2",
    "-max(-x, -y)",
    "atan2(y, -x)",
    "min(x - y, y - x) * -z",
    "log(x)/log(z)**-y",
    "sqrt(x)**sqrt(y)**z",
    "(x + y) * (x - y) / (z - 1)",
    "x ** (y * z)",
    "-(x + y) ** 2",
]

PY_NAMESPACE = {
    "__builtins__": {},
    "sin": math.sin,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "atan2": math.atan2,
    "max": max,
    "min": min,
    "pi": math.pi,
    "E": math.e,
}


@pytest.mark.parametrize("text", PRECEDENCE)
def test_precedence_and_associativity_equal_pythons(text):
    reference = eval(text.replace("^", "**"), PY_NAMESPACE, dict(POINT))  # literal, trusted
    used = {k: v for k, v in POINT.items() if k in sd.trace(text).variables}
    assert math.isclose(value(text, **used), reference, rel_tol=1e-12), text


def test_power_chains_are_right_associative_in_the_graph():
    graph = sd.trace("a**b^c**d")
    assert [str(n) for n in graph.nodes[4:]] == ["w5 = w3^w4", "w6 = w2^w5", "w7 = w1^w6"]


def test_subtraction_chains_are_left_associative_in_the_graph():
    graph = sd.trace("a - b - c - d")
    assert [str(n) for n in graph.nodes[4:]] == ["w5 = w1 - w2", "w6 = w5 - w3", "w7 = w6 - w4"]


def test_unary_minus_binds_looser_than_power_in_the_graph():
    assert [str(n) for n in sd.trace("-x**2").nodes] == ["w1 = x", "w2 = w1^2", "w3 = -w2"]
    # a minus on a literal is part of the literal, but only when nothing binds tighter
    assert [n.op for n in sd.trace("-2**x").nodes] == ["input", "pow", "neg"]
    assert str(sd.trace("(-2)**x").nodes[1]) == "w2 = (-2)^w1"


# The reference below is Python's own parser (ast.parse, never eval) with a tiny float
# evaluator, so generated texts give Python's structure without executing anything.

_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: math.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CALLS = {"sin": math.sin, "exp": math.exp, "max": max, "min": min, "atan2": math.atan2}


def _py_value(node: ast.AST, env: dict[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _py_value(node.body, env)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_py_value(node.left, env), _py_value(node.right, env))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_py_value(node.operand, env))
    if isinstance(node, ast.Call):
        return _CALLS[node.func.id](*(_py_value(a, env) for a in node.args))
    raise AssertionError(f"unexpected node {ast.dump(node)}")


_ATOMS = st.sampled_from(["x", "y", "z", "2", "3", "0.5", "1.5", "pi", "E"])
_SIGNS = st.lists(st.sampled_from(["-", "+"]), max_size=2).map("".join)


@st.composite
def _flat_expressions(draw, depth=2):
    """Operator soups with few brackets: precedence, not parentheses, decides the structure."""
    parts = []
    for i in range(draw(st.integers(1, 5))):
        if i:
            parts.append(draw(st.sampled_from([" + ", "-", " - ", "*", " / ", "**", "^"])))
        sign = draw(_SIGNS)
        if depth and draw(st.integers(0, 5)) == 0:
            inner = draw(_flat_expressions(depth=depth - 1))
            fn = draw(st.sampled_from(["", "sin", "exp"]))
            parts.append(f"{sign}{fn}({inner})")
        elif depth and draw(st.integers(0, 8)) == 0:
            a, b = draw(_flat_expressions(depth=depth - 1)), draw(_flat_expressions(depth=0))
            parts.append(f"{sign}{draw(st.sampled_from(['max', 'min', 'atan2']))}({a}, {b})")
        else:
            parts.append(sign + draw(_ATOMS))
    return "".join(parts)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_flat_expressions())
def test_generated_operator_soups_follow_pythons_precedence(text):
    env = {"x": 1.3, "y": 0.7, "z": 1.9, "pi": math.pi, "E": math.e}
    try:
        reference = _py_value(ast.parse(text.replace("^", "**"), mode="eval"), env)
    except (ZeroDivisionError, OverflowError, ValueError):
        return  # undefined in floats: nothing to compare
    if not math.isfinite(reference):
        return
    try:
        graph = sd.trace(text)
        ours = sd.forward.output_value(
            graph, sd.evaluate(graph, {v: env[v] for v in graph.variables})
        )
    except sd.LimitError:
        return  # a refused constant tower
    assert math.isclose(ours, reference, rel_tol=1e-9, abs_tol=1e-12), text


# ---------------------------------------------------------------------------------------------
# (4) fuzz: any text either parses or raises a typed error, quickly

_SOUP = [
    *"xyz0123456789.+-*/^(),_ eEjJ'\"[]{}=:;#@%&|~<>!\\\t\n",
    "**", "//", ":=", "...", "sin", "max", "atan2", "pi", "lambda", "if", "for", "not",
    "__", "__import__", "f'", "1e", "0x", "１", "²", "𝑥", "\u200b", "\x1b",
]  # fmt: skip


def _parse_or_typed_error(text: str) -> None:
    start = time.perf_counter()
    try:
        result = sd.trace(text)
    except sd.SymdiffError as err:
        if isinstance(err, sd.ParseError) and text.strip():
            # a refusal points into the text (or just past its end)
            assert isinstance(err.column, int) and 1 <= err.column <= len(text) + 1, str(err)
    else:
        assert isinstance(result, sd.Graph)
    assert time.perf_counter() - start < 2.0, text


@settings(
    max_examples=400,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.text(alphabet=string.printable, max_size=60))
def test_random_printable_text_parses_or_raises_a_typed_error(text):
    _parse_or_typed_error(text)


@settings(max_examples=300, deadline=timedelta(seconds=2), derandomize=True, database=None)
@given(st.text(max_size=40))
def test_random_unicode_text_parses_or_raises_a_typed_error(text):
    _parse_or_typed_error(text)


@settings(max_examples=300, deadline=timedelta(seconds=2), derandomize=True, database=None)
@given(st.lists(st.sampled_from(_SOUP), max_size=40).map("".join))
def test_token_soup_parses_or_raises_a_typed_error(text):
    _parse_or_typed_error(text)


# ---------------------------------------------------------------------------------------------
# (5) sizes and nesting


def test_ten_thousand_term_sum_is_a_flat_chain():
    text = " + ".join(f"x{i}" for i in range(10_000))
    graph = sd.trace(text)
    assert len(graph.variables) == 10_000
    assert len(graph) == 10_000 + 9_999 and all(n.op == "add" for n in graph.nodes[10_000:])


def test_a_million_character_sum_parses_in_linear_time():
    text = "+".join(f"a{i % 5000}*b" for i in range(130_000))
    assert len(text) >= 1_000_000
    start = time.perf_counter()
    graph = sd.trace(text)
    assert time.perf_counter() - start < 10  # ~1-2 s here; quadratic would be hours
    assert len(graph.variables) == 5001


def test_long_minus_chains():
    binary = "x" + "-x" * 100_000  # left-associative: no nesting at all
    graph = sd.trace(binary)
    assert len(graph) == 100_001
    assert value("x" + "-x" * 999, x=1.0) == -998.0
    assert value("-" * MAX_DEPTH + "x", x=2.0) == 2.0  # 200 unary minuses cancel out
    assert value("x" + "--x" * 1000, x=1.0) == 1001.0  # binary minus then unary minus
    with pytest.raises(sd.LimitError):
        sd.trace("-" * (MAX_DEPTH + 1) + "x")
    with pytest.raises(sd.LimitError):
        sd.trace("-" * 1_999_999 + "x")


def test_nesting_limits():
    assert value("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, x=3.0) == 3.0
    for text in [
        "(" * 300 + "x" + ")" * 300,
        "(" * 1_000_000,
        "sin(" * 300 + "x" + ")" * 300,
        "max(x, " * 300 + "x" + ")" * 300,
        "x" + "**x" * 300,
        "x" + "^-x" * 150,
        "x**(" * 150 + "x" + ")" * 150,
    ]:
        with pytest.raises(sd.LimitError, match="nests deeper"):
            sd.trace(text)
    deep = MAX_DEPTH - 1  # just inside the bound: accepted, and it differentiates and prints
    graph = sd.trace("sin(" * deep + "x" + ")" * deep)
    assert len(graph) == deep + 1
    assert "cos(x)" in str(sd.grad(graph)["x"])
    assert len(sd.trace("x" + "**x" * (MAX_DEPTH // 2))) == MAX_DEPTH // 2 + 1
    assert len(sd.trace("max(x, " * deep + "y" + ")" * deep)) == deep + 2


def test_sequential_brackets_do_not_accumulate_depth():
    text = "+".join(["(((((x)))))"] * 20_000)
    assert len(sd.trace(text)) == 20_000


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9**9",
        "9^9^9^9",
        "2**2**2**2**2**2",
        "(9**9)**(9**9)",
        "x**9**9**9",
        "9.0**9**9**9",
        "10**-100000",
        "(2**9999*2**9999*2**9999*2**9999)**2",
        "-(9**9)**9**9",
    ],
)
def test_constant_towers_are_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(sd.LimitError):
        sd.grad(text)
    assert time.perf_counter() - start < 2


def test_largest_number_literals():
    # integers up to MAX_CONSTANT_DIGITS (4,000: below Python's 4,300-digit printing limit)
    assert sd.trace("1" * 4000).output.value == int("1" * 4000)
    assert "longer than 4,000 digits" in str(refused("1" * 4001))
    assert "longer than 100 characters" in str(refused("0." + "0" * 100 + "1"))


# Inputs that hang or blow memory today: each runs in its own child process, all at once, with
# 3 GiB of address space and a budget of CPU time (not wall time, so a busy machine does not
# turn a slow start into a failure) counted from when its input is ready; past the budget the
# kernel ends the child with SIGPROF.

_CHILD = r"""
import json, resource, signal, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import sympy
import symdiff as sd
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2] == "sympy-sum":  # a SymPy sum of that many distinct symbols
    expr = sympy.Add(*sympy.symbols(f"a0:{int(text)}"))
else:
    expr = text
signal.setitimer(signal.ITIMER_PROF, float(sys.argv[3]))  # default action: terminate
try:
    sd.trace(expr)
    out = "graph"
except sd.SymdiffError as err:
    out = "typed " + type(err).__name__
except BaseException as err:
    out = "raw " + type(err).__name__
signal.setitimer(signal.ITIMER_PROF, 0)
print(json.dumps(out))
"""

HAZARDS = {  # name: (kind, input, CPU seconds allowed)
    "control: x + 1": ("text", "x + 1", 0.5),  # the harness itself works
    "1e999999": ("text", "1e999999", 0.5),  # 8 characters
    "1e-999999999999": ("text", "1e-999999999999", 0.5),
    "1e999999999999": ("text", "1e999999999999", 0.5),
    "100,000-digit decimal": ("text", "1." + "1" * 100_000, 0.5),
    # parse_sympy orders the terms with SymPy's as_ordered_terms: quadratic in the width
    "SymPy sum of 10,000 symbols": ("sympy-sum", "10000", 1.5),
}


@pytest.fixture(scope="module")
def hazard_outcomes(tmp_path_factory):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    folder = tmp_path_factory.mktemp("hazards")
    procs = {}
    for i, (name, (kind, text, cpu_s)) in enumerate(HAZARDS.items()):
        path = folder / f"{i}.txt"
        path.write_text(text, encoding="utf-8")
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), kind, str(cpu_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env=env,
            text=True,
        )
    deadline = time.monotonic() + 60  # a backstop only: the CPU limit ends a hang first
    outcomes = {}
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            out = proc.stdout.read()
            cpu_s = HAZARDS[name][2]
            outcomes[name] = (
                json.loads(out)
                if out
                else f"killed by signal {-proc.returncode} (over its {cpu_s} s of CPU)"
            )
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            outcomes[name] = "still running after 60 s"
        finally:
            proc.stdout.close()
    return outcomes


@pytest.mark.parametrize("name", list(HAZARDS))
def test_hostile_inputs_never_hang_or_blow_memory(name, hazard_outcomes):
    outcome = hazard_outcomes[name]
    assert outcome == "graph" or outcome.startswith("typed "), f"{name!r}: {outcome}"


@pytest.mark.parametrize(
    "text",
    ["0." + "0" * 100_000 + "1", "x*" + "9" * 4300, "1e308*x", "1e-400*x", "1e400"],
    ids=["100,000 zeros then 1", "4,300-digit integer", "1e308*x", "1e-400*x", "1e400"],
)
def test_long_but_cheap_number_literals_parse_quickly(text):
    start = time.perf_counter()
    try:
        assert isinstance(sd.trace(text), sd.Graph)
    except sd.ParseError as err:  # past the literal bounds: refused at once, by a typed error
        assert "longer than" in str(err)
    assert time.perf_counter() - start < 1


# ---------------------------------------------------------------------------------------------
# accepted input must not crash later stages with untyped errors


@pytest.mark.parametrize(
    "text",
    [
        "max(0.0, 0.0/0.0)",  # ZeroDivisionError from the symbolic sweep
        "x*max(0.0, 0.0/0.0)",
        "min(2, cos(3)^cos(3))",  # ValueError from SymPy's Heaviside
        "x + min(2, cos(3)^cos(3))",
    ],
)
def test_grad_of_accepted_text_raises_only_typed_errors(text):
    try:
        gradient = sd.grad(text)
        str(gradient)
    except sd.SymdiffError:
        pass


def test_cli_prints_no_traceback_for_a_big_accepted_constant(capsys):
    from symdiff.cli import main

    # 2**20000 has 6,021 digits: under the parser's 10,000-digit bound, over Python's
    # 4,300-digit int-to-str limit, so printing the gradient raised a raw ValueError
    status = main(["grad", "x*2**20000"])
    captured = capsys.readouterr()
    assert status in (0, 2)
    assert status == 0 or len(captured.err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# (6) parse_sympy on odd SymPy objects

x_, y_ = sympy.symbols("x y")


@pytest.mark.parametrize(
    "obj",
    [
        sympy.I,
        x_ * sympy.I,
        x_ + sympy.I,
        sympy.oo,
        x_ + sympy.oo,
        -sympy.oo * x_,
        sympy.nan,
        sympy.Mul(x_, sympy.nan, evaluate=False),
        sympy.zoo,
        x_ + sympy.zoo,
        sympy.Float("inf") * x_,
        sympy.Piecewise((x_, x_ > 0), (-x_, True)),
        sympy.Integral(x_, x_),
        sympy.Integral(x_, (x_, 0, 1)) * x_,
        sympy.Derivative(sympy.Function("f")(x_), x_),
        sympy.Function("f")(x_),
        sympy.Function("f")(x_) + 1,
        sympy.Sum(x_, (x_, 1, 3)),
        sympy.Eq(x_, y_),
        x_ > y_,
        sympy.And(x_ > 0, y_ > 0),
        sympy.true,
        sympy.Matrix([x_, y_]),
        sympy.Tuple(x_, y_),
        sympy.Lambda(x_, x_**2),
        sympy.floor(x_),
        sympy.gamma(x_),
        sympy.re(x_),
        sympy.GoldenRatio * x_,
        sympy.AccumBounds(0, 1) * x_,
        sympy.log(x_, 2, evaluate=False),
    ],
    ids=repr,
)
def test_unsupported_sympy_objects_are_parse_errors(obj):
    with pytest.raises(sd.ParseError):
        parse_sympy(obj)
    with pytest.raises(sd.ParseError):
        sd.trace(obj)


@pytest.mark.parametrize(
    "obj",
    [sympy.sin, sympy.exp, sympy.Function("f"), sympy.Heaviside],
    ids=repr,
)
def test_sympy_function_classes_are_refused_with_typed_errors(obj):
    # callables go to the function tracer, which must refuse them with a SymdiffError
    with pytest.raises(sd.SymdiffError):
        sd.trace(obj)


@pytest.mark.parametrize(
    "obj",
    [
        sympy.Integer(10) ** 5000,  # 5,001 digits: str() of it raises ValueError in Python
        x_ ** (sympy.Integer(10) ** 5000),
        sympy.Rational(1, 10**5000) * x_,
        10**5000,
    ],
    ids=["10**5000", "x**(10**5000)", "x/10**5000", "python int 10**5000"],
)
def test_huge_sympy_integers_raise_typed_errors_or_parse(obj):
    with contextlib.suppress(sd.SymdiffError):
        sd.trace(obj)


@pytest.mark.parametrize(
    ("obj", "point"),
    [
        (sympy.Heaviside(x_, 0), {"x": 0.0}),
        (sympy.Heaviside(x_, sympy.S.Half), {"x": 0.0}),
        (sympy.Heaviside(x_, 1), {"x": 0.0}),
        (sympy.Heaviside(x_) * x_ + 1, {"x": -0.5}),
        (sympy.Max(x_, y_, 3), {"x": 1.0, "y": 4.0}),
        (sympy.Min(x_, y_, -2), {"x": 1.0, "y": 4.0}),
        (sympy.log(x_, 2), {"x": 8.0}),
        (sympy.exp(x_), {"x": 0.3}),
        (sympy.Pow(sympy.E, 2, evaluate=False), {}),
        (sympy.cbrt(x_), {"x": 27.0}),
        (x_**-0.5, {"x": 4.0}),
        (x_ ** sympy.Rational(-3, 2), {"x": 4.0}),
        (-2 * x_ / 3, {"x": 1.5}),
        (x_ / y_ - sympy.sqrt(x_), {"x": 4.0, "y": 8.0}),
        (sympy.Add(x_, -x_, evaluate=False), {"x": 3.0}),
        (sympy.Mul(x_, 0, evaluate=False), {"x": 3.0}),
        (sympy.Pow(x_, 0, evaluate=False), {"x": 3.0}),
        (sympy.atan2(y_, x_), {"x": -1.0, "y": 1.0}),
        (sympy.Abs(x_ - y_) * sympy.sign(y_), {"x": 1.0, "y": -4.0}),
        (sympy.Rational(3, 7) * x_ + sympy.pi, {"x": 7.0}),
    ],
    ids=repr,
)
def test_accepted_sympy_objects_keep_their_value(obj, point):
    graph = parse_sympy(obj)
    ours = sd.forward.output_value(graph, sd.evaluate(graph, point))
    subs = {sympy.Symbol(k): v for k, v in point.items()}
    assert math.isclose(ours, float(obj.subs(subs)), rel_tol=1e-12, abs_tol=1e-15), obj


def test_repeated_squaring_dag_is_walked_once():
    x = sympy.Symbol("x")
    e = x
    for _ in range(60):  # ~2**60 nodes as a tree
        e = e * e + e
    start = time.perf_counter()
    graph = parse_sympy(e)
    assert time.perf_counter() - start < 2
    assert len(graph) <= 3 * 60 + 1
    assert graph.source.startswith("<SymPy DAG")  # not printed as a tree


def test_shared_trig_dag_is_walked_once():
    x = sympy.Symbol("x")
    e = x
    for _ in range(60):
        e = sympy.sin(e) + sympy.cos(e)
    start = time.perf_counter()
    graph = parse_sympy(e)
    assert len(graph) <= 3 * 60 + 1
    assert time.perf_counter() - start < 2


def test_deep_small_sympy_tree_raises_no_recursion_error():
    # 301 nodes, under the 5,000-node bound for printing the source, but 300 levels deep:
    # str() of it overflows SymPy's recursive printer
    chain = sympy.Symbol("x")
    for _ in range(300):
        chain = sympy.exp(chain, evaluate=False)
    try:
        graph = parse_sympy(chain)
    except sd.SymdiffError:
        return
    assert len(graph) == 301
