"""Run the benchmarks: `python -m benchmarks [--quick] [--cap SECONDS] [--case NAME ...]`.

For each function and size it prints: symdiff's build time (trace + gradient program), the
operation counts of the function and of the gradient program (sympy.count_ops over the
assignments) and their ratio, the numeric gradient throughput of the generated numpy code on a
batch (what `Gradient.lambdify` compiles: the partials, without the value, as `jax.grad`
computes; and its stacked form, the program rerolled into array operations), and beside it,
measured in the same run, `jax.jit(jax.vmap(jax.grad(f)))`, symdiff's jax backend (one array
per variable, and stacked), symdiff's numba backend (its compile time, and its time relative
to JAX's on the same batch, with one array per variable and stacked), SymPy's `diff` (capped),
SymEngine's `diff` and CasADi's `gradient` when installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import time
import timeit

import symdiff as sd
from benchmarks.cases import CASES, jax_version, names, point, reference_gradient
from symdiff.closedform import count_program_ops, program
from symdiff.vectorise import reroll

QUICK_SIZES = (10, 100, 1000)
FULL_SIZES = (10, 100, 1000, 10_000)
SCALAR_JAX_MAX = 100  # largest n for JAX on the unrolled scalar definition
# largest n for the numba backend's unrolled kernel: its compile time grows faster than the
# program (rosenbrock: 6 s at n = 100, 5 minutes at n = 1000); a program that rerolls compiles
# in seconds at any n (`symdiff.numeric.NUMBA_UNROLLED_LINES`) and is measured at every n
NUMBA_MAX = 100
POINTS = 2_000_000  # numbers per numeric batch: batch = POINTS / n points, at most 100,000


def build_symdiff(case, n: int):
    """Trace and build the gradient program; return (seconds, graph, gradient program)."""
    start = time.perf_counter()
    graph = sd.trace(lambda *x: case(x, sd), wrt=names(n))
    adjoint = sd.adjoint_program(graph)
    return time.perf_counter() - start, graph, adjoint


def best_of(fn, budget: float = 1.0) -> float:
    """Seconds per call, the best of several repeats within about `budget` seconds."""
    once = min(timeit.repeat(fn, number=1, repeat=2))
    repeat = max(2, min(7, int(budget / max(once, 1e-6))))
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def numpy_throughput(adjoint, n: int) -> tuple[float, int]:
    batch = max(1, min(100_000, POINTS // n))
    f = sd.numeric.compile_graph(adjoint, "numpy")
    x = point(n, batch)
    return batch / best_of(lambda: f(*x)), batch


def jax_x64():
    """JAX in float64, as every numeric column computes: (jax, jax.numpy)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def jax_backend_throughput(adjoint, n: int, batch: int) -> float | None:
    """symdiff's own jax backend: the gradient program, jitted, on the same batch."""
    if importlib.util.find_spec("jax") is None or n > SCALAR_JAX_MAX:
        return None
    _, jnp = jax_x64()
    f = sd.numeric.compile_graph(adjoint, "jax")
    x = [jnp.asarray(row) for row in point(n, batch)]

    def run():
        for value in f(*x):
            value.block_until_ready()

    run()
    return batch / best_of(run)


def jax_stacked_throughput(adjoint, n: int, batch: int) -> float | None:
    """symdiff's jax backend, stacked (the rerolled program, jitted), on the same batch: at
    every n where the program rerolls, else (in pieces) n <= 100."""
    if importlib.util.find_spec("jax") is None:
        return None
    program = reroll(adjoint)
    if n > SCALAR_JAX_MAX and not sd.numeric._stacked_rerolls(adjoint, "jax", program):
        return None
    _, jnp = jax_x64()
    f = sd.numeric.compile_graph(adjoint, "jax", stacked=True)
    x = jnp.asarray(point(n, batch))
    f(x).block_until_ready()
    return batch / best_of(lambda: f(x).block_until_ready())


def stacked_throughput(adjoint, n: int, batch: int) -> float:
    """The numpy backend's stacked form (the rerolled program) on the same batch."""
    f = sd.numeric.compile_graph(adjoint, "numpy", stacked=True)
    x = point(n, batch)
    return batch / best_of(lambda: f(x))


def numba_throughput(adjoint, n: int, batch: int) -> tuple[float, float, float] | None:
    """symdiff's numba backend on the same batch: (compile seconds, points per second with
    one array per variable, and stacked: one (n, points) array)."""
    if importlib.util.find_spec("numba") is None:
        return None
    if n > NUMBA_MAX and sd.numeric._numba_rerolls(adjoint) is None:
        return None
    start = time.perf_counter()
    f = sd.numeric.compile_graph(adjoint, "numba")
    seconds = time.perf_counter() - start
    stacked = sd.numeric.compile_graph(adjoint, "numba", stacked=True)  # the same kernel
    x = point(n, batch)
    return seconds, batch / best_of(lambda: f(*x)), batch / best_of(lambda: stacked(x))


def jax_throughput(case_name: str, n: int, batch: int, scalar: bool = False) -> float | None:
    """`jax.jit(jax.vmap(jax.grad(f)))` on the batch: f vectorised, or (`scalar`) the very
    definition symdiff traces, unrolled (compiling that is slow, so only for small n)."""
    if importlib.util.find_spec("jax") is None or (scalar and n > SCALAR_JAX_MAX):
        return None
    jax, jnp = jax_x64()

    def unrolled(x):
        return CASES[case_name](list(x), jnp)

    grad = jax.jit(jax.vmap(jax.grad(unrolled if scalar else jax_version(case_name))))
    x = jnp.asarray(point(n, batch).T)
    grad(x).block_until_ready()
    return batch / best_of(lambda: grad(x).block_until_ready())


def capped(tool: str, case_name: str, n: int, cap: float) -> str:
    if tool != "sympy" and importlib.util.find_spec(tool) is None:
        return "n/a"
    context = mp.get_context("spawn")  # not fork: JAX's threads may already be running
    queue = context.Queue()
    child = context.Process(target=reference_gradient, args=(tool, case_name, n, queue))
    child.start()
    child.join(cap)
    if child.is_alive():
        child.kill()
        child.join()
        return f">{cap:g}s"
    if queue.empty():
        return "failed"
    result = queue.get()
    return f"{result:.3g}s" if isinstance(result, float) else result


def casadi(case, n: int) -> str:
    if importlib.util.find_spec("casadi") is None:
        return "n/a"
    import casadi as ca

    start = time.perf_counter()
    x = ca.SX.sym("x", n)
    f = case([x[i] for i in range(n)], ca)
    fun = ca.Function("f", [x], [f])
    gradient = ca.Function("g", [x], [ca.gradient(f, x)])
    seconds = time.perf_counter() - start
    return f"{seconds:.3g}s ({gradient.n_instructions() / fun.n_instructions():.1f}x)"


def run(case_name: str, sizes, cap: float) -> list[list[str]]:
    case = CASES[case_name]
    rows = []
    for n in sizes:
        seconds, graph, adjoint = build_symdiff(case, n)
        f_ops = count_program_ops(program(graph)[0])
        g_ops = count_program_ops(program(adjoint)[0])
        # timed: what `Gradient.lambdify` compiles, the partials alone (as `jax.grad` computes)
        partials = sd.adjoint_program(graph, keep_outputs=False)
        ours, batch = numpy_throughput(partials, n)
        theirs = jax_throughput(case_name, n, batch)
        scalar = jax_throughput(case_name, n, batch, scalar=True)
        backend = jax_backend_throughput(partials, n, batch)
        backend_stacked = jax_stacked_throughput(partials, n, batch)
        fused = numba_throughput(partials, n, batch)
        stacked = stacked_throughput(partials, n, batch)
        if theirs is not None:
            # JAX runs its fused loop on every core: while another process held one of this
            # machine's two, it took 4.8 ms instead of 0.8 (Rosenbrock, n = 1000) for seconds
            # at a time, which flattered the ratios. Its better time of two, before and after
            # the others, is the one compared.
            theirs = max(theirs, jax_throughput(case_name, n, batch))
        rows.append([
            str(n), str(len(graph)), f"{seconds:.3g}s", str(f_ops), str(g_ops),
            f"{g_ops / f_ops:.2f}", f"{ours:.3g}",
            "n/a" if theirs is None else f"{theirs:.3g}",
            "n/a" if theirs is None else f"{theirs / ours:.2f}",
            "n/a" if theirs is None else f"{theirs / stacked:.2f}",
            "n/a" if scalar is None else f"{scalar / ours:.2f}",
            "n/a" if backend is None or theirs is None else f"{theirs / backend:.2f}",
            "n/a" if backend_stacked is None or theirs is None
            else f"{theirs / backend_stacked:.2f}",
            "n/a" if fused is None else f"{fused[0]:.3g}s",
            "n/a" if fused is None or theirs is None else f"{theirs / fused[1]:.2f}",
            "n/a" if fused is None or theirs is None else f"{theirs / fused[2]:.2f}",
            capped("sympy", case_name, n, cap), capped("symengine", case_name, n, cap),
            casadi(case, n),
        ])  # fmt: skip
    return rows


HEADER = ["n", "nodes", "build", "f ops", "grad ops", "ratio", "numpy pts/s", "jax pts/s",
          "numpy/jax time", "stacked numpy/jax time", "numpy/jax-scalar time",
          "symdiff-jax/jax time", "stacked symdiff-jax/jax time", "numba compile",
          "numba/jax time", "stacked numba/jax time", "sympy.diff", "symengine",
          "casadi (ratio)"]  # fmt: skip


def show(title: str, rows: list[list[str]]) -> str:
    table = [HEADER, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = [f"## {title}", ""]
    for k, row in enumerate(table):
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, 5 s cap")
    parser.add_argument("--cap", type=float, help="seconds allowed to sympy.diff / symengine")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    cap = args.cap or (5.0 if args.quick else 30.0)
    print(f"symdiff {sd.__version__}; numeric batches of {POINTS:,} numbers (n x points); "
          f"numpy/jax time > 1 means numpy is slower; caps {cap:g}s; n/a: the tool is not "
          "installed (pip install -e '.[bench]') or, for JAX on the scalar form, n > "
          f"{SCALAR_JAX_MAX}, or for numba, n > {NUMBA_MAX} where the program does not reroll "
          "(compiling it unrolled takes minutes at n = 1000)\n")  # fmt: skip
    for name in args.case or list(CASES):
        print(show(name, run(name, sizes, cap)), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
