"""Caffe's read order: which records form each batch the net sees.

The DataLayer cursor walks keys in bytewise order and wraps to the first record to complete
the last batch. With S solvers, record offset o goes to solver o % S, and each solver forms
its own batches of B from what it receives.
"""
from __future__ import annotations

import numpy as np


def batch_matrix(records: int, batch_size: int, solvers: int = 1) -> np.ndarray:
    """Record indices of one epoch's batches, one row per batch, in the order they are read
    (batch 0 of every solver, then batch 1, ...); the last batch is completed by wrapping."""
    if records <= 0:
        return np.empty((0, batch_size), np.int64)
    per_solver_batches = -(-records // (batch_size * solvers))
    batch = np.arange(per_solver_batches)[:, None, None]
    solver = np.arange(solvers)[None, :, None]
    item = np.arange(batch_size)[None, None, :]
    offsets = (batch * batch_size + item) * solvers + solver
    return (offsets % records).reshape(-1, batch_size)


def first_positions(matrix: np.ndarray, records: int) -> np.ndarray:
    """For each record, its first position in the read sequence of `matrix`."""
    flat = matrix.ravel()
    positions = np.full(records, -1, np.int64)
    unique, first = np.unique(flat, return_index=True)
    positions[unique] = first
    return positions


def read_position(offset: int, batch_size: int, solvers: int = 1) -> int:
    """Position in the flattened `batch_matrix` order of the record at cursor offset `offset`."""
    solver, per_solver = offset % solvers, offset // solvers
    batch, item = divmod(per_solver, batch_size)
    return (batch * solvers + solver) * batch_size + item
