"""relu: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""



def probe_forward(ns, inputs):
    layer = ns["ReLU"]()
    return {"out": layer.forward(inputs["x"].copy())}


def probe_backward(ns, inputs):
    layer = ns["ReLU"]()
    x = inputs["x"].copy()
    layer.forward(x)
    return {"grad_input": layer.backward(x, inputs["grad_output"].copy())}
