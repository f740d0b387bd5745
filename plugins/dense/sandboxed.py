"""dense: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import numpy as np
from nncheck.probes import (ConventionError, as_float_array, call_backward, call_forward, make_dense,
                            reports_conventions)


def _make_dense(ns, n_in, n_out, lr=None):
    return make_dense(ns["Dense"], "Dense", n_in, n_out, lr)[0]


def _layer_with(ns, W, b, lr=None):
    n_in, n_out = int(W.shape[0]), int(W.shape[1])
    try:
        layer = _make_dense(ns, n_in, n_out, lr)
    except NotImplementedError:
        # __init__ is still a stub (dense.init reports it): grade forward/backward on their
        # own, with whatever the stub set before raising (the template stores learning_rate).
        cls = ns["Dense"]
        layer = cls.__new__(cls)
        try:
            if lr is None:
                cls.__init__(layer, n_in, n_out)
            else:
                cls.__init__(layer, n_in, n_out, lr)
        except NotImplementedError:
            pass
        if lr is not None and not hasattr(layer, "learning_rate"):
            layer.learning_rate = lr
    layer.weights = np.array(W, dtype=np.float64)   # copies: the student may update in place
    layer.biases = np.array(b, dtype=np.float64)
    return layer


@reports_conventions
def probe_init(ns, inputs):
    layers = []
    for n_in, n_out in inputs["shapes"]:
        for _ in range(int(inputs["repeats"])):
            layer = _make_dense(ns, int(n_in), int(n_out))
            layers.append({"shape": [int(n_in), int(n_out)],
                           "weights": as_float_array(getattr(layer, "weights", None)),
                           "biases": as_float_array(getattr(layer, "biases", None))})
    return {"layers": layers}


@reports_conventions
def probe_forward(ns, inputs):
    square = _layer_with(ns, inputs["W_sq"], inputs["b_sq"])
    out = {"square": as_float_array(call_forward(square, inputs["x_sq"].copy()))}
    try:
        rect = _layer_with(ns, inputs["W"], inputs["b"])
        out["rect"] = as_float_array(call_forward(rect, inputs["x"].copy()))
    except (NotImplementedError, ConventionError):
        raise
    except Exception as exc:  # noqa: BLE001 - reported by the verdict, with the square result
        out["rect_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


@reports_conventions
def probe_backward(ns, inputs):
    layer = _layer_with(ns, inputs["W"], inputs["b"], float(inputs["lr"]))
    x = inputs["x"].copy()
    forward_failed = None
    try:
        call_forward(layer, x)
    except Exception as exc:  # noqa: BLE001 - backward may not need it; dense.forward reports it
        forward_failed = exc
    try:
        grad_input = call_backward(layer, x, inputs["grad_output"].copy())
    except (NotImplementedError, ConventionError):
        raise
    except Exception:
        if forward_failed is not None:  # backward needed what forward would have cached
            raise forward_failed from None
        raise
    return {"grad_input": as_float_array(grad_input),
            "weights": as_float_array(getattr(layer, "weights", None)),
            "biases": as_float_array(getattr(layer, "biases", None))}
