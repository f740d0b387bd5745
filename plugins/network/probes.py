"""network: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import numpy as np


def layer_forward(spec, x):
    """The fake layer ``spec``'s map: ``x @ W + b`` (affine) or ``tanh(x)``."""
    x = np.asarray(x, dtype=np.float64)
    if spec["kind"] == "affine":
        return x @ spec["W"] + spec["b"]
    return np.tanh(x)


def layer_backward(spec, x, grad_output):
    """The fake layer's input gradient: ``g @ W.T`` (affine) or ``g * (1 - tanh(x)**2)``."""
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    if spec["kind"] == "affine":
        return g @ spec["W"].T
    if x.shape != g.shape:
        raise ValueError("shape mismatch")
    return g * (1.0 - np.tanh(x) ** 2)


def _record(value):
    """A copy of ``value`` as a float array, or a short description if it is not numeric."""
    if value is None:
        return "None"
    try:
        arr = np.array(value, dtype=np.float64)
    except Exception:
        return f"<{type(value).__name__}>"
    return arr


def _rows(value):
    try:
        return max(1, len(value))
    except Exception:
        return 1


class RecordingLayer:
    """A grader-owned layer with a fixed map that logs every call into ``log``."""

    def __init__(self, index, spec, log):
        self.index = index
        self.spec = spec
        self.log = log

    def _out_width(self, input):
        if self.spec["kind"] == "affine":
            return self.spec["W"].shape[1]
        shape = np.shape(input) if not isinstance(input, str) else ()
        return shape[1] if len(shape) == 2 else 1

    def _in_width(self, grad_output):
        if self.spec["kind"] == "affine":
            return self.spec["W"].shape[0]
        shape = np.shape(grad_output) if not isinstance(grad_output, str) else ()
        return shape[1] if len(shape) == 2 else 1

    def forward(self, input):
        entry = {"op": "forward", "layer": self.index, "input": _record(input)}
        try:
            out = layer_forward(self.spec, input)
            entry["ok"] = True
        except Exception:
            out = np.zeros((_rows(input), self._out_width(input)))
            entry["ok"] = False
        self.log.append(entry)
        return np.array(out, dtype=np.float64)

    def backward(self, input, grad_output):
        entry = {"op": "backward", "layer": self.index, "input": _record(input),
                 "grad_output": _record(grad_output)}
        try:
            out = layer_backward(self.spec, input, grad_output)
            entry["ok"] = True
        except Exception:
            out = np.zeros((_rows(grad_output), self._in_width(grad_output)))
            entry["ok"] = False
        out = np.array(out, dtype=np.float64)
        entry["returned"] = out.copy()
        self.log.append(entry)
        return out

    def __repr__(self):
        return f"RecordingLayer({self.index}, {self.spec['kind']})"


def build_network(layers, log):
    """A list of :class:`RecordingLayer` for the specs ``layers``, logging into ``log``."""
    return [RecordingLayer(i, spec, log) for i, spec in enumerate(layers)]


def _plain(value):
    """A returned value as plain data: a numeric array, or what kind of thing it was."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        return {"kind": "other", "type": "str"}
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            arr = np.array(value, dtype=np.float64)
        else:
            arr = np.array(arr)
    except Exception:
        return {"kind": "other", "type": type(value).__name__}
    return {"kind": "array", "value": arr, "type": type(value).__name__}


def probe_forward(ns, inputs):
    log = []
    network = build_network(inputs["layers"], log)
    out = ns["forward"](network, inputs["X"].copy())
    if isinstance(out, (list, tuple)):
        result = {"kind": "list", "type": type(out).__name__, "items": [_plain(a) for a in out]}
    else:
        result = _plain(out)
    return {"activations": result, "calls": log}


def probe_predict(ns, inputs):
    log = []
    network = build_network(inputs["layers"], log)
    out = ns["predict"](network, inputs["X"].copy())
    return {"predictions": _plain(out), "calls": log}


def probe_train(ns, inputs):
    log = []
    network = build_network(inputs["layers"], log)
    out = ns["train"](network, inputs["X"].copy(), inputs["y"].copy())
    return {"loss": _plain(out), "calls": log}
