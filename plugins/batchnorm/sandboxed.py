"""batchnorm: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import inspect
import numpy as np
from nncheck.worker.forms import discovered, option_class
from nncheck.probes import call_backward, call_forward, construct, mode_flags, reports_conventions


NAMES = {"learning_rate": ("learning_rate", "lr", "eta", "step_size", "learning_rate_"),
         "momentum": ("momentum", "mom", "running_momentum", "decay", "rho"),
         "epsilon": ("epsilon", "eps", "epsilon_")}


def _arr(x):
    """A student's value as something the wire accepts (copied, never judged)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray) and not x.dtype.hasobject:
        return np.array(x, dtype=float, copy=True) if x.dtype.kind in "biuf" else np.array(x, copy=True)
    try:
        return np.array(x, dtype=float)
    except Exception:  # noqa: BLE001 - any student object
        return f"<{type(x).__name__} that is not a numeric array>"


def _make(cls, units, settings):
    """Build ``cls(units, ...)`` passing each setting under the name its __init__ uses.

    Returns the layer and, per setting, the value in effect (the one passed,
    else a numeric attribute of that name on the layer, else None) and the
    keyword used.
    """
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = None
    kwargs, used = {}, {}
    for key, value in settings.items():
        if params is None:
            name = key
        else:
            name = next((n for n in NAMES[key] if n in params), None)
            if name is None and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                name = key
        if name is not None:
            kwargs[name] = value
        used[key] = name
    layer = construct(cls, "BatchNorm(units)", units, **kwargs)
    effective = {}
    for key, value in settings.items():
        if used[key] is not None:
            effective[key] = float(value)
        else:
            attr = next((getattr(layer, n) for n in NAMES[key] if hasattr(layer, n)), None)
            effective[key] = float(attr) if isinstance(attr, (int, float, np.number)) else None
    return layer, {"effective": effective, "keywords": used}


def _forward(layer, x, training):
    """``layer.forward(x)``, with ``training=`` too when the student's forward takes such a flag."""
    return call_forward(layer, x, **mode_flags(layer.forward, training))


def _backward(layer, x, g, training):
    return call_backward(layer, x, g, **mode_flags(layer.backward, training))


def _settings(inputs):
    return {k: inputs[k] for k in ("learning_rate", "momentum", "epsilon")}


@discovered
@reports_conventions
def probe_train(ns, inputs):
    layer, info = _make(option_class(ns, inputs, "BatchNorm"), len(inputs["gamma"]), _settings(inputs))
    info["running_mean0"] = _arr(getattr(layer, "running_mean", None))
    info["running_var0"] = _arr(getattr(layer, "running_var", None))
    layer.gamma = inputs["gamma"].copy()
    layer.beta = inputs["beta"].copy()
    info["out"] = _arr(_forward(layer, inputs["x"].copy(), True))
    return info


@discovered
@reports_conventions
def probe_backward(ns, inputs):
    layer, info = _make(option_class(ns, inputs, "BatchNorm"), len(inputs["gamma"]), _settings(inputs))
    layer.gamma = inputs["gamma"].copy()
    layer.beta = inputs["beta"].copy()
    x = inputs["x"]
    _forward(layer, x.copy(), True)
    info["gamma_before"] = _arr(layer.gamma)
    info["beta_before"] = _arr(layer.beta)
    info["grad_input"] = _arr(_backward(layer, x.copy(), inputs["grad_output"].copy(), True))
    info["gamma_after"] = _arr(layer.gamma)
    info["beta_after"] = _arr(layer.beta)
    return info


@discovered
@reports_conventions
def probe_running(ns, inputs):
    layer, info = _make(option_class(ns, inputs, "BatchNorm"), len(inputs["gamma"]), _settings(inputs))
    info["mean0"] = _arr(getattr(layer, "running_mean", None))
    info["var0"] = _arr(getattr(layer, "running_var", None))
    means, variances = [], []
    for x in inputs["xs"]:
        _forward(layer, x.copy(), True)
        try:  # a layer that updates its statistics in backward is fine too; zero grad keeps gamma/beta
            _backward(layer, x.copy(), np.zeros_like(x), True)
        except Exception:  # noqa: BLE001 - backward is judged by batchnorm.backward, not here
            pass
        means.append(_arr(getattr(layer, "running_mean", None)))
        variances.append(_arr(getattr(layer, "running_var", None)))
    info["means"], info["vars"] = means, variances
    return info


@discovered
@reports_conventions
def probe_eval(ns, inputs):
    layer, info = _make(option_class(ns, inputs, "BatchNorm"), len(inputs["gamma"]), _settings(inputs))
    layer.gamma = inputs["gamma"].copy()
    layer.beta = inputs["beta"].copy()
    for x in inputs["xs_train"]:  # training steps first, as in real use
        _forward(layer, x.copy(), True)
    info["running_mean"] = _arr(getattr(layer, "running_mean", None))
    info["running_var"] = _arr(getattr(layer, "running_var", None))
    layer.training = False
    info["out"] = _arr(_forward(layer, inputs["x"].copy(), False))
    info["running_mean_after"] = _arr(getattr(layer, "running_mean", None))
    info["running_var_after"] = _arr(getattr(layer, "running_var", None))
    return info
