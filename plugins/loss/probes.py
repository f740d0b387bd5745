"""loss: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
from nncheck.probes import as_float_array


def probe_value(ns, inputs):
    fn = ns["softmax_crossentropy_with_logits"]
    return {"loss": as_float_array(fn(inputs["logits"].copy(), inputs["answers"].copy()))}


def probe_grad(ns, inputs):
    fn = ns["grad_softmax_crossentropy_with_logits"]
    return {"grad": as_float_array(fn(inputs["logits"].copy(), inputs["answers"].copy()))}
