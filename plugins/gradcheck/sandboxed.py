"""gradcheck: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import numpy as np
from nncheck.gradient_check import numerical_gradient, numerical_gradient_array
from nncheck.probes import (as_float_array, call_as_assignment, call_backward, call_forward, construct,
                            make_dense, reports_conventions)


H = 1e-5


@reports_conventions
def probe_relu(ns, inputs):
    layer = construct(ns["ReLU"], "ReLU()")
    x, g = inputs["x"].copy(), inputs["g"]
    numeric = numerical_gradient_array(lambda v: call_forward(layer, v), x, g, h=H)
    call_forward(layer, x)
    return {"analytic": as_float_array(call_backward(layer, x.copy(), g.copy())), "numeric": numeric}


def _dense(ns, W, b, lr):
    layer, _ = make_dense(ns["Dense"], "Dense", W.shape[0], W.shape[1], lr)
    layer.weights, layer.biases = W.copy(), b.copy()
    return layer


@reports_conventions
def probe_dense(ns, inputs):
    x, g, W, b = inputs["x"], inputs["g"], inputs["W"], inputs["b"]
    out = {}
    # d(sum(forward * g))/dx against backward's grad_input, with no step taken (lr = 0)
    layer = _dense(ns, W, b, 0.0)
    out["numeric_x"] = numerical_gradient_array(lambda v: call_forward(layer, v), x.copy(), g, h=H)
    call_forward(layer, x.copy())
    out["analytic_x"] = as_float_array(call_backward(layer, x.copy(), g.copy()))
    # the parameter gradients are read off one SGD step with lr = 1: W_before - W_after
    Wv, bv = W.copy(), b.copy()
    probe = _dense(ns, W, b, 0.0)

    def f_w(v):
        probe.weights = v
        return float(np.sum(call_forward(probe, x.copy()) * g))

    def f_b(v):
        probe.biases = v
        return float(np.sum(call_forward(probe, x.copy()) * g))

    out["numeric_W"] = numerical_gradient(f_w, Wv, h=H)
    probe.weights = W.copy()
    out["numeric_b"] = numerical_gradient(f_b, bv, h=H)
    step = _dense(ns, W, b, 1.0)
    call_forward(step, x.copy())
    call_backward(step, x.copy(), g.copy())
    out["analytic_W"] = as_float_array(W - np.asarray(step.weights, dtype=float))
    out["analytic_b"] = as_float_array(b - np.asarray(step.biases, dtype=float))
    return out


@reports_conventions
def probe_loss(ns, inputs):
    logits, answers = inputs["logits"].copy(), inputs["answers"]
    name = "softmax_crossentropy_with_logits"
    contract = "(logits, reference_answers)"

    def loss(v):
        return call_as_assignment(ns[name], name, name + contract, v, answers)

    numeric = numerical_gradient(lambda v: float(np.mean(loss(v))), logits, h=H)
    grad = call_as_assignment(ns["grad_" + name], "grad_" + name, "grad_" + name + contract,
                              inputs["logits"].copy(), answers)
    return {"analytic": as_float_array(grad), "numeric": numeric}
