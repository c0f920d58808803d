"""Sparsity: Jacobian and Hessian patterns from graph reachability, and compressed seeding.

A Jacobian entry (i, j) can be non-zero only if input j is an ancestor of output i in the DAG
(networkx reachability). Columns that share no row can share one forward sweep: colouring the
column-intersection graph (networkx greedy colouring) packs them, so a tridiagonal system needs
3 sweeps, whatever its size. Each sweep's seed is the sum of the unit tangents of one colour;
entry (i, j) is then read off sweep colour(j), row i.

Example:
    >>> import symdiff as sd
    >>> point = {"x1": 1, "x2": 2, "x3": 3, "x4": 4}
    >>> sj = sd.sparse_jacobian(["x1*x2", "x2*x3", "x3*x4"], at=point)
    >>> sj.sweeps, sj.colors
    (2, (0, 1, 0, 1))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import numpy as np
import sympy

from .closedform import Simplify, simplify_formulas
from .forward import Primal, bind, evaluate, tangent_values, tangents
from .graph import Const, Graph
from .reverse import adjoint_program


@dataclass(frozen=True)
class Sparsity:
    """Which entries of an m x n derivative matrix can be non-zero.

    Attributes:
        shape: (m, n).
        nonzeros: the (row, column) pairs that can be non-zero.
        rows: output names; cols: variable names.
    """

    shape: tuple[int, int]
    nonzeros: frozenset[tuple[int, int]]
    rows: tuple[str, ...]
    cols: tuple[str, ...]

    def __str__(self) -> str:
        m, n = self.shape
        return "\n".join(
            " ".join("*" if (i, j) in self.nonzeros else "." for j in range(n)) for i in range(m)
        )

    @property
    def density(self) -> float:
        """Fraction of entries that can be non-zero."""
        m, n = self.shape
        return len(self.nonzeros) / (m * n) if m * n else 0.0

    def to_array(self) -> np.ndarray:
        """The pattern as a boolean numpy array."""
        pattern = np.zeros(self.shape, dtype=bool)
        for i, j in self.nonzeros:
            pattern[i, j] = True
        return pattern


def jacobian_sparsity(graph: Graph) -> Sparsity:
    """The structural Jacobian pattern of a graph's outputs with respect to `graph.wrt`.

    Example:
        >>> import symdiff as sd
        >>> print(jacobian_sparsity(sd.trace(["x*y", "y + 1"])))
        * *
        . *
    """
    dag = graph.to_networkx()
    column = {graph.input_of[v]: j for j, v in enumerate(graph.wrt)}
    nonzeros = set()
    for i, out in enumerate(graph.outputs):
        if isinstance(out, Const):
            continue
        for node in nx.ancestors(dag, out) | {out}:
            if node in column:
                nonzeros.add((i, column[node]))
    return Sparsity(
        (len(graph.outputs), len(graph.wrt)), frozenset(nonzeros), graph.output_names, graph.wrt
    )


def hessian_sparsity(graph: Graph) -> Sparsity:
    """The Hessian pattern of a scalar graph: the Jacobian pattern of its adjoint program.

    Example:
        >>> import symdiff as sd
        >>> print(hessian_sparsity(sd.trace("x**2 + y*z")))
        * . .
        . . *
        . * .
    """
    graph.output  # noqa: B018 - raises for several outputs
    return jacobian_sparsity(adjoint_program(graph, keep_outputs=False))


def color_columns(sparsity: Sparsity) -> tuple[int, ...]:
    """A colour per column such that columns of one colour share no row (greedy colouring)."""
    n = sparsity.shape[1]
    by_row: dict[int, list[int]] = {}
    for i, j in sorted(sparsity.nonzeros):
        by_row.setdefault(i, []).append(j)
    intersection = nx.Graph()
    intersection.add_nodes_from(range(n))
    for cols in by_row.values():
        intersection.add_edges_from(combinations(cols, 2))
    coloring = nx.greedy_color(intersection, strategy="connected_sequential_bfs")
    return tuple(coloring[j] for j in range(n))


@dataclass(frozen=True)
class SparseJacobian:
    """A Jacobian computed with compressed seeds.

    Attributes:
        sparsity: the structural pattern.
        colors: the colour (sweep) of each column.
        seed_matrix: n x c, column k the seed of sweep k (sum of unit tangents of colour k).
        compressed: m x c, J times the seed matrix: what the c forward sweeps return.
        matrix: the recovered m x n Jacobian (SymPy `SparseMatrix`, or a numpy array at a point).
    """

    sparsity: Sparsity
    colors: tuple[int, ...]
    seed_matrix: sympy.Matrix
    compressed: sympy.Matrix | np.ndarray
    matrix: sympy.SparseMatrix | np.ndarray

    @property
    def sweeps(self) -> int:
        """Forward sweeps used: the number of colours."""
        return self.seed_matrix.shape[1]

    @property
    def saved(self) -> int:
        """Sweeps saved against one forward sweep per input."""
        return self.sparsity.shape[1] - self.sweeps

    def __str__(self) -> str:
        m, n = self.sparsity.shape
        return (
            f"{m} x {n} Jacobian, {len(self.sparsity.nonzeros)} structural non-zeros: "
            f"{self.sweeps} forward sweeps with compressed seeds instead of {n} "
            f"({self.saved} saved)"
        )


def sparse_jacobian(
    graph: Graph, at: Mapping[str, object] | None = None, simplify: Simplify = "auto"
) -> SparseJacobian:
    """The Jacobian by compressed forward sweeps, one per colour of the column colouring.

    Args:
        graph: from `trace` (several outputs).
        at: a point: the sweeps are then numeric and `matrix` is a numpy array.
        simplify: policy for the symbolic entries.
    """
    sparsity = jacobian_sparsity(graph)
    colors = color_columns(sparsity)
    m, n = sparsity.shape
    c = max(colors, default=-1) + 1
    seed_matrix = sympy.Matrix(n, c, lambda j, k: int(colors[j] == k))
    outputs = graph.outputs
    if at is not None:
        values = evaluate(graph, bind(graph, at))
        compressed = np.zeros((m, c))
        for k in range(c):
            dots = tangent_values(graph, values, list(seed_matrix[:, k]))
            compressed[:, k] = [0.0 if isinstance(o, Const) else dots[o] for o in outputs]
        matrix = np.zeros((m, n))
        for i, j in sparsity.nonzeros:
            matrix[i, j] = compressed[i, colors[j]]
        return SparseJacobian(sparsity, colors, seed_matrix, compressed, matrix)
    primal = Primal(graph)
    columns = []
    for k in range(c):
        dots = {s.node: s.expanded for s in tangents(graph, list(seed_matrix[:, k]), primal=primal)}
        columns.append([sympy.S.Zero if isinstance(o, Const) else dots[o] for o in outputs])
    compressed = sympy.Matrix(m, c, lambda i, k: columns[k][i])
    entries = sorted(sparsity.nonzeros)
    simplified = simplify_formulas(
        [compressed[i, colors[j]] for i, j in entries], simplify, len(graph)
    )
    matrix = sympy.SparseMatrix(m, n, dict(zip(entries, simplified, strict=True)))
    return SparseJacobian(sparsity, colors, seed_matrix, compressed, matrix)
