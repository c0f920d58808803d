"""A derivation: the primal table, then the reverse (or forward) sweep and what it gives.

Example:
    >>> import symdiff as sd
    >>> d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
    >>> d.values["w3"], d.gradient_values["x2"]
    (6.0, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from .closedform import Gradient
from .forward import TangentStep, arg_value, output_value
from .graph import Graph
from .primitives import PRIMITIVES
from .reverse import AdjointStep, input_adjoints


@dataclass(frozen=True)
class Derivation:
    """Everything a sweep computes for one expression (or several), ready to show.

    Attributes:
        graph: the Wengert list.
        point: the point (floats), or None for a purely symbolic derivation.
        values: each node's value at the point, or None.
        steps: reverse mode: the adjoint steps, from the seed back to the first input.
        gradient: reverse mode: the closed form (the gradient, or cotangentᵀ·J for several
            outputs); None in forward mode.
        seed: reverse mode with one output: z̄, a number; with several: `{output: z̄i}`.
            Forward mode: `{variable: ẋ}`.
        mode: `"reverse"` or `"forward"`.
        tangent_steps: forward mode: the tangent steps, inputs first.
    """

    graph: Graph
    point: dict[str, float] | None
    values: dict[str, float] | None
    steps: tuple[AdjointStep, ...]
    gradient: Gradient | None
    seed: sympy.Expr | dict[str, sympy.Expr]
    mode: str = "reverse"
    tangent_steps: tuple[TangentStep, ...] = ()

    @property
    def output_value(self) -> float | None:
        """z at the point (for a single output)."""
        return None if self.values is None else output_value(self.graph, self.values)

    @property
    def output_values(self) -> dict[str, float] | None:
        """Each output's value at the point, by output name."""
        if self.values is None:
            return None
        pairs = zip(self.graph.output_names, self.graph.outputs, strict=True)
        return {name: float(arg_value(self.values, out)) for name, out in pairs}

    @property
    def output_tangents(self) -> dict[str, tuple[sympy.Expr, float | None]]:
        """Forward mode: each output's tangent ż as (formula in the inputs, value or None)."""
        by_node = {step.node: step for step in self.tangent_steps}
        result = {}
        for name, out in zip(self.graph.output_names, self.graph.outputs, strict=True):
            step = by_node.get(out) if isinstance(out, str) else None
            if step is None:
                result[name] = (sympy.S.Zero, None if self.values is None else 0.0)
            else:
                result[name] = (step.expanded, step.value)
        return result

    @property
    def gradient_values(self) -> dict[str, float] | None:
        """Reverse mode: each partial at the point, from the numeric reverse sweep."""
        if self.values is None or self.gradient is None:
            return None
        steps = input_adjoints(self.graph, self.steps)
        return {v: steps[v].value for v in self.gradient.variables}

    @property
    def kinks(self) -> list[str]:
        """The nodes whose arguments sit on a kink at the point, with the convention used."""
        if self.values is None:
            return []
        notes = []
        for node in self.graph.nodes:
            prim = PRIMITIVES.get(node.op)
            if prim is not None and prim.kink is not None:
                args = [arg_value(self.values, a) for a in node.args]
                if prim.kink(*args):
                    notes.append(
                        f"{node} sits on its kink here; symdiff takes {prim.convention}"
                        " (as JAX does), so the result holds on that convention"
                    )
        return notes

    def to_latex(self, standalone: bool = False, **options: Any) -> str:
        """The derivation as LaTeX: a fragment to paste, or (`standalone`) a whole `.tex` file.

        Options (`form`, `prefix`, `max_nodes`, `decimals`, `title`): see
        `symdiff.document.DocumentOptions`.

        Example:
            >>> import symdiff as sd
            >>> d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
            >>> r"w_{4} &= \\sin w_{1} \\approx 0.909" in d.to_latex(prefix="w")
            True
        """
        from .document import to_latex

        return to_latex(self, standalone, **options)

    def to_markdown(self, **options: Any) -> str:
        """The derivation as Markdown with `$$` math (GitHub, Jupyter); options as `to_latex`."""
        from .document import to_markdown

        return to_markdown(self, **options)

    def to_dot(self, max_nodes: int | None = None) -> str:
        """The graph as Graphviz DOT, each node with its value and adjoint (or tangent)."""
        from .picture import MAX_PICTURE_NODES, to_dot

        return to_dot(self, max_nodes or MAX_PICTURE_NODES)

    def _latex(self, printer: object = None) -> str:
        """`sympy.latex(derivation)`: every equation, in one `aligned` block."""
        from .document import equations_latex

        return equations_latex(self)

    def _repr_latex_(self) -> str:
        from .document import display_math, equations_latex

        return display_math(equations_latex(self))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        from .render import derivation_text

        return derivation_text(self)
