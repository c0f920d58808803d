"""The jax backend on an accelerator: `python -m benchmarks.gpu [--cases ...] [--sizes 10 100]
[--points ...]`.

For each case (default: the chained Rosenbrock function; also `tanh_layer`), n and batch size,
in float32 and float64, it times (best of several, after a warm-up call that compiles):

- `jax.grad`: `jax.jit(jax.vmap(jax.grad(f)))` of the vectorised f a JAX user writes;
- `symdiff`: `Gradient.lambdify("jax")`, symdiff's gradient program jitted, one array per
  variable in and per partial out;
- `symdiff stacked`: `Gradient.lambdify("jax", stacked=True)`, the same program rerolled into
  array operations over one (n, points) array in and out (`symdiff.vectorise`);
- `sympy` (Rosenbrock only; SymPy takes minutes for a tanh layer at n = 100): SymPy's closed
  form, `sympy.diff` by every variable, `sympy.lambdify(modules="jax")`, jitted — the baseline
  the issue measured at 1.7–2.5× slower than `jax.grad` on an H100.

Before its time is printed, every method's gradient is compared with `jax.grad` in float64 on
the same points: the largest error relative to the largest partial, for `jax.grad` itself and
the worst of the others (in float32 on a GPU, matrix products in TF32 show up here). It runs
wherever JAX does; on a CPU it prints the same table for that CPU.

A second table gives each method's first call on 3 points in float64, which compiles for that
shape: XLA's GPU backend once took 32-44 s there for a chain's gradient that compiled in 1.2 s
for 100,000 points.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sympy

import symdiff as sd
from benchmarks.cases import CASES, jax_version, names, point


def best_time(fn, repeat: int = 7) -> float:
    """Seconds of the fastest of `repeat` calls (each waits for the device)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def methods(case: str, n: int) -> dict:
    """name -> (jitted gradient, the input layout it takes): "batch", the (points, n) array
    `jax.grad` takes and returns; "columns", one array of points per variable; "rows", the
    (n, points) array of the stacked form."""
    import jax
    import jax.numpy as jnp

    grad = sd.grad(lambda *x: CASES[case](x, sd), wrt=names(n))
    found = {
        "jax.grad": (jax.jit(jax.vmap(jax.grad(jax_version(case)))), "batch"),
        "symdiff": (grad.lambdify("jax"), "columns"),
        "symdiff stacked": (grad.lambdify("jax", stacked=True), "rows"),
    }
    if case == "rosenbrock":
        xs = sympy.symbols(names(n))
        f = CASES[case](xs, sympy)
        theirs = sympy.lambdify(xs, [sympy.diff(f, x) for x in xs], modules="jax")
        found["sympy"] = (jax.jit(lambda x: jnp.stack(theirs(*x.T), axis=1)), "batch")
    return found


def as_batch(result, layout: str) -> np.ndarray:
    """A method's gradient as a (points, n) numpy array, after waiting for the device."""
    if layout == "columns":
        return np.stack([np.asarray(r.block_until_ready()) for r in result], axis=1)
    result = np.asarray(result.block_until_ready())
    return result.T if layout == "rows" else result


def wait(result) -> None:
    for r in result if isinstance(result, tuple) else (result,):
        r.block_until_ready()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    parser.add_argument("--cases", nargs="+", default=["rosenbrock"], choices=CASES)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    device = jax.devices()[0]
    print(f"symdiff {sd.__version__}, jax {jax.__version__}, device: {device.device_kind}\n")
    names_ = ["jax.grad", "symdiff", "symdiff stacked", "sympy"]
    print(
        "| case | n | points | dtype | " + " | ".join(names_) + " | symdiff/jax.grad time "
        "| symdiff stacked/jax.grad | sympy/jax.grad | error: jax.grad | error: others |"
    )
    print("|---" * (len(names_) + 9) + "|")
    compiles = []  # (case, n, name -> seconds of the first call on 3 points)
    for case in args.cases:
        for n in args.sizes:
            fns = methods(case, n)
            compiles.append((case, n, first_calls(fns, n, device)))
            for points in args.points:
                x = point(n, points).T  # (points, n)
                exact = np.asarray(fns["jax.grad"][0](jax.device_put(x, device)))  # float64
                scale = np.max(np.abs(exact))
                for dtype in (jnp.float32, jnp.float64):
                    batch = jax.device_put(jnp.asarray(x, dtype=dtype), device)
                    rows = jax.device_put(batch.T.copy())  # (n, points), contiguous there
                    inputs = {"batch": [batch], "rows": [rows], "columns": list(rows)}
                    errors, times = {}, {}
                    for name, (fn, layout) in fns.items():
                        got = as_batch(fn(*inputs[layout]), layout).astype(np.float64)  # compiles
                        errors[name] = np.max(np.abs(got - exact)) / scale
                    # every method's best of two rounds: on a CPU, JAX uses every core and is
                    # slowed (several times) while another process holds one
                    for _ in range(2):
                        for name, (fn, layout) in fns.items():
                            t = best_time(lambda fn=fn, a=inputs[layout]: wait(fn(*a)))
                            times[name] = min(times.get(name, t), t)
                    others = max(e for k, e in errors.items() if k != "jax.grad")
                    ms = " | ".join(
                        f"{times[k] * 1e3:.3f} ms" if k in times else "n/a" for k in names_
                    )
                    ratios = " | ".join(
                        f"{times[k] / times['jax.grad']:.2f}" if k in times else "n/a"
                        for k in names_[1:]
                    )
                    dt, own = jnp.dtype(dtype).name, errors["jax.grad"]
                    print(f"| {case} | {n} | {points:,} | {dt} | {ms} | {ratios} | {own:.1e} "
                          f"| {others:.1e} |", flush=True)  # fmt: skip

    print("\nFirst call on 3 points, float64 (compiling for that shape), seconds:\n")
    print("| case | n | " + " | ".join(names_) + " |")
    print("|---" * (len(names_) + 2) + "|")
    for case, n, seconds in compiles:
        cells = " | ".join(f"{seconds[k]:.2f}" if k in seconds else "n/a" for k in names_)
        print(f"| {case} | {n} | {cells} |", flush=True)


def first_calls(fns: dict, n: int, device) -> dict[str, float]:
    """name -> seconds of each method's first call on 3 points, which compiles for them."""
    import jax

    batch = jax.device_put(point(n, 3).T, device)  # (3, n)
    rows = jax.device_put(batch.T.copy(), device)
    inputs = {"batch": [batch], "rows": [rows], "columns": list(rows)}
    seconds = {}
    for name, (fn, layout) in fns.items():
        start = time.perf_counter()
        wait(fn(*inputs[layout]))
        seconds[name] = time.perf_counter() - start
    return seconds


if __name__ == "__main__":
    main()
