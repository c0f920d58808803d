"""Pictures of the graph: Graphviz DOT, and SVG or PNG drawn by Graphviz or, without it, matplotlib.

The picture shows the inputs, each primitive (its line of the Wengert list and its op) and the
output `z`; every edge carries the local partial of its head with respect to its tail. Drawn from
a `Derivation` at a point, every node also shows its value and its adjoint. Both renderers draw
the same `Picture`, so the DOT text and the matplotlib fallback never disagree.

Graphs past `MAX_PICTURE_NODES` are refused with a `LimitError` that says so: a bigger picture is
a hairball, and the derivation documents (`symdiff.document`) summarise large graphs instead.

Example:
    >>> import symdiff as sd
    >>> dot = to_dot(sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3}))
    >>> '"w1" -> "w3" [label="∂w3/∂w1 = w2 = 3"]' in dot
    True
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import networkx as nx
import sympy

from .errors import LimitError, SymdiffError
from .forward import local_partial
from .graph import Graph
from .render import bar, cut, dot, math_str, number_str

if TYPE_CHECKING:
    from .derivation import Derivation

Engine = Literal["auto", "graphviz", "matplotlib"]
Format = Literal["dot", "svg", "png"]

#: Graphs with more nodes than this are not drawn (50 nodes still read well).
MAX_PICTURE_NODES = 100
#: Significant digits of the values in the picture.
DIGITS = 4
#: Seconds Graphviz may take before symdiff gives up on it.
DOT_TIMEOUT = 60
#: Pixels per inch of PNG output.
PNG_DPI = 110

_FILL = {"input": "#dbeafe", "op": "#f3f4f6", "output": "#dcfce7"}
_SUFFIXES: dict[str, Format] = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}


@dataclass(frozen=True)
class Box:
    """A node of the picture: `name` (its id: `w3`, or `z`), its label lines and its kind."""

    name: str
    lines: tuple[str, ...]
    kind: Literal["input", "op", "output"]


@dataclass(frozen=True)
class Arrow:
    """An edge from an argument (`tail`) to the node that uses it (`head`), with its label."""

    tail: str
    head: str
    label: str = ""


@dataclass(frozen=True)
class Picture:
    """What is drawn: boxes in node order (the output `z` last), arrows, and a title."""

    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    title: str


def picture_of(obj: Graph | Derivation, max_nodes: int = MAX_PICTURE_NODES) -> Picture:
    """The picture of a graph, or of a derivation with values and adjoints (reverse mode) or
    tangents (forward mode) at its point.

    Raises:
        LimitError: the graph has more than `max_nodes` nodes.

    Example:
        >>> import symdiff as sd
        >>> pic = picture_of(sd.trace("x*x"))
        >>> pic.boxes[1].lines, pic.arrows[0].label
        (('w2 = w1·w1', 'mul'), '∂w2/∂w1 = 2·w1')
    """
    graph = obj if isinstance(obj, Graph) else obj.graph
    if len(graph) > max_nodes:
        raise LimitError(
            f"the graph has {len(graph)} nodes, more than the {max_nodes} a picture can show "
            "readably; draw a smaller expression, raise max_nodes (--max-nodes), or read the "
            "derivation (symdiff explain), which summarises large graphs"
        )
    values = None if isinstance(obj, Graph) else obj.values
    forward = not isinstance(obj, Graph) and obj.mode == "forward"
    mark = dot if forward else bar
    sweep: dict[str, float | None] = {}
    if not isinstance(obj, Graph):
        steps = obj.tangent_steps if forward else obj.steps
        sweep = {s.node: s.value for s in steps}

    def at_point(name: str, lines: list[str]) -> tuple[str, ...]:
        if values is not None:
            lines.append(f"{name} = {number_str(values[name], DIGITS)}")
            if sweep.get(name) is not None:
                lines.append(f"{mark(name)} = {number_str(sweep[name], DIGITS)}")
        return tuple(lines)

    boxes = []
    for node in graph.nodes:
        if node.is_input:
            boxes.append(Box(node.name, at_point(node.name, [str(node)]), "input"))
        else:
            boxes.append(Box(node.name, at_point(node.name, [cut(str(node), 40), node.op]), "op"))

    arrows = []
    for node in graph.nodes:
        # x*x uses w1 twice: one arrow, whose partial is the sum over both positions
        partials: dict[str, sympy.Expr] = {}
        for position, arg in enumerate(node.args):
            if isinstance(arg, str):
                partials[arg] = partials.get(arg, 0) + local_partial(graph, node.name, position)
        for arg, partial in partials.items():
            label = f"∂{node.name}/∂{arg} = {cut(math_str(partial), 40)}"
            if values is not None and not partial.is_Number:
                label += f" = {number_str(_at(partial, values), DIGITS)}"
            arrows.append(Arrow(arg, node.name, label))

    taken = {node.name for node in graph.nodes}
    for name, out in zip(graph.output_names, graph.outputs, strict=True):
        box = name if name not in taken else f"output {name}"
        lines = [f"{name} = {out}"]
        if not isinstance(obj, Graph) and values is not None:
            lines.append(f"{name} = {number_str(obj.output_values[name], DIGITS)}")
        if not isinstance(obj, Graph) and forward and values is not None:
            lines.append(f"{dot(name)} = {number_str(obj.output_tangents[name][1], DIGITS)}")
        elif not isinstance(obj, Graph):
            seed = obj.seed[name] if isinstance(obj.seed, dict) else obj.seed
            lines.append(f"{bar(name)} = {math_str(seed)} (seed)")
        boxes.append(Box(box, tuple(lines), "output"))
        if isinstance(out, str):
            arrows.append(Arrow(out, box))
    return Picture(
        tuple(boxes), tuple(arrows), cut(f"{', '.join(graph.output_names)} = {graph.source}", 80)
    )


def _at(partial: sympy.Expr, values: Mapping[str, float]) -> float:
    """A local partial (in the w's) at the point's node values."""
    return float(partial.xreplace({s: values[s.name] for s in partial.free_symbols}))


def _quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, so user text cannot break the syntax."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(obj: Graph | Derivation | Picture, max_nodes: int = MAX_PICTURE_NODES) -> str:
    """Graphviz DOT text of the graph (with values and adjoints for a derivation at a point).

    Example:
        >>> import symdiff as sd
        >>> print(to_dot(sd.trace("sin(x)")).splitlines()[-2])
          "w2" -> "z"
    """
    pic = obj if isinstance(obj, Picture) else picture_of(obj, max_nodes)
    lines = [
        "digraph symdiff {",
        f"  graph [rankdir=LR, nodesep=0.3, ranksep=0.5, labelloc=t, fontname=Helvetica, "
        f"fontsize=12, label={_quote(pic.title)}];",
        '  node [fontname=Helvetica, fontsize=10, style=filled, color="#555555"];',
        '  edge [fontname=Helvetica, fontsize=9, color="#555555"];',
    ]
    shapes = {
        "input": "shape=ellipse",
        "op": 'shape=box, style="rounded,filled"',
        "output": "shape=box, peripheries=2",
    }
    for box in pic.boxes:
        lines.append(
            f"  {_quote(box.name)} [{shapes[box.kind]}, fillcolor={_quote(_FILL[box.kind])}, "
            f"label={_quote(chr(10).join(box.lines))}];"
        )
    for arrow in pic.arrows:
        label = f" [label={_quote(arrow.label)}]" if arrow.label else ""
        lines.append(f"  {_quote(arrow.tail)} -> {_quote(arrow.head)}{label}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _engine(engine: Engine) -> str | None:
    """The `dot` program to use, or None for matplotlib."""
    if engine not in ("auto", "graphviz", "matplotlib"):
        raise SymdiffError(f"engine must be 'auto', 'graphviz' or 'matplotlib', got {engine!r}")
    if engine == "matplotlib":
        return None
    found = shutil.which("dot")
    if found is None and engine == "graphviz":
        raise SymdiffError(
            "Graphviz's dot program is not on the PATH; install Graphviz (apt-get install "
            "graphviz) or draw with matplotlib (engine='matplotlib'; --engine matplotlib)"
        )
    return found


def _graphviz(program: str, pic: Picture, fmt: Format) -> bytes:
    args = [program, f"-T{fmt}"] + ([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])
    try:
        done = subprocess.run(
            args, input=to_dot(pic).encode(), capture_output=True, timeout=DOT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise LimitError(f"Graphviz took more than {DOT_TIMEOUT} s to lay the graph out") from None
    if done.returncode != 0:
        raise SymdiffError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _layers(pic: Picture) -> dict[str, tuple[float, float]]:
    """Positions in inches, drawn left to right as Graphviz does.

    A node's column is its longest path from the inputs (networkx's topological order), and an
    input sits just left of its first use, so its edges stay short. Rows follow a few
    barycentre sweeps (each node near the mean row of its neighbours), which keeps crossings down.
    """
    dag = nx.DiGraph()
    dag.add_nodes_from(box.name for box in pic.boxes)
    dag.add_edges_from((a.tail, a.head) for a in pic.arrows)
    topo = list(nx.topological_sort(dag))
    column: dict[str, int] = {}
    for name in topo:
        column[name] = max((column[p] + 1 for p in dag.predecessors(name)), default=0)
    for name in reversed(topo):
        if dag.in_degree(name) == 0 and dag.out_degree(name) > 0:
            column[name] = min(column[s] for s in dag.successors(name)) - 1
    layers: dict[int, list[str]] = {}
    for box in pic.boxes:  # node order first: a stable start for the sweeps
        layers.setdefault(column[box.name], []).append(box.name)
    row = {name: float(i) for layer in layers.values() for i, name in enumerate(layer)}
    for sweep in range(4):
        forward = sweep % 2 == 0
        for x in sorted(layers, reverse=not forward):
            near = dag.predecessors if forward else dag.successors

            def key(name: str, near=near) -> float:
                rows = [row[n] for n in near(name)] or [row[n] for n in nx.all_neighbors(dag, name)]
                return sum(rows) / len(rows) if rows else row[name]

            layers[x].sort(key=key)
            for i, name in enumerate(layers[x]):
                row[name] = i - (len(layers[x]) - 1) / 2
    first = min(layers)
    return {name: ((column[name] - first) * 2.4, -row[name] * 1.25) for name in row}


def _matplotlib(pic: Picture, fmt: Format) -> bytes:
    """The pure-Python drawing: networkx for the layering, matplotlib for the boxes and arrows."""
    import matplotlib
    from matplotlib.figure import Figure

    pos = _layers(pic)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    # axes in inches (1 data unit = 1 inch), so font sizes and spacing stay in proportion
    left, right, bottom, top = min(xs) - 1.3, max(xs) + 1.3, min(ys) - 0.8, max(ys) + 1.0
    fig = Figure(figsize=(right - left, top - bottom))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.text(
        (left + right) / 2,
        top - 0.35,
        pic.title,
        ha="center",
        va="center",
        fontsize=11,
        parse_math=False,
    )
    texts = {}
    for box in pic.boxes:
        style = "round,pad=0.35" if box.kind != "input" else "round4,pad=0.35"
        text = ax.text(
            *pos[box.name],
            "\n".join(box.lines),
            ha="center",
            va="center",
            fontsize=8,
            parse_math=False,
            gid=box.name,
            zorder=3,
            bbox={
                "boxstyle": style,
                "fc": _FILL[box.kind],
                "ec": "#555555",
                "lw": 1.6 if box.kind == "output" else 0.8,
            },
        )
        texts[box.name] = text
    for arrow in pic.arrows:
        tail, head = texts[arrow.tail], texts[arrow.head]
        ax.annotate(
            "",
            xy=(0.5, 0.5),
            xycoords=head,
            xytext=(0.5, 0.5),
            textcoords=tail,
            # after the boxes: their patches get placed when drawn, and the arrow clips to them
            zorder=4,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "lw": 0.8,
                "shrinkA": 0,
                "shrinkB": 0,
                "patchA": tail.get_bbox_patch(),
                "patchB": head.get_bbox_patch(),
            },
        )
        if arrow.label:
            (x0, y0), (x1, y1) = pos[arrow.tail], pos[arrow.head]
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                arrow.label,
                ha="center",
                va="center",
                fontsize=6.5,
                parse_math=False,
                zorder=5,
                color="#333333",
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
            )
    buffer = io.BytesIO()
    # text stays text in the SVG (searchable, and names every node); no timestamp, so the same
    # graph gives the same file
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "symdiff"}):
        fig.savefig(
            buffer, format=fmt, dpi=PNG_DPI, metadata={"Date": None} if fmt == "svg" else None
        )
    return buffer.getvalue()


def _draw(obj: Graph | Derivation, fmt: Format, engine: Engine, max_nodes: int) -> bytes:
    pic = picture_of(obj, max_nodes)
    program = _engine(engine)
    return _matplotlib(pic, fmt) if program is None else _graphviz(program, pic, fmt)


def to_svg(
    obj: Graph | Derivation, engine: Engine = "auto", max_nodes: int = MAX_PICTURE_NODES
) -> str:
    """The picture as SVG text: Graphviz's `dot` when installed, matplotlib otherwise.

    Args:
        obj: a `Graph` (structure only) or a `Derivation` (values and adjoints at its point).
        engine: `"auto"`, `"graphviz"` or `"matplotlib"`.
        max_nodes: refuse graphs larger than this (`LimitError`).

    Example:
        >>> import symdiff as sd
        >>> "<svg" in to_svg(sd.trace("x*x"), engine="matplotlib")
        True
    """
    return _draw(obj, "svg", engine, max_nodes).decode("utf-8")


def to_png(
    obj: Graph | Derivation, engine: Engine = "auto", max_nodes: int = MAX_PICTURE_NODES
) -> bytes:
    """The picture as PNG bytes (see `to_svg`)."""
    return _draw(obj, "png", engine, max_nodes)


def picture_format(path: str | Path, fmt: str | None = None) -> Format:
    """The format to write: `fmt` if given, else from the file's suffix (.dot/.gv, .svg, .png)."""
    if fmt is None:
        fmt = _SUFFIXES.get(Path(path).suffix.lower())
        if fmt is None:
            raise SymdiffError(
                f"cannot tell the picture format from {str(path)!r}; name a .svg, .png or .dot "
                "file, or give the format"
            )
    if fmt not in ("dot", "svg", "png"):
        raise SymdiffError(f"picture format must be 'dot', 'svg' or 'png', got {fmt!r}")
    return fmt  # type: ignore[return-value]


def save(
    obj: Graph | Derivation,
    path: str | Path,
    fmt: Format | None = None,
    engine: Engine = "auto",
    max_nodes: int = MAX_PICTURE_NODES,
) -> Path:
    """Write the picture to `path`, in the format its suffix names (or `fmt`).

    Raises:
        SymdiffError: unknown format, or the file cannot be written.
        LimitError: the graph is too large to draw readably.

    Example:
        >>> import symdiff as sd, tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "g.dot"
        >>> save(sd.trace("x*x"), out).read_text().startswith("digraph")
        True
    """
    path = Path(path)
    fmt = picture_format(path, fmt)
    data = to_dot(obj, max_nodes).encode() if fmt == "dot" else _draw(obj, fmt, engine, max_nodes)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise SymdiffError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path
