"""Building blocks probes share in the worker: plain data out of student values,
and the grader's own softmax cross-entropy and ReLU for experiment loops.

Everything here is the grader's own code, imported before the submission
loads (the worker refuses ``import nncheck`` afterwards), so probes bind these
names at import time: ``from nncheck.probes import as_float_array``.
"""
from __future__ import annotations

import numpy as np


def as_float_array(x):
    """A student's value as a float64 array, ``None``, or ``{"not_array": type name}``."""
    if x is None:
        return None
    try:
        return np.array(x, dtype=np.float64)
    except Exception:  # noqa: BLE001 - anything a student may return
        return {"not_array": type(x).__name__}


def array_or_description(value):
    """A student's value as an ndarray, ``None``, or a short string saying what it was."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return np.array(value)
    try:
        return np.array(value, dtype=float)
    except Exception:  # noqa: BLE001 - a student's odd value: describe it instead
        return f"<{type(value).__name__}: {str(value)[:80]}>"


def softmax_ce_grad(logits, y):
    """Mean softmax cross-entropy of ``logits`` ``[b, k]`` for labels ``y`` ``[b]``,
    and its gradient ``(softmax - onehot) / b`` ``[b, k]`` (numerically stable)."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(-np.log(np.maximum(p[rows, y], 1e-300)).mean())
    p[rows, y] -= 1.0
    return loss, p / len(y)


class GraderReLU:
    """The grader's own ReLU, so an experiment does not depend on the student's."""

    def forward(self, x):
        return np.maximum(x, 0.0)

    def backward(self, x, grad_output):
        return grad_output * (x > 0)


def train_step(layers, xb, yb) -> float:
    """One step of the grader's own training loop: forward through ``layers``, mean
    softmax cross-entropy, backward last to first (each layer updates itself).
    Returns the batch loss. Only the layers are the student's."""
    acts = [xb]
    for layer in layers:
        acts.append(np.asarray(layer.forward(acts[-1]), dtype=float))
    loss, grad = softmax_ce_grad(acts[-1], yb)
    for i in range(len(layers) - 1, -1, -1):
        grad = np.asarray(layers[i].backward(acts[i], grad), dtype=float)
    return loss
