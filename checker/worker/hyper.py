"""Which constructor argument holds a hyperparameter, told by behaviour (runs in the sandbox).

Students name a momentum coefficient ``beta1`` or ``alpha``, an L2 coefficient ``lbda``: when no
parameter's name says which one holds a hyperparameter, each remaining numeric parameter is tried
with two values, and the one the layer's steps change with holds it (:func:`by_behaviour`). The
option's checks then grade the steps at the value passed: a layer whose argument is ignored still
fails, and a value the layer hard-codes is measured from its steps by the checks.

Imports only NumPy and the standard library.
"""
from __future__ import annotations

import inspect

import numpy as np

_P = inspect.Parameter
_KW = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)
#: The two values a candidate argument is tried with (both plausible for a momentum, a decay, a beta
#: or an L2 coefficient).
VALUES = (0.3, 0.7)

_CACHE: dict = {}


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def numeric_params(params, taken=(), skip=()) -> list[str]:
    """Keyword parameters after ``input_units, output_units`` whose default is a number (not a switch,
    not a string), not already ``taken`` and whose lower-case name is not in ``skip``."""
    positional = [p for p in params if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    units = {p.name for p in positional[:2]}
    return [p.name for p in params if p.kind in _KW and p.name not in units and p.name not in taken
            and p.name.lower() not in skip and _number(p.default)]


def steers(make, name, values=VALUES) -> bool:
    """Whether the weights and biases of ``make(**{name: v})`` after three steps (fixed inputs and loss
    gradients) differ between the two ``values``: the argument changes the layer's update."""
    after = []
    for v in values:
        try:
            layer = make(**{name: v})
            n_in, n_out = np.shape(layer.weights)
            rng = np.random.default_rng(7)  # the same data for both values, shaped as the layer is built
            W, b = rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
            xs, gs = rng.normal(size=(3, 5, n_in)), rng.normal(size=(3, 5, n_out)) / 5
            layer.weights, layer.biases = W.copy(), b.copy()
            for x, g in zip(xs, gs):
                layer.forward(x.copy())
                layer.backward(x.copy(), g.copy())
            after.append(np.concatenate([np.ravel(np.asarray(layer.weights, dtype=float)),
                                         np.ravel(np.asarray(layer.biases, dtype=float))]))
        except Exception:  # noqa: BLE001 - the student's code refused the value: not this argument
            return False
    if any(a.shape != after[0].shape or not np.all(np.isfinite(a)) for a in after):
        return False
    return not np.allclose(after[0], after[1], rtol=1e-9, atol=1e-12)


def by_behaviour(make, wanted, candidates, key=None) -> dict:
    """``{canonical: parameter}`` for the ``wanted`` canonical hyperparameters (in order) that no
    parameter's name gave: the ``candidates`` the steps change with (:func:`steers`). Assigned only
    when it is unambiguous: one hyperparameter wanted and one candidate that steers, or as many
    steering candidates as hyperparameters wanted (in the order of the signature). ``key``: cache the
    answer under it (one form of one class)."""
    if not wanted or not candidates:
        return {}
    if key is not None and key in _CACHE:
        return dict(_CACHE[key])
    steering = [c for c in candidates if steers(make, c)]
    found = dict(zip(wanted, steering)) if len(steering) == len(wanted) else {}
    if key is not None:
        _CACHE[key] = dict(found)
    return found
