"""LaTeX and Markdown derivations (symdiff.document): the worked example line by line, options,
escaping, and every standalone document compiled with `pdflatex -halt-on-error`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import sympy
from tools import compile_latex, run_symdiff

import symdiff as sd
from symdiff.document import DocumentOptions, escape_latex, latex_name, value_latex

EXPR = "x1*x2 + sin(x1)"
AT = {"x1": 2, "x2": 3}


def worked() -> sd.Derivation:
    return sd.derive(EXPR, at=AT)


def lines(tex: str) -> list[str]:
    """The document's lines, without the `\\\\` that ends a row of an aligned block."""
    return [line.removesuffix(" \\\\").strip() for line in tex.splitlines()]


def squeeze(tex: str) -> str:
    """LaTeX with braces, spaces and alignment marks dropped: `w_{3}` and `w_3` compare equal."""
    return re.sub(r"[{}\s&]", "", tex)


# The worked example, as the document must show it: 1) decomposition, 2) forward pass with
# values, 3) the seed, 4) the reverse pass (general form, local partials, expanded, value),
# 5) the result. Values to 3 decimals. (Products print with the rule table's `\cdot`.)
DECOMPOSITION = [
    r"w_{1} &= x_{1}",
    r"w_{2} &= x_{2}",
    r"w_{3} &= w_{1} \cdot w_{2}",
    r"w_{4} &= \sin w_{1}",
    r"w_{5} &= w_{3} + w_{4}",
    r"z &= w_{5}",
]
FORWARD = [
    r"w_{1} &= x_{1} = 2",
    r"w_{2} &= x_{2} = 3",
    r"w_{3} &= w_{1} \cdot w_{2} = 6",
    r"w_{4} &= \sin w_{1} \approx 0.909",
    r"w_{5} &= w_{3} + w_{4} \approx 6.909",
    r"z &= w_{5} \approx 6.909",
]
SEED = r"\bar{w}_{5} &= \frac{\partial z}{\partial z} = 1"
REVERSE = [
    r"\bar{w}_{4} &= \bar{w}_{5} \frac{\partial w_{5}}{\partial w_{4}} = \bar{w}_{5} \cdot 1 = 1"
    r" && \text{from }w_{5}",
    r"\bar{w}_{3} &= \bar{w}_{5} \frac{\partial w_{5}}{\partial w_{3}} = \bar{w}_{5} \cdot 1 = 1"
    r" && \text{from }w_{5}",
    r"\bar{w}_{2} &= \bar{w}_{3} \frac{\partial w_{3}}{\partial w_{2}} = \bar{w}_{3} w_{1}"
    r" = x_{1} = 2 && \text{from }w_{3}",
    r"\bar{w}_{1} &= \bar{w}_{3} \frac{\partial w_{3}}{\partial w_{1}}"
    r" + \bar{w}_{4} \frac{\partial w_{4}}{\partial w_{1}}"
    r" = \bar{w}_{3} w_{2} + \bar{w}_{4} \cos {w_{1}} = x_{2} + \cos {x_{1}} \approx 2.584"
    r" && \text{from }w_{3},\ w_{4}",
]
RESULT = [
    r"\frac{\partial z}{\partial x_{1}} &= x_{2} + \cos {x_{1}} \approx 2.584",
    r"\frac{\partial z}{\partial x_{2}} &= x_{1} = 2",
]


def test_worked_example_latex_has_every_line_in_order():
    tex = worked().to_latex()
    got = lines(tex)
    for expected in [*DECOMPOSITION, *FORWARD, SEED, *REVERSE, *RESULT]:
        assert expected in got, expected
    # the five parts in order, the reverse pass in graph order (from the seed back to w1)
    heads = ["Decomposition into primitives.", "Forward pass.", "Seed.", "Reverse pass.", "Result."]
    positions = [tex.index(rf"\paragraph{{{h}}}") for h in heads]
    assert positions == sorted(positions)
    order = [got.index(row) for row in [SEED, *REVERSE]]
    assert order == sorted(order)
    assert got.index(DECOMPOSITION[2]) < got.index(FORWARD[2])
    # one sentence on what a seed is
    assert "The seed is the adjoint the reverse pass starts from" in tex


def test_worked_example_matches_the_issue_spelling():
    """The lines as the issue writes them, up to braces and spacing."""
    tex = squeeze(worked().to_latex())
    for issue_line in [
        r"w_4 = \sin w_1 \approx 0.909",
        r"\bar{w}_1 = \bar{w}_3 \frac{\partial w_3}{\partial w_1} + \bar{w}_4 "
        r"\frac{\partial w_4}{\partial w_1} = \bar{w}_3 w_2 + \bar{w}_4 \cos w_1 = x_2 + \cos x_1 "
        r"\approx 2.584",
        r"w_5 = w_3 + w_4",
        r"z = w_5",
    ]:
        assert squeeze(issue_line) in tex, issue_line


def test_values_are_exact_or_rounded_to_three_decimals():
    assert value_latex(6.0) == "= 6"
    assert value_latex(-2.0) == "= -2"
    assert value_latex(0.9092974268256817) == r"\approx 0.909"
    assert value_latex(2.5838531634528574) == r"\approx 2.584"
    assert value_latex(1.5e-7) == r"\approx 1.500 \times 10^{-7}"
    assert value_latex(2.5e9) == "= 2500000000"
    assert value_latex(2.5e9 + 0.25) == r"\approx 2.500 \times 10^{9}"
    assert value_latex(0.9092974268256817, 5) == r"\approx 0.90930"


def test_standalone_worked_example_compiles(tmp_path):
    tex = worked().to_latex(standalone=True)
    assert tex.startswith("\\documentclass") and "\\usepackage{amsmath}" in tex
    assert "\\allowdisplaybreaks" in tex and "\\begin{align*}" in tex
    assert re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", tex) == ["amsmath"]
    compile_latex(tex, tmp_path)


def _chain(n: int) -> str:
    return " + ".join(f"x{i}*x{i + 1}" for i in range(1, n + 1))


# Every kind of derivation, each compiled on its own below.
CASES = {
    "symbolic": lambda: sd.derive(EXPR),
    "local only": lambda: sd.derive(EXPR, at=AT).to_latex(standalone=True, form="local"),
    "expanded only": lambda: sd.derive(EXPR, at=AT).to_latex(standalone=True, form="expanded"),
    "textbook v": lambda: sd.derive(EXPR, at=AT).to_latex(standalone=True, prefix="v"),
    "seed 2": lambda: sd.derive(EXPR, at=AT, seed=2),
    "forward mode": lambda: sd.derive(EXPR, at=AT, mode="forward"),
    "two outputs": lambda: sd.derive(["x*y", "sin(x*y) + x"], at={"x": 2, "y": 3}, seed=[1, 2]),
    "kink": lambda: sd.derive("abs(x)*y + relu(x)", at={"x": 0, "y": 2}),
    "every primitive": lambda: sd.derive(
        "tan(a) + asin(b) + acos(b) + atan(a) + sinh(a) + cosh(a) + tanh(a) + exp(-a) + log(c)"
        " + sqrt(c) + sign(a) + erf(a) + sigmoid(a) + softplus(a) + max(a, c) + min(a, c)"
        " + atan2(a, c) + a^c - c/a + (-a)",
        at={"a": 0.3, "b": 0.5, "c": 2},
    ),
    "names that need escaping": lambda: sd.derive(
        "alpha*x_1 + theta_2*learning_rate_of_the_second_layer + x__2/_y + θ*é + x_max",
        at={
            "alpha": 1,
            "x_1": 2,
            "theta_2": 3,
            "learning_rate_of_the_second_layer": 4,
            "x__2": 5,
            "_y": 6,
            "θ": 7,
            "é": 8,
            "x_max": 9,
        },
    ),
    "large, summarised": lambda: sd.derive(
        _chain(120), at={f"x{i}": 1 for i in range(1, 122)}, simplify="none"
    ),
    "title with specials": lambda: sd.derive(EXPR, at=AT).to_latex(
        standalone=True, title="50% of a_b & c#1 {x} ~ ^ \\ $"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_standalone_document_compiles(case, tmp_path):
    made = CASES[case]()
    tex = made if isinstance(made, str) else made.to_latex(standalone=True)
    compile_latex(tex, tmp_path)


def test_symbolic_derivation_has_formulas_and_no_values():
    tex = sd.derive(EXPR).to_latex()
    assert r"\approx" not in tex and "= 6" not in tex
    assert "No point is given" in tex
    assert r"\frac{\partial z}{\partial x_{1}} &= x_{2} + \cos {x_{1}}" in lines(tex)


def test_form_option_local_or_expanded():
    d = worked()
    local = lines(d.to_latex(form="local"))
    assert (
        r"\bar{w}_{1} &= \bar{w}_{3} \frac{\partial w_{3}}{\partial w_{1}}"
        r" + \bar{w}_{4} \frac{\partial w_{4}}{\partial w_{1}}"
        r" = \bar{w}_{3} w_{2} + \bar{w}_{4} \cos {w_{1}} \approx 2.584"
        r" && \text{from }w_{3},\ w_{4}"
    ) in local
    expanded = lines(d.to_latex(form="expanded"))
    assert (
        r"\bar{w}_{1} &= \bar{w}_{3} \frac{\partial w_{3}}{\partial w_{1}}"
        r" + \bar{w}_{4} \frac{\partial w_{4}}{\partial w_{1}}"
        r" = x_{2} + \cos {x_{1}} \approx 2.584 && \text{from }w_{3},\ w_{4}"
    ) in expanded


def test_prefix_option_gives_the_textbook_names():
    d = worked()
    tex = d.to_latex(prefix="v")
    assert r"v_{3} &= v_{1} \cdot v_{2} = 6" in lines(tex)
    assert r"\bar{v}_{5} &= \frac{\partial z}{\partial z} = 1" in lines(tex)
    assert "w_{" not in tex
    # the same through trace(prefix=...), which the CLI uses
    traced = sd.derive(sd.trace(EXPR, prefix="v"), at=AT).to_latex()
    assert r"v_{3} &= v_{1} \cdot v_{2} = 6" in lines(traced)
    with pytest.raises(sd.VariableError):
        sd.derive("v1 + x", at={"v1": 1, "x": 2}).to_latex(prefix="v")


@pytest.mark.parametrize(
    "options",
    [
        {"form": "all"},
        {"prefix": "1"},
        {"prefix": "w_"},
        {"max_nodes": 1},
        {"decimals": -1},
        {"decimals": 1.5},
        {"max_nodes": True},
    ],
)
def test_bad_options_are_typed_errors(options):
    with pytest.raises(sd.SymdiffError):
        DocumentOptions(**options)
    with pytest.raises(sd.SymdiffError):
        worked().to_markdown(**options)


def test_decimals_option():
    assert r"w_{4} &= \sin w_{1} \approx 0.90930" in lines(worked().to_latex(decimals=5))


@pytest.mark.parametrize(
    ("name", "tex"),
    [
        ("x1", "x_{1}"),
        ("x_1", "x_{1}"),
        ("alpha", r"\alpha"),
        ("theta_2", r"\theta_{2}"),
        ("x_max", r"x_{\mathrm{max}}"),
        ("learning_rate", r"\mathit{learning}_{\mathrm{rate}}"),
        ("rate", r"\mathit{rate}"),
        ("x__2", r"\mathit{x\_\_2}"),
        ("_y", r"\mathit{\_y}"),
        ("a_b_c", r"\mathit{a\_b\_c}"),
        ("θ", r"\theta"),
        ("θ1", r"\theta_{1}"),
    ],
)
def test_variable_names_as_latex(name, tex):
    assert latex_name(name) == tex


def test_user_text_is_escaped():
    assert escape_latex("a_b & 50% #1 {x} ~ ^ \\ $") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} \$"
    )
    assert escape_latex("w3 = w1·w2") == r"w3 = w1\ensuremath{\cdot}w2"
    d = sd.derive("learning_rate*x_1", at={"learning_rate": 1, "x_1": 2})
    tex = d.to_latex()
    assert r"\texttt{learning\_rate*x\_1}" in tex
    assert r"\mathit{learning}_{\mathrm{rate}} = 1" in tex


def test_kink_note_in_the_document():
    tex = sd.derive("abs(x)*y", at={"x": 0, "y": 2}).to_latex()
    assert "sits on its kink" in tex and "abs'(0) = 1" in tex
    # the unit step reads H, not SymPy's theta (which could be a variable's name)
    assert r"H_{1}\left(" in tex


def test_large_graph_is_summarised():
    d = sd.derive(_chain(120), at={f"x{i}": 1 for i in range(1, 122)}, simplify="none")
    assert len(d.graph) > 300
    tex = d.to_latex()
    assert "more than this document's limit of 120" in tex
    assert tex.count(r"\vdots") == 4  # decomposition, forward, reverse, result
    assert len(tex.splitlines()) < 700
    small = d.to_latex(max_nodes=10)
    assert len(small.splitlines()) < 120
    assert re.search(r"\\text\{\(\d+ more lines\)\}", small)


def test_forward_mode_document():
    got = lines(sd.derive(EXPR, at=AT, mode="forward").to_latex())
    assert r"\dot{x}_{1} &= 1" in got and r"\dot{x}_{2} &= 0" in got
    assert (
        r"\dot{w}_{3} &= \frac{\partial w_{3}}{\partial w_{1}} \dot{w}_{1}"
        r" + \frac{\partial w_{3}}{\partial w_{2}} \dot{w}_{2}"
        r" = w_{2} \dot{w}_{1} + w_{1} \dot{w}_{2} = x_{2} = 3"
    ) in got
    assert r"\dot{z} &= x_{2} + \cos {x_{1}} \approx 2.584" in got


def test_two_outputs_document():
    d = sd.derive(["x*y", "sin(x*y) + x"], at={"x": 2, "y": 3}, seed=[1, 2])
    got = lines(d.to_latex())
    assert r"z_{1} &= w_{3} = 6" in got and r"\bar{z}_{2} &= 2" in got
    assert any(line.startswith(r"\bar{w}_{3} &= \bar{z}_{1} + \bar{w}_{4}") for line in got)
    assert any(
        line.startswith(r"\sum_i \bar{z}_i \frac{\partial z_i}{\partial x} &=") for line in got
    )


def test_markdown_has_dollar_math_for_github_and_jupyter():
    md = worked().to_markdown()
    assert md.count("$$") % 2 == 0 and md.count("$$\n\\begin{aligned}") == 5
    assert "align*" not in md and "\\paragraph" not in md
    assert "**Seed.**" in md and "`x1*x2 + sin(x1)`" in md
    for expected in [FORWARD[3], REVERSE[-1], RESULT[0]]:
        assert expected in lines(md)


def test_sympy_latex_and_jupyter_reprs(tmp_path):
    d = worked()
    assert sympy.latex(d) == d._latex()
    assert sympy.latex(d).startswith("\\begin{aligned}")
    assert d._repr_latex_().startswith("$$") and d._repr_latex_().endswith("$$")
    assert d._repr_markdown_() == d.to_markdown()
    gradient = sd.grad(EXPR)
    assert r"\frac{\partial z}{\partial x_{1}} &= x_{2} + \cos {x_{1}}" in lines(
        sympy.latex(gradient)
    )
    assert gradient._repr_latex_().startswith("$$")
    assert r"w_{4} &= \sin w_{1}" in lines(sympy.latex(d.graph))
    svg = d.graph._repr_svg_()
    assert ET.fromstring(svg.encode()).tag.endswith("svg")
    # the `aligned` blocks paste into a document as they are
    body = "\n".join(f"\\[\n{block}\n\\]" for block in (sympy.latex(d), sympy.latex(gradient)))
    compile_latex(
        f"\\documentclass{{article}}\n\\usepackage{{amsmath}}\n\\begin{{document}}\n{body}\n"
        "\\end{document}\n",
        tmp_path,
    )


def test_cli_explain_latex_file_compiles(tmp_path):
    result = run_symdiff(
        "explain",
        EXPR,
        "--at",
        "x1=2,x2=3",
        "--format",
        "latex",
        "-o",
        "derivation.tex",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    tex = (tmp_path / "derivation.tex").read_text(encoding="utf-8")
    assert tex == worked().to_latex(standalone=True)
    compile_latex(tex, tmp_path, "derivation")


def test_cli_explain_formats(tmp_path):
    markdown = run_symdiff(
        "explain", EXPR, "--at", "x1=2,x2=3", "--format", "markdown", cwd=tmp_path
    )
    assert markdown.returncode == 0 and markdown.stdout == worked().to_markdown()
    text = run_symdiff("explain", EXPR, "--at", "x1=2,x2=3", cwd=tmp_path)
    assert text.stdout == str(worked()) + "\n"  # the default stays the text tables
    fragment = run_symdiff(
        "explain",
        EXPR,
        "--format",
        "latex",
        "--fragment",
        "--prefix",
        "v",
        "--form",
        "local",
        cwd=tmp_path,
    )
    assert fragment.returncode == 0 and "\\documentclass" not in fragment.stdout
    assert r"v_{3} &= v_{1} \cdot v_{2}" in lines(fragment.stdout)
    bad = run_symdiff(
        "explain", EXPR, "--format", "latex", "-o", str(tmp_path / "no" / "d.tex"), cwd=tmp_path
    )
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
