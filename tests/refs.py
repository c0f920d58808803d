"""Shared helpers: compare formulas against independent references numerically."""

from __future__ import annotations

import math
import random

import sympy


def numerically_equal(
    a: sympy.Expr, b: sympy.Expr, symbols, points=8, seed=0, lo=0.3, hi=1.7, rel=1e-9
) -> bool:
    """a and b agree at random points of [lo, hi]^n (simplify may fail to prove a - b = 0)."""
    rng = random.Random(seed)
    for _ in range(points):
        subs = {s: rng.uniform(lo, hi) for s in symbols}
        va, vb = complex(a.evalf(subs=subs)), complex(b.evalf(subs=subs))
        if not math.isclose(va.real, vb.real, rel_tol=rel, abs_tol=1e-10) or abs(va.imag) > 1e-9:
            return False
    return True


def central_difference(f, x: list[float], i: int, h: float = 1e-6) -> float:
    """d f / d x_i by central differences."""
    up, down = list(x), list(x)
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)
