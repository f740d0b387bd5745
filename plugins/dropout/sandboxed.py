"""dropout: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import inspect
import numpy as np
from nncheck.worker.forms import discovered, option_class
from nncheck.probes import call_backward, call_forward, construct, mode_flags, reports_conventions

CONTRACT = "Dropout(p=0.5)"


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


def _says(name):
    """What a parameter's name says it is: ``"keep"`` (``keep_prob``, ``keep_rate``), ``"drop"`` (``p``,
    ``rate``, ``drop_prob``) or None (``prob``, ``ratio``: its behaviour decides)."""
    low = name.lower()
    if "keep" in low:
        return "keep"
    if low == "p" or "drop" in low or "rate" in low:
        return "drop"
    return None


def _keeps(cls):
    """Whether ``cls(0.2)`` drops about 80% of the units in training: its argument is a keep probability."""
    try:
        layer = construct(cls, CONTRACT, 0.2)
        out = np.asarray(_forward(layer, np.ones((200, 50)), True), dtype=float)
    except Exception:  # noqa: BLE001 - the probes meet the same error and report it
        return False
    return out.shape == (200, 50) and abs(float(np.mean(out == 0)) - 0.8) < 0.05


def dropout_class(ns, inputs):
    """``(class, keep parameter or None)``: what the probes build ``Dropout(p)`` with. A layer whose first
    parameter is a keep probability, by its name (``keep_rate``) or, when its name says neither, by
    behaviour (``cls(0.2)`` drops 80% of the units), is handed ``1 - p``; a discovered form that says so
    already is left as it is."""
    cls = option_class(ns, inputs, "Dropout")
    form = inputs.get("_form") if isinstance(inputs, dict) else None
    name = _first_param(cls)
    if (form and form.get("keep")) or name is None or _says(name) == "drop":
        return cls, None
    if _says(name) != "keep" and not _keeps(cls):
        return cls, None

    def drop(p, *args, **kwargs):
        return cls(1.0 - p, *args, **kwargs)
    drop.__name__ = drop.__qualname__ = getattr(cls, "__name__", "Dropout")
    return drop, name


def _forward(layer, x, training):
    """``layer.forward(x)``, with ``training=`` too when the student's forward takes such a flag."""
    return call_forward(layer, x, **mode_flags(layer.forward, training))


def _backward(layer, x, g, training):
    return call_backward(layer, x, g, **mode_flags(layer.backward, training))


@discovered
@reports_conventions
def probe_train(ns, inputs):
    cls, keep = dropout_class(ns, inputs)
    res = {"param": _first_param(cls) if keep is None else keep, "keep_param": keep}
    for key in ("low", "high"):
        layer = construct(cls, CONTRACT, inputs[f"p_{key}"])
        res[f"training_{key}"] = _training_attr(layer)
        res[f"out_{key}"] = _arr(_forward(layer, inputs["x"].copy(), True))
        res[f"again_{key}"] = _arr(_forward(layer, inputs["x"].copy(), True))  # a fresh mask each forward
    return res


@discovered
@reports_conventions
def probe_backward(ns, inputs):
    layer = construct(dropout_class(ns, inputs)[0], CONTRACT, inputs["p"])
    x = inputs["x"]
    first = _arr(_forward(layer, x.copy(), True))
    last = _arr(_forward(layer, x.copy(), True))
    grad_input = _arr(_backward(layer, x.copy(), inputs["grad_output"].copy(), True))
    return {"first": first, "last": last, "grad_input": grad_input}


@discovered
@reports_conventions
def probe_eval(ns, inputs):
    layer = construct(dropout_class(ns, inputs)[0], CONTRACT, inputs["p"])
    res = {"training_initial": _training_attr(layer)}
    _forward(layer, inputs["x_train"].copy(), True)  # a training step first, as in real use
    layer.training = False
    x = inputs["x"]
    res["out"] = _arr(_forward(layer, x.copy(), False))
    res["grad_input"] = _arr(_backward(layer, x.copy(), inputs["grad_output"].copy(), False))
    return res
