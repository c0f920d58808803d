"""A derivation: the primal table, the adjoint steps and the gradient of one expression.

Example:
    >>> import symdiff as sd
    >>> d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})
    >>> d.values["w3"], d.gradient_values["x2"]
    (6.0, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .closedform import Gradient
from .forward import arg_value, output_value
from .graph import Graph
from .primitives import PRIMITIVES
from .reverse import AdjointStep, input_adjoints


@dataclass(frozen=True)
class Derivation:
    """Everything reverse mode computes for one expression, ready to show.

    Attributes:
        graph: the Wengert list.
        point: the point (floats), or None for a purely symbolic derivation.
        values: each node's value at the point, or None.
        steps: the adjoint steps, from the seed back to the first input.
        gradient: the closed-form gradient.
        seed: the output's adjoint z̄.
    """

    graph: Graph
    point: dict[str, float] | None
    values: dict[str, float] | None
    steps: tuple[AdjointStep, ...]
    gradient: Gradient
    seed: sympy.Expr

    @property
    def output_value(self) -> float | None:
        """z at the point."""
        return None if self.values is None else output_value(self.graph, self.values)

    @property
    def gradient_values(self) -> dict[str, float] | None:
        """Each partial at the point, from the numeric reverse sweep."""
        if self.values is None:
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

    def __str__(self) -> str:
        from .render import derivation_text

        return derivation_text(self)
