"""The benchmark functions, each written once against a math namespace `m`.

The same definition is traced by symdiff (`m` = symdiff), built by SymPy, SymEngine and CasADi
(`m` = their modules) and differentiated by JAX (`m` = jax.numpy), so every tool computes the
same function.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

HIDDEN = 10  # width of the tanh layer


def rosenbrock(x: Sequence, m) -> object:
    """Chained Rosenbrock: sum of 100 (x[i+1] - x[i]²)² + (1 - x[i])²."""
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def product(x: Sequence, m) -> object:
    """The product of all inputs (SymPy's diff costs O(n³) here)."""
    result = x[0]
    for xi in x[1:]:
        result = result * xi
    return result


def chain(x: Sequence, m) -> object:
    """z = sin(z)·x[i] + cos(z), once per input: as a tree it doubles at every step."""
    z = x[0]
    for xi in x:
        z = m.sin(z) * xi + m.cos(z)
    return z


def _weights(n: int) -> np.ndarray:
    return np.round(np.random.default_rng(n).uniform(-1, 1, (HIDDEN, n + 1)), 3)


def tanh_layer(x: Sequence, m) -> object:
    """Sum of a tanh layer of width 10 over n inputs, with fixed weights and biases."""
    w = _weights(len(x))
    units = []
    for j in range(HIDDEN):
        pre = float(w[j, -1])
        for i, xi in enumerate(x):
            pre = pre + float(w[j, i]) * xi
        units.append(m.tanh(pre))
    return sum(units)


def jax_version(case_name: str) -> Callable:
    """The same function as a JAX user writes it: vectorised (an unrolled loop of 10,000
    scalar operations would take XLA minutes to compile)."""
    import jax.numpy as jnp
    from jax import lax

    def chain_scan(x):
        def step(z, xi):
            return jnp.sin(z) * xi + jnp.cos(z), None

        return lax.scan(step, x[0], x)[0]

    def layer(x):
        w = jnp.asarray(_weights(x.shape[0]))
        return jnp.sum(jnp.tanh(w[:, :-1] @ x + w[:, -1]))

    return {
        "rosenbrock": lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
        "product": jnp.prod,
        "chain": chain_scan,
        "tanh_layer": layer,
    }[case_name]


CASES: dict[str, Callable] = {
    "rosenbrock": rosenbrock,
    "product": product,
    "chain": chain,
    "tanh_layer": tanh_layer,
}


def point(n: int, batch: int = 1) -> np.ndarray:
    """Inputs in (0.5, 1): inside every case's comfortable range (products stay finite)."""
    return np.random.default_rng(0).uniform(0.5, 1.0, (n, batch))


def names(n: int) -> list[str]:
    """Variable names x1..xn."""
    return [f"x{i}" for i in range(1, n + 1)]


def reference_gradient(tool: str, case_name: str, n: int, queue) -> None:
    """In a child process (so a time cap can stop it): build the expression with SymPy or
    SymEngine and differentiate it by every variable; put the seconds taken on `queue`."""
    start = time.perf_counter()
    if tool == "sympy":
        import sympy as lib
    else:
        import symengine as lib
    xs = list(lib.symbols(" ".join(names(n)) + " _pad"))[:n]  # a list, even for n = 1
    try:
        f = CASES[case_name](xs, lib)
        [lib.diff(f, x) for x in xs]
    except (RecursionError, MemoryError) as err:  # SymPy's tree walks on deep formulas
        queue.put(type(err).__name__)
        return
    queue.put(time.perf_counter() - start)
