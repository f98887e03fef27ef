"""Gradient checking: compare a gradient you derived by hand with one measured numerically.

The numeric gradient nudges each input by +h and -h and looks at how the function moves
(centred difference, error O(h^2)). Work in float64: in float32 the rounding error of
f(x + h) - f(x - h) swamps the answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(a: np.ndarray | float, b: np.ndarray | float, floor: float = 1e-8) -> float:
    """Largest elementwise |a - b| / max(|a| + |b|, floor): ~1e-7 or less means they agree."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}: they must be equal")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


def numeric_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of a scalar function f at x; x is changed in place, then
    restored."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"numeric_gradient needs a float64 NumPy array (got {type(x).__name__} "
            f"{getattr(x, 'dtype', '')}): in float32 rounding swamps the difference. "
            "Pass x.astype(np.float64)."
        )
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old  # restore before the next coordinate
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
