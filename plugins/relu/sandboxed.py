"""relu: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
from nncheck.probes import call_backward, call_forward, construct, reports_conventions


@reports_conventions
def probe_forward(ns, inputs):
    layer = construct(ns["ReLU"], "ReLU()")
    return {"out": call_forward(layer, inputs["x"].copy())}


@reports_conventions
def probe_backward(ns, inputs):
    layer = construct(ns["ReLU"], "ReLU()")
    x = inputs["x"].copy()
    call_forward(layer, x)
    return {"grad_input": call_backward(layer, x, inputs["grad_output"].copy())}
