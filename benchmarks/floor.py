"""How close numpy can come to JAX: `python -m benchmarks.floor`.

The issue asks the numpy backend to run within 2 times `jax.jit(jax.vmap(jax.grad(f)))` on the
CPU. This prints, for the Rosenbrock function and the tanh layer at n = 10, 100 and 1000 (the
batches of `python -m benchmarks`), the time of the gradient written out by hand in numpy, the
way a numpy expert would, against JAX's time measured in the same run, after checking both
against each other. Rosenbrock's is the fewest array operations we found (ten, on slices),
run a chunk of points at a time into buffers allocated once, so that every operation works in
cache and nothing is allocated: the best of several chunk sizes is shown. The tanh layer's is
two matrix products. No generated numpy code makes fewer passes over its arrays than these, so
where the hand-written gradient is itself more than 2 times JAX's time, the bar is out of
numpy's reach, whatever generates the code (JAX fuses the gradient into one loop). JAX runs on
every core, and so do BLAS's matrix products and symdiff's numpy backend (ranges of points on
threads, where a program has no matrix products): the last column is the hand-written
Rosenbrock gradient on as many threads as the machine has cores. Where numexpr is installed
(the issue names it among the backends that might serve), one more column: Rosenbrock's
gradient as numexpr computes it, one fused expression over three slices of the input (its
interior rows) and one for each end row, on every core, which makes one pass over memory as
XLA's loop does but interprets its operations block by block.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from benchmarks.__main__ import POINTS, best_of
from benchmarks.cases import _weights, jax_version, point

CHUNKS = (64, 256, 1024, 4096, 16384)  # points per chunk tried for Rosenbrock (the best shown)


THREADS = os.cpu_count() or 1
_pool = ThreadPoolExecutor(THREADS)


def rosenbrock_by_hand(x: np.ndarray, chunk: int = 4096, threads: int = 1) -> np.ndarray:
    """The gradient of the chained Rosenbrock function, rows: variables, `chunk` points at a
    time: g[:-1] = -400·t·a - 2·(1 - a), g[1:] += 200·t, where t = b - a², a = x[:-1], b = x[1:].
    With `threads`, ranges of points on as many threads (numpy lets go of the GIL), as
    symdiff's numpy backend and JAX do.
    """
    n, size = x.shape
    g = np.empty_like(x)

    def points(lo: int, hi: int) -> None:
        t, s = np.empty((2, n - 1, min(chunk, hi - lo)))
        for start in range(lo, hi, chunk):
            stop = min(start + chunk, hi)
            a, b = x[:-1, start:stop], x[1:, start:stop]
            head, tail = g[:-1, start:stop], g[1:, start:stop]
            tt, ss = t[:, : stop - start], s[:, : stop - start]
            np.multiply(a, a, out=tt)
            np.subtract(b, tt, out=tt)
            np.multiply(tt, a, out=ss)
            np.multiply(ss, -400.0, out=head)
            np.subtract(1.0, a, out=ss)
            np.multiply(ss, 2.0, out=ss)
            np.subtract(head, ss, out=head)
            g[-1, start:stop] = 0.0
            np.multiply(tt, 200.0, out=ss)
            np.add(tail, ss, out=tail)

    bounds = [size * i // threads for i in range(threads + 1)]
    list(_pool.map(points, bounds[:-1], bounds[1:]))
    return g


def rosenbrock_numexpr(x: np.ndarray) -> np.ndarray:
    """The same gradient, each row range one numexpr expression: the interior rows
    g[i] = 200·(x[i] - x[i-1]²) - 400·x[i]·(x[i+1] - x[i]²) - 2·(1 - x[i]), and the two ends.
    """
    import numexpr

    g = np.empty_like(x)
    ends = {"first": x[0], "second": x[1], "last": x[-1], "before_last": x[-2]}
    rows = {"before": x[:-2], "here": x[1:-1], "after": x[2:]}
    numexpr.evaluate("-400*first*(second - first**2) - 2*(1 - first)", ends, out=g[0])
    numexpr.evaluate(
        "200*(here - before**2) - 400*here*(after - here**2) - 2*(1 - here)", rows, out=g[1:-1]
    )
    numexpr.evaluate("200*(last - before_last**2)", ends, out=g[-1])
    return g


def tanh_layer_by_hand(x: np.ndarray) -> np.ndarray:
    """The gradient of the tanh layer: W^T (1 - tanh(W x + b)^2)."""
    w = _weights(x.shape[0])
    t = np.tanh(w[:, :-1] @ x + w[:, -1:])
    return w[:, :-1].T @ (1 - t * t)


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    numexpr = importlib.util.find_spec("numexpr") is not None
    header = "| case | n | points | JAX ms | hand-written numpy ms | numpy/JAX time |"
    header += f" on {THREADS} threads |" + (" numexpr/JAX time |" if numexpr else "")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for name, by_hand in (("rosenbrock", rosenbrock_by_hand), ("tanh_layer", tanh_layer_by_hand)):
        for n in (10, 100, 1000):
            batch = min(100_000, POINTS // n)
            x = point(n, batch)
            theirs = jax.jit(jax.vmap(jax.grad(jax_version(name))))
            columns = jax.numpy.asarray(x.T)
            np.testing.assert_allclose(by_hand(x), np.asarray(theirs(columns)).T, atol=1e-12)
            jax_time = best_of(lambda f=theirs, c=columns: f(c).block_until_ready())
            fused = None  # numexpr's time: Rosenbrock only (numexpr has no matrix product)
            if by_hand is rosenbrock_by_hand:
                numpy_time = min(best_of(lambda c=c, x=x: rosenbrock_by_hand(x, c)) for c in CHUNKS)
                threaded = min(
                    best_of(lambda c=c, x=x: rosenbrock_by_hand(x, c, THREADS)) for c in CHUNKS
                )
                np.testing.assert_array_equal(rosenbrock_by_hand(x, 256, THREADS), by_hand(x))
                if numexpr:
                    np.testing.assert_allclose(
                        rosenbrock_numexpr(x), by_hand(x), rtol=1e-10, atol=1e-10
                    )
                    fused = best_of(lambda x=x: rosenbrock_numexpr(x))
            else:
                numpy_time = threaded = best_of(lambda f=by_hand, x=x: f(x))  # (BLAS threads)
            # again: JAX uses every core, and is slowed while another process holds one
            jax_time = min(jax_time, best_of(lambda f=theirs, c=columns: f(c).block_until_ready()))
            print(
                f"| {name} | {n} | {batch:,} | {jax_time * 1e3:.2f} | {numpy_time * 1e3:.2f} "
                f"| {numpy_time / jax_time:.2f} | {threaded / jax_time:.2f} |"
                + (
                    ""
                    if not numexpr
                    else " n/a |"
                    if fused is None
                    else f" {fused / jax_time:.2f} |"
                )
            )


if __name__ == "__main__":
    main()
