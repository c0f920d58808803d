"""The jax backend on an accelerator: `python -m benchmarks.gpu [--sizes 10 100] [--points ...]`.

For the chained Rosenbrock function at each n and batch size, in float32 and float64, it times
(best of several, after a warm-up call that compiles):

- `jax.grad`: `jax.jit(jax.vmap(jax.grad(f)))` of the vectorised f a JAX user writes;
- `symdiff`: `Gradient.lambdify("jax")`, symdiff's gradient program jitted, one array per
  variable in and per partial out;
- `symdiff stacked`: `Gradient.lambdify("jax", stacked=True)`, the same program rerolled into
  array operations over one (n, points) array in and out (`symdiff.vectorise`);
- `sympy`: SymPy's closed form, `sympy.diff` by every variable, `sympy.lambdify(modules="jax")`,
  jitted — the baseline the issue measured at 1.7–2.5× slower than `jax.grad` on an H100.

Every method's gradient is checked against `jax.grad`'s before its time is printed. It runs
wherever JAX does; on a CPU it prints the same table for that CPU.
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


def methods(n: int) -> dict:
    """name -> (jitted gradient, the input layout it takes): "batch", the (points, n) array
    `jax.grad` takes and returns; "columns", one array of points per variable; "rows", the
    (n, points) array of the stacked form."""
    import jax
    import jax.numpy as jnp

    grad = sd.grad(lambda *x: CASES["rosenbrock"](x, sd), wrt=names(n))
    ours = grad.lambdify("jax")
    xs = sympy.symbols(names(n))
    f = CASES["rosenbrock"](xs, sympy)
    theirs = sympy.lambdify(xs, [sympy.diff(f, x) for x in xs], modules="jax")
    return {
        "jax.grad": (jax.jit(jax.vmap(jax.grad(jax_version("rosenbrock")))), "batch"),
        "symdiff": (ours, "columns"),
        "symdiff stacked": (grad.lambdify("jax", stacked=True), "rows"),
        "sympy": (jax.jit(lambda x: jnp.stack(theirs(*x.T), axis=1)), "batch"),
    }


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
        "| n | points | dtype | " + " | ".join(names_) + " | symdiff/jax.grad time "
        "| symdiff stacked/jax.grad | sympy/jax.grad | max rel. diff |"
    )
    print("|---" * (len(names_) + 7) + "|")
    for n in args.sizes:
        fns = methods(n)
        for points in args.points:
            for dtype in (jnp.float32, jnp.float64):
                batch = jax.device_put(jnp.asarray(point(n, points).T, dtype=dtype), device)
                rows = jax.device_put(batch.T.copy())  # (n, points), contiguous on the device
                inputs = {"batch": [batch], "rows": [rows], "columns": list(rows)}
                results, times = {}, {}
                for name, (fn, layout) in fns.items():
                    args_ = inputs[layout]
                    results[name] = as_batch(fn(*args_), layout)  # the first call compiles
                    times[name] = best_time(lambda fn=fn, a=args_: wait(fn(*a)))
                ref = results["jax.grad"]
                diff = max(np.max(np.abs(r - ref)) for r in results.values()) / np.max(np.abs(ref))
                ms = " | ".join(f"{times[k] * 1e3:.3f} ms" for k in names_)
                ratios = " | ".join(f"{times[k] / times['jax.grad']:.2f}" for k in names_[1:])
                print(f"| {n} | {points:,} | {jnp.dtype(dtype).name} | {ms} | {ratios} "
                      f"| {diff:.1e} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
