"""`SparseRows`: linear constraints for HiGHS, built block by block.

Both HiGHS models of the project (the backtest's perfect-foresight optimum and the
planner's least-cost schedule) lay their variables out in blocks of one variable
per time step and add constraints one family at a time, each family a row per
step; this collects them into one sparse matrix (CSR for `optimizer.highs_milp`, a
`LinearConstraint` for `scipy.optimize.milp`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import LinearConstraint

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SparseRows:
    """Sparse constraint rows built block-wise: each `add` appends rows `lo <= sum <= hi`."""

    def __init__(self, n_vars: int) -> None:
        self.n_vars = n_vars
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.count = 0

    def add(
        self,
        terms: Sequence[tuple[IntArray, float | FloatArray]],
        lo: float | FloatArray,
        hi: float | FloatArray,
    ) -> None:
        """Rows `lo <= sum(coef * x[cols]) <= hi`, one per position of the column arrays."""
        m = terms[0][0].shape[0]
        if m == 0:
            return
        row_ids = np.arange(self.count, self.count + m)
        for cols, coef in terms:
            self.rows.append(row_ids)
            self.cols.append(np.asarray(cols, dtype=np.int64))
            self.vals.append(_per_row(coef, m))
        self.lo.append(_per_row(lo, m))
        self.hi.append(_per_row(hi, m))
        self.count += m

    def add_row(self, cols: IntArray, coefs: FloatArray, lo: float, hi: float) -> None:
        """One row `lo <= sum(coefs * x[cols]) <= hi` over the given columns."""
        self.rows.append(np.full(cols.shape[0], self.count, dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(coefs, dtype=np.float64))
        self.lo.append(np.array([lo], dtype=np.float64))
        self.hi.append(np.array([hi], dtype=np.float64))
        self.count += 1

    def add_matrix(
        self, matrix: sparse.csr_array, lo: float | FloatArray, hi: float | FloatArray
    ) -> None:
        """Rows `lo <= matrix @ x <= hi` for a ready-made matrix over all variables."""
        coo = sparse.coo_array(matrix)
        m = coo.shape[0]
        if m == 0:
            return
        self.rows.append(coo.row.astype(np.int64) + self.count)
        self.cols.append(coo.col.astype(np.int64))
        self.vals.append(coo.data.astype(np.float64))
        self.lo.append(_per_row(lo, m))
        self.hi.append(_per_row(hi, m))
        self.count += m

    def csr(self) -> tuple[sparse.csr_array, FloatArray, FloatArray]:
        """All rows added so far: the matrix (CSR, repeated entries summed) and the
        rows' lower and upper bounds."""
        matrix = sparse.csr_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.count, self.n_vars),
        )
        return matrix, np.concatenate(self.lo), np.concatenate(self.hi)

    def constraint(self) -> LinearConstraint:
        """All rows added so far as one constraint for `milp`."""
        return LinearConstraint(*self.csr())


def _per_row(value: float | FloatArray, m: int) -> FloatArray:
    """`value` as one float per row: a scalar repeated (`np.full`, a tenth of
    `np.broadcast_to`'s cost; a plan's model adds some 25 row families per solve), an
    array as it is."""
    if isinstance(value, float | int):
        return np.full(m, float(value))
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (m,))
