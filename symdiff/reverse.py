"""Reverse sweep: every node's adjoint as a local formula, expanded to the inputs, and a number.

The adjoint of a node is the sum over its uses of (the user's adjoint) × (the local partial of the
user with respect to this argument): `w̄1 = w̄3·∂w3/∂w1 + w̄4·∂w4/∂w1 = w̄3·w2 + w̄4·cos(w1)`.
The sweep starts from the seed `z̄` on the output (1 by default: it selects dz/dz = 1).

Two independent sweeps run over the same rule table: `reverse` builds the formulas with SymPy,
`adjoint_values` is a plain float loop with no SymPy in it. Both are pure: the graph is read, never
written, so one graph can be swept at many points and seeds.

Example:
    >>> import symdiff as sd
    >>> steps = sd.reverse(sd.trace("x1*x2 + sin(x1)"), {"x1": 2, "x2": 3})
    >>> print(steps[-1])
    w̄1 = w̄3·w2 + w̄4·cos(w1) = x2 + cos(x1) = 2.58385
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from .errors import DomainError, VariableError
from .forward import (
    Primal,
    apply_numeric,
    arg_value,
    check_formula_size,
    evaluate,
    local_partial,
    to_float,
)
from .graph import Const, Graph
from .primitives import PRIMITIVES


@dataclass(frozen=True)
class Term:
    """One use of a node: `parent` takes it as argument number `position`.

    Attributes:
        parent: the node that uses this one (`"w3"`).
        position: which argument of the parent (0-based).
        partial: the local partial ∂parent/∂argument, in the w's (`w2`).
    """

    parent: str
    position: int
    partial: sympy.Expr


@dataclass(frozen=True)
class AdjointStep:
    """The adjoint of one node.

    Attributes:
        node: the node (`"w1"`).
        terms: its uses, in node order; empty for unused inputs and outputs nobody else uses.
        local: the formula in the w's and w̄'s (`w2*wbar3 + wbar4*cos(w1)`).
        expanded: the same, in the input variables (`x2 + cos(x1)`).
        value: its number at the point, from the numeric sweep, or None without a point.
        seed: the seed this node receives as an output (None for other nodes).
    """

    node: str
    terms: tuple[Term, ...]
    local: sympy.Expr
    expanded: sympy.Expr
    value: float | None = None
    seed: sympy.Expr | None = None

    def __str__(self) -> str:
        from .render import adjoint_text

        return adjoint_text(self)


def seed_value(seed: object) -> sympy.Expr:
    """The seed as an exact SymPy number (`1` stays `1`)."""
    if isinstance(seed, sympy.Expr) and seed.is_number:
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return sympy.Integer(seed)
    value = to_float(seed, "the seed")
    return sympy.Integer(int(value)) if value.is_integer() else sympy.Float(value)


def seeds_by_output(graph: Graph, seed: object = 1) -> dict[str, sympy.Expr]:
    """The seed (cotangent) as `{output name: z̄}`, checked against the outputs.

    Args:
        graph: from `trace`.
        seed: a number for a single output; for several, a sequence with one number per output
            or a mapping output name -> number (absent outputs get 0).

    Example:
        >>> import symdiff as sd
        >>> seeds_by_output(sd.trace(["x*y", "x + y"]), {"z2": 3})
        {'z1': 0, 'z2': 3}
    """
    n = len(graph.outputs)
    if isinstance(seed, Mapping):
        unknown = [k for k in seed if k not in graph.output_names]
        if unknown:
            raise VariableError(f"the seed names {unknown}; the outputs are {graph.output_names}")
        seeds = [seed.get(name, 0) for name in graph.output_names]
    elif isinstance(seed, Sequence) and not isinstance(seed, str):
        seeds = list(seed)
        if len(seeds) != n:
            raise VariableError(f"the seed has {len(seeds)} entries for {n} outputs")
    elif n == 1:
        seeds = [seed]
    else:
        raise VariableError(f"the graph has {n} outputs: give one seed per output (a cotangent)")
    return {name: seed_value(s) for name, s in zip(graph.output_names, seeds, strict=True)}


def output_seeds(graph: Graph, seed: object = 1) -> dict[str, sympy.Expr]:
    """The seed as `{output node: z̄}`, summed where two outputs are the same node.

    Example:
        >>> import symdiff as sd
        >>> output_seeds(sd.trace(["x*y", "x + y"]), [1, 0])
        {'w3': 1, 'w4': 0}
    """
    result: dict[str, sympy.Expr] = {}
    by_name = seeds_by_output(graph, seed)
    for name, out in zip(graph.output_names, graph.outputs, strict=True):
        if isinstance(out, str):
            result[out] = result.get(out, 0) + by_name[name]
    return result


def adjoint_values(
    graph: Graph, values: Mapping[str, float], seed: object = 1.0
) -> dict[str, float]:
    """Numeric reverse sweep: every node's adjoint as a float, with no SymPy in the loop.

    Args:
        graph: from `trace`.
        values: node values from `evaluate`.
        seed: the outputs' adjoints z̄ (see `output_seeds`).

    Example:
        >>> import symdiff as sd
        >>> g = sd.trace("x*x")
        >>> adjoint_values(g, sd.evaluate(g, {"x": 3}))
        {'w2': 1.0, 'w1': 6.0}
    """
    bar = {node.name: 0.0 for node in reversed(graph.nodes)}
    for name, s in output_seeds(graph, seed).items():
        bar[name] = float(s)
    wanted = _leads_to_wrt(graph)
    for node in reversed(graph.nodes):
        if node.is_input or bar[node.name] == 0.0:
            continue
        args = [arg_value(values, a) for a in node.args]
        partials = PRIMITIVES[node.op].partials
        for position, arg in enumerate(node.args):
            if isinstance(arg, str):
                try:
                    d = apply_numeric(node, partials[position], *args, out=values[node.name])
                except DomainError:
                    if arg in wanted:
                        raise
                    d = math.nan  # x^y with only x asked for: ∂/∂y is not needed here
                bar[arg] += bar[node.name] * d
    return bar


def _leads_to_wrt(graph: Graph) -> set[str]:
    """The nodes that depend on a differentiation variable (parameters' subgraphs do not)."""
    wrt = {graph.input_of[v] for v in graph.wrt}
    found: set[str] = set()
    for node in graph.nodes:
        if node.name in wrt or any(isinstance(a, str) and a in found for a in node.args):
            found.add(node.name)
    return found


def reverse(
    graph: Graph,
    at: Mapping[str, object] | None = None,
    seed: object = 1,
    primal: Primal | None = None,
) -> tuple[AdjointStep, ...]:
    """Symbolic reverse sweep: one `AdjointStep` per node, from the output back to the inputs.

    Args:
        graph: from `trace`.
        at: a point; when given, each step also carries its number from `adjoint_values`.
        seed: the outputs' adjoints z̄ (default 1; see `output_seeds` for several outputs).
        primal: the graph's `Primal`, to share expansions with the caller.

    Returns:
        Steps in reverse node order (the seed first, the first input last).

    Example:
        >>> import symdiff as sd
        >>> [str(s.expanded) for s in reverse(sd.trace("x1*x2 + sin(x1)"))]
        ['1', '1', '1', 'x1', 'x2 + cos(x1)']
    """
    seeds = output_seeds(graph, seed)
    numbers = None
    if at is not None:
        numbers = adjoint_values(graph, evaluate(graph, at), seed)
    primal = primal or Primal(graph)
    total = 0  # SymPy's work so far: the top-level arguments of every expanded formula
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    uses: dict[str, list[tuple[Term, sympy.Expr]]] = {node.name: [] for node in graph.nodes}
    steps = []
    for node in reversed(graph.nodes):
        contributions = sorted(
            uses.pop(node.name), key=lambda u: (order[u[0].parent], u[0].position)
        )
        terms = tuple(term for term, _ in contributions)
        seeded = seeds.get(node.name)
        local = sympy.Add(seeded or 0, *[graph.wbar(t.parent) * t.partial for t in terms])
        expanded = sympy.Add(seeded or 0, *[e for _, e in contributions])
        total += len(expanded.args) + 1
        check_formula_size(total // 2)  # all steps together: twice one formula's budget
        steps.append(
            AdjointStep(
                node.name,
                terms,
                local,
                expanded,
                None if numbers is None else numbers[node.name],
                seeded,
            )
        )
        if not terms and seeded is None:
            continue  # not used by any output: contributes nothing
        for position, arg in enumerate(node.args):
            if isinstance(arg, str):
                partial = local_partial(graph, node.name, position)
                factor = primal.expand(partial)
                check_formula_size(primal.size(expanded) + primal.size(factor))
                uses[arg].append((Term(node.name, position, partial), expanded * factor))
    return tuple(steps)


def input_adjoints(graph: Graph, steps: tuple[AdjointStep, ...]) -> dict[str, AdjointStep]:
    """The steps of the input nodes, by variable name."""
    by_node = {step.node: step for step in steps}
    return {var: by_node[graph.input_of[var]] for var in graph.variables}


def adjoint_program(graph: Graph, seed: object = 1, keep_outputs: bool = True) -> Graph:
    """The reverse sweep as a graph: one straight-line program for the outputs and every partial.

    The primal nodes come first, numbered as in `graph`; then the reverse sweep's own nodes, built
    by applying the rule table's partials to the primal nodes on a folding tape (no `·1`, no
    `+ 0`, shared subexpressions merged). Its size is O(size of `graph`): the cheap gradient.
    Its outputs: the primal outputs (unless `keep_outputs` is False), then `∂/∂v` for each
    variable of `graph.wrt`, seeded by `seed`. Differentiating it again gives Hessians.

    Example:
        >>> import symdiff as sd
        >>> print(adjoint_program(sd.trace("x1*x2 + sin(x1)")))
        w1 = x1
        w2 = x2
        w3 = w1·w2
        w4 = sin(w1)
        w5 = w3 + w4
        w6 = cos(w1)
        w7 = w2 + w6
        z = w5
        dz/dx1 = w7
        dz/dx2 = w1
    """
    from .render import bar
    from .tracer import TRACING, Tape, Traced  # the tracer builds on forward, not on reverse

    tape = Tape(fold=True)
    env: dict[str, Traced] = {}
    for node in graph.nodes:
        if node.is_input:
            env[node.name] = tape.variable(node.var, graph.symbol_of[node.var])
        else:  # replayed as written: the primal part keeps the user's structure and numbering
            args = tuple(a if isinstance(a, Const) else env[a].ref for a in node.args)
            env[node.name] = Traced(tape, tape.builder.apply(node.op, args))
    adjoints: dict[str, object] = dict(output_seeds(graph, seed))
    # no adjoint toward a parameter's subgraph: nothing reads it, and its partial may not exist
    # ((-2)^y by y, with only x asked for)
    wanted = _leads_to_wrt(graph)
    for node in reversed(graph.nodes):
        adjoint = adjoints.get(node.name)
        if node.is_input or adjoint is None:
            continue
        args = [a.value if isinstance(a, Const) else env[a] for a in node.args]
        partials = PRIMITIVES[node.op].partials
        for position, arg in enumerate(node.args):
            if isinstance(arg, str) and arg in wanted:
                tape.builder.note = f"{bar(arg)} += {bar(node.name)}·∂{node.name}/∂{arg} for {node}"
                try:
                    contribution = adjoint * partials[position](TRACING, env[node.name], *args)
                except DomainError as err:  # a constant partial: log(-2) for (-2)^x
                    raise DomainError(
                        f"the derivative of {node} by {arg} is not defined in real numbers: {err}",
                        node.name,
                        node.op,
                    ) from None
                adjoints[arg] = contribution + adjoints[arg] if arg in adjoints else contribution
    tape.builder.note = None
    gradient = [adjoints.get(graph.input_of[v], 0) for v in graph.wrt]
    if len(graph.outputs) == 1:
        labels = [f"d{graph.output_names[0]}/d{v}" for v in graph.wrt]
    else:
        labels = [f"vjp_{v}" for v in graph.wrt]
    outputs = [tape.ref(g) for g in gradient]
    names = labels
    if keep_outputs:
        outputs = [a if isinstance(a, Const) else env[a].ref for a in graph.outputs] + outputs
        names = [*graph.output_names, *labels]
    source = f"gradient of {graph.source}"
    # every node kept, so w1..wn are the primal's own names; generated code skips unused ones
    return tape.builder.finish(outputs, graph.wrt, source, graph.prefix, names, keep_unused=True)
