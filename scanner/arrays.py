"""numpy helpers that stay off numpy's slow paths."""
from __future__ import annotations

import numpy as np


def distinct(values) -> np.ndarray:
    """np.unique(values): the same sorted distinct values, NaN once. np.unique's plain form
    imports numpy's masked-array module on its first call (numpy 2: 20 ms, a tenth of a
    small scan's start-up); asking for the counts takes a path that does not."""
    return np.unique(values, return_counts=True)[0]
