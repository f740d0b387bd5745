"""network: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import inspect

import numpy as np
from nncheck.probes import call_as_assignment, reports_conventions, signature_of


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


def _describe_extra(value):
    """An extra argument a student passed to a layer, as plain data (never judged)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else value[:60]
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"<{type(value).__name__} of shape {shape}>"
    return f"<{type(value).__name__}>"


ARG_NAMES = {"forward": ("input",), "backward": ("input", "grad_output")}


class RecordingLayer:
    """A grader-owned layer with a fixed map that logs every call into ``log``.

    It takes whatever the student's own layers take: ``forward(input, ...)``
    and ``backward(input, grad_output, ...)`` accept and record any extra
    positional or keyword argument (``training=True``, a learning rate, an
    optimizer, a step counter), and calling the layer is calling ``forward``.
    :func:`stand_in_class` mirrors the student's own ``Layer``.
    """

    _arg_names = ARG_NAMES  # the student's names for (input[, grad_output]), when mirrored

    def __init__(self, index, spec, log):  # attribute names a student's Layer will not use
        self._nncheck_index = index
        self._nncheck_spec = spec
        self._nncheck_log = log

    def _out_width(self, input):
        if self._nncheck_spec["kind"] == "affine":
            return self._nncheck_spec["W"].shape[1]
        shape = np.shape(input) if not isinstance(input, str) else ()
        return shape[1] if len(shape) == 2 else 1

    def _in_width(self, grad_output):
        if self._nncheck_spec["kind"] == "affine":
            return self._nncheck_spec["W"].shape[0]
        shape = np.shape(grad_output) if not isinstance(grad_output, str) else ()
        return shape[1] if len(shape) == 2 else 1

    def _split(self, op, args, kwargs):
        """``(input[, grad_output]), extras`` from a call, under the student's parameter names."""
        canonical = ARG_NAMES[op]
        names = list(self._arg_names.get(op, canonical))
        given = dict(zip(names, args))
        rest_args = list(args[len(names):])
        kwargs = dict(kwargs)
        for name in names:
            if name not in given and name in kwargs:
                given[name] = kwargs.pop(name)
        for name, student in zip(canonical, names):  # the assignment's own names work too
            if student not in given and name in kwargs:
                given[student] = kwargs.pop(name)
        # by name where the student kept the assignment's names (in any order), else by position
        free = iter([n for n in names if n not in canonical])
        values = []
        for name in canonical:
            key = name if name in names else next(free)
            if key not in given:
                raise TypeError(f"{op}() missing required argument '{key}'")
            values.append(given.pop(key))
        extra = {}
        if rest_args or given:
            extra["args"] = [_describe_extra(v) for v in list(given.values()) + rest_args]
        if kwargs:
            extra["kwargs"] = {str(k): _describe_extra(v) for k, v in kwargs.items()}
        return values, extra

    def forward(self, *args, **kwargs):
        (input,), extra = self._split("forward", args, kwargs)
        entry = {"op": "forward", "layer": self._nncheck_index, "input": _record(input)}
        if extra:
            entry["extra"] = extra
        try:
            out = layer_forward(self._nncheck_spec, input)
            entry["ok"] = True
        except Exception:
            out = np.zeros((_rows(input), self._out_width(input)))
            entry["ok"] = False
        self._nncheck_log.append(entry)
        return np.array(out, dtype=np.float64)

    def backward(self, *args, **kwargs):
        (input, grad_output), extra = self._split("backward", args, kwargs)
        entry = {"op": "backward", "layer": self._nncheck_index, "input": _record(input),
                 "grad_output": _record(grad_output)}
        if extra:
            entry["extra"] = extra
        try:
            out = layer_backward(self._nncheck_spec, input, grad_output)
            entry["ok"] = True
        except Exception:
            out = np.zeros((_rows(grad_output), self._in_width(grad_output)))
            entry["ok"] = False
        out = np.array(out, dtype=np.float64)
        entry["returned"] = out.copy()
        self._nncheck_log.append(entry)
        return out

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __repr__(self):
        return f"RecordingLayer({self._nncheck_index}, {self._nncheck_spec['kind']})"


def _student_names(sig, op):
    """The student's names for ``input`` (and ``grad_output``) in ``Layer.<op>``'s signature."""
    params = [p for p in sig.parameters.values()
              if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)][1:]
    need = len(ARG_NAMES[op])
    if len(params) < need:
        return ARG_NAMES[op]
    return tuple(p.name for p in params[:need])


def _mirrored(op, sig):
    impl = getattr(RecordingLayer, op)

    def method(self, *args, **kwargs):
        return impl(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = op
    method.__signature__ = sig  # inspect.signature(layer.forward) reads as the student's own
    return method


def stand_in_class(base):
    """:class:`RecordingLayer`, made a subclass of the student's own ``Layer`` when there is one.

    The stand-in then is an instance of the student's ``Layer`` (``isinstance``
    checks hold), inherits its other methods, and its ``forward``/``backward``
    carry the student's signatures (for code that inspects them) while still
    accepting any extra argument. Anything odd about ``base`` falls back to the
    plain recording layer.
    """
    if not isinstance(base, type) or base is object or issubclass(base, RecordingLayer):
        return RecordingLayer
    try:
        body = {"__module__": __name__, "__qualname__": "RecordingLayer", "__doc__": RecordingLayer.__doc__}
        names = dict(ARG_NAMES)
        for op in ("forward", "backward"):
            sig = signature_of(getattr(base, op, None))
            if sig is None or not sig.parameters:
                continue
            body[op] = _mirrored(op, sig)
            names[op] = _student_names(sig, op)
        body["_arg_names"] = names
        body["_student_base"] = base
        return type("RecordingLayer", (RecordingLayer, base), body)
    except Exception:  # noqa: BLE001 - a metaclass or __init_subclass__ that refuses: no mirroring
        return RecordingLayer


def _make_layer(cls, index, spec, log):
    layer = cls(index, spec, [] if cls is not RecordingLayer else log)  # whatever the student's
    if cls is not RecordingLayer:                                        # __init__ does is not logged
        try:  # the student's Layer.__init__ may set attributes its other methods use
            cls._student_base.__init__(layer)
        except Exception:  # noqa: BLE001 - one needing arguments, say: the stand-in works without
            pass
        for name in ("forward", "backward", "__call__"):
            layer.__dict__.pop(name, None)  # never shadow the recording methods
        layer._nncheck_index, layer._nncheck_spec, layer._nncheck_log = index, spec, log
    return layer


def build_network(layers, log, base=None):
    """A list of recording layers for the specs ``layers``, logging into ``log``.

    ``base``: the student's ``Layer`` class, which the stand-ins then subclass
    and mirror (see :func:`stand_in_class`).
    """
    cls = stand_in_class(base)
    if cls is not RecordingLayer:
        try:
            return [_make_layer(cls, i, spec, log) for i, spec in enumerate(layers)]
        except Exception:  # noqa: BLE001 - an abstract method, a __new__ that wants arguments
            pass
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


def _network(ns, inputs, log):
    return build_network(inputs["layers"], log, base=ns.get("Layer"))


@reports_conventions
def probe_forward(ns, inputs):
    log = []
    network = _network(ns, inputs, log)
    out = call_as_assignment(ns["forward"], "forward", "forward(network, X)", network, inputs["X"].copy())
    if isinstance(out, (list, tuple)):
        result = {"kind": "list", "type": type(out).__name__, "items": [_plain(a) for a in out]}
    else:
        result = _plain(out)
    return {"activations": result, "calls": log}


@reports_conventions
def probe_predict(ns, inputs):
    log = []
    network = _network(ns, inputs, log)
    out = call_as_assignment(ns["predict"], "predict", "predict(network, X)", network, inputs["X"].copy())
    return {"predictions": _plain(out), "calls": log}


@reports_conventions
def probe_train(ns, inputs):
    log = []
    network = _network(ns, inputs, log)
    out = call_as_assignment(ns["train"], "train", "train(network, X, y)", network, inputs["X"].copy(),
                             inputs["y"].copy())
    return {"loss": _plain(out), "calls": log}
