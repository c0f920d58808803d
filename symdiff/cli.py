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

expressions: numbers, variables, + - * / ** ^ (power), unary minus, parentheses, pi, E and
the functions {functions}.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like every other bad input
        self.exit(2, f"symdiff: error: {message} (see symdiff --help)\n")


def _point(text: str | None) -> dict[str, str] | None:
    """`x1=2,x2=pi/4` -> {"x1": "2", "x2": "pi/4"}; values are parsed later as expressions."""
    if text is None:
        return None
    point = {}
    for item in re.split(r",(?=\s*[^\W\d]\w*\s*=)", text):
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise sd.VariableError(
                f"--at expects name=value pairs separated by commas, got {item!r}"
            )
        if name.strip() in point:
            raise sd.VariableError(f"--at gives {name.strip()} twice")
        point[name.strip()] = value.strip()
    return point


def _wrt(text: str | None) -> list[str] | None:
    return None if text is None else [w.strip() for w in text.split(",") if w.strip()]


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
    common.add_argument("--at", help="a point: x1=2,x2=3 (values may be constants like pi/4)")
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
        choices=["reverse", "forward"],
        default="reverse",
        help="reverse (adjoints, the gradient; default) or forward (tangents)",
    )
    explain.add_argument(
        "--seed",
        help="reverse: the output's adjoint z̄ (default 1), one per output for several: 1,0; "
        "forward: the input tangent, x1=1,x2=0 (default: the first variable)",
    )
    jacobian = sub.add_parser(
        "jacobian",
        parents=[common],
        help="print the Jacobian of several expressions (separated by ';')",
        description="Print the Jacobian of expressions separated by ';', and its values at --at.",
    )
    jacobian.add_argument(
        "--mode",
        choices=["auto", "fwd", "rev"],
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
    return parser


def _expressions(text: str) -> str | list[str]:
    """`"a; b"` -> ["a", "b"]; a single expression stays a string."""
    parts = [part.strip() for part in text.split(";")]
    return parts[0] if len(parts) == 1 else parts


def _seed(text: str | None, mode: str) -> object:
    if text is None:
        return None
    if mode == "forward":
        return _point(text)
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
            line = f"{label(i, j)} = {math_str(matrix[i, j])}"
            if values is not None:
                line += f" = {number_str(values[i, j], None)}"
            lines.append(line)
    return "\n".join(lines)


def _jacobian(args: argparse.Namespace) -> str:
    exprs = _expressions(args.expression)
    graph = sd.trace(exprs, _wrt(args.wrt))
    matrix = sd.jacobian(graph, mode=args.mode, simplify=args.simplify)
    point = _point(args.at)
    values = None if point is None else sd.closedform.jacobian_values(graph, point, matrix.mode)
    extra = {
        "expressions": graph.source.split("; "),
        "mode": matrix.mode,
        "reason": matrix.reason,
        "at": None if point is None else sd.forward.bind(graph, point),
    }
    names, wrt = graph.output_names, graph.wrt
    text = _matrix(
        matrix, lambda i, j: f"d{names[i]}/d{wrt[j]}", wrt, values, "jacobian", args.json, extra
    )
    return text if args.json else f"{text}\nmode: {matrix.reason}"


def _hessian(args: argparse.Namespace) -> str:
    graph = sd.trace(args.expression, _wrt(args.wrt))
    matrix = sd.hessian(graph, simplify=args.simplify)
    point = _point(args.at)
    values = None
    if point is not None:
        program = sd.adjoint_program(graph, keep_outputs=False)
        values = sd.closedform.jacobian_values(program, point, "fwd")
    extra = {
        "expression": graph.source,
        "at": None if point is None else sd.forward.bind(graph, point),
    }
    wrt = graph.wrt
    return _matrix(
        matrix, lambda i, j: f"d²z/d{wrt[i]}d{wrt[j]}", wrt, values, "hessian", args.json, extra
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
    return "\n".join(gradient_lines(gradient, values, exact=True))


def _explain(args: argparse.Namespace) -> str:
    return str(
        sd.derive(
            _expressions(args.expression),
            _point(args.at),
            _wrt(args.wrt),
            mode=args.mode,
            seed=_seed(args.seed, args.mode),
            simplify=args.simplify,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        commands = {"grad": _grad, "explain": _explain, "jacobian": _jacobian, "hessian": _hessian}
        out = commands[args.command](args)
    except sd.SymdiffError as err:
        print(f"symdiff: error: {err}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
