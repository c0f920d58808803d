"""Rerolling: a straight-line program as array operations over lanes.

A traced loop leaves its body unrolled: the gradient of the chained Rosenbrock function at
n = 100 is 1,187 scalar lines, but only a dozen different kinds of line (`w = x^2`,
`w = x' - w`, ...), each repeated for every i. Rerolling finds those kinds and computes each
kind once, as one operation on an array whose rows (lanes) are its repetitions, picking the
rows of its arguments
out of earlier arrays. The lines become

    v1 = v0[0:99] ** 2        # 99 × w6 = w1^2
    v2 = v0[1:100] - v1       # 99 × w7 = w2 - w6

over the stacked input `v0` (one row per variable), which an array library runs as a few large
operations: for JAX one fused kernel, however many variables there are. A program with no
repetition (a chain such as `z = sin(z)·x + cos(z)`) rerolls into one lane per line: the same
program, still correct.

Two lines are the same kind when they apply the same primitive to the same constants and to
arguments of the same kinds, so kinds are found in one pass in evaluation order, and every kind's
arguments are complete before it is computed.

Sums and scalings are rerolled as one linear combination each. A chain of `+`, `-`, negations
and multiplications or divisions by constants, such as a layer's pre-activation
`b + a1·x1 + ... + an·xn` or an adjoint gathering `x̄ = Σ w̄j·aj`, is one line: the weighted sum
of the values it combines (its leaves). Lines of the same shape (leaves of the same kinds) are
computed together, with their own coefficients per lane; where every lane combines the same
leaves, as a dense layer does, the coefficients form a matrix and the line is one matrix product:

    v1 = [0.164, -0.681, 0.033, …] + W·v0  # 10 × w9 = w7 + w8

Leaves keep the coefficients the user wrote, zeros included, a leaf that occurs twice stays two
terms, and a chain of sums adds its terms in the order its lines do, so the rerolled program
computes what the line-by-line program computes: the same NaN, infinities and signs of zero,
and for Rosenbrock's gradient the same numbers bit for bit. Except (`_combinations`): constants
are added first, scalings of scalings are one coefficient, and lanes that combine the same rows
of one array, or one lane that combines more than 16, are a matrix product, which adds in BLAS's
order (Rosenbrock's value at n = 100, a sum of 99 terms, at times differs by an ulp). These
move a result by a few units in the last place of its largest term, but at the edges of the
floating-point range, where a partial sum or a scaling overflows or underflows, or infinities
of both signs meet, one order can give inf, NaN, 0 or a finite number where the other gives
another; and a matrix product of zeros is +0.0 in numpy and JAX. The gradient of Rosenbrock
becomes 8 array operations at any n; that of a tanh layer two matrix products and a few
elementwise operations.

Example:
    >>> import symdiff as sd
    >>> print(reroll(sd.trace("sin(x) + sin(y)")))
    v1 = sin(v0)  # 2 × w3 = sin(w1)
    v2 = v1[0:1] + v1[1:2]  # 1 × w5 = w3 + w4
    return v2
"""

from __future__ import annotations

import bisect
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, count, pairwise

from .graph import Arg, Const, Graph, Node, arg_text
from .primitives import PRIMITIVES


@dataclass(frozen=True)
class Pick:
    """Some rows (lanes) of an earlier array: `v3[0:99]`, `v3[98::-1]`, `v3[(0, 5, 7),]`.

    Attributes:
        source: the array's name (`"v3"`; `"v0"` is the stacked input).
        lanes: the rows picked, in order.
        size: how many rows the source has.
    """

    source: str
    lanes: tuple[int, ...]
    size: int

    @property
    def index(self) -> str:
        """The Python index picking the lanes ("" when it is all of them, in order)."""
        lanes = self.lanes
        if lanes == tuple(range(self.size)):
            return ""
        if len(lanes) == 1:
            return f"[{lanes[0]}:{lanes[0] + 1}]"  # a slice keeps the lane axis
        step = lanes[1] - lanes[0]
        if step != 0 and all(b - a == step for a, b in pairwise(lanes)):
            stop = lanes[-1] + (1 if step > 0 else -1)
            stop_text = "" if stop < 0 else str(stop)
            return f"[{lanes[0]}:{stop_text}]" if step == 1 else f"[{lanes[0]}:{stop_text}:{step}]"
        return f"[{lanes},]"  # a gather along the lanes (numpy and JAX alike)

    def runs(self) -> tuple[Pick, ...]:
        """The lanes as picks that are slices each, in order: `v2[(98, 98, 97, …, 0),]` is
        `v2[98:99]` then `v2[98::-1]`.

        Example:
            >>> [str(p) for p in Pick("v2", (4, 4, 3, 2, 6, 8), 9).runs()]
            ['v2[4:5]', 'v2[4:1:-1]', 'v2[6:9:2]']
        """
        runs, start = [], 0
        while start < len(self.lanes):
            stop = start + 1
            if stop < len(self.lanes) and (step := self.lanes[stop] - self.lanes[start]):
                while stop < len(self.lanes) and self.lanes[stop] - self.lanes[stop - 1] == step:
                    stop += 1
            runs.append(Pick(self.source, self.lanes[start:stop], self.size))
            start = stop
        return tuple(runs)

    def __str__(self) -> str:
        return self.source + self.index


@dataclass(frozen=True)
class Lanes:
    """One array operation: a primitive applied lane by lane.

    Attributes:
        name: the array computed (`"v4"`).
        op: the primitive, a key of the rule table.
        args: the picked rows of earlier arrays, or constants.
        size: the number of lanes.
        lines: the program lines it computes, one per lane.
    """

    name: str
    op: str
    args: tuple[Pick | Const, ...]
    size: int
    lines: tuple[Node, ...]

    @property
    def example(self) -> Node:
        """The first of the lines, for reading."""
        return self.lines[0]

    def __str__(self) -> str:
        formula = PRIMITIVES[self.op].text.format(*map(arg_text, self.args))
        return f"{self.name} = {formula}  # {self.size} × {self.example}"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _numbers(values: tuple[float, ...]) -> str:
    """A coefficient per lane, for reading: one number when they are all the same."""
    if len(values) == 1:
        return _number(values[0])
    shown = ", ".join(map(_number, values[:3]))
    return f"[{shown}{', …' if len(values) > 3 else ''}]"


@dataclass(frozen=True)
class Scaled:
    """A term of a linear combination: each lane's coefficient times its picked row.

    Attributes:
        pick: one row per lane.
        scale: a coefficient per lane, or one for all lanes.
    """

    pick: Pick
    scale: tuple[float, ...]

    def __str__(self) -> str:
        if self.scale in ((1.0,), (-1.0,)):
            return f"{'-' if self.scale[0] < 0 else ''}{self.pick}"
        return f"{_numbers(self.scale)}·{self.pick}"


@dataclass(frozen=True)
class Mixed:
    """A term of a linear combination: a matrix (lanes × picked rows) times the picked rows.

    Attributes:
        pick: the rows every lane combines.
        matrix: one row of coefficients per lane.
    """

    pick: Pick
    matrix: tuple[tuple[float, ...], ...]

    def __str__(self) -> str:
        return f"W·{self.pick}"


@dataclass(frozen=True)
class Linear:
    """One array operation: a linear combination of earlier rows, lane by lane.

    Attributes:
        name: the array computed (`"v4"`).
        terms: the weighted picks, summed in order.
        bias: the constant added, per lane or one for all lanes; empty when there is none.
        size: the number of lanes.
        lines: the program lines it computes, one per lane.
    """

    name: str
    terms: tuple[Scaled | Mixed, ...]
    bias: tuple[float, ...]
    size: int
    lines: tuple[Node, ...]

    @property
    def example(self) -> Node:
        """The first of the lines, for reading."""
        return self.lines[0]

    def __str__(self) -> str:
        parts = [_numbers(self.bias)] if self.bias else []
        parts += map(str, self.terms)
        formula = parts[0] + "".join(
            f" - {p[1:]}" if p.startswith("-") else f" + {p}" for p in parts[1:]
        )
        return f"{self.name} = {formula}  # {self.size} × {self.example}"


@dataclass(frozen=True)
class Joined:
    """One array operation: the rows of earlier arrays, one after another (`join_fragments`,
    `sliced`).

    Attributes:
        name: the array computed (`"v16"`).
        parts: the arrays joined, whole, in order.
        size: the number of lanes (the parts' rows together).
    """

    name: str
    parts: tuple[Pick, ...]
    size: int

    def __str__(self) -> str:
        return f"{self.name} = join({', '.join(map(str, self.parts))})  # {self.size} rows"


@dataclass(frozen=True)
class Rerolled:
    """A rerolled program: from the stacked input `v0`, array operations, then the outputs.

    Attributes:
        inputs: the number of variables (rows of `v0`).
        ops: the array operations in evaluation order (a primitive, a linear combination, or
            after `join_fragments` arrays joined).
        outputs: the outputs in order, as runs of rows picked from the arrays (one row per
            output) or constants, to be concatenated.
    """

    inputs: int
    ops: tuple[Lanes | Linear | Joined, ...]
    outputs: tuple[Pick | Const, ...]

    @property
    def widest(self) -> int:
        """The most lanes of any array, the input included."""
        return max([self.inputs, *(op.size for op in self.ops)])

    @property
    def elementwise(self) -> int:
        """The lanes of all array operations but matrix products (`Linear` lines of `Mixed`
        terms alone): the rows a pass over the points reads and writes one by one."""
        return sum(
            op.size
            for op in self.ops
            if not (isinstance(op, Linear) and all(isinstance(t, Mixed) for t in op.terms))
        )

    def __str__(self) -> str:
        parts = ", ".join(map(str, self.outputs))
        return "\n".join([*map(str, self.ops), f"return {parts}"])


def uniform(values: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Coefficients per lane, or one for all lanes where they are all the same (-0.0 and 0.0
    are not: `-0.0·x + -0.0` is -0.0 where `0.0·x + -0.0` is +0.0)."""
    signed = {(v, math.copysign(1.0, v)) for v in values}
    return tuple(values[:1] if len(signed) == 1 else values)


def _linear_parts(node: Node) -> tuple[tuple[float, Arg], ...] | None:
    """The line as `Σ coefficient·argument` over its own arguments (a constant argument adds
    itself), or None when it is not linear in them: a product or quotient of two nodes, a
    function, a division by zero, a constant that is not finite."""
    args = node.args
    consts = [float(a) for a in args if isinstance(a, Const)]
    if len(consts) == len(args) or not all(map(math.isfinite, consts)):
        return None
    if node.op in ("add", "sub", "neg"):
        signs = {"add": (1.0, 1.0), "sub": (1.0, -1.0), "neg": (-1.0,)}[node.op]
        return tuple(zip(signs, args, strict=True))
    if node.op == "mul" and consts:
        factor, other = (args[0], args[1]) if isinstance(args[0], Const) else (args[1], args[0])
        return ((float(factor), other),)
    if node.op == "div" and isinstance(args[1], Const) and float(args[1]) != 0:
        return ((1 / float(args[1]), args[0]),)
    return None


#: A sum that several sums contain is folded into each when it has at most this many terms.
SHARED_TERMS = 16

#: A line of one lane that combines more rows of one array than this is a matrix product (in
#: BLAS's order); up to this many, its terms add one by one, in the line's order.
ONE_LANE = 16


def _sum_of(name: str, user_parts: tuple[tuple[float, Arg], ...]) -> bool:
    """Whether a linear line adds `name` (rather than scaling or subtracting it: `c - (a + b)`
    as `c - a - b` would turn the -0.0 of `-(a + b)`, where a + b cancels, into +0.0)."""
    return all(c == 1.0 for c, a in user_parts if a == name)


class _Unfoldable(Exception):
    """A coefficient or constant of a combination would overflow or underflow."""


def _times(a: float, b: float) -> float:
    """a·b, where it is a finite double that has not lost digits to underflow."""
    product = a * b
    if not math.isfinite(product) or (a and b and abs(product) < sys.float_info.min):
        raise _Unfoldable
    return product


Combination = tuple[tuple[tuple[str, float], ...], float | None]
"""A linear line as ((leaf, coefficient), ...) in order, and its constant (None: none)."""


def _combinations(graph: Graph) -> tuple[dict[str, Combination], set[str]]:
    """The linear lines that stay lines, each as a `Combination`, and the linear lines folded
    into their users (all of them linear, and the line not an output): a line used once, a line
    of at most `SHARED_TERMS` terms, and a line that scales one leaf (`0.7·x4`), however many
    use them. The tracer shares such lines between the sums that contain them (an input whose
    weight is the same in two units has one `0.7·x4` line, and its adjoint `0.7·(ū1 + ū2)`);
    folding them keeps those sums alike.

    What the line-by-line program computes is kept: a chain of sums adds its terms in the order
    the lines do (`_expand`); two sums added, or a sum scaled (`100·(y - x²)`), stay lines of
    their own, since `c·a + c·b` or another order of addition differ where terms cancel (by
    far more than rounding when huge terms cancel exactly); a leaf that occurs twice stays two
    terms (`2·x - x` at x = inf is `inf - inf`, NaN, not `1·inf`); a constant stays even when it
    is 0 (`0 + (-0.0)` is +0.0); a sum subtracted or negated stays a line (`-(a + b)` is -0.0
    where a + b cancels, `-a - b` would be +0.0). What is not kept: constants of a chain are
    added first, scalings of scalings are one coefficient (`2·(3·x)` is `6·x`, `x/c` is
    `x·(1/c)`, `(x·2)·0.5` is `x` even where `x·2` overflows), and a matrix product (`Mixed`:
    lanes that combine the same rows of one array, or one lane that combines more than
    `ONE_LANE`) adds in BLAS's order, from +0.0. Each moves a result by a
    few units in the last place of its largest term, except at the edges of the range (see the
    module's docstring). Where a folded coefficient or constant would overflow or underflow,
    nothing is folded.

    A folded line is expanded into each use: once, or it has at most `SHARED_TERMS` terms, or
    it is a scaling looked up in one step, so this is linear in the program.
    """
    used = graph.needed
    parts = {n.name: p for n in graph.nodes if n.name in used and (p := _linear_parts(n))}
    uses: dict[str, list[str]] = {}  # line -> its users, once per argument that reads it
    for node in graph.nodes:
        for a in node.args:
            if node.name in used and isinstance(a, str):
                uses.setdefault(a, []).append(node.name)
    outputs = {o for o in graph.outputs if isinstance(o, str)}
    folded: set[str] = set()
    scaling: dict[str, tuple[float, str]] = {}  # line -> (coefficient, the leaf it scales)
    terms: dict[str, int] = {}  # folded line -> how many terms its expansion has
    offset: set[str] = set()  # folded lines whose expansion has a nonzero constant
    try:
        for node in graph.nodes:  # in evaluation order: a line's arguments are settled first
            name = node.name
            if name not in parts:
                continue
            (c, a), *rest = parts[name]
            if not rest and not isinstance(a, Const) and (a not in folded or a in scaling):
                factor, leaf = scaling.get(a, (1.0, a))
                scaling[name] = (_times(c, factor), leaf)
            # two folded sums added would be one sum added in another order: (a + b) + (c + d)
            # is not ((a + b) + c) + d; the second stays a line
            sums = [a for _, a in parts[name] if a in folded and a not in scaling]
            for a in sums[1:]:
                folded.discard(a)
                offset.discard(a)
            terms[name] = sum(terms[a] if a in folded else 1 for _, a in parts[name])
            constant = any(
                a in offset or (isinstance(a, Const) and a.value != 0) for _, a in parts[name]
            )
            if name in outputs or not set(uses[name]) <= parts.keys():
                continue
            # a sum is not multiplied out: c·(a + b) is not c·a + c·b where a and b cancel, and
            # ū·(1 - t²) would no longer be exactly 0 at t = 1
            summed = all(_sum_of(name, parts[user]) for user in uses[name])
            few = len(uses[name]) == 1 or terms[name] <= SHARED_TERMS
            if name in scaling or (summed and few):
                folded.add(name)
                terms[name] = 1 if name in scaling else terms[name]
                if constant:
                    offset.add(name)
        return {
            root: _expand(root, parts, scaling, folded) for root in parts.keys() - folded
        }, folded
    except _Unfoldable:
        return {}, set()


def _expand(
    root: str,
    parts: dict[str, tuple[tuple[float, Arg], ...]],
    scaling: dict[str, tuple[float, str]],
    folded: set[str],
) -> Combination:
    """A linear line through the lines folded into it, in the order the lines add them: a
    folded sum first (it was computed before the line that adds it), then the line's other
    terms left to right. For a chain of sums, whichever side it grows on, the terms then add
    up exactly as the lines do (a + b is b + a in floating point; the association is kept).
    """

    def in_order(name: str, scale: float) -> list[tuple[float, Arg]]:
        pairs = [(_times(scale, c), a) for c, a in parts[name]]
        first = [p for p in pairs if p[1] in folded and p[1] not in scaling]
        return [*first, *(p for p in pairs if p not in first)]

    leaves: list[tuple[str, float]] = []
    constant = None
    stack = list(reversed(in_order(root, 1.0)))
    while stack:
        scale, arg = stack.pop()
        if isinstance(arg, Const):
            constant = (constant or 0.0) + _times(scale, float(arg))
            if not math.isfinite(constant):
                raise _Unfoldable
        elif arg in scaling:
            factor, leaf = scaling[arg]
            leaves.append((leaf, _times(scale, factor)))
        elif arg in folded:
            stack.extend(reversed(in_order(arg, scale)))
        else:
            leaves.append((arg, scale))
    return tuple(leaves), constant


def reroll(graph: Graph) -> Rerolled:
    """The graph's outputs as array operations over lanes (see the module docstring).

    Only the lines some output needs are kept. The inputs are the graph's variables in order.
    """
    used = graph.needed
    combinations, folded = _combinations(graph)
    kind: dict[str, int] = {}  # node name -> its kind (0: the inputs)
    lane: dict[str, int] = {}
    members: list[list[Node]] = [[]]
    keys: dict[tuple, int] = {}
    for v in graph.variables:  # the rows of the stacked input, in the variables' order
        node = graph.node(graph.input_of[v])
        kind[node.name], lane[node.name] = 0, len(members[0])
        members[0].append(node)
    for node in graph.nodes:
        if node.is_input or node.name not in used or node.name in folded:
            continue
        if node.name in combinations:
            leaves, constant = combinations[node.name]
            key: tuple = ("linear", tuple(kind[a] for a, _ in leaves), constant is not None)
        else:
            key = (node.op, tuple(a if isinstance(a, Const) else kind[a] for a in node.args))
        k = keys.setdefault(key, len(members))
        if k == len(members):
            members.append([])
        kind[node.name], lane[node.name] = k, len(members[k])
        members[k].append(node)

    # outputs in output order within their kind, so that they are returned as slices
    position = {out: i for i, out in enumerate(graph.outputs) if isinstance(out, str)}
    for group in members[1:]:
        if any(n.name in position for n in group):
            group.sort(key=lambda n: position.get(n.name, len(position)))
            lane.update((n.name, i) for i, n in enumerate(group))

    def name(k: int) -> str:
        return f"v{k}"

    def pick(k: int, lanes: list[int]) -> Pick:
        return Pick(name(k), tuple(lanes), len(members[k]))

    def linear(k: int, group: list[Node]) -> Linear:
        rows = [combinations[n.name][0] for n in group]
        slots: dict[int, list[int]] = {}  # kind -> the term positions reading it, in order
        for s, (leaf, _) in enumerate(rows[0]):
            slots.setdefault(kind[leaf], []).append(s)
        placed: list[tuple[int, Scaled | Mixed]] = []  # (the term's first position, term)
        for source, positions in slots.items():
            lanes = [[lane[row[s][0]] for s in positions] for row in rows]
            shared = {frozenset(r) for r in lanes}
            distinct = all(len(set(r)) == len(r) for r in lanes)
            if len(shared) == 1 and distinct and (len(group) > 1 or len(positions) > ONE_LANE):
                # every lane combines the same rows: a matrix (lanes x rows) times them
                columns = sorted(lanes[0])
                weights = [dict(zip(r, (row[s][1] for s in positions), strict=True))
                           for r, row in zip(lanes, rows, strict=True)]  # fmt: skip
                matrix = tuple(tuple(w[j] for j in columns) for w in weights)
                placed.append((positions[0], Mixed(pick(source, columns), matrix)))
                continue
            for i, s in enumerate(positions):
                scale = tuple(row[s][1] for row in rows)
                placed.append((s, Scaled(pick(source, [r[i] for r in lanes]), uniform(scale))))
        # the terms add in the line's order (`a + b - c` is not `a - c + b` where a and c are
        # huge), a matrix product where its first row was
        terms = [term for _, term in sorted(placed, key=lambda p: p[0])]
        bias = tuple(combinations[n.name][1] for n in group)
        bias = () if bias[0] is None else uniform(bias)
        return Linear(name(k), tuple(terms), bias, len(group), tuple(group))

    ops: list[Lanes | Linear] = []
    for k, group in enumerate(members[1:], start=1):
        first = group[0]
        if first.name in combinations:
            ops.append(linear(k, group))
            continue
        args = tuple(
            a if isinstance(a, Const) else pick(kind[a], [lane[n.args[j]] for n in group])
            for j, a in enumerate(first.args)
        )
        ops.append(Lanes(name(k), first.op, args, len(group), tuple(group)))

    runs: list[Const | tuple[int, list[int]]] = []  # constants, and (kind, lanes) runs
    for out in graph.outputs:
        last = runs[-1] if runs else None
        if isinstance(out, Const):
            runs.append(out)
        elif isinstance(last, tuple) and last[0] == kind[out]:
            last[1].append(lane[out])
        else:
            runs.append((kind[out], [lane[out]]))
    outputs = [r if isinstance(r, Const) else pick(*r) for r in runs]
    return Rerolled(len(members[0]), tuple(ops), tuple(outputs))


def reads(op: Lanes | Linear | Joined) -> tuple[Pick, ...]:
    """The picks of earlier arrays that an operation reads."""
    if isinstance(op, Linear):
        return tuple(term.pick for term in op.terms)
    if isinstance(op, Joined):
        return op.parts
    return tuple(a for a in op.args if isinstance(a, Pick))


def of_lane(values: tuple[float, ...], lane: int) -> float:
    """A lane's coefficient (or constant), where one may stand for all lanes."""
    return values[0 if len(values) == 1 else lane]


def join_fragments(program: Rerolled) -> Rerolled:
    """The program with the linear lines that differ only in which arrays their terms read
    computed as one: lines of `Scaled` terms alone, as many terms each, all with a constant or
    none, that the outputs alone read.

    They are a dense layer's fragments: where an input's weight is the same in two units, the
    tracer shares the scaling, its adjoint sums the two units' (`0.4·(ū1 + ū3)`), and that
    input's partial reads a row of the sums where the others read the units' rows: a kind of
    its own, one line of a few lanes per pattern (the tanh layer at n = 1000: 8 lines of 23
    lanes together, 10 numpy calls each; with weights of one decimal, 156 lines). Joined, the
    arrays their terms read (`Joined`, when they have no more rows than the terms pick) make
    them one line, its lanes in the outputs' order. Each lane adds the same terms, with the
    same coefficients, in the same order: the same numbers.

    Example:
        >>> import symdiff as sd
        >>> layer = sd.trace("tanh(0.4*w + 0.5*x + 0.2*y) + tanh(0.6*w + 0.5*x + 0.3*y)"
        ...                  " + tanh(0.4*w + 0.1*x + 0.3*y)", ["w", "x", "y"])
        >>> program = reroll(sd.adjoint_program(layer, keep_outputs=False))
        >>> for op in program.ops[-2:]:
        ...     print(op)
        v6 = 0.2·v4[2:3] + 0.3·v5[0:1]  # 1 × w32 = w31 + w27
        v7 = [0.4, 0.5]·v5[1:3] + [0.6, 0.1]·v4[1::-1]  # 2 × w38 = w37 + w28
        >>> joined = join_fragments(program)
        >>> for op in joined.ops[-2:]:
        ...     print(op)
        v8 = join(v4, v5)  # 6 rows
        v9 = [0.4, 0.5, 0.2]·v8[(4, 5, 2),] + [0.6, 0.1, 0.3]·v8[(1, 0, 3),]  # 3 × w38 = w37 + w28
        >>> print(*joined.outputs)
        v9
    """
    read = {pick.source for op in program.ops for pick in reads(op)}
    sizes = {"v0": program.inputs} | {op.name: op.size for op in program.ops}
    groups: dict[tuple[int, bool], list[Linear]] = {}
    for op in program.ops:
        if (
            isinstance(op, Linear)
            and op.name not in read
            and all(isinstance(t, Scaled) for t in op.terms)
        ):
            groups.setdefault((len(op.terms), bool(op.bias)), []).append(op)
    rows_out = [
        (o.source, lane) for o in program.outputs if isinstance(o, Pick) for lane in o.lanes
    ]
    # (line, lane) -> the first output row it gives
    first_row = {key: r for r, key in reversed(list(enumerate(rows_out)))}
    ops = list(program.ops)
    moved: dict[tuple[str, int], tuple[str, int]] = {}  # (line, lane) -> (line, lane) joined
    number = 1 + max([0, *(int(op.name[1:]) for op in ops)])
    for group in groups.values():
        offset: dict[str, int] = {}  # an array the terms read -> its first row when joined
        size = 0
        for source in dict.fromkeys(t.pick.source for op in group for t in op.terms):
            offset[source], size = size, size + sizes[source]
        if len(group) < 2 or size > sum(op.size * len(op.terms) for op in group):
            continue
        parts = tuple(Pick(s, tuple(range(sizes[s])), sizes[s]) for s in offset)
        joined, name = Joined(f"v{number}", parts, size), f"v{number + 1}"
        number += 2
        lanes = sorted(
            ((op, lane) for op in group for lane in range(op.size)),
            key=lambda m: first_row.get((m[0].name, m[1]), len(rows_out)),
        )

        terms = tuple(
            Scaled(
                Pick(
                    joined.name,
                    tuple(offset[op.terms[j].pick.source] + op.terms[j].pick.lanes[lane]
                          for op, lane in lanes),
                    size,
                ),
                uniform([of_lane(op.terms[j].scale, lane) for op, lane in lanes]),
            )
            for j in range(len(group[0].terms))
        )  # fmt: skip
        bias = uniform([of_lane(op.bias, lane) for op, lane in lanes]) if group[0].bias else ()
        moved.update(((op.name, lane), (name, i)) for i, (op, lane) in enumerate(lanes))
        gone = {op.name for op in group}
        ops = [op for op in ops if op.name not in gone]
        lines = tuple(op.lines[lane] for op, lane in lanes)
        ops += [joined, Linear(name, terms, bias, len(lanes), lines)]
        sizes[name] = len(lanes)
    if not moved:
        return program
    outputs: list[Pick | Const] = []
    for out in program.outputs:
        if isinstance(out, Pick) and (out.source, 0) in moved:
            into = moved[out.source, 0][0]
            picked = tuple(moved[out.source, lane][1] for lane in out.lanes)
            last = outputs[-1] if outputs else None
            if isinstance(last, Pick) and last.source == into:  # one pick, not two
                picked = last.lanes + picked
                outputs.pop()
            out = Pick(into, picked, sizes[into])
        outputs.append(out)
    return Rerolled(program.inputs, tuple(ops), tuple(outputs))


#: `sliced` cuts an operation in at most this many pieces; one that would need more is left
#: whole. Two serve Rosenbrock (a lane, then the others reversed); cut finer, a gather of a few
#: lanes in any order became many small operations: a 16-lane permutation, 8 operations that
#: XLA ran as 10 kernels, 1.5-4 times the time of one gather.
CUTS = 2


def sliced(program: Rerolled) -> Rerolled:
    """The program with its operations cut into runs of lanes where their picks are not
    slices, so that no array is joined from pieces on the way.

    A pick such as `v2[(98, 98, 97, …, 0),]` is two slices, `v2[98:99]` then `v2[98::-1]`;
    written as the slices joined it makes XLA store the joined array rather than fuse it into
    the operations that read it: Rosenbrock's stacked gradient ran as two kernels, at 1.5-2.0
    times `jax.grad`'s time on a CPU. Cut where the slices meet, each operation becomes a few
    operations (one per run of lanes over which every pick is one slice), and the arrays they
    make are read piece by piece in turn: Rosenbrock's gradient is then one fused kernel. Each
    lane computes what it computed before, from the same values: the same numbers (NaN's sign
    aside: coefficients -1 that were one per lane, `C·v`, are `-v` in a piece where they are
    all -1).

    An operation that would need more than `CUTS` pieces is not cut, nor is a line with a
    matrix product (cut by rows, it would add in another order); they, and a matrix product
    whose columns are not one slice of one piece, read the pieces joined (a `Joined` line).

    Example:
        >>> import symdiff as sd
        >>> program = reroll(sd.trace("sin(x)*x + sin(y)*x"))
        >>> print(program.ops[1])
        v2 = v1·v0[(0, 0),]  # 2 × w4 = w3·w1
        >>> print(sliced(program))
        v1 = sin(v0)  # 2 × w3 = sin(w1)
        v2 = v1[0:1]·v0[0:1]  # 1 × w4 = w3·w1
        v4 = v1[1:2]·v0[0:1]  # 1 × w6 = w5·w1
        v3 = v2 + v4  # 1 × w7 = w4 + w6
        return v3
    """
    numbers = count(1 + max([0, *(int(op.name[1:]) for op in program.ops)]))
    # array -> its pieces in order, each (its first lane, all of the piece)
    pieces: dict[str, list[tuple[int, Pick]]] = {"v0": [(0, _all("v0", program.inputs))]}
    whole: dict[str, Pick] = {"v0": pieces["v0"][0][1]}  # array -> all of it, in one array
    ops: list[Lanes | Linear | Joined] = []

    def slices(pick: Pick) -> list[Pick]:
        """The pick as slices of the pieces, in order."""
        found = pieces[pick.source]
        starts = [start for start, _ in found]
        out: list[Pick] = []
        run: list[int] = []
        piece = None
        for lane in pick.lanes:
            start, at = found[bisect.bisect_right(starts, lane) - 1]
            if at is not piece and run:
                out += Pick(piece.source, tuple(run), piece.size).runs()
                run = []
            piece = at
            run.append(lane - start)
        return out + (list(Pick(piece.source, tuple(run), piece.size).runs()) if run else [])

    def joined(source: str) -> Pick:
        """All lanes of an array, its pieces joined into one (a `Joined` line) if need be."""
        if source not in whole:
            name = f"v{next(numbers)}"
            size = sum(p.size for _, p in pieces[source])
            ops.append(Joined(name, tuple(p for _, p in pieces[source]), size))
            whole[source] = _all(name, size)
        return whole[source]

    def read_whole(pick: Pick) -> Pick:
        """The pick, from the array whole: itself where that is not cut, else from its join."""
        if len(pieces[pick.source]) == 1:
            return Pick(pieces[pick.source][0][1].source, pick.lanes, pick.size)
        return Pick(joined(pick.source).source, pick.lanes, pick.size)

    for op in program.ops:
        if isinstance(op, Joined):
            parts = tuple(p for part in op.parts for _, p in pieces[part.source])
            cut = [Joined(op.name, parts, op.size)]
        else:
            cut = _cut(op, slices, read_whole, numbers)
        ops += cut
        starts = accumulate((c.size for c in cut[:-1]), initial=0)
        pieces[op.name] = [(s, _all(c.name, c.size)) for s, c in zip(starts, cut, strict=True)]
        if len(cut) == 1:
            whole[op.name] = pieces[op.name][0][1]
    outputs: list[Pick | Const] = []
    for out in program.outputs:
        outputs += [out] if isinstance(out, Const) else slices(out)
    return Rerolled(program.inputs, tuple(ops), tuple(outputs))


def _all(name: str, size: int) -> Pick:
    """All lanes of an array, in order."""
    return Pick(name, tuple(range(size)), size)


def _cut(
    op: Lanes | Linear,
    slices: Callable[[Pick], list[Pick]],
    read_whole: Callable[[Pick], Pick],
    numbers: Iterator[int],
) -> list[Lanes | Linear]:
    """`op` as operations over runs of its lanes in each of which every pick it reads lane by
    lane is one slice of one piece (see `sliced`); or whole, past `CUTS` runs or with a matrix
    product."""
    lane_picks = (
        [a for a in op.args if isinstance(a, Pick)]
        if isinstance(op, Lanes)
        else [t.pick for t in op.terms if isinstance(t, Scaled)]
    )
    runs = [slices(p) for p in lane_picks]
    bounds = sorted({0, op.size} | {b for r in runs for b in accumulate(len(p.lanes) for p in r)})
    # a matrix product cut by rows adds in another order (BLAS blocks by the matrix's shape)
    if len(bounds) - 1 > CUTS or any(isinstance(t, Mixed) for t in getattr(op, "terms", ())):
        bounds = [0, op.size]

    def piece(pick: Pick, ran: list[Pick], lo: int, hi: int) -> Pick:
        """The lanes lo..hi of a pick: one slice, if it was cut there."""
        if len(bounds) == 2 and len(ran) > 1:
            return read_whole(pick)
        at = 0
        for p in ran:
            if at <= lo and hi <= at + len(p.lanes):
                return Pick(p.source, p.lanes[lo - at : hi - at], p.size)
            at += len(p.lanes)
        raise AssertionError("a cut falls inside a slice")  # bounds include every run's end

    def matrix_pick(pick: Pick) -> Pick:
        ran = slices(pick)
        return ran[0] if len(ran) == 1 else read_whole(pick)

    out: list[Lanes | Linear] = []
    for lo, hi in pairwise(bounds):
        name = op.name if lo == 0 else f"v{next(numbers)}"
        lanes = iter(zip(lane_picks, runs, strict=True))
        if isinstance(op, Lanes):
            args = tuple(
                a if isinstance(a, Const) else piece(*next(lanes), lo, hi) for a in op.args
            )
            out.append(Lanes(name, op.op, args, hi - lo, op.lines[lo:hi]))
            continue
        terms = tuple(
            Scaled(piece(*next(lanes), lo, hi), _lanes_of(t.scale, lo, hi))
            if isinstance(t, Scaled)
            else Mixed(matrix_pick(t.pick), t.matrix)  # (a line with one is not cut)
            for t in op.terms
        )
        bias = _lanes_of(op.bias, lo, hi) if op.bias else ()
        out.append(Linear(name, terms, bias, hi - lo, op.lines[lo:hi]))
    return out


def _lanes_of(values: tuple[float, ...], lo: int, hi: int) -> tuple[float, ...]:
    """Per-lane coefficients (or one for all lanes) of the lanes lo..hi."""
    return values if len(values) == 1 else uniform(values[lo:hi])
