"""Sparsity patterns from reachability and Jacobians by compressed seeding."""

import numpy as np

import symdiff as sd


def tridiagonal_system(n):
    """Discretised -u'' + u³ = 1 style equations: row i uses x(i-1), x(i), x(i+1)."""

    def x(i):
        return f"x{i}" if 1 <= i <= n else "0"

    return [f"2*{x(i)} - {x(i - 1)} - {x(i + 1)} + {x(i)}^3 - 1" for i in range(1, n + 1)]


def test_tridiagonal_thousand_equations_need_three_sweeps():
    n = 1000
    exprs, wrt = tridiagonal_system(n), [f"x{i}" for i in range(1, n + 1)]
    rng = np.random.default_rng(0)
    at = dict(zip(wrt, rng.uniform(-1, 1, n), strict=True))
    sj = sd.sparse_jacobian(exprs, wrt=wrt, at=at)
    assert sj.sweeps == 3 and sj.saved == 997
    assert len(sj.sparsity.nonzeros) == 3 * n - 2
    assert sj.seed_matrix.shape == (n, 3) and sj.compressed.shape == (n, 3)
    # the dense Jacobian, written down by hand: 2 + 3x² on the diagonal, -1 beside it
    x = np.array([at[v] for v in wrt])
    analytic = np.diag(2 + 3 * x**2) - np.eye(n, k=1) - np.eye(n, k=-1)
    np.testing.assert_allclose(sj.matrix, analytic, rtol=1e-14)


def test_symbolic_sparse_jacobian_equals_the_dense_one():
    exprs, wrt = tridiagonal_system(12), [f"x{i}" for i in range(1, 13)]
    sj = sd.sparse_jacobian(exprs, wrt=wrt)
    dense = sd.jacobian(exprs, wrt=wrt, mode="fwd")
    assert sj.sweeps == 3
    assert (sympy_matrix(sj.matrix) - dense).is_zero_matrix
    assert "3 forward sweeps" in str(sj) and "9 saved" in str(sj)


def sympy_matrix(m):
    import sympy

    return sympy.Matrix(m)


def test_block_structure_packs_columns():
    at = {v: 1.5 + i for i, v in enumerate("abcdef")}
    blocks = ["a*b", "c*d", "e*f"]  # columns a, c, e share no row, nor do b, d, f
    sj = sd.sparse_jacobian(blocks, at=at)
    assert sj.sweeps == 2 and sj.colors == (0, 1, 0, 1, 0, 1)
    np.testing.assert_allclose(sj.matrix, sd.closedform.jacobian_values(sd.trace(blocks), at))
    coupled = [*blocks, "a + c + e"]  # a, c, e now meet in one row: 3 colours are needed
    sj = sd.sparse_jacobian(coupled, at=at)
    assert sj.sweeps == 3
    np.testing.assert_allclose(sj.matrix, sd.closedform.jacobian_values(sd.trace(coupled), at))


def test_pattern_text_and_density():
    pattern = sd.jacobian_sparsity(["x*y", "y + 1", "3"])
    assert str(pattern) == "* *\n. *\n. ."
    assert pattern.shape == (3, 2) and pattern.density == 0.5
    assert pattern.to_array().tolist() == [[True, True], [False, True], [False, False]]
