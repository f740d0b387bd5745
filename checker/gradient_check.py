"""Finite-difference gradients and relative errors (CS231n style), float64."""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error", "rel_error_map"]


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function.

    Args:
        f: callable taking ``x`` (any shape) and returning a scalar.
        x: float64 array, modified in place during the evaluation and restored.
        h: step.

    Returns:
        array shaped like ``x``: ``(f(x + h e_i) - f(x - h e_i)) / (2h)``.
    """
    return numerical_gradient_array(lambda v: np.float64(f(v)), x, np.float64(1.0), h)


def numerical_gradient_array(f, x, df, h=1e-5):
    """Central-difference gradient of ``sum(df * f(x))`` for an array-valued ``f``.

    Args:
        f: callable taking ``x`` and returning an array shaped like ``df``.
        x: float64 array, modified in place during the evaluation and restored.
        df: upstream gradient, shaped like ``f(x)``.
        h: step.

    Returns:
        array shaped like ``x``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error_map(a, b):
    """Elementwise ``|a - b| / max(1e-8, |a| + |b|)``, shaped like the broadcast of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def rel_error(a, b):
    """Largest elementwise relative error ``max |a - b| / max(1e-8, |a| + |b|)`` (a float)."""
    m = rel_error_map(a, b)
    return float(m.max()) if m.size else 0.0
