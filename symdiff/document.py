"""Derivations as documents: LaTeX (a fragment or a whole `.tex` file) and Markdown with `$$` math.

A document has the five parts a course teaches reverse mode with (DESIGN.md, the worked example):
the decomposition into primitives, the forward pass with values, the seed, the reverse pass (per
node, the chain rule over its parents: general form, local partials, expanded formula, value) and
the result. Both formats are built from one list of sections, so they always say the same thing.

Formulas go through SymPy's LaTeX printer with every symbol named here (`latex_name`), so a
variable called `x__2`, `_y` or `θ` still gives valid LaTeX; prose that comes from the user (the
expression, the kink notes) is escaped (`escape_latex`, `escape_markdown`).

Example:
    >>> import symdiff as sd
    >>> d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
    >>> tex = to_latex(d)
    >>> r"w_{4} &= \\sin w_{1} \\approx 0.909" in tex
    True
    >>> latex_name("theta_2"), latex_name("learning_rate")
    ('\\\\theta_{2}', '\\\\mathit{learning}_{\\\\mathrm{rate}}')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Literal

import sympy
from sympy.printing.latex import LatexPrinter, translate

from .errors import LimitError, SymdiffError
from .graph import Arg, Const, Graph, Node, _choose_prefix
from .primitives import PRIMITIVES
from .render import cut, number_str
from .reverse import seed_value

if TYPE_CHECKING:
    from .closedform import Gradient
    from .derivation import Derivation
    from .forward import TangentStep
    from .reverse import AdjointStep

Form = Literal["local", "expanded", "both"]

#: Past this many nodes a document shows the first and last lines of each pass only.
MAX_DOCUMENT_NODES = 120
#: A formula bigger than this (SymPy tree nodes) is not printed; the API objects hold it.
MAX_FORMULA_SIZE = 400
#: What stands for a formula too long to print.
TOO_LONG = r"\dots\ \text{(too long to print)}"
#: A row wider than this (roughly, in characters of typeset math) breaks at each `=`.
MAX_ROW_WIDTH = 80


@dataclass(frozen=True)
class DocumentOptions:
    """What a derivation document shows; validated here, once, for every format.

    Attributes:
        form: each adjoint as `"local"` partials, `"expanded"` to the inputs, or `"both"`.
        prefix: the node letter (`"w"`, or `"v"` for the textbook convention); default: the
            graph's own.
        max_nodes: past this many nodes, each pass shows its first and last lines only.
        decimals: decimals of the values (`≈ 0.909`); exact integers print as they are.
        title: a heading for standalone documents (default: names the expression).

    Example:
        >>> DocumentOptions(form="local", prefix="v").prefix
        'v'
    """

    form: Form = "both"
    prefix: str | None = None
    max_nodes: int = MAX_DOCUMENT_NODES
    decimals: int = 3
    title: str | None = None

    def __post_init__(self) -> None:
        if self.form not in ("local", "expanded", "both"):
            raise SymdiffError(f"form must be 'local', 'expanded' or 'both', got {self.form!r}")
        if self.prefix is not None and not (
            isinstance(self.prefix, str) and self.prefix.isascii() and self.prefix.isalpha()
        ):
            raise SymdiffError(
                f"prefix must be ASCII letters such as 'w' or 'v', got {self.prefix!r}"
            )
        if isinstance(self.max_nodes, bool) or not isinstance(self.max_nodes, int):
            raise SymdiffError(f"max_nodes must be an integer, got {self.max_nodes!r}")
        if self.max_nodes < 2:
            raise SymdiffError(f"max_nodes must be at least 2, got {self.max_nodes}")
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int):
            raise SymdiffError(f"decimals must be an integer, got {self.decimals!r}")
        if not 0 <= self.decimals <= 15:
            raise SymdiffError(f"decimals must be between 0 and 15, got {self.decimals}")


# --------------------------------------------------------------------------- escaping and names

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
# The non-ASCII characters symdiff's own text uses (render.py), as LaTeX that needs no package.
_LATEX_SYMBOLS = {
    "·": r"\cdot",
    "×": r"\times",
    "∂": r"\partial",
    "Σ": r"\Sigma",
    "≈": r"\approx",
    "…": r"\ldots",
    "−": "-",
}
_MACRON = "\u0304"
_DOT_ABOVE = "\u0307"


def _greek(ch: str) -> str | None:
    """`θ` -> `theta` (SymPy's spelling, so `translate` knows it), or None."""
    name = unicodedata.name(ch, "")
    match = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", name)
    if not match:
        return None
    word = match.group(2).lower()
    return word if match.group(1) == "SMALL" else word.capitalize()


def _unicode_math(ch: str) -> str:
    """Math-mode LaTeX for one non-ASCII character; unknown ones become their code point, since
    pdflatex stops on a Unicode character it has no definition for."""
    if ch in _LATEX_SYMBOLS:
        return _LATEX_SYMBOLS[ch]
    word = _greek(ch)
    if word is not None and translate(word) != word:
        return translate(word)
    return rf"\langle\mathrm{{U{ord(ch):04X}}}\rangle"


def escape_latex(text: str) -> str:
    """User text as LaTeX text mode: specials escaped, `·`, `w̄3`, Greek letters as math.

    Example:
        >>> escape_latex("a_1 & 50% of x^2·y")
        'a\\\\_1 \\\\& 50\\\\% of x\\\\textasciicircum{}2\\\\ensuremath{\\\\cdot}y'
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in (_MACRON, _DOT_ABOVE) and out:  # w̄ is `w` + a combining macron
            accent = r"\bar" if ch == _MACRON else r"\dot"
            out[-1] = rf"\ensuremath{{{accent}{{{out[-1]}}}}}"
        elif ch in _LATEX_SPECIALS:
            out.append(_LATEX_SPECIALS[ch])
        elif ch.isascii():
            out.append(ch)
        else:
            out.append(rf"\ensuremath{{{_unicode_math(ch)}}}")
    return "".join(out)


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>$|#])")


def escape_markdown(text: str) -> str:
    """User text as Markdown that shows literally (no emphasis, links, HTML or math).

    Example:
        >>> escape_markdown("x_1*y_2 costs $3")
        'x\\\\_1\\\\*y\\\\_2 costs \\\\$3'
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def _word(word: str, multi: str = r"\mathit") -> str:
    """A letter word as math: Greek and SymPy modifiers (`xbar`) translated, one letter as is,
    longer words upright or italic as one unit (`learning` is not l·e·a·r·n·i·n·g)."""
    tex = translate(word)
    if tex != word or len(word) == 1:
        return tex
    return rf"{multi}{{{word}}}"


def _plain_name(name: str) -> str:
    """Unicode Greek letters spelled out (`θ1` -> `theta1`), so they get SymPy's names."""
    return "".join(_greek(ch) or ch for ch in name)


_SIMPLE_NAME = re.compile(
    r"(?P<base>[A-Za-z]+?)_?(?P<num>\d+)|(?P<word>[A-Za-z]+)(?:_(?P<sub>[A-Za-z0-9]+))?"
)


def latex_name(name: str) -> str:
    """A variable name as math-mode LaTeX, valid for any identifier.

    `x1` and `x_1` give `x_{1}`, `alpha` gives `\\alpha`, `theta_2` `\\theta_{2}`, `x_max`
    `x_{\\mathrm{max}}`, `learning_rate` `\\mathit{learning}_{\\mathrm{rate}}`. Any other name
    (`x__2`, `_y`, `a_b_c`) is set whole in `\\mathit` with its underscores escaped: SymPy would
    read `x__2` as a superscript, which is not what the user wrote.

    Example:
        >>> latex_name("x1"), latex_name("alpha"), latex_name("x__2")
        ('x_{1}', '\\\\alpha', '\\\\mathit{x\\\\_\\\\_2}')
    """
    plain = _plain_name(name)
    match = _SIMPLE_NAME.fullmatch(plain)
    if match and match.group("num") is not None:
        return f"{_word(match.group('base'))}_{{{match.group('num')}}}"
    if match:
        base = _word(match.group("word"))
        sub = match.group("sub")
        if sub is None:
            return base
        sub_tex = sub if sub.isdigit() else _word(sub, multi=r"\mathrm")
        return f"{base}_{{{sub_tex}}}"
    chars = []
    for ch in name:
        if ch.isascii() and ch.isalnum():
            chars.append(ch)
        elif ch == "_":
            chars.append(r"\_")
        else:
            chars.append(f"{{{_unicode_math(ch)}}}")
    return rf"\mathit{{{''.join(chars)}}}"


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, with the unit step as `H_{a}(x)` (`a` its value at 0, the kink
    convention): SymPy writes `\\theta(x)`, which reads as a variable called theta."""

    def _print_Heaviside(self, expr: sympy.Heaviside, exp: str | None = None) -> str:
        at_zero = "".join(f"_{{{self._print(a)}}}" for a in expr.args[1:])
        tex = rf"H{at_zero}\left({self._print(expr.args[0])}\right)"
        return rf"\left({tex}\right)^{{{exp}}}" if exp else tex


class Names:
    """The LaTeX of every symbol of a graph: variables, outputs, nodes `w_{3}`, adjoints
    `\\bar{w}_{3}` and tangents `\\dot{w}_{3}`.

    Args:
        graph: the traced expression.
        prefix: the node letter to print (default: the graph's own); a letter whose names a
            variable already uses is refused, as `trace(prefix=...)` refuses it.

    Example:
        >>> import symdiff as sd
        >>> names = Names(sd.trace("x1*x2 + sin(x1)"), prefix="v")
        >>> names.node("w3"), names.bar("w3"), names.expr(sd.grad("x1*x2 + sin(x1)")["x1"])
        ('v_{3}', '\\\\bar{v}_{3}', 'x_{2} + \\\\cos {x_{1}}')
    """

    def __init__(self, graph: Graph, prefix: str | None = None) -> None:
        self.graph = graph
        letter = _choose_prefix(graph.variables, prefix) if prefix else graph.prefix
        self.letter = _word(letter)
        symbols: dict[sympy.Symbol, str] = {
            symbol: latex_name(var)
            for var, symbol in zip(graph.variables, graph.symbols, strict=True)
        }
        for node in graph.nodes:
            symbols[graph.w(node.name)] = self.node(node.name)
            symbols[graph.wbar(node.name)] = self.bar(node.name)
            symbols[graph.wdot(node.name)] = self.dot(node.name)
        self.symbol_names = symbols
        self._printer = _Printer({"symbol_names": symbols, "fold_func_brackets": True})

    def _index(self, name: str) -> str:
        return name[len(self.graph.prefix) :]

    def node(self, name: str) -> str:
        """`w3` -> `w_{3}` (in the chosen letter)."""
        return f"{self.letter}_{{{self._index(name)}}}"

    def bar(self, name: str) -> str:
        """`w3` -> `\\bar{w}_{3}`, its adjoint."""
        return rf"\bar{{{self.letter}}}_{{{self._index(name)}}}"

    def dot(self, name: str) -> str:
        """`w3` -> `\\dot{w}_{3}`, its tangent."""
        return rf"\dot{{{self.letter}}}_{{{self._index(name)}}}"

    def var(self, name: str) -> str:
        """A variable or output name (`x1` -> `x_{1}`, `z` -> `z`)."""
        symbol = self.graph.symbol_of.get(name)
        return self.symbol_names[symbol] if symbol is not None else latex_name(name)

    def arg(self, arg: Arg) -> str:
        """A node argument: its name, or the constant (negative ones in parentheses)."""
        if isinstance(arg, Const):
            tex = sympy.latex(arg.value)
            return rf"\left({tex}\right)" if tex.startswith("-") else tex
        return self.node(arg)

    def rhs(self, node: Node) -> str:
        """The right-hand side of a Wengert line, from the rule table's LaTeX template."""
        if node.is_input:
            return self.var(str(node.var))
        return PRIMITIVES[node.op].latex.format(*map(self.arg, node.args))

    def expr(self, formula: sympy.Expr) -> str:
        """A formula through SymPy's printer with these names; a huge one is not printed."""
        formula = sympy.sympify(formula)  # rule-table partials may be plain numbers
        size = sum(1 for _ in islice(sympy.preorder_traversal(formula), MAX_FORMULA_SIZE + 1))
        if size > MAX_FORMULA_SIZE:
            return TOO_LONG
        return self._printer.doprint(formula)


BAR, DOT = r"\bar", r"\dot"


def accent(tex: str, mark: str) -> str:
    """`\\bar` or `\\dot` over a name's base, not its subscript: `z_{1}` -> `\\bar{z}_{1}`."""
    base, sub, rest = tex.partition("_{")
    if sub and "{" not in base:  # `\mathit{learning}_{...}` keeps the accent over the whole
        return rf"{mark}{{{base}}}_{{{rest}"
    return rf"{mark}{{{tex}}}"


def value_latex(value: float, decimals: int = 3) -> str:
    """A value after its relation: `= 6` when exact, `\\approx 0.909` when rounded.

    Example:
        >>> value_latex(6.0), value_latex(0.9092974), value_latex(-1.5e-7)
        ('= 6', '\\\\approx 0.909', '\\\\approx -1.500 \\\\times 10^{-7}')
    """
    exact = number_str(value, None)
    if re.fullmatch(r"-?\d+", exact):
        return f"= {exact}"
    if 1e-3 <= abs(value) < 1e6:
        return rf"\approx {value:.{decimals}f}"
    mantissa, exponent = f"{value:.{decimals}e}".split("e")
    return rf"\approx {mantissa} \times 10^{{{int(exponent)}}}"


# --------------------------------------------------------------------------- the document model


@dataclass(frozen=True)
class Math:
    """Inline math inside prose (LaTeX, already escaped)."""

    tex: str


@dataclass(frozen=True)
class Code:
    """User text shown verbatim (the expression)."""

    text: str


Inline = str | Math | Code
"""A piece of prose: plain text (escaped on output), inline math or code."""


@dataclass(frozen=True)
class Row:
    """One aligned equation: `lhs` then the chain of `= ...` pieces, and a note on the right."""

    lhs: str
    pieces: tuple[str, ...]
    note: str = ""


@dataclass
class Section:
    """A titled part of the document: prose, then aligned equations, then more prose."""

    title: str
    prose: list[Inline] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    after: list[list[Inline]] = field(default_factory=list)


_ELIDED = r"\vdots"


def _summarised(rows: list[Row], limit: int) -> list[Row]:
    """The first and last lines of a long pass, with the number left out in between."""
    if len(rows) <= limit:
        return rows
    keep = limit // 2
    skipped = len(rows) - 2 * keep
    gap = Row(_ELIDED, (), rf"\text{{({skipped} more lines)}}")
    return [*rows[:keep], gap, *rows[len(rows) - keep :]]


def _partial(names: Names, parent: str, node: str) -> str:
    return rf"\frac{{\partial {names.node(parent)}}}{{\partial {names.node(node)}}}"


def _factor(names: Names, formula: sympy.Expr) -> str:
    """A local partial as a factor next to an adjoint or tangent: numbers get `\\cdot`, sums
    and negative factors parentheses."""
    tex = names.expr(formula)
    if formula.is_Add or tex.startswith("-"):
        tex = rf"\left({tex}\right)"
    return rf"\cdot {tex}" if formula.is_Number else tex


def _value_pieces(
    formula_shown: bool, formula: sympy.Expr, value: float | None, decimals: int
) -> list[str]:
    """`≈ value`, unless there is none or the formula shown is already that number."""
    if value is None or (formula_shown and formula.is_Number):
        return []
    return [value_latex(value, decimals)]


def step_row(
    names: Names, step: AdjointStep, form: Form, decimals: int, seed: str | None = None
) -> Row:
    """One reverse step: `\\bar{w}_1 = Σ \\bar{w}_j ∂w_j/∂w_1 = (local) = (expanded) ≈ value`.

    Args:
        names: the LaTeX names.
        step: the adjoint step.
        form: `"local"`, `"expanded"` or `"both"`.
        decimals: of the value.
        seed: for an output's step, what its seed is called (`\\bar{z}`).

    Example:
        >>> import symdiff as sd
        >>> d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
        >>> step_row(Names(d.graph), d.steps[3], "both", 3).pieces[1:]
        ('= \\\\bar{w}_{3} w_{1}', '= x_{1}', '= 2')
    """
    lhs = names.bar(step.node)
    seeded = [seed or r"\bar{z}"] if step.seed is not None else []
    if not step.terms:
        if not seeded:
            return Row(lhs, ("= 0",), r"\text{not used by the output}")
        return Row(lhs, (f"= {seeded[0]}", f"= {names.expr(step.seed)}"))
    general = seeded + [
        f"{names.bar(t.parent)} {_partial(names, t.parent, step.node)}" for t in step.terms
    ]
    pieces = ["= " + " + ".join(general)]
    if form in ("local", "both"):
        local = seeded + [f"{names.bar(t.parent)} {_factor(names, t.partial)}" for t in step.terms]
        pieces.append("= " + " + ".join(local))
    if form in ("expanded", "both"):
        pieces.append(f"= {names.expr(step.expanded)}")
    pieces += _value_pieces(form != "local", step.expanded, step.value, decimals)
    parents = dict.fromkeys(t.parent for t in step.terms)
    note = r"\text{from }" + r",\ ".join(names.node(p) for p in parents)
    return Row(lhs, tuple(pieces), note)


def tangent_row(names: Names, step: TangentStep, form: Form, decimals: int) -> Row:
    """One forward-mode step: `\\dot{w}_3 = Σ ∂w_3/∂w_j \\dot{w}_j = (local) = (expanded) ≈ value`.

    Example:
        >>> import symdiff as sd
        >>> d = sd.derive("x1*x2", at={"x1": 2, "x2": 3}, mode="forward")
        >>> tangent_row(Names(d.graph), d.tangent_steps[2], "both", 3).pieces[1:]
        ('= w_{2} \\\\dot{w}_{1} + w_{1} \\\\dot{w}_{2}', '= x_{2}', '= 3')
    """
    lhs = names.dot(step.node)
    if step.seed is not None:
        var = names.graph.node(step.node).var
        seed = accent(names.var(str(var)), DOT)
        return Row(lhs, (f"= {seed}", f"= {names.expr(step.seed)}"))
    general = [f"{_partial(names, step.node, arg)} {names.dot(arg)}" for arg, _ in step.terms]
    pieces = ["= " + (" + ".join(general) or "0")]
    if form in ("local", "both") and step.terms:
        local = []
        for arg, partial in step.terms:
            factor = _factor(names, partial)
            if partial.is_Number:  # the number goes first: `2 \cdot \dot{w}_1`
                factor = factor.removeprefix(r"\cdot ") + r" \cdot"
            local.append(f"{factor} {names.dot(arg)}")
        pieces.append("= " + " + ".join(local))
    if form in ("expanded", "both") and step.terms:
        pieces.append(f"= {names.expr(step.expanded)}")
    pieces += _value_pieces(form != "local", step.expanded, step.value, decimals)
    return Row(lhs, tuple(pieces))


def gradient_rows(
    gradient: Gradient,
    names: Names | None = None,
    values: Mapping[str, float] | None = None,
    decimals: int = 3,
) -> list[Row]:
    """`∂z/∂x_1 = x_2 + cos x_1 ≈ 2.584`, one row per variable.

    A seed other than 1 shows in front (`\\bar{z}\\, ∂z/∂x_1`); with several outputs each row
    is the vector-Jacobian product `Σ_i \\bar{z}_i ∂z_i/∂x_1`.

    Example:
        >>> import symdiff as sd
        >>> [r.pieces for r in gradient_rows(sd.grad("x1*x2 + sin(x1)"))]
        [('= x_{2} + \\\\cos {x_{1}}',), ('= x_{1}',)]
    """
    names = names or Names(gradient.graph)
    several = len(gradient.graph.outputs) > 1
    plain = not several and seed_value(gradient.seed) == 1
    rows = []
    for var in gradient.variables:
        d_var = rf"\partial {names.var(var)}"
        if several:
            lhs = rf"\sum_i \bar{{z}}_i \frac{{\partial z_i}}{{{d_var}}}"
        else:
            lhs = ("" if plain else r"\bar{z}\, ") + rf"\frac{{\partial z}}{{{d_var}}}"
        try:
            formula = gradient[var]
            pieces = [f"= {names.expr(formula)}"]
        except LimitError:  # the flat closed form is past its budget; the value still exists
            formula, pieces = sympy.Symbol("_"), [f"= {TOO_LONG}"]
        if values is not None:
            pieces += _value_pieces(True, formula, values[var], decimals)
        rows.append(Row(lhs, tuple(pieces)))
    return rows


def primal_rows(
    graph: Graph,
    names: Names,
    values: Mapping[str, float] | None = None,
    output_values: Mapping[str, float] | None = None,
    decimals: int = 3,
) -> list[Row]:
    """The Wengert list as rows (`w_3 = w_1 \\cdot w_2`), then the outputs (`z = w_5`), with
    `= 6` after each when values are given."""
    rows = []
    for node in graph.nodes:
        pieces = [f"= {names.rhs(node)}"]
        if values is not None:
            pieces.append(value_latex(values[node.name], decimals))
        rows.append(Row(names.node(node.name), tuple(pieces)))
    for name, out in zip(graph.output_names, graph.outputs, strict=True):
        pieces = [f"= {names.arg(out)}"]
        if output_values is not None:
            pieces.append(value_latex(output_values[name], decimals))
        rows.append(Row(names.var(name), tuple(pieces)))
    return rows


def _intro(d: Derivation, names: Names, limit: int) -> Section:
    graph = d.graph
    outputs = ", ".join(graph.output_names)
    intro: list[Inline] = ["We differentiate ", Math(", ".join(map(names.var, graph.output_names)))]
    intro += [" given by " if outputs else "", Code(cut(graph.source, 200))]
    if d.point:
        pairs = [f"{names.var(v)} = {number_str(x)}" for v, x in d.point.items()]
        intro += [" at ", Math(r",\ ".join(pairs))]
    how = "forward" if d.mode == "forward" else "reverse"
    intro.append(f" by {how}-mode automatic differentiation.")
    if len(graph) > limit:
        intro.append(
            f" The graph has {len(graph)} nodes, more than this document's limit of {limit}:"
            f" each pass shows its first and last {limit // 2} lines, and the Python objects"
            " hold every line."
        )
    return Section("", intro)


def _primal_sections(d: Derivation, names: Names, opts: DocumentOptions) -> list[Section]:
    graph, limit = d.graph, opts.max_nodes + len(d.graph.outputs)
    out = [
        Section(
            "Decomposition into primitives",
            [
                "Each line applies one primitive of the rule table to earlier lines: the inputs "
                "first, then the operations in evaluation order (the Wengert list)."
            ],
            _summarised(primal_rows(graph, names), limit),
        )
    ]
    if d.values is None:
        out.append(
            Section(
                "Forward pass",
                [
                    "No point is given, so the derivation stays symbolic: every "
                    + ("tangent" if d.mode == "forward" else "adjoint")
                    + " below is a formula, without a number."
                ],
            )
        )
    else:
        rows = primal_rows(graph, names, d.values, d.output_values, opts.decimals)
        out.append(
            Section(
                "Forward pass",
                ["The forward pass evaluates the lines in order at the point."],
                _summarised(rows, limit),
            )
        )
    return out


def _seed_names(d: Derivation, names: Names) -> dict[str, str]:
    """Output node -> what its seed is called: `\\bar{z}`, or `\\bar{z}_{1} + \\bar{z}_{3}`."""
    labels: dict[str, list[str]] = {}
    for name, out in zip(d.graph.output_names, d.graph.outputs, strict=True):
        if isinstance(out, str):
            labels.setdefault(out, []).append(accent(names.var(name), BAR))
    return {node: " + ".join(marks) for node, marks in labels.items()}


def _reverse_sections(d: Derivation, names: Names, opts: DocumentOptions) -> list[Section]:
    graph, limit = d.graph, opts.max_nodes
    seeds = d.seed if isinstance(d.seed, dict) else {graph.output_names[0]: d.seed}
    seed_names = _seed_names(d, names)
    single = len(graph.outputs) == 1
    seed_steps = [s for s in d.steps if s.seed is not None]
    # The worked example's seed line `\bar{w}_5 = ∂z/∂z = 1`: one output that nothing else uses
    alone = single and len(seed_steps) == 1 and not seed_steps[0].terms
    if alone and seeds[graph.output_names[0]] == 1:
        seed_names = {seed_steps[0].node: r"\frac{\partial z}{\partial z}"}
    if alone:
        seed_rows = [
            step_row(names, seed_steps[0], opts.form, opts.decimals, seed_names[seed_steps[0].node])
        ]
    else:
        seed_rows = [
            Row(accent(names.var(name), BAR), (f"= {names.expr(value)}",))
            for name, value in seeds.items()
        ]
    if single and seeds[graph.output_names[0]] == 1:
        what: list[Inline] = [
            Math(r"\bar{z} = \partial z / \partial z = 1"),
            " on the output asks for the derivatives of ",
            Math("z"),
            " itself.",
        ]
    elif single:
        what = [
            Math(rf"\bar{{z}} = {names.expr(d.seed)}"),
            " on the output scales every adjoint, and the result, by the seed.",
        ]
    else:
        what = [
            "one number per output, a cotangent ",
            Math(r"\bar{z}"),
            ", selects which combination of the outputs is differentiated.",
        ]
    seed = Section(
        "Seed",
        [
            "The seed is the adjoint the reverse pass starts from: ",
            *what,
            " A seed vector selects one output (or a weighted sum of several), and each reverse "
            "sweep with one seed gives one row of the Jacobian.",
        ],
        seed_rows,
    )
    if not graph.nodes or not d.steps:
        seed.after.append(["Nothing depends on an input, so every partial is 0."])

    shown = {
        "local": "the local partials",
        "expanded": "the formula expanded to the inputs",
        "both": "the local partials, the formula expanded to the inputs",
    }[opts.form]
    rest = [s for s in d.steps if not (alone and s.seed is not None)]
    rows = [step_row(names, s, opts.form, opts.decimals, seed_names.get(s.node)) for s in rest]
    letter = names.letter
    backward = Section(
        "Reverse pass",
        [
            "Going backward through the graph, the adjoint of each node is the sum over its "
            "parents (the lines that use it) of the parent's adjoint times the local partial: ",
            Math(
                rf"\bar{{{letter}}}_i = \sum_j \bar{{{letter}}}_j\, "
                rf"\partial {letter}_j / \partial {letter}_i"
            ),
            f". Each line gives this general form, {shown}"
            + (", and the value." if d.values is not None else "."),
        ],
        _summarised(rows, limit),
    )

    what_of = "" if single else " of the seed-weighted sum of the outputs"
    if not graph.wrt:
        prose: list[Inline] = ["The expression has no variable to differentiate."]
    else:
        prose = [f"The adjoints of the inputs are the partial derivatives{what_of}."]
    if graph.wrt and d.values is not None:
        prose.append(
            " Each is a formula and a number; the number comes from a purely numeric reverse "
            "sweep, and it agrees with the formula evaluated at the point."
        )
    rows = (
        []
        if d.gradient is None
        else gradient_rows(d.gradient, names, d.gradient_values, opts.decimals)
    )
    result = Section("Result", prose, _summarised(rows, limit))
    return [seed, backward, result]


def _tangent_sections(d: Derivation, names: Names, opts: DocumentOptions) -> list[Section]:
    seeds = d.seed if isinstance(d.seed, dict) else {}
    seed = Section(
        "Seed",
        [
            "In forward mode the seed is the tangent of the inputs, a direction ",
            Math(r"\dot{x}"),
            ": the sweep computes the derivative of every node along it, and "
            "one sweep per input direction gives one column of the Jacobian.",
        ],
        [Row(accent(names.var(v), DOT), (f"= {names.expr(x)}",)) for v, x in seeds.items()],
    )
    shown = {
        "local": "the local partials",
        "expanded": "the formula expanded to the inputs",
        "both": "the local partials, the formula expanded to the inputs",
    }[opts.form]
    letter = names.letter
    rows = [tangent_row(names, s, opts.form, opts.decimals) for s in d.tangent_steps]
    sweep = Section(
        "Tangent pass",
        [
            "Going forward through the graph, the tangent of each node is the sum over its "
            "arguments of the local partial times the argument's tangent: ",
            Math(
                rf"\dot{{{letter}}}_i = \sum_j \partial {letter}_i / \partial {letter}_j\, "
                rf"\dot{{{letter}}}_j"
            ),
            f". Each line gives this general form, {shown}"
            + (", and the value." if d.values is not None else "."),
        ],
        _summarised(rows, opts.max_nodes),
    )
    result_rows = []
    for name, (formula, value) in d.output_tangents.items():
        pieces = [f"= {names.expr(formula)}"]
        pieces += _value_pieces(True, formula, value, opts.decimals)
        result_rows.append(Row(accent(names.var(name), DOT), tuple(pieces)))
    result = Section(
        "Result",
        ["The tangent of each output is its directional derivative along the seed."],
        result_rows,
    )
    return [seed, sweep, result]


def sections(d: Derivation, options: DocumentOptions | None = None) -> list[Section]:
    """The document of a derivation as sections, before it is written in a format."""
    opts = options or DocumentOptions()
    names = Names(d.graph, opts.prefix)
    out = [_intro(d, names, opts.max_nodes), *_primal_sections(d, names, opts)]
    if d.mode == "forward":
        out += _tangent_sections(d, names, opts)
    else:
        out += _reverse_sections(d, names, opts)
    notes = [
        f"This holds where {c} (the branch taken at the traced point)." for c in d.graph.conditions
    ]
    notes += [f"Note: {kink}." for kink in d.kinks]
    out[-1].after += [[note] for note in notes]
    return out


# --------------------------------------------------------------------------- writing


def _width(tex: str) -> int:
    """Roughly how many characters wide typeset math is (commands count as one)."""
    tex = re.sub(r"\\(left|right|frac|mathit|mathrm|text|operatorname)\b", "", tex)
    tex = re.sub(r"\\[A-Za-z]+", "#", tex)
    return len(re.sub(r"[{}_^\s&]", "", tex))


def row_lines(row: Row) -> list[str]:
    """A row as aligned lines: one line when it fits, else a line per `=` piece.

    Example:
        >>> row_lines(Row("w_{3}", ("= w_{1} \\\\cdot w_{2}", "= 6")))
        ['w_{3} &= w_{1} \\\\cdot w_{2} = 6']
    """
    note = f" && {row.note}" if row.note else ""
    if not row.pieces:
        return [f"{row.lhs} &{note}"]
    first, *rest = row.pieces
    head = f"{row.lhs} &{first}"
    if _width(" ".join((row.lhs, *row.pieces))) <= MAX_ROW_WIDTH:
        return [" ".join((head, *rest)) + note]
    return [head + note, *(f"&{piece}" for piece in rest)]


def _aligned(rows: Sequence[Row], env: str) -> str:
    lines = [line for row in rows for line in row_lines(row)]
    return f"\\begin{{{env}}}\n" + " \\\\\n".join(lines) + f"\n\\end{{{env}}}"


def _inline(parts: Iterable[Inline], text: Callable[[str], str], code: Callable[[str], str]) -> str:
    out = []
    for part in parts:
        if isinstance(part, Math):
            out.append(f"${part.tex}$")
        elif isinstance(part, Code):
            out.append(code(part.text))
        else:
            out.append(text(part))
    return "".join(out)


def _latex_code(text: str) -> str:
    return rf"\texttt{{{escape_latex(text)}}}"


def _markdown_code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _title(d: Derivation, opts: DocumentOptions) -> str:
    return opts.title if opts.title is not None else "Reverse-mode derivation"


def to_latex(d: Derivation, standalone: bool = False, **options: object) -> str:
    """The derivation as LaTeX: a fragment to paste (amsmath's `align*`), or a whole document.

    Args:
        d: from `symdiff.derive`.
        standalone: a complete `.tex` file (article class, amsmath only) that `pdflatex`
            compiles; long passes break across pages.
        **options: see `DocumentOptions` (`form`, `prefix`, `max_nodes`, `decimals`, `title`).

    Example:
        >>> import symdiff as sd
        >>> tex = to_latex(sd.derive("x*x", at={"x": 3}), standalone=True)
        >>> tex.startswith("\\\\documentclass"), r"\\bar{w}_{1}" in tex
        (True, True)
    """
    opts = DocumentOptions(**options)  # type: ignore[arg-type]
    parts = []
    for section in sections(d, opts):
        if section.title:
            parts.append(rf"\paragraph{{{escape_latex(section.title)}.}}")
        if section.prose:
            parts.append(_inline(section.prose, escape_latex, _latex_code))
        if section.rows:
            parts.append(_aligned(section.rows, "align*"))
        parts += [_inline(p, escape_latex, _latex_code) for p in section.after]
    body = "\n\n".join(parts) + "\n"
    if not standalone:
        return body
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage{amsmath}\n"
        # wide enough for a chain rule on one line, with no package beyond amsmath
        "\\setlength{\\textwidth}{16cm}\n\\setlength{\\oddsidemargin}{0.2cm}\n"
        "\\setlength{\\textheight}{23cm}\n\\setlength{\\topmargin}{-1cm}\n"
        "\\allowdisplaybreaks\n"
        "\\begin{document}\n"
        f"\\section*{{{escape_latex(_title(d, opts))}}}\n\n"
        f"{body}"
        "\\end{document}\n"
    )


def to_markdown(d: Derivation, **options: object) -> str:
    """The derivation as Markdown with `$$` math blocks, for GitHub, Jupyter and Pandoc.

    Args:
        d: from `symdiff.derive`.
        **options: see `DocumentOptions`.

    Example:
        >>> import symdiff as sd
        >>> md = to_markdown(sd.derive("x*x", at={"x": 3}))
        >>> "$$\\n\\\\begin{aligned}" in md, "**Seed.**" in md
        (True, True)
    """
    opts = DocumentOptions(**options)  # type: ignore[arg-type]
    parts = [f"### {escape_markdown(_title(d, opts))}"]
    for section in sections(d, opts):
        lead = f"**{escape_markdown(section.title)}.** " if section.title else ""
        if section.prose or lead:
            parts.append(lead + _inline(section.prose, escape_markdown, _markdown_code))
        if section.rows:
            parts.append(f"$$\n{_aligned(section.rows, 'aligned')}\n$$")
        parts += [_inline(p, escape_markdown, _markdown_code) for p in section.after]
    return "\n\n".join(parts) + "\n"


def equations_latex(d: Derivation, **options: object) -> str:
    """All the derivation's equations as one `aligned` block (what `sympy.latex(d)` gives)."""
    opts = DocumentOptions(**options)  # type: ignore[arg-type]
    rows = [
        row
        for s in sections(d, opts)
        if s.title != "Decomposition into primitives"
        for row in s.rows
    ]
    return _aligned(rows, "aligned")


def gradient_latex(gradient: Gradient) -> str:
    """A gradient as an `aligned` block: `\\frac{\\partial z}{\\partial x_{1}} &= ...`."""
    return _aligned(gradient_rows(gradient), "aligned")


def graph_latex(graph: Graph) -> str:
    """A Wengert list as an `aligned` block: `w_{3} &= w_{1} \\cdot w_{2}`."""
    return _aligned(primal_rows(graph, Names(graph)), "aligned")


def display_math(tex: str) -> str:
    """Math for Jupyter's `_repr_latex_`: wrapped in `$$`."""
    return f"$$\n{tex}\n$$"


__all__ = [
    "DocumentOptions",
    "Names",
    "escape_latex",
    "escape_markdown",
    "gradient_latex",
    "graph_latex",
    "latex_name",
    "to_latex",
    "to_markdown",
    "value_latex",
]
