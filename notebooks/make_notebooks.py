"""Write the tutorial notebooks and execute them, so they are committed with their outputs.

Run from anywhere after `pip install -e ".[dev]"`:

    python notebooks/make_notebooks.py

Each notebook is built here with nbformat (the text lives in this one file, so a change to the
API shows up as a change here) and executed top to bottom with nbclient; tests/test_notebooks.py
executes them again.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

STEP_BY_STEP = [
    (
        "md",
        """# Reverse-mode automatic differentiation, step by step

We differentiate the worked example of the project,

$$z = x_1 x_2 + \\sin x_1 \\quad\\text{at}\\quad x_1 = 2,\\ x_2 = 3,$$

from start to end with symdiff's own output: the graph, the forward pass, the seed, the reverse
pass and the gradient. Along the way we answer the three questions a learner asks: *why seeds?*,
*how do we go backward?* and *symbols or values?*""",
    ),
    (
        "code",
        """import symdiff as sd
from IPython.display import SVG, Markdown, display
from symdiff import picture

expr = "x1*x2 + sin(x1)"
at = {"x1": 2, "x2": 3}""",
    ),
    (
        "md",
        """## 1. The graph (the Wengert list)

`trace` splits the expression into primitives, one per line: the inputs first, then one node per
operation in evaluation order. Nothing is evaluated yet.""",
    ),
    ("code", "g = sd.trace(expr)\nprint(g)"),
    (
        "md",
        "Jupyter shows a `Graph` as its picture: inputs (ellipses), primitives (the line and its "
        "op) and the output, each edge labelled with its local partial derivative.",
    ),
    ("code", "g"),
    (
        "md",
        """## 2. The forward pass

The forward pass evaluates every node at the point, in order. Reverse mode needs these values:
the local partials are evaluated at them.""",
    ),
    ("code", "sd.evaluate(g, at)"),
    (
        "md",
        """## 3. Why seeds?

The reverse pass needs a place to start: the adjoint of the output, $\\bar z$. Setting
$\\bar z = \\partial z / \\partial z = 1$ asks for the derivatives of $z$ itself. The seed is a
*choice*: with $\\bar z = 2$ every adjoint, and so the whole gradient, doubles.""",
    ),
    (
        "code",
        """d = sd.derive(expr, at=at)
print("seed 1:", d.gradient_values)
print("seed 2:", sd.derive(expr, at=at, seed=2).gradient_values)""",
    ),
    (
        "md",
        """With several outputs the seed is a vector (a *cotangent*): it selects which output, or
which weighted sum of outputs, is differentiated. One reverse sweep per seed gives one row of the
Jacobian:""",
    ),
    (
        "code",
        """outputs = ["x1*x2", "sin(x1)"]
for seed in ([1, 0], [0, 1]):
    print(seed, sd.derive(outputs, at=at, seed=seed).gradient_values)""",
    ),
    (
        "md",
        """## 4. How do we go backward?

Every primitive has local partials (`w3 = w1·w2` gives ∂w3/∂w1 = w2 and ∂w3/∂w2 = w1). The
adjoint of a node is the sum, over its *parents* (the nodes that use it), of the parent's
adjoint times the local partial:

$$\\bar w_i = \\sum_j \\bar w_j \\frac{\\partial w_j}{\\partial w_i}.$$

The sweep runs in reverse graph order, so every parent's adjoint is known when it is needed.
Each step below gives the local form (in the $w$'s and $\\bar w$'s), the same formula expanded to
the inputs, and its value:""",
    ),
    ("code", "for step in d.steps:\n    print(step)"),
    (
        "md",
        "The picture of the derivation shows every node's value and adjoint at the point; each "
        "edge carries the local partial and its value there.",
    ),
    ("code", "SVG(picture.to_svg(d))"),
    (
        "md",
        """## 5. Symbols or values?

Both. Every adjoint is a formula and a number, and they agree: the number comes from a purely
numeric reverse sweep (`adjoint_values`, no SymPy in it), and the formula evaluated at the point
gives the same number.""",
    ),
    (
        "code",
        """numbers = sd.adjoint_values(g, sd.evaluate(g, at))
subs = dict(zip(g.symbols, at.values()))
for step in d.steps:
    formula_value = float(step.expanded.evalf(subs=subs))
    print(f"{step.node}: {step.expanded!s:14} = {formula_value:.6f}   numeric sweep: "
          f"{numbers[step.node]:.6f}")""",
    ),
    (
        "md",
        """## The whole derivation

Jupyter shows a `Derivation` as a document: decomposition, forward pass, seed, reverse pass and
result. The same document exports to LaTeX (see `03_latex_export.ipynb`).""",
    ),
    ("code", "d"),
    ("md", "And as the plain-text tables that `symdiff explain` prints:"),
    ("code", "print(d)"),
]

CLOSED_FORMS = [
    (
        "md",
        """# Closed-form gradients of real functions

`sd.grad` runs the reverse sweep symbolically and returns a `Gradient`: one closed-form formula
per variable, simplified under a policy, with `.at(...)` for numbers and `.lambdify()` for a fast
vectorised function. Here: the Rosenbrock function, a logistic loss and a small neural-network
layer.""",
    ),
    (
        "code",
        """import time

import numpy as np
import sympy
import symdiff as sd""",
    ),
    (
        "md",
        """## Rosenbrock

$f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$ has its minimum at $(1, 1)$, where the gradient is zero.""",
    ),
    (
        "code",
        """rosenbrock = "(1 - x)^2 + 100*(y - x^2)^2"
g = sd.grad(rosenbrock)
g""",
    ),
    ("code", "print(g.at(x=1, y=1))\nprint(g.at(x=-1.2, y=1))"),
    (
        "md",
        "An independent check: SymPy's own `diff` of the same function gives the same formulas.",
    ),
    (
        "code",
        """x, y = g.graph.symbols
f = (1 - x) ** 2 + 100 * (y - x**2) ** 2
[sympy.simplify(g[v] - sympy.diff(f, s)) for v, s in zip(g.variables, g.graph.symbols)]""",
    ),
    (
        "md",
        """## A logistic loss

The loss of a logistic model $p = \\sigma(a x_1 + b x_2 + c)$ on one example with label
$t = \\pm 1$ is $\\log(1 + e^{-t (a x_1 + b x_2 + c)})$. We differentiate with respect to the
weights only (`wrt`); the data $x_1, x_2, t$ are parameters.

The simplification policy matters: `"none"` keeps the formulas as the reverse sweep built them,
`"full"` runs `sympy.simplify`, `"auto"` (the default) simplifies only small results, so large
graphs never hang.""",
    ),
    (
        "code",
        """loss = "log(1 + exp(-t*(a*x1 + b*x2 + c)))"
raw = sd.grad(loss, wrt=["a", "b", "c"], simplify="none")
simple = sd.grad(loss, wrt=["a", "b", "c"], simplify="full")
for v in raw:
    print(f"d/d{v}: {sympy.count_ops(raw[v])} ops as swept -> {sympy.count_ops(simple[v])} "
          f"simplified:  {simple[v]}")""",
    ),
    (
        "md",
        """## A small neural-network layer

Two tanh units and a linear read-out, $y = v_1 \\tanh(W_{11} x_1 + W_{12} x_2 + b_1) + v_2
\\tanh(W_{21} x_1 + W_{22} x_2 + b_2)$, differentiated with respect to its eight weights. Note
that tanh' is written with the node's own output: $1 - \\tanh^2$.""",
    ),
    (
        "code",
        """layer = "v1*tanh(W11*x1 + W12*x2 + b1) + v2*tanh(W21*x1 + W22*x2 + b2)"
weights = ["W11", "W12", "W21", "W22", "b1", "b2", "v1", "v2"]
nn = sd.grad(layer, wrt=weights)
print(len(nn.graph), "nodes")
nn""",
    ),
    (
        "md",
        """## Numbers: `lambdify` and timing

`.at(...)` runs the numeric reverse sweep at one point. For many points, `.lambdify()` compiles
the gradient into one NumPy function (with common subexpressions computed once) that takes
arrays. We time it against a Python loop of `.at` calls, and check it against central finite
differences.""",
    ),
    (
        "code",
        """rng = np.random.default_rng(0)
n = 100_000
point = {name: rng.normal(size=n) for name in nn.graph.variables}
grad_fn = nn.lambdify()

start = time.perf_counter()
values = grad_fn(*(point[name] for name in nn.graph.variables))
vectorised = time.perf_counter() - start

start = time.perf_counter()
for i in range(1000):
    nn.at({name: float(point[name][i]) for name in nn.graph.variables})
loop = (time.perf_counter() - start) / 1000

print(f"lambdify: {n} points in {vectorised * 1e3:.1f} ms ({vectorised / n * 1e9:.0f} ns a point)")
print(f".at loop: {loop * 1e6:.0f} µs a point")""",
    ),
    (
        "code",
        """names = nn.graph.variables
f = sd.trace(layer, wrt=weights)
first = {name: float(point[name][0]) for name in names}
h = 1e-6
for k, w in enumerate(weights):
    up, down = dict(first), dict(first)
    up[w] += h
    down[w] -= h
    fd = (sd.evaluate(f, up)[f.output] - sd.evaluate(f, down)[f.output]) / (2 * h)
    assert abs(fd - values[k][0]) < 1e-6 * max(1, abs(fd)), (w, fd, values[k][0])
print("lambdify agrees with central differences for all", len(weights), "weights")""",
    ),
]

LATEX_EXPORT = [
    (
        "md",
        """# Derivations for papers and lecture notes: LaTeX and Markdown

A `Derivation` exports as LaTeX (a fragment to paste, or a whole `.tex` file that compiles with
a stock TeX Live and amsmath only) and as Markdown with `$$` math for GitHub and Jupyter. The
command line does the same: `symdiff explain EXPR --at ... --format latex -o derivation.tex`.""",
    ),
    (
        "code",
        """import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sympy
import symdiff as sd
from IPython.display import Markdown

d = sd.derive("x1*x2 + sin(x1)", at={"x1": 2, "x2": 3})""",
    ),
    (
        "md",
        "## A fragment to paste\n\n`to_latex()` gives the body: paragraphs and `align*` blocks.",
    ),
    ("code", "print(d.to_latex())"),
    (
        "md",
        """## Options

`form` shows each adjoint as `"local"` partials, `"expanded"` to the inputs, or `"both"`;
`prefix="v"` numbers the nodes $v_1, v_2, \\dots$ as many textbooks do; `decimals` sets the
rounding of values. Here as Markdown, which Jupyter renders:""",
    ),
    ("code", 'Markdown(d.to_markdown(form="local", prefix="v"))'),
    (
        "md",
        """## A whole document

`to_latex(standalone=True)` is a complete `.tex` file; long derivations break across pages. We
write it to a temporary directory and compile it when `pdflatex` is installed.""",
    ),
    (
        "code",
        """out = Path(tempfile.mkdtemp())
tex = out / "derivation.tex"
tex.write_text(d.to_latex(standalone=True), encoding="utf-8")
if shutil.which("pdflatex"):
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", tex.name],
                          cwd=out, capture_output=True, text=True)
    print("pdflatex:", "ok" if done.returncode == 0 else done.stdout[-2000:])
    print((out / "derivation.pdf").stat().st_size > 0)
else:
    print("pdflatex is not installed here; the .tex file is ready:", tex)""",
    ),
    ("md", "The command line writes the same file:"),
    (
        "code",
        """cli = subprocess.run([sys.executable, "-m", "symdiff", "explain", "x1*x2 + sin(x1)",
                      "--at", "x1=2,x2=3", "--format", "latex", "-o", "cli.tex"],
                     cwd=out, capture_output=True, text=True)
print(cli.stdout.strip())
print((out / "cli.tex").read_text(encoding="utf-8") == tex.read_text(encoding="utf-8"))""",
    ),
    (
        "md",
        """## SymPy's printer

`sympy.latex` works on a derivation (all its equations, one `aligned` block), on a gradient and
on a graph, as on any SymPy object.""",
    ),
    ("code", "print(sympy.latex(d.gradient))\nprint(sympy.latex(d.graph))"),
    (
        "md",
        """## Names that need escaping

Variable names become valid LaTeX whatever they are: `alpha` is $\\alpha$, `theta_2` is
$\\theta_2$, a long name stays one word, and names LaTeX would misread (`x__2`) are escaped.""",
    ),
    (
        "code",
        """names = sd.derive("alpha*theta_2 + learning_rate*x__2",
                  at={"alpha": 1, "theta_2": 2, "learning_rate": 0.1, "x__2": 3})
print(names.to_latex().split("\\\\paragraph{Result.}")[1])""",
    ),
    (
        "md",
        """## Large derivations

Past `max_nodes` (120 by default) the document shows the first and last lines of each pass and
says how many it left out, instead of printing thousands of lines.""",
    ),
    (
        "code",
        """chain = " + ".join(f"x{i}*x{i + 1}" for i in range(1, 30))
big = sd.derive(chain, at={f"x{i}": 1 for i in range(1, 31)}, simplify="none")
short = big.to_latex(max_nodes=12)
print(len(big.graph), "nodes,", len(short.splitlines()), "lines of LaTeX")
print(short[short.index("\\\\paragraph{Reverse pass.}"):][:900])""",
    ),
]

NOTEBOOKS = {
    "01_reverse_mode_step_by_step.ipynb": STEP_BY_STEP,
    "02_closed_form_gradients.ipynb": CLOSED_FORMS,
    "03_latex_export.ipynb": LATEX_EXPORT,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook from `(kind, source)` pairs."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell top to bottom (an error in any cell raises)."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = execute(build(cells), HERE)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
