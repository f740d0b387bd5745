"""The worker side of the AdaGrad checks: runs inside nncheck's sandbox.

nncheck copies this one file into the sandbox and loads it without the package
around it, so it imports only NumPy, the standard library and nncheck's
worker-side helpers (``nncheck.probes``, ``nncheck.worker.forms``), never the
reference or a verdict. Probes return plain data.
"""
import inspect

import numpy as np
from nncheck.probes import (LR_NAMES, array_or_description, call_backward, call_forward, construct,
                            reports_conventions, signature_of)
from nncheck.worker.forms import Unconfirmed, build, discovered, fingerprint, option_class, step

#: The names a student's ``__init__`` may give each hyperparameter (compared lower-case).
HYPER_NAMES = {"learning_rate": LR_NAMES, "epsilon": ("epsilon", "eps", "delta", "epsilon_", "fuzz_factor")}
_KW = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _construct(cls, n_in, n_out, hyper):
    """``cls(n_in, n_out, ...)`` with each hyperparameter under the student's own name.

    A discovered form (``Dense(..., optimizer='adagrad')``) comes as a factory whose parameters
    have the canonical names; an own-named class (``Dense_Ada(Dense)``) as the class itself.
    A hyperparameter its ``__init__`` does not take is written to the matching attribute after
    construction. Returns ``(layer, how each one was given)``."""
    sig = signature_of(cls)
    params = [p for p in (sig.parameters.values() if sig is not None else []) if p.kind in _KW][2:]
    kwargs, how = {}, {}
    for canon, value in hyper.items():
        name = next((p.name for p in params if p.name.lower() in HYPER_NAMES[canon] and p.name not in kwargs), None)
        if name is not None:
            kwargs[name], how[canon] = value, f"keyword {name}"
    name = getattr(cls, "__name__", "AdaGradDense")
    layer = construct(cls, f"{name}(input_units, output_units)", n_in, n_out, **kwargs)
    for canon, value in hyper.items():
        if canon in how:
            continue
        attrs = getattr(layer, "__dict__", {})
        attr = next((a for a in attrs if a.lower() in HYPER_NAMES[canon] and _number(attrs[a])), None)
        if attr is not None:
            setattr(layer, attr, value)
        how[canon] = f"attribute {attr}" if attr is not None else "not passed"
    return layer, how


@discovered
@reports_conventions
def probe_trajectory(ns, inputs):
    """Build the option's layer, set W and b, then forward/backward through the grader's steps."""
    cls = option_class(ns, inputs, "AdaGradDense")  # the student's own class or form, or AdaGradDense
    W0, b0 = inputs["W0"], inputs["b0"]
    layer, how = _construct(cls, W0.shape[0], W0.shape[1], dict(inputs["hyper"]))
    layer.weights, layer.biases = W0.copy(), b0.copy()
    weights, biases, grad_inputs = [], [], []
    for x, g in zip(inputs["xs"], inputs["gs"]):
        call_forward(layer, x.copy())
        grad_inputs.append(array_or_description(call_backward(layer, x.copy(), g.copy())))
        weights.append(array_or_description(layer.weights))
        biases.append(array_or_description(layer.biases))
    return {"weights": weights, "biases": biases, "grad_inputs": grad_inputs, "how": how}


@fingerprint
def confirm_adagrad(ns, form, label):
    """A form found by a weak clue (a flag, a switch) is AdaGrad-like: its weights move, and its
    first step does not grow with the gradient (AdaGrad divides it by the gradient's own root;
    plain SGD's and momentum's steps grow tenfold with a tenfold gradient)."""
    rng = np.random.default_rng(0)
    W, x, g = rng.normal(size=(6, 4)), rng.normal(size=(5, 6)), rng.normal(size=(5, 4)) / 5

    def first_step(scale):
        layer = build(ns, form, 6, 4, {"learning_rate": 0.01, "epsilon": 1e-8})
        layer.weights, layer.biases = W.copy(), np.zeros(4)
        return step(layer, g * scale, x) - W

    small, large = first_step(1.0), first_step(10.0)
    if not np.any(small) or not np.all(np.isfinite(small)):
        raise Unconfirmed(f"`{label}` does not change its weights in backward")
    growth = float(np.linalg.norm(large) / np.linalg.norm(small))
    if growth > 3.0:
        raise Unconfirmed(f"`{label}`'s step grows with the gradient (a 10x gradient gives a {growth:.3g}x "
                          "step), like plain SGD's or momentum's: it does not look like AdaGrad")
