"""The `symdiff` command: `grad` and `explain`, calling only the public API.

Bad input prints one line on stderr and exits with status 2; nothing in the input is executed.

Example:
    $ symdiff grad "x1*x2 + sin(x1)" --at x1=2,x2=3
    dz/dx1 = x2 + cos(x1) = 2.5838531634528574
    dz/dx2 = x1 = 2.0
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence

import symdiff as sd
from symdiff.render import gradient_lines, math_str, number_str

EXAMPLES = """examples:
  symdiff grad "x1*x2 + sin(x1)" --at x1=2,x2=3
  symdiff grad "a*x^2 + b*x" --wrt x --json
  symdiff explain "x1*x2 + sin(x1)" --at x1=2,x2=3
  symdiff explain "x1*x2 + sin(x1)" --at x1=2,x2=3 --mode forward --seed x1=1
  symdiff jacobian "r*cos(t); r*sin(t)" --wrt r,t --at r=2,t=pi/6
  symdiff hessian "100*(y - x^2)^2 + (1 - x)^2" --wrt x,y --at x=1,y=1
  symdiff check "x1*x2 + sin(x1)" --at x1=2,x2=3 --plot fd.png

expressions: numbers, variables, + - * / ** ^ (power), unary minus, parentheses, pi, E and
the functions {functions}.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like every other bad input
        if "required: expression" in message:
            message += "; an expression that begins with '-' goes after '--' (options before it)"
        self.exit(2, f"symdiff: error: {message} (see symdiff --help)\n")


def _point(text: str | list[str] | None, flag: str = "--at") -> dict[str, str] | None:
    """`x1=2,x2=pi/4` -> {"x1": "2", "x2": "pi/4"}; values are parsed later as expressions.
    A repeated option (`--at x1=2 --at x2=3`) gives a list, whose pairs are merged."""
    if text is None:
        return None
    items = [text] if isinstance(text, str) else text
    point = {}
    for item in (part for one in items for part in re.split(r",(?=\s*[^\W\d]\w*\s*=)", one)):
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise sd.VariableError(
                f"{flag} expects name=value pairs separated by commas, got {item!r}"
            )
        if name.strip() in point:
            raise sd.VariableError(f"{flag} gives {name.strip()} twice")
        point[name.strip()] = value.strip()
    return point


def _wrt(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [w.strip() for w in text.split(",") if w.strip()]
    if not names:
        raise sd.VariableError(f"--wrt names no variable: {text!r}; give x1,x2 or leave it out")
    return names


def _nodes(text: str) -> int:
    """`--max-nodes`: a whole number of at least 2 (a graph has an input and an output)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a whole number, got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    functions = ", ".join(n for n, p in sd.PRIMITIVES.items() if p.callable)
    parser = _Parser(
        prog="symdiff",
        description="Differentiate a formula by reverse-mode automatic differentiation and "
        "show every step.",
        epilog=EXAMPLES.format(functions=functions),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"symdiff {sd.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = _Parser(add_help=False)
    common.add_argument("expression", help='the formula, e.g. "x1*x2 + sin(x1)"')
    common.add_argument(
        "--wrt",
        help="variables to differentiate, in order: x1,x2 (default: all, in order of appearance)",
    )
    common.add_argument(
        "--at",
        action="append",
        help="a point: x1=2,x2=3 (values may be constants like pi/4; repeatable: --at x1=2 "
        "--at x2=3)",
    )
    common.add_argument(
        "--simplify",
        choices=["auto", "full", "none"],
        default="auto",
        help="simplification of the closed form (default: auto)",
    )
    grad = sub.add_parser(
        "grad",
        parents=[common],
        help="print the gradient",
        description="Print each partial derivative, and its value at --at.",
    )
    grad.add_argument("--json", action="store_true", help="print one JSON object")
    explain = sub.add_parser(
        "explain",
        parents=[common],
        help="print the whole derivation",
        description="Print the forward (primal) and reverse (adjoint) tables and the gradient.",
    )
    explain.add_argument(
        "--mode",
        choices=["reverse", "forward", "rev", "fwd"],
        default="reverse",
        help="reverse (adjoints, the gradient; default) or forward (tangents)",
    )
    explain.add_argument(
        "--seed",
        help="reverse: the output's adjoint z̄ (default 1), one per output for several: 1,0; "
        "forward: the input tangent, x1=1,x2=0 (default: the first variable)",
    )
    _document_options(explain)
    jacobian = sub.add_parser(
        "jacobian",
        parents=[common],
        help="print the Jacobian of several expressions (separated by ';')",
        description="Print the Jacobian of expressions separated by ';', and its values at --at.",
    )
    jacobian.add_argument(
        "--mode",
        choices=["auto", "fwd", "rev", "forward", "reverse"],
        default="auto",
        help="one reverse sweep per output, one forward sweep per input, or the fewer (auto)",
    )
    jacobian.add_argument("--json", action="store_true", help="print one JSON object")
    hessian = sub.add_parser(
        "hessian",
        parents=[common],
        help="print the Hessian of an expression",
        description="Print the Hessian (forward sweeps over the adjoint program), and its values.",
    )
    hessian.add_argument("--json", action="store_true", help="print one JSON object")
    _graph_parser(sub, common)
    _check_parser(sub, common)
    return parser


def _check_parser(sub, common: argparse.ArgumentParser) -> None:
    """The `check` subcommand: the gradient by every method, against 50 digits (comparison)."""
    check = sub.add_parser(
        "check",
        parents=[common],
        help="compare symbolic and numeric AD, finite differences, complex step, sympy.diff...",
        description="Compute the gradient at --at by every method (closed form, reverse and "
        "forward sweeps, central differences, complex step, sympy.diff, JAX and PyTorch when "
        "installed) and print each value with its error against the closed form in 50 digits.",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw finite-difference error against step size (.png, .svg or .pdf)",
    )


def _document_options(explain: argparse.ArgumentParser) -> None:
    """`explain`'s options for LaTeX and Markdown documents (symdiff.document)."""
    explain.add_argument(
        "--format",
        choices=["text", "latex", "markdown"],
        help="text tables (default), a LaTeX document (amsmath; compiles with pdflatex), or "
        "Markdown with $$ math (GitHub, Jupyter); with -o, the default is the file's suffix "
        "(.tex, .md)",
    )
    explain.add_argument("-o", "--output", help="write to this file instead of printing")
    explain.add_argument(
        "--fragment",
        action="store_true",
        help="LaTeX: only the body, to paste into a document (default: a whole .tex file)",
    )
    explain.add_argument(
        "--form",
        choices=["both", "local", "expanded"],
        default="both",
        help="each adjoint as local partials, expanded to the inputs, or both (default)",
    )
    explain.add_argument("--prefix", help="the node letter: w (default) or v (textbook)")
    explain.add_argument(
        "--max-nodes",
        type=_nodes,
        default=None,
        help="LaTeX and Markdown: past this many nodes, show the first and last lines of each pass",
    )


def _graph_parser(sub, common: argparse.ArgumentParser) -> None:
    """The `graph` subcommand: a picture of the computational graph (symdiff.picture)."""
    graph = sub.add_parser(
        "graph",
        parents=[common],
        help="draw the computational graph (SVG, PNG or Graphviz DOT)",
        description="Draw the graph: inputs, primitives, outputs, edges labelled with the local "
        "partials; with --at every node also shows its value and adjoint. Uses Graphviz's dot "
        "when installed, else matplotlib. Without -o, prints the DOT text.",
    )
    graph.add_argument("-o", "--output", help="the file to write: .svg, .png or .dot")
    graph.add_argument(
        "--format", choices=["svg", "png", "dot"], help="the format (default: the file's suffix)"
    )
    graph.add_argument(
        "--engine",
        choices=["auto", "graphviz", "matplotlib"],
        default="auto",
        help="who draws: Graphviz if installed (auto, default), Graphviz, or matplotlib",
    )
    graph.add_argument("--seed", help="the output's adjoint z̄ (as for explain)")
    graph.add_argument("--prefix", help="the node letter: w (default) or v (textbook)")
    graph.add_argument(
        "--max-nodes", type=_nodes, default=None, help="draw graphs up to this size (default 100)"
    )


def _expressions(text: str) -> str | list[str]:
    """`"a; b"` -> ["a", "b"]; a single expression stays a string."""
    parts = [part.strip() for part in text.split(";")]
    return parts[0] if len(parts) == 1 else parts


def _seed(text: str | None, mode: str, has_mode: bool = True) -> object:
    if text is None:
        return None
    if mode in ("forward", "fwd"):
        return _point(text, "--seed")
    if "=" in text:  # x1=1 is a tangent: a forward-mode seed
        hint = " (add --mode forward)" if has_mode else ""
        raise sd.VariableError(
            f"--seed {text} gives input tangents, which forward mode takes{hint}; in reverse "
            "mode --seed is the output's adjoint: a number, or one per output: 1,0"
        )
    parts = [part.strip() for part in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def _matrix(matrix, label, cols: Sequence[str], values, head: str, as_json: bool, extra) -> str:
    """A derivative matrix as `label(i, j) = formula = value` lines, or as a JSON object."""
    m, n = matrix.shape
    if as_json:
        return json.dumps(
            {
                **extra,
                "variables": list(cols),
                head: [[str(matrix[i, j]) for j in range(n)] for i in range(m)],
                "values": None if values is None else values.tolist(),
            }
        )
    lines = []
    for i in range(m):
        for j in range(n):
            if matrix[i, j] == 0:
                continue  # a sparse matrix reads better without its zeros
            line = f"{label(i, j)} = {math_str(matrix[i, j])}"
            if values is not None and not matrix[i, j].is_Number:
                line += f" = {number_str(values[i, j], None)}"
            lines.append(line)
    zeros = m * n - len(lines)
    if zeros == m * n:
        lines.append("(the entry is 0)" if zeros == 1 else f"(all {zeros} entries are 0)")
    elif zeros:
        lines.append(
            "(the other entry is 0)" if zeros == 1 else f"(the other {zeros} entries are 0)"
        )
    return "\n".join(lines)


def _jacobian(args: argparse.Namespace) -> str:
    exprs = _expressions(args.expression)
    graph = sd.trace(exprs, _wrt(args.wrt))
    matrix = sd.jacobian(graph, mode=args.mode, simplify=args.simplify)
    point = _point(args.at)
    values = None if point is None else matrix.at(point)
    extra = {
        "expressions": graph.source.split("; "),
        "mode": matrix.mode,
        "reason": matrix.reason,
        "at": None if point is None else sd.forward.bind(graph, point),
    }
    names, wrt = graph.output_names, graph.wrt
    text = _matrix(
        matrix, lambda i, j: f"∂{names[i]}/∂{wrt[j]}", wrt, values, "jacobian", args.json, extra
    )
    return text if args.json else f"{text}\nmode: {matrix.reason}"


def _hessian(args: argparse.Namespace) -> str:
    graph = sd.trace(args.expression, _wrt(args.wrt))
    matrix = sd.hessian(graph, simplify=args.simplify)
    point = _point(args.at)
    values = None if point is None else matrix.at(point)
    extra = {
        "expression": graph.source,
        "at": None if point is None else sd.forward.bind(graph, point),
    }
    wrt = graph.wrt
    return _matrix(
        matrix,
        lambda i, j: f"∂²{graph.output_names[0]}/∂{wrt[i]}∂{wrt[j]}",
        wrt,
        values,
        "hessian",
        args.json,
        extra,
    )


def _grad(args: argparse.Namespace) -> str:
    gradient = sd.grad(args.expression, _wrt(args.wrt), simplify=args.simplify)
    point = _point(args.at)
    values = gradient.at(point) if point is not None else None
    if args.json:
        bound = sd.forward.bind(gradient.graph, point) if point is not None else None
        return json.dumps(
            {
                "expression": gradient.graph.source,
                "variables": list(gradient.variables),
                "gradient": {v: str(gradient[v]) for v in gradient.variables},
                "at": bound,
                "values": values,
            }
        )
    if not gradient.variables:
        return f"(no variables to differentiate: {gradient.graph.source} is a constant)"
    try:
        return "\n".join(gradient_lines(gradient, values, exact=True))
    except sd.LimitError:  # flat formulas too large: the numbers still come from the program
        if values is None:
            raise
        return "\n".join(
            f"d{gradient.graph.output_names[0]}/d{v} = {values[v]!r}" for v in gradient.variables
        )


def _derivation(args: argparse.Namespace, mode: str, simplify: str) -> sd.Derivation:
    """The derivation `explain` and `graph` show, numbered with `--prefix` when given."""
    expr, wrt = _expressions(args.expression), _wrt(args.wrt)
    if args.prefix:
        expr, wrt = sd.trace(expr, wrt, prefix=args.prefix), None
    return sd.derive(
        expr,
        _point(args.at),
        wrt,
        mode=mode,
        seed=_seed(args.seed, mode, has_mode=hasattr(args, "mode")),
        simplify=simplify,
    )


def _write(path: str, data: str | bytes) -> str:
    """Write an output file; a file that cannot be written is bad input (one line, status 2)."""
    try:
        with open(path, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as err:
        raise sd.SymdiffError(f"cannot write {path}: {err.strerror or err}") from None
    return f"wrote {path}"


def _explain_format(args: argparse.Namespace) -> str:
    """`--format`, else the suffix of `-o` (`.tex`, `.md`), else text; options that only one
    format has are refused with another, rather than ignored."""
    suffixes = {".tex": "latex", ".latex": "latex", ".md": "markdown", ".markdown": "markdown"}
    suffix = os.path.splitext(args.output or "")[1].lower()
    fmt = args.format or suffixes.get(suffix, "text")
    if args.fragment and fmt != "latex":
        raise sd.SymdiffError(f"--fragment is for LaTeX (--format latex), not {fmt}")
    if fmt == "text" and (args.max_nodes is not None or args.form != "both"):
        option = "--max-nodes" if args.max_nodes is not None else "--form"
        raise sd.SymdiffError(f"{option} is for --format latex or markdown")
    return fmt


def _explain(args: argparse.Namespace) -> str:
    fmt = _explain_format(args)
    d = _derivation(args, args.mode, args.simplify)
    options = {"form": args.form}
    if args.max_nodes is not None:
        options["max_nodes"] = args.max_nodes
    if fmt == "latex":
        text = d.to_latex(standalone=not args.fragment, **options)
    elif fmt == "markdown":
        text = d.to_markdown(**options)
    else:
        text = str(d) + "\n"
    return _write(args.output, text) if args.output else text.rstrip("\n")


def _graph(args: argparse.Namespace) -> str:
    from symdiff import picture

    # the picture shows no closed form, so none is simplified (that can be slow)
    if args.at is None:
        expr = _expressions(args.expression)
        obj = sd.trace(expr, _wrt(args.wrt), prefix=args.prefix)
    else:
        obj = _derivation(args, "reverse", "none")
    limit = args.max_nodes or picture.MAX_PICTURE_NODES
    if args.output is None:
        if args.format not in (None, "dot"):
            raise sd.SymdiffError(f"{args.format} output needs a file: add -o graph.{args.format}")
        return picture.to_dot(obj, limit).rstrip("\n")
    fmt = picture.picture_format(args.output, args.format)
    if fmt == "dot":
        return _write(args.output, picture.to_dot(obj, limit))
    data = picture.to_png(obj, args.engine, limit) if fmt == "png" else None
    return _write(args.output, data or picture.to_svg(obj, args.engine, limit))


def _check(args: argparse.Namespace) -> str:
    point = _point(args.at)
    if point is None:
        raise sd.VariableError("check needs a point: add --at, e.g. --at x1=2,x2=3")
    cmp = sd.compare(args.expression, point, _wrt(args.wrt), simplify=args.simplify)
    if args.plot is not None:
        cmp.plot(args.plot)
    return json.dumps(cmp.to_dict()) if args.json else str(cmp)


def _expression_first(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Let an expression start with a minus (`symdiff grad "-x^2"`, `"--x"`): argparse would
    read it as an option, so the token after the subcommand gets a leading space, which the
    parser skips. A token that is (or abbreviates) one of the subcommand's options stays one:
    an expression such as `-h` goes after `--` (`symdiff grad --at h=1 -- -h`)."""
    if len(argv) < 2 or argv[1][:1] != "-" or argv[1] == "--":
        return argv
    (commands,) = (a.choices for a in parser._actions if isinstance(a.choices, dict))
    command = commands.get(argv[0])
    options = command._option_string_actions if command else {}
    if any(option.startswith(argv[1].split("=")[0]) for option in options):
        return argv
    if re.fullmatch(r"--[A-Za-z][\w-]*", argv[1]):  # --version, --latex: a mistyped option
        return argv
    return [argv[0], " " + argv[1], *argv[2:]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(
        _expression_first(parser, sys.argv[1:] if argv is None else list(argv))
    )
    try:
        commands = {
            "grad": _grad,
            "explain": _explain,
            "jacobian": _jacobian,
            "hessian": _hessian,
            "graph": _graph,
            "check": _check,
        }
        out = commands[args.command](args)
    except sd.SymdiffError as err:
        print(f"symdiff: error: {err}", file=sys.stderr)
        return 2
    except (Exception, RecursionError) as err:  # a bug, not bad input: still one line
        if os.environ.get("SYMDIFF_DEBUG"):
            raise
        print(
            f"symdiff: internal error ({type(err).__name__}: {err}); please report it, "
            "with SYMDIFF_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return 1
    try:
        print(out)
        sys.stdout.flush()
    except BrokenPipeError:  # `symdiff explain ... | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
