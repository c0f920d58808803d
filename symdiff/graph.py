"""The Wengert list: frozen nodes in evaluation order, indexed by networkx for traversal.

Inputs come first (`w1..wk`, in order of first appearance or in `wrt` order), then one node per
primitive in evaluation order, left to right. Identical subexpressions share a node; argument
order and repeated arguments live in `Node.args` (a networkx `DiGraph` would merge the two edges
of `x*x`).

Example:
    >>> import symdiff as sd
    >>> print(sd.trace("x1*x2 + sin(x1)"))
    w1 = x1
    w2 = x2
    w3 = w1·w2
    w4 = sin(w1)
    w5 = w3 + w4
    z = w5
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import sympy

from .errors import LimitError, ParseError, VariableError
from .primitives import PRIMITIVES

#: Graphs with more nodes than this are refused (memory stays bounded).
MAX_NODES = 2_000_000

_PREFIXES = ("w", "v", "u", "t", "s", "q")


@dataclass(frozen=True)
class Const:
    """A numeric constant argument, kept as written (`2`, `0.5`, `pi`).

    Attributes:
        value: the exact SymPy number (`Integer`, `Rational`, `Float`, `pi`, `E`).
        text: how it reads.
    """

    value: sympy.Expr
    text: str

    def __str__(self) -> str:
        return self.text

    def __float__(self) -> float:
        return float(self.value)

    def negated(self) -> Const:
        """The constant with its sign flipped, e.g. for a literal `-2`."""
        text = self.text[1:] if self.text.startswith("-") else "-" + self.text
        return Const(-self.value, text)


Arg = str | Const
"""A node argument: a node name (`"w3"`) or a constant."""


def arg_text(arg: Arg) -> str:
    """How an argument reads inside a formula: negative constants get parentheses."""
    text = str(arg)
    return f"({text})" if isinstance(arg, Const) and text.startswith("-") else text


@dataclass(frozen=True)
class Node:
    """One line of the Wengert list: `name = op(args)`, or an input `name = var`.

    Attributes:
        name: `"w3"`.
        op: a key of the rule table, or `"input"`.
        args: argument node names or constants, in the order written.
        var: the variable name, for inputs only.
    """

    name: str
    op: str
    args: tuple[Arg, ...] = ()
    var: str | None = None

    @property
    def is_input(self) -> bool:
        return self.op == "input"

    @property
    def formula(self) -> str:
        """The right-hand side as text: `w1·w2`, `sin(w1)`, or the variable."""
        if self.is_input:
            return str(self.var)
        return PRIMITIVES[self.op].text.format(*map(arg_text, self.args))

    def __str__(self) -> str:
        return f"{self.name} = {self.formula}"


@dataclass(frozen=True)
class Graph:
    """A traced expression: the Wengert list, its inputs and its outputs.

    Attributes:
        nodes: inputs first, then primitives in evaluation order.
        variables: variable names, one per input node, in numbering order.
        wrt: the variables differentiated (a prefix of `variables`; the rest are parameters).
        symbols: the SymPy symbol of each variable.
        outputs: each output's node name, or a constant.
        source: the expression as given, for display (several joined by "; ").
        prefix: the letter the nodes are numbered with (`"w"`).
        output_names: each output's label: `("z",)` for one, `("z1", "z2", ...)` for several.
        conditions: for a traced Python function that branched, the conditions (in the input
            variables) under which the graph, and so its derivatives, holds.
        notes: `(node name, note)` pairs; an adjoint program notes, for each of its reverse-sweep
            nodes, which primal step it differentiates.
        guards: the conditions as SymPy relations, checked whenever the graph is evaluated.
    """

    nodes: tuple[Node, ...]
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    symbols: tuple[sympy.Symbol, ...]
    outputs: tuple[Arg, ...]
    source: str = ""
    prefix: str = "w"
    output_names: tuple[str, ...] = ("z",)
    conditions: tuple[str, ...] = ()
    notes: tuple[tuple[str, str], ...] = ()
    guards: tuple[sympy.Basic, ...] = ()

    def __str__(self) -> str:
        pairs = zip(self.output_names, self.outputs, strict=True)
        ends = [f"{name} = {out}" for name, out in pairs]
        given = [f"given {condition}" for condition in self.conditions]
        return "\n".join([*map(str, self.nodes), *ends, *given])

    @property
    def output(self) -> Arg:
        """The output of a single-output graph.

        Raises:
            VariableError: the graph has several outputs (use `outputs`).
        """
        if len(self.outputs) != 1:
            raise VariableError(f"the graph has {len(self.outputs)} outputs; pick one of .outputs")
        return self.outputs[0]

    def __repr__(self) -> str:
        source = self.source if len(self.source) <= 60 else self.source[:57] + "..."
        return f"<Graph of {len(self.nodes)} nodes: {', '.join(self.output_names)} = {source}>"

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @cached_property
    def _by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    def node(self, name: str) -> Node:
        """The node called `name` (`"w3"`)."""
        return self._by_name[name]

    def has_node(self, name: str) -> bool:
        """Whether a node is called `name`."""
        return name in self._by_name

    @cached_property
    def input_of(self) -> dict[str, str]:
        """Variable name -> its input node name (`{"x1": "w1"}`)."""
        return {node.var: node.name for node in self.nodes if node.is_input}

    @cached_property
    def symbol_of(self) -> dict[str, sympy.Symbol]:
        """Variable name -> its SymPy symbol."""
        return dict(zip(self.variables, self.symbols, strict=True))

    @cached_property
    def needed(self) -> frozenset[str]:
        """The nodes some output depends on: the only lines generated code need run."""
        needed = {o for o in self.outputs if isinstance(o, str)}
        for node in reversed(self.nodes):
            if node.name in needed:
                needed.update(a for a in node.args if isinstance(a, str))
        return frozenset(needed)

    def w(self, name: str) -> sympy.Symbol:
        """The SymPy symbol of a node in the local formulas (`w3`)."""
        return sympy.Symbol(name, real=True)

    def wbar(self, name: str) -> sympy.Symbol:
        """The SymPy symbol of a node's adjoint (`wbar3`, printed as w̄3 and \\bar{w}_{3})."""
        return sympy.Symbol(self.prefix + "bar" + name[len(self.prefix) :], real=True)

    def wdot(self, name: str) -> sympy.Symbol:
        """The SymPy symbol of a node's tangent (`wdot3`, printed as \\dot{w}_{3})."""
        return sympy.Symbol(self.prefix + "dot" + name[len(self.prefix) :], real=True)

    def to_dot(self, max_nodes: int | None = None) -> str:
        """The DAG as Graphviz DOT: inputs, primitives (line and op), outputs, edges labelled
        with the local partials (see `symdiff.picture`)."""
        from .picture import MAX_PICTURE_NODES, to_dot

        return to_dot(self, max_nodes or MAX_PICTURE_NODES)

    def _latex(self, printer: object = None) -> str:
        """`sympy.latex(graph)`: the Wengert list as an `aligned` block."""
        from .document import graph_latex

        return graph_latex(self)

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the picture; a graph too large to draw falls back to text."""
        from .errors import SymdiffError
        from .picture import to_svg

        try:
            return to_svg(self)
        except SymdiffError:
            return None

    def to_networkx(self) -> nx.DiGraph:
        """The DAG as a networkx `DiGraph`: one node per Wengert line, edges argument -> user.

        Node attributes: `op`, `args` (with repeats, in order), `var` (inputs), `label` (the
        line as text). Output nodes have `output=True` and `output_names`.

        Example:
            >>> import symdiff as sd
            >>> g = sd.trace("x*x").to_networkx()
            >>> g.nodes["w2"]["args"], list(g.predecessors("w2"))
            (('w1', 'w1'), ['w1'])
        """
        dag = nx.DiGraph()
        labels: dict[Arg, list[str]] = {}
        for name, out in zip(self.output_names, self.outputs, strict=True):
            labels.setdefault(out, []).append(name)
        for node in self.nodes:
            dag.add_node(
                node.name,
                op=node.op,
                args=node.args,
                var=node.var,
                label=str(node),
                output=node.name in labels,
                output_names=tuple(labels.get(node.name, ())),
            )
            for arg in node.args:
                if isinstance(arg, str):
                    dag.add_edge(arg, node.name)
        return dag


@dataclass
class GraphBuilder:
    """Builds a `Graph` while a front end walks an expression: hash-conses identical nodes.

    Front ends (the text parser, the SymPy walker) call `variable` and `apply` in evaluation
    order, then `finish`, which numbers inputs first, drops unreachable nodes and names the rest.

    Example:
        >>> b = GraphBuilder()
        >>> x = b.variable("x")
        >>> print(b.finish(b.apply("mul", (x, x)), source="x*x"))
        w1 = x
        w2 = w1·w1
        z = w2
    """

    _ops: list[tuple[str, tuple]] = field(default_factory=list)
    _index: dict[tuple, int] = field(default_factory=dict)
    _vars: dict[str, int] = field(default_factory=dict)
    _symbols: dict[str, sympy.Symbol] = field(default_factory=dict)
    _constants: set[int] = field(default_factory=set)
    #: while set, new nodes are noted with it (what the adjoint program is differentiating)
    note: str | None = None
    _notes: dict[int, str] = field(default_factory=dict)

    def variable(self, name: str, symbol: sympy.Symbol | None = None) -> int:
        """The reference of variable `name`, created on first use."""
        if name not in self._vars:
            self._vars[name] = self._push(("input", (name,)))
            self._symbols[name] = symbol if symbol is not None else sympy.Symbol(name, real=True)
        return self._vars[name]

    def apply(self, op: str, args: tuple) -> int:
        """The reference of `op(*args)` (args: references or `Const`), shared if seen before.

        Raises:
            ParseError: an argument that must be constant (heaviside's value at 0) is not.
        """
        key = (op, args)
        ref = self._index.get(key)
        if ref is None:
            for position in PRIMITIVES[op].constant_args:
                if not self.is_constant(args[position]):
                    raise ParseError(f"argument {position + 1} of {op}() must be a constant")
            ref = self._index[key] = self._push(key)
            if all(self.is_constant(a) for a in args):
                self._constants.add(ref)
        return ref

    def is_constant(self, ref: int | Const) -> bool:
        """Whether a reference depends on no variable."""
        return isinstance(ref, Const) or ref in self._constants

    def symbol(self, name: str) -> sympy.Symbol:
        """The SymPy symbol of variable `name`."""
        return self._symbols[name]

    def op_of(self, ref: int | Const) -> tuple[str, tuple] | None:
        """`(op, args)` of a reference, or None for a constant."""
        return None if isinstance(ref, Const) else self._ops[ref]

    def _push(self, entry: tuple[str, tuple]) -> int:
        if len(self._ops) >= MAX_NODES:
            raise LimitError(f"the graph would have more than {MAX_NODES} nodes")
        self._ops.append(entry)
        if self.note is not None:
            self._notes[len(self._ops) - 1] = self.note
        return len(self._ops) - 1

    def finish(
        self,
        outputs: int | Const | Sequence[int | Const],
        wrt: Sequence[str] | None = None,
        source: str = "",
        prefix: str | None = None,
        output_names: Sequence[str] | None = None,
        keep_unused: bool = False,
    ) -> Graph:
        """Number and freeze the graph of `outputs` (one reference, or a list of them).

        Nodes no output uses are dropped, unless `keep_unused` (a program keeps its numbering).
        """
        single = isinstance(outputs, int | Const)
        outputs = [outputs] if single else list(outputs)
        if output_names is None:  # z, unless a variable is called z (then f, then out)
            taken = set(self._vars) | set(wrt or ())
            letter = next(c for c in ("z", "f", "out") if not taken & {c, f"{c}1"})
            output_names = [letter] if single else [f"{letter}{i + 1}" for i in range(len(outputs))]
        seen = list(self._vars)
        if wrt is None:
            wrt = tuple(seen)
        else:
            wrt = tuple(wrt)
            bad = [v for v in wrt if not isinstance(v, str) or not v.isidentifier()]
            if bad:
                raise VariableError(f"wrt names must be variable names, got {bad[0]!r}")
            if len(set(wrt)) != len(wrt):
                raise VariableError(f"wrt repeats a variable: {list(wrt)}")
            for name in wrt:
                self.variable(name)  # a wrt variable absent from the expression gets 0
        variables = wrt + tuple(v for v in seen if v not in wrt)
        prefix = _choose_prefix(variables, prefix)

        live = set(range(len(self._ops))) if keep_unused else self._reachable(outputs)
        names: dict[int, str] = {}
        nodes: list[Node] = []
        for var in variables:
            names[self._vars[var]] = name = f"{prefix}{len(nodes) + 1}"
            nodes.append(Node(name, "input", (), var))
        for ref, (op, args) in enumerate(self._ops):
            if op == "input" or ref not in live:
                continue
            names[ref] = name = f"{prefix}{len(nodes) + 1}"
            nodes.append(
                Node(name, op, tuple(a if isinstance(a, Const) else names[a] for a in args))
            )
        outs = tuple(o if isinstance(o, Const) else names[o] for o in outputs)
        symbols = tuple(self._symbols[v] for v in variables)
        notes = tuple((names[r], note) for r, note in self._notes.items() if r in names)
        return Graph(
            tuple(nodes),
            variables,
            wrt,
            symbols,
            outs,
            source,
            prefix,
            tuple(output_names),
            (),
            notes,
        )

    def _reachable(self, outputs: list[int | Const]) -> set[int]:
        live: set[int] = set()
        stack = [o for o in outputs if not isinstance(o, Const)]
        while stack:
            ref = stack.pop()
            if ref not in live:
                live.add(ref)
                stack.extend(a for a in self._ops[ref][1] if isinstance(a, int))
        return live


def postorder(root, children, combine, memo: dict) -> object:
    """`memo[root]`, computing every missing descendant first, children before parents.

    Iterative (long chains hit no recursion limit) and memoised (a shared DAG is walked once):
    `children(item)` lists what `combine(item)` reads from `memo`; they are combined in that
    order, left to right (variables are numbered in order of first appearance).

    Example:
        >>> sizes = {}
        >>> postorder(3, lambda n: [n - 1] if n else [], lambda n: n + sizes.get(n - 1, 0), sizes)
        6
    """
    stack = [root]
    while stack:
        top = stack[-1]
        if top in memo:
            stack.pop()
            continue
        todo = [c for c in children(top) if c not in memo]
        if todo:
            stack.extend(reversed(todo))
            continue
        stack.pop()
        memo[top] = combine(top)
    return memo[root]


def _choose_prefix(variables: Sequence[str], prefix: str | None) -> str:
    """The first node prefix whose names (`w3`, `wbar3`, `wdot3`) no variable uses."""
    if prefix is not None and (not re.fullmatch(r"[a-y]", prefix)):
        raise VariableError(
            f"the node prefix must be one lowercase letter other than z, got {prefix!r}"
        )
    for candidate in (prefix,) if prefix else _PREFIXES:
        pattern = re.compile(rf"{re.escape(candidate)}(bar|dot)?\d+")
        clash = next((v for v in variables if pattern.fullmatch(v)), None)
        if clash is None:
            return candidate
    raise VariableError(
        f"variable {clash!r} clashes with the node names {prefix}1, {prefix}2, ...; "
        "rename it or pass another prefix"
    )
