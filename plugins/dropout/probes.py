"""dropout: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import inspect
import numpy as np


def _arr(x):
    """A student's return value as something the wire accepts (copied, never judged)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray) and not x.dtype.hasobject:
        return np.array(x, copy=True)
    try:
        return np.array(x, dtype=float)
    except Exception:  # noqa: BLE001 - any student object
        return f"<{type(x).__name__} that is not a numeric array>"


def _training_attr(layer):
    """The value of ``layer.training`` as plain data ('<missing>' when absent)."""
    if not hasattr(layer, "training"):
        return "<missing>"
    t = getattr(layer, "training")
    if isinstance(t, (bool, np.bool_)):
        return bool(t)
    return repr(t)[:60]


def _first_param(cls):
    """Name of the constructor's first parameter (the drop probability, passed positionally)."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return None
    return params[0].name if params else None


def probe_train(ns, inputs):
    cls = ns["Dropout"]
    res = {"param": _first_param(cls)}
    for key in ("low", "high"):
        layer = cls(inputs[f"p_{key}"])
        res[f"training_{key}"] = _training_attr(layer)
        res[f"out_{key}"] = _arr(layer.forward(inputs["x"].copy()))
        res[f"again_{key}"] = _arr(layer.forward(inputs["x"].copy()))  # a fresh mask each forward
    return res


def probe_backward(ns, inputs):
    layer = ns["Dropout"](inputs["p"])
    x = inputs["x"]
    first = _arr(layer.forward(x.copy()))
    last = _arr(layer.forward(x.copy()))
    grad_input = _arr(layer.backward(x.copy(), inputs["grad_output"].copy()))
    return {"first": first, "last": last, "grad_input": grad_input}


def probe_eval(ns, inputs):
    layer = ns["Dropout"](inputs["p"])
    res = {"training_initial": _training_attr(layer)}
    layer.forward(inputs["x_train"].copy())  # a training step first, as in real use
    layer.training = False
    x = inputs["x"]
    res["out"] = _arr(layer.forward(x.copy()))
    res["grad_input"] = _arr(layer.backward(x.copy(), inputs["grad_output"].copy()))
    return res
