"""The worked example of DESIGN.md, reproduced exactly: z = x1*x2 + sin(x1) at (2, 3)."""

import math

import sympy

import symdiff as sd

EXPR = "x1*x2 + sin(x1)"
AT = {"x1": 2, "x2": 3}


def test_numbering_follows_the_worked_example():
    graph = sd.trace(EXPR)
    assert [str(n) for n in graph.nodes] == [
        "w1 = x1",
        "w2 = x2",
        "w3 = w1·w2",
        "w4 = sin(w1)",
        "w5 = w3 + w4",
    ]
    assert graph.output == "w5"
    assert graph.nodes[2].args == ("w1", "w2")


def test_every_primal_value():
    values = sd.evaluate(sd.trace(EXPR), AT)
    assert values["w1"] == 2.0 and values["w2"] == 3.0 and values["w3"] == 6.0
    assert math.isclose(values["w4"], math.sin(2), rel_tol=1e-15)
    assert round(values["w4"], 4) == 0.9093
    assert round(values["w5"], 4) == 6.9093


def test_every_adjoint_formula_and_value():
    d = sd.derive(EXPR, at=AT)
    steps = {s.node: s for s in d.steps}
    w1, w2, w4 = (sympy.Symbol(n, real=True) for n in ("w1", "w2", "w4"))
    wbar3, wbar4, wbar5 = (sympy.Symbol(n, real=True) for n in ("wbar3", "wbar4", "wbar5"))
    x1, x2 = d.graph.symbols

    # the seed
    assert steps["w5"].seed == 1 and steps["w5"].expanded == 1 and steps["w5"].value == 1.0
    # local forms: the chain rule over the uses of each node, in the w's and w̄'s
    assert steps["w4"].local == wbar5 and steps["w3"].local == wbar5
    assert steps["w2"].local == wbar3 * w1
    assert steps["w1"].local == wbar3 * w2 + wbar4 * sympy.cos(w1)
    assert [(t.parent, t.partial) for t in steps["w1"].terms] == [("w3", w2), ("w4", sympy.cos(w1))]
    # expanded to the inputs
    assert steps["w2"].expanded == x1
    assert steps["w1"].expanded == x2 + sympy.cos(x1)
    # numbers from the numeric sweep
    assert steps["w2"].value == 2.0
    assert math.isclose(steps["w1"].value, 3 + math.cos(2), rel_tol=1e-15)
    assert round(steps["w1"].value, 4) == 2.5839
    # the reverse pass runs from the seed back to the first input
    assert [s.node for s in d.steps] == ["w5", "w4", "w3", "w2", "w1"]
    del w4


def test_step_text_reads_like_the_worked_example():
    d = sd.derive(EXPR, at=AT)
    text = [str(s) for s in d.steps]
    assert text[-1] == "w̄1 = w̄3·w2 + w̄4·cos(w1) = x2 + cos(x1) = 2.58385"
    assert text[-2] == "w̄2 = w̄3·w1 = x1 = 2"
    assert text[0] == "w̄5 = z̄ = 1 (the seed)"


def test_gradient():
    g = sd.grad(EXPR)
    x1, x2 = sympy.symbols("x1 x2", real=True)
    assert list(g) == ["x1", "x2"]
    assert g["x1"] == x2 + sympy.cos(x1) and g["x2"] == x1
    assert g.at(x1=2, x2=3) == {"x1": 3 + math.cos(2), "x2": 2.0}
    assert g.at({"x1": 2, "x2": 3})["x1"] == 2.5838531634528574


def test_explain_text_has_both_tables():
    text = str(sd.derive(EXPR, at=AT))
    for line in [
        "w3 = w1·w2         6",
        "w4 = sin(w1)       0.909297",
        "w̄1        w̄3·w2 + w̄4·cos(w1)   x2 + cos(x1)   2.58385",
        "dz/dx1 = x2 + cos(x1) = 2.58385",
        "dz/dx2 = x1 = 2",
    ]:
        assert line in text


def test_symbols_and_values_agree():
    """(b) the expanded formula evaluated at the point equals (c) the numeric sweep."""
    d = sd.derive(EXPR, at=AT)
    subs = dict(zip(d.graph.symbols, (2, 3), strict=True))
    for step in d.steps:
        assert math.isclose(float(step.expanded.evalf(subs=subs)), step.value, rel_tol=1e-14)
