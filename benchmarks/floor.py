"""How close numpy can come to JAX: `python -m benchmarks.floor`.

The issue asks the numpy backend to run within 2 times `jax.jit(jax.vmap(jax.grad(f)))` on the
CPU. This prints, for the Rosenbrock function and the tanh layer at n = 10, 100 and 1000 (the
batches of `python -m benchmarks`), the time of the gradient written out by hand in numpy, the
way a numpy expert would (slices for Rosenbrock, two matrix products for the layer), against
JAX's time measured in the same run, after checking both against each other. No code numpy
runs can be faster than that by much: where the hand-written gradient is itself more than 2
times JAX's time, the bar is out of numpy's reach, whatever generates the code.
"""

from __future__ import annotations

import numpy as np

from benchmarks.__main__ import POINTS, best_of
from benchmarks.cases import _weights, jax_version, point


def rosenbrock_by_hand(x: np.ndarray) -> np.ndarray:
    """The gradient of the chained Rosenbrock function, rows: variables."""
    a, b = x[:-1], x[1:]
    t = b - a * a
    g = np.zeros_like(x)
    g[:-1] = -400 * t * a - 2 * (1 - a)
    g[1:] += 200 * t
    return g


def tanh_layer_by_hand(x: np.ndarray) -> np.ndarray:
    """The gradient of the tanh layer: W^T (1 - tanh(W x + b)^2)."""
    w = _weights(x.shape[0])
    t = np.tanh(w[:, :-1] @ x + w[:, -1:])
    return w[:, :-1].T @ (1 - t * t)


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    print("| case | n | points | JAX ms | hand-written numpy ms | numpy/JAX time |")
    print("|---|---|---|---|---|---|")
    for name, by_hand in (("rosenbrock", rosenbrock_by_hand), ("tanh_layer", tanh_layer_by_hand)):
        for n in (10, 100, 1000):
            batch = min(100_000, POINTS // n)
            x = point(n, batch)
            theirs = jax.jit(jax.vmap(jax.grad(jax_version(name))))
            columns = jax.numpy.asarray(x.T)
            np.testing.assert_allclose(by_hand(x), np.asarray(theirs(columns)).T, atol=1e-12)
            jax_time = best_of(lambda f=theirs, c=columns: f(c).block_until_ready())
            numpy_time = best_of(lambda f=by_hand, x=x: f(x))
            print(
                f"| {name} | {n} | {batch:,} | {jax_time * 1e3:.2f} | {numpy_time * 1e3:.2f} "
                f"| {numpy_time / jax_time:.2f} |"
            )


if __name__ == "__main__":
    main()
