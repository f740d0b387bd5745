"""loss: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
from nncheck.probes import as_float_array, call_as_assignment, reports_conventions


@reports_conventions
def probe_value(ns, inputs):
    name = "softmax_crossentropy_with_logits"
    loss = call_as_assignment(ns[name], name, f"{name}(logits, reference_answers)",
                              inputs["logits"].copy(), inputs["answers"].copy())
    return {"loss": as_float_array(loss)}


@reports_conventions
def probe_grad(ns, inputs):
    name = "grad_softmax_crossentropy_with_logits"
    grad = call_as_assignment(ns[name], name, f"{name}(logits, reference_answers)",
                              inputs["logits"].copy(), inputs["answers"].copy())
    return {"grad": as_float_array(grad)}
