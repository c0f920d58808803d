"""The benchmark functions, each written once against a math namespace `m`.

The same definition is traced by symdiff (`m` = symdiff), built by SymPy, SymEngine and CasADi
(`m` = their modules) and differentiated by JAX (`m` = jax.numpy), so every tool computes the
same function.
"""

from __future__ import annotations

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


CASES: dict[str, Callable] = {
    "rosenbrock": rosenbrock,
    "product": product,
    "chain": chain,
    "tanh_layer": tanh_layer,
}


def point(n: int, batch: int = 1) -> np.ndarray:
    """Inputs in (0.5, 1): inside every case's comfortable range (products stay finite)."""
    return np.random.default_rng(0).uniform(0.5, 1.0, (n, batch))
