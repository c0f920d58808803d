"""Rerolling: a straight-line program as array operations over lanes.

A traced loop leaves its body unrolled: the gradient of the chained Rosenbrock function at
n = 100 is 1,187 scalar lines, but only 12 different kinds of line (`w = x^2`, `w = x' - w`,
...), each repeated for every i. Rerolling finds those kinds and computes each kind once, as one
operation on an array whose rows (lanes) are its repetitions, picking the rows of its arguments
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

Example:
    >>> import symdiff as sd
    >>> print(reroll(sd.trace("sin(x) + sin(y)")))
    v1 = sin(v0)  # 2 × w3 = sin(w1)
    v2 = v1[0:1] + v1[1:2]  # 1 × w5 = w3 + w4
    return v2
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from .graph import Const, Graph, Node, arg_text
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
        example: the first of the program lines it computes, for reading.
    """

    name: str
    op: str
    args: tuple[Pick | Const, ...]
    size: int
    example: Node

    def __str__(self) -> str:
        formula = PRIMITIVES[self.op].text.format(*map(arg_text, self.args))
        return f"{self.name} = {formula}  # {self.size} × {self.example}"


@dataclass(frozen=True)
class Rerolled:
    """A rerolled program: from the stacked input `v0`, array operations, then the outputs.

    Attributes:
        inputs: the number of variables (rows of `v0`).
        ops: the array operations in evaluation order.
        outputs: the outputs in order, as runs of rows picked from the arrays (one row per
            output) or constants, to be concatenated.
    """

    inputs: int
    ops: tuple[Lanes, ...]
    outputs: tuple[Pick | Const, ...]

    @property
    def widest(self) -> int:
        """The most lanes of any array, the input included."""
        return max([self.inputs, *(op.size for op in self.ops)])

    def __str__(self) -> str:
        parts = ", ".join(map(str, self.outputs))
        return "\n".join([*map(str, self.ops), f"return {parts}"])


def reroll(graph: Graph) -> Rerolled:
    """The graph's outputs as array operations over lanes (see the module docstring).

    Only the lines some output needs are kept. The inputs are the graph's variables in order.
    """
    used = graph.needed
    kind: dict[str, int] = {}  # node name -> its kind (0: the inputs)
    lane: dict[str, int] = {}
    members: list[list[Node]] = [[]]
    keys: dict[tuple, int] = {}
    for v in graph.variables:  # the rows of the stacked input, in the variables' order
        node = graph.node(graph.input_of[v])
        kind[node.name], lane[node.name] = 0, len(members[0])
        members[0].append(node)
    for node in graph.nodes:
        if node.is_input or node.name not in used:
            continue
        key = (node.op, tuple(a if isinstance(a, Const) else kind[a] for a in node.args))
        k = keys.setdefault(key, len(members))
        if k == len(members):
            members.append([])
        kind[node.name], lane[node.name] = k, len(members[k])
        members[k].append(node)

    def name(k: int) -> str:
        return f"v{k}"

    ops = []
    for k, group in enumerate(members[1:], start=1):
        first = group[0]
        args = tuple(
            a
            if isinstance(a, Const)
            else Pick(name(kind[a]), tuple(lane[n.args[j]] for n in group), len(members[kind[a]]))
            for j, a in enumerate(first.args)
        )
        ops.append(Lanes(name(k), first.op, args, len(group), first))

    outputs: list[Pick | Const] = []
    for out in graph.outputs:
        last = outputs[-1] if outputs else None
        if isinstance(out, Const):
            outputs.append(out)
        elif isinstance(last, Pick) and last.source == name(kind[out]):
            outputs[-1] = Pick(last.source, (*last.lanes, lane[out]), last.size)
        else:
            outputs.append(Pick(name(kind[out]), (lane[out],), len(members[kind[out]])))
    return Rerolled(len(members[0]), tuple(ops), tuple(outputs))
