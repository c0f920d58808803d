"""Numeric functions from closed forms: SymPy's `lambdify` with common-subexpression elimination.

Example:
    >>> import sympy, symdiff as sd
    >>> x = sympy.Symbol("x")
    >>> lambdify([sympy.sin(x) ** 2], [x], "math")(0.5)
    (0.22984884706593015,)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import sympy

from .errors import SymdiffError

BACKENDS = ("numpy", "math")


def _numpy_erf() -> Callable:
    try:
        from scipy.special import erf  # vectorised C when SciPy is there

        return erf
    except ImportError:
        return np.vectorize(math.erf, otypes=[float])


def lambdify(
    exprs: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], backend: str = "numpy"
) -> Callable[..., tuple]:
    """A function of `symbols` (positional, in order) returning a tuple with one value per expr.

    Args:
        exprs: the formulas.
        symbols: their arguments, in order.
        backend: `"numpy"`: arrays in, arrays out (broadcast to a common shape, constants
            included); `"math"`: floats in, floats out.

    Raises:
        SymdiffError: an unknown backend.
    """
    exprs = list(exprs)
    if backend == "numpy":
        modules = [{"erf": _numpy_erf()}, "numpy"]
    elif backend == "math":
        modules = ["math"]
    else:
        raise SymdiffError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    # dummify: variable names such as `numpy` or `math` must not shadow the generated code's modules
    raw = sympy.lambdify(list(symbols), exprs, modules=modules, cse=True, dummify=True)

    if backend == "math":

        def scalar(*args: float) -> tuple:
            return tuple(float(v) for v in raw(*args))

        scalar.__doc__ = f"Partials at a point (floats): {', '.join(map(str, exprs))}"
        return scalar

    def vectorised(*args) -> tuple:
        arrays = [np.asarray(a, dtype=float) for a in args]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        return tuple(
            np.broadcast_to(np.asarray(v, dtype=float), shape).copy() for v in raw(*arrays)
        )

    vectorised.__doc__ = f"Partials over arrays: {', '.join(map(str, exprs))}"
    return vectorised
