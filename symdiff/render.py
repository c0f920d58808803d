"""Plain-text rendering: formulas that read like the math, and the tables of a derivation.

Example:
    >>> import sympy
    >>> math_str(sympy.Symbol("wbar3") * sympy.Symbol("w2") ** 2)
    'w2^2·w̄3'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy
from sympy.printing.str import StrPrinter

if TYPE_CHECKING:
    from .closedform import Gradient
    from .derivation import Derivation
    from .forward import TangentStep
    from .graph import Graph
    from .reverse import AdjointStep

_NODE_SYMBOL = re.compile(r"([wvutsq])(bar|dot)(\d+)")
_MARK = {"bar": "\u0304", "dot": "\u0307"}
#: Cells of the text tables longer than this are cut (the full formula is in the API objects).
MAX_CELL = 72


class _MathPrinter(StrPrinter):
    """SymPy's str printer with full-precision floats off and w̄/ẇ for adjoint/tangent symbols."""

    def __init__(self) -> None:
        super().__init__({"full_prec": False})

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        match = _NODE_SYMBOL.fullmatch(expr.name)
        if match:
            letter, kind, index = match.groups()
            return _marked(letter + index, kind)
        return expr.name


def math_str(expr: sympy.Expr) -> str:
    """A formula as readable text: `^` for powers, `·` for products, w̄3 for `wbar3`."""
    text = _MathPrinter().doprint(expr)
    return text.replace("**", "^").replace("*", "·")


def bar(name: str) -> str:
    """The adjoint of a node as text: `w3` -> `w̄3`."""
    return _marked(name, "bar")


def dot(name: str) -> str:
    """The tangent of a node as text: `w3` -> `ẇ3`."""
    return _marked(name, "dot")


def _marked(name: str, kind: str) -> str:
    letters = name.rstrip("0123456789")
    # NFC: ẇ and ẋ have precomposed forms (w̄ has none and keeps the combining bar)
    return unicodedata.normalize("NFC", f"{letters}{_MARK[kind]}{name[len(letters) :]}")


def number_str(value: float | None, digits: int | None = 6) -> str:
    """A value as text: integers without a point, others to `digits` significant digits
    (all of them, as `repr`, when `digits` is None)."""
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value)) if digits is None else f"{value:.{digits}g}"


def width(text: str) -> int:
    """Display width: combining marks (the bar of w̄) take no column."""
    return sum(1 for ch in text if not unicodedata.combining(ch))


def cut(text: str, limit: int = MAX_CELL) -> str:
    """Text shortened to `limit` columns with an ellipsis."""
    return text if width(text) <= limit else text[: limit - 1] + "…"


def table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows of cells as aligned lines (widths by display width)."""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)]
        lines.append((indent + "   ".join(cells)).rstrip())
    return lines


def factor_text(partial: sympy.Expr) -> str:
    """A local partial as a factor: parenthesised when it is a sum or negative."""
    text = math_str(partial)
    return f"({text})" if partial.is_Add or text.startswith("-") else text


def term_text(step: AdjointStep, seed_label: str = "z̄") -> str:
    """The local chain-rule formula of a step: `w̄3·w2 + w̄4·cos(w1)`.

    An output's step starts with its seed (`z̄`, or `z̄1` with several outputs).
    """
    parts = [f"{bar(t.parent)}·{factor_text(t.partial)}" for t in step.terms]
    if step.seed is not None:
        parts.insert(0, seed_label if parts else f"{seed_label} (seed)")
    return " + ".join(parts) if parts else "0 (not used)"


def tangent_terms_text(step: TangentStep) -> str:
    """The local chain rule of a tangent step: `w2·ẇ1 + w1·ẇ2`."""
    if step.seed is not None:
        return f"{dot(step.node)} (seed)"
    return " + ".join(f"{factor_text(d)}·{dot(arg)}" for arg, d in step.terms) or "0"


def tangent_text(step: TangentStep) -> str:
    """One tangent step on one line: `ẇ3 = w2·ẇ1 + w1·ẇ2 = x2 = 3`."""
    parts = [dot(step.node), tangent_terms_text(step), math_str(step.expanded)]
    if step.value is not None:
        parts.append(number_str(step.value))
    return " = ".join(parts)


def chain_rule_text(step: AdjointStep) -> str:
    """The general form of a step: `w̄3·∂w3/∂w1 + w̄4·∂w4/∂w1`."""
    return " + ".join(f"{bar(t.parent)}·∂{t.parent}/∂{step.node}" for t in step.terms)


def uses_text(graph: Graph, step: AdjointStep) -> str:
    """The primal equations a step differentiates: `w3 = w1·w2, w4 = sin(w1)`."""
    parents = dict.fromkeys(t.parent for t in step.terms)
    return ", ".join(str(graph.node(p)) for p in parents)


def adjoint_text(step: AdjointStep) -> str:
    """One step on one line: `w̄1 = w̄3·w2 + w̄4·cos(w1) = x2 + cos(x1) = 2.58385`."""
    if step.seed is not None and not step.terms:
        return f"{bar(step.node)} = z̄ = {math_str(step.seed)} (the seed)"
    if not step.terms:
        return f"{bar(step.node)} = 0 (not used by the output)"
    parts = [bar(step.node), term_text(step), math_str(step.expanded)]
    if step.value is not None and not step.expanded.is_Number:  # `= 1 = 1` says nothing
        parts.append(number_str(step.value))
    return " = ".join(parts)


def point_str(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {number_str(v)}" for k, v in point.items())


def gradient_lines(
    gradient: Gradient,
    values: Mapping[str, float] | None = None,
    exact: bool = False,
    label: str | None = None,
) -> list[str]:
    """`dz/dx1 = x2 + cos(x1) = 2.58385` per variable; `exact` prints values in full (repr).

    `label` names each line (default `dz/d{}`, with the graph's output name; `"z̄·dz/d{}"` when
    the sweep was seeded with z̄ ≠ 1).
    """
    if label is None:
        names = gradient.graph.output_names
        label = f"d{names[0]}/d{{}}" if len(names) == 1 else "Σ z̄i·dzi/d{}"
    lines = []
    for var in gradient.variables:
        line = f"{label.format(var)} = {math_str(gradient[var])}"
        if values is not None and not gradient[var].is_Number:  # `= -1 = -1` says nothing
            line += " = " + number_str(values[var], None if exact else 6)
        lines.append(line)
    return lines


def gradient_text(gradient: Gradient) -> str:
    """The gradient's lines, and the branch conditions it holds under (traced functions)."""
    conditions = [f"(holds where {c})" for c in gradient.graph.conditions]
    return "\n".join([*gradient_lines(gradient), *conditions])


def _seed_labels(d: Derivation) -> dict[str, str]:
    """Node -> the seed symbols it receives as an output (`z̄`, or `z̄1 + z̄3`)."""
    graph = d.graph
    labels: dict[str, list[str]] = {}
    for name, out in zip(graph.output_names, graph.outputs, strict=True):
        if isinstance(out, str):
            labels.setdefault(out, []).append(bar(name))
    return {node: " + ".join(names) for node, names in labels.items()}


def _seed_text(d: Derivation) -> str:
    if isinstance(d.seed, dict):
        marks = bar if d.mode == "reverse" else dot
        return ", ".join(f"{marks(k)} = {math_str(v)}" for k, v in d.seed.items())
    return f"{bar(d.graph.output_names[0])} = {math_str(d.seed)}"


def derivation_text(d: Derivation) -> str:
    """The forward and reverse tables of a derivation, as in the worked example of DESIGN.md."""
    graph = d.graph
    sources = graph.source.split("; ")
    if len(sources) == len(graph.outputs):
        heads = [f"{name} = {src}" for name, src in zip(graph.output_names, sources, strict=True)]
    else:
        heads = [f"{', '.join(graph.output_names)} = {graph.source}"]
    if d.point and len(heads) == 1:
        heads[-1] += f"   at {point_str(d.point)}"
    elif d.point:  # (on the last formula's line it would read as that formula's point alone)
        heads.append(f"at {point_str(d.point)}")
    lines = [*heads, ""]

    values = d.values
    primal = [["forward (primal)", "value" if values else ""]]
    for node in graph.nodes:
        primal.append([cut(str(node)), number_str(values[node.name]) if values else ""])
    outputs = d.output_values or {}
    for name, out in zip(graph.output_names, graph.outputs, strict=True):
        primal.append([f"{name} = {out}", number_str(outputs.get(name))])
    lines += table(primal, indent="")

    if d.mode == "forward":
        lines += ["", f"forward (tangent), seed {_seed_text(d)}"]
        rows = [["tangent", "local (chain rule)", "expanded", "value" if values else ""]]
        for step in d.tangent_steps:
            rows.append(
                [
                    dot(step.node),
                    cut(tangent_terms_text(step)),
                    cut(math_str(step.expanded)),
                    number_str(step.value),
                ]
            )
        lines += table(rows, indent="")
        lines += ["", "directional derivative (the seed picks the direction)"]
        for name, (formula, value) in d.output_tangents.items():
            shown = f"{dot(name)} = {math_str(formula)}"
            lines.append(shown + (f" = {number_str(value)}" if value is not None else ""))
        note = (
            "note: each tangent sums, over the node's arguments, (the local partial) × "
            "(their tangent);\nthe seed ẋ is the direction: one forward sweep per input "
            "direction gives one Jacobian column."
        )
    else:
        lines += ["", f"reverse (adjoint), seed {_seed_text(d)}"]
        seeds = _seed_labels(d)
        rows = [["adjoint", "local (chain rule)", "expanded", "value" if values else "", "from"]]
        for step in d.steps:
            rows.append(
                [
                    bar(step.node),
                    cut(term_text(step, seeds.get(step.node, bar(graph.output_names[0])))),
                    cut(math_str(step.expanded)),
                    number_str(step.value),
                    cut(uses_text(graph, step)),
                ]
            )
        lines += table(rows, indent="")
        single = len(graph.outputs) == 1
        out = graph.output_names[0]
        if single and d.seed == 1:
            lines += ["", "gradient"]
            label = None
        elif single:
            lines += ["", f"gradient times the seed {_seed_text(d)}"]
            label = f"{bar(out)}·d{out}/d{{}}"
        else:
            lines += ["", f"vector-Jacobian product, seed {_seed_text(d)}"]
            label = None
        lines += gradient_lines(d.gradient, d.gradient_values, label=label)
        w = graph.prefix
        note = (
            "note: each adjoint sums, over the nodes that use it, (their adjoint) × (their "
            f"local\npartial), e.g. {w}\u0304i = Σ {w}\u0304j·∂{w}j/∂{w}i; the seed says "
            "which output is differentiated."
        )
    lines += [
        f"note: holds where {c} (the branch taken at the traced point)" for c in graph.conditions
    ]
    lines += [f"note: {kink}" for kink in d.kinks]
    lines += ["", *note.splitlines()]
    return "\n".join(line.rstrip() for line in lines)
