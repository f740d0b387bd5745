"""Stand-in for the course's util: numerical gradients (as in CS231n)."""
import numpy as np


def eval_numerical_gradient(f, x, verbose=False, h=1e-5):
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is modified in place during the evaluation and restored."""
    fx = f(x)  # noqa: F841  (evaluated once, as the original does)
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of an array-valued ``f`` at ``x``, contracted with
    the upstream gradient ``df``."""
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = np.array(f(x), dtype=float, copy=True)
        x[ix] = oldval - h
        neg = np.array(f(x), dtype=float, copy=True)
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad
