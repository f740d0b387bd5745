"""optimizers: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import inspect
import math
import numpy as np
from nncheck.data import load_dataset
from nncheck.worker import forms
from nncheck.worker.forms import Unconfirmed, build, discovered, fingerprint, option_class, step
from nncheck.worker.hyper import by_behaviour, numeric_params, steers
from nncheck.probes import call_backward, call_forward, construct, reports_conventions


# Names a student's __init__ may give each hyperparameter, tried in this order.
HYPER_ALIASES = {
    "learning_rate": ("learning_rate", "lr", "eta", "learningrate", "learning_rate_", "step_size", "lr_rate"),
    "momentum": ("momentum", "mu", "beta", "gamma", "rho", "momentum_rate", "alpha", "m"),
    "decay": ("decay", "decay_rate", "rho", "beta", "gamma", "alpha", "beta2", "decay_factor", "rms_decay"),
    "epsilon": ("epsilon", "eps", "epsilon_", "delta"),
    "beta1": ("beta1", "beta_1", "b1", "beta_one", "betta1", "momentum"),
    "beta2": ("beta2", "beta_2", "b2", "beta_two", "betta2", "decay", "rho"),
}


# ==========================================================================
# Probe side (runs in the worker against the student's namespace)
# ==========================================================================
_KW = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _plain(value):
    """What the student gave, as a float array if it is one, else a string describing it."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return np.array(value, dtype=float)
    try:
        return np.array(value, dtype=float)
    except Exception:  # a student's odd value: describe it instead
        return f"<{type(value).__name__}: {str(value)[:80]}>"


_INERT: dict = {}


def _construct(cls, n_in, n_out, hyper):
    """``cls(n_in, n_out, ...)`` with each hyperparameter passed under the student's own name.

    Returns ``(layer, info)``; ``info`` says how each hyperparameter was given
    (``passed_as``: keyword used; ``set_attribute``: no such keyword, so the
    attribute was overwritten after construction; ``missing``: neither), the
    signature's defaults and the layer's numeric attributes.
    """
    info = {"signature": "", "passed_as": {}, "set_attribute": {}, "missing": [], "defaults": {},
            "attributes_before": {}, "stored": {}}
    kwargs = {}
    try:
        params = inspect.signature(cls).parameters
        info["signature"] = str(inspect.signature(cls))[:300]
    except (TypeError, ValueError):
        params = None
    if params is None:
        kwargs = dict(hyper)
        info["passed_as"] = {k: k for k in hyper}
    else:
        positional = [n for n, p in params.items()
                      if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        units = set(positional[:2])
        keywords = [n for n, p in params.items() if p.kind in _KW and n not in units]
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for canon, value in hyper.items():
            name = next((a for a in HYPER_ALIASES[canon] if a in keywords and a not in kwargs), None)
            if name is None:
                name = next((n for n in keywords if n.lower() in HYPER_ALIASES[canon] and n not in kwargs), None)
            if name is not None:
                kwargs[name] = value
                info["passed_as"][canon] = name
                if _number(params[name].default):
                    info["defaults"][canon] = float(params[name].default)
            elif var_kw:
                kwargs[canon] = value
                info["passed_as"][canon] = canon + " (**kwargs)"
        # no name says which parameter holds a hyperparameter: the one the layer's steps change with
        wanted = [c for c in hyper if c not in info["passed_as"] and c != "learning_rate"]
        skip = {n for c in hyper for n in HYPER_ALIASES.get(c, (c,))}
        cands = numeric_params(list(params.values()), kwargs, skip)
        if wanted and cands:
            key = (getattr(cls, "__qualname__", "?"), tuple(wanted), tuple(cands))
            for canon, name in by_behaviour(lambda **kw: cls(n_in, n_out, **kwargs, **kw), wanted, cands,
                                            key).items():
                kwargs[name] = hyper[canon]
                info["passed_as"][canon] = name
                info.setdefault("by_behaviour", {})[canon] = name
                if _number(params[name].default):
                    info["defaults"][canon] = float(params[name].default)
    contract = f"{getattr(cls, '__name__', 'Dense')}(input_units, output_units)"
    try:
        layer = cls(n_in, n_out, **kwargs) if kwargs else construct(cls, contract, n_in, n_out)
    except TypeError:
        if not kwargs:
            raise
        layer = construct(cls, contract, n_in, n_out)  # a sentence if it cannot be built this way either
        info["fallback"] = "the constructor refused the keywords " + ", ".join(kwargs) + "; built with defaults"
        info["passed_as"] = {}
    # an argument the layer's steps do not change with: it is ignored (the verdict measures the value used)
    for canon, name in list(info["passed_as"].items()):
        if canon == "learning_rate" or name.endswith("(**kwargs)") or not _number(kwargs.get(name)):
            continue
        key = (id(cls), name, tuple(sorted(kwargs)))
        if key not in _INERT:
            rest = {k: v for k, v in kwargs.items() if k != name}
            _INERT[key] = not steers(lambda **kw: cls(n_in, n_out, **rest, **kw), name)
        if _INERT[key]:
            info.setdefault("inert", []).append(canon)
    if hasattr(cls, "__nncheck_names__"):  # a discovered form, built by nncheck.worker.forms.build
        built = forms.BUILT
        if built["by_behaviour"]:
            info.setdefault("by_behaviour", {}).update(built["by_behaviour"])
        for canon in built["unpassed"]:  # neither an argument nor an attribute of the student's layer took it
            info["passed_as"].pop(canon, None)
    for canon, value in hyper.items():
        if canon in info["passed_as"]:
            # passed, but the layer may keep another value (``0.002 if rmsprop else learning_rate``)
            attrs = getattr(layer, "__dict__", {})
            name = next((a for a in HYPER_ALIASES[canon] if a in attrs and _number(attrs[a])), None)
            if name is not None and _number(value) and float(attrs[name]) != float(value):
                info["stored"][canon] = float(attrs[name])
            continue
        attrs = getattr(layer, "__dict__", {})
        name = next((a for a in HYPER_ALIASES[canon] if a in attrs and _number(attrs[a])), None)
        if name is not None:
            info["attributes_before"][canon] = float(attrs[name])
            setattr(layer, name, value)
            info["set_attribute"][canon] = name
        else:
            info["missing"].append(canon)
    return layer, info


def _scalars(layer, limit=20):
    out = {}
    for name, value in list(getattr(layer, "__dict__", {}).items())[:200]:
        if _number(value):
            out[str(name)] = float(value)
            if len(out) >= limit:
                break
    return out


def _state_arrays(layer, shape, limit=8):
    """The layer's array attributes shaped like ``shape`` (velocities, caches), except the parameters."""
    out = {}
    for name, value in list(getattr(layer, "__dict__", {}).items())[:200]:
        if name in ("weights", "biases") or not isinstance(value, np.ndarray):
            continue
        if value.shape == tuple(shape) and value.dtype.kind in "fiu":
            out[str(name)] = np.array(value, dtype=float)
            if len(out) >= limit:
                break
    return out


@discovered
@reports_conventions
def probe_trajectory(ns, inputs):
    """Construct the option layer, set W and b, then forward/backward through every step."""
    cls = option_class(ns, inputs, inputs["class"])
    W0, b0 = inputs["W0"], inputs["b0"]
    layer, info = _construct(cls, W0.shape[0], W0.shape[1], dict(inputs["hyper"]))
    info["attributes"] = _scalars(layer)
    layer.weights = W0.copy()
    layer.biases = b0.copy()
    weights, biases, grad_inputs, states = [], [], [], {}
    for x, g in zip(inputs["xs"], inputs["gs"]):
        x = x.copy()
        call_forward(layer, x.copy())
        grad_inputs.append(_plain(call_backward(layer, x, g.copy())))
        weights.append(_plain(layer.weights))
        biases.append(_plain(layer.biases))
        for name, arr in _state_arrays(layer, W0.shape).items():
            states.setdefault(name, []).append(arr)
    return {"weights": weights, "biases": biases, "grad_inputs": grad_inputs,
            "states": {k: v for k, v in states.items() if len(v) == len(weights)}, "info": info}


# -- experiment (the grader's own tiny training loop; plain NumPy) ---------
#: The experiment's own network parts (the loss and its gradient, an SGD layer, the training loop):
#: working solutions, stubbed in the student edition (see ``nncheck.probes.STAND_INS``).
STAND_INS = ("_xent", "_xent_grad", "_GraderSGDDense", "_train")


def _xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]


def _xent_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


class _GraderSGDDense:
    """The SGD arm when the student's ``Dense`` is missing or fails: ``x @ W + b``, ``W -= lr * x.T @ g``."""

    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.zeros((input_units, output_units))
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return input @ self.weights + self.biases

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        self.weights = self.weights - self.learning_rate * (input.T @ grad_output)
        self.biases = self.biases - self.learning_rate * grad_output.sum(axis=0)
        return grad_input


#: The experiment runs in single precision: data and initial weights are float32, so a layer that
#: computes as the assignment does keeps its weights and state in float32 and steps about twice as
#: fast. The verdict compares the two arms' final losses, measured 0.26-0.38 against 0.51-0.57
#: (see EXPERIMENT in the family's __init__); float32's relative round-off is 1e-7 per operation,
#: and the losses are summed in float64.
DTYPE = np.float32


def _train(make, inputs, X, y):
    """784-64-10 ReLU network of ``make(n_in, n_out)`` layers; returns per-step losses and the final loss."""
    l1, l2 = make(784, 64), make(64, 10)
    l1.weights, l1.biases = inputs["W1"].astype(DTYPE), np.zeros(64, dtype=DTYPE)
    l2.weights, l2.biases = inputs["W2"].astype(DTYPE), np.zeros(10, dtype=DTYPE)
    losses = []
    for idx in inputs["batches"]:
        xb, yb = X[idx], y[idx]
        h = np.asarray(call_forward(l1, xb.copy()), dtype=DTYPE)
        a = np.maximum(h, 0.0)
        logits = np.asarray(call_forward(l2, a.copy()), dtype=DTYPE)
        losses.append(float(_xent(logits, yb).mean(dtype=np.float64)))
        if not math.isfinite(losses[-1]):
            break
        g = _xent_grad(logits, yb)
        ga = np.asarray(call_backward(l2, a.copy(), g), dtype=DTYPE)
        call_backward(l1, xb.copy(), ga * (h > 0))
    Xe, ye = X[inputs["eval"]], y[inputs["eval"]]
    hidden = np.maximum(np.asarray(call_forward(l1, Xe.copy()), dtype=DTYPE), 0.0)
    logits = np.asarray(call_forward(l2, hidden), dtype=DTYPE)
    return {"losses": losses, "final": float(_xent(logits, ye).mean(dtype=np.float64))}


@discovered
@reports_conventions
def probe_experiment(ns, inputs):
    """Train the same network with the student's optimizer and with SGD; return the curves."""
    X, y, _, _ = load_dataset()
    X = X.astype(DTYPE)
    idx_ok = lambda a: np.asarray(a) % len(X)  # noqa: E731  (the embedded subset has 4000 training rows)
    inputs = dict(inputs, batches=idx_ok(inputs["batches"]), eval=idx_ok(inputs["eval"]))
    out = {}
    cls = option_class(ns, inputs, inputs["class"])
    infos = {}

    def option_maker(hyper, key):
        def make(n_in, n_out):
            layer, info = _construct(cls, n_in, n_out, dict(hyper))
            infos[key] = info
            return layer
        return make

    if "traj" in inputs:
        out["traj"] = probe_trajectory(ns, inputs["traj"])
    out["option"] = _train(option_maker(inputs["hyper"], "option"), inputs, X, y)
    if "hyper_ema" in inputs and not _first_step_is_plain(inputs.get("traj"), out.get("traj")):
        out["option_ema"] = _train(option_maker(inputs["hyper_ema"], "option_ema"), inputs, X, y)
    sgd_arm = "grader"
    if "Dense" in ns and isinstance(ns["Dense"], type):
        try:
            sgd = _train(lambda i, o: _construct(ns["Dense"], i, o, {"learning_rate": inputs["sgd_lr"]})[0],
                         inputs, X, y)
            if math.isfinite(sgd["final"]):
                sgd_arm = "student"
        except Exception as exc:  # the student's Dense is broken: use the grader's SGD layer
            sgd_arm = f"grader (your Dense raised {type(exc).__name__})"
    if not sgd_arm.startswith("student"):
        sgd = _train(lambda i, o: _GraderSGDDense(i, o, inputs["sgd_lr"]), inputs, X, y)
    out["sgd"] = sgd
    out["sgd_arm"] = sgd_arm
    out["info"] = infos.get("option", {})
    return out


def _first_step_is_plain(traj_in, traj_out) -> bool:
    """Does the layer's first step from rest move the weights by ``-lr * dW`` (within 30 %)?
    Then it is not the moving-average form (whose first step is ``(1 - mu)`` times that), and
    the experiment's run at ``lr / (1 - mu)`` is not needed; anything else runs it as before."""
    try:
        W0, x, g = traj_in["W0"], traj_in["xs"][0], traj_in["gs"][0]
        step = np.asarray(traj_out["weights"][0], dtype=float) - W0
        plain = -float(traj_in["hyper"]["learning_rate"]) * (x.T @ g)
        ratio = float(np.sum(step * plain) / np.sum(plain * plain))
        return bool(np.isfinite(ratio) and abs(ratio - 1.0) < 0.3)
    except Exception:  # noqa: BLE001 - no trajectory to read: run both arms
        return False


# --------------------------------------------------------------------------
# The options' fingerprint: does a discovered form step differently from plain SGD at all?
# --------------------------------------------------------------------------
#: The hyperparameters a fingerprint builds a form with (an object whose constructor has no defaults too).
FINGERPRINT_HYPER = {"learning_rate": 0.01, "momentum": 0.9, "decay": 0.9, "epsilon": 1e-8, "beta1": 0.9,
                     "beta2": 0.999}


def _hyper(form):
    return {k: FINGERPRINT_HYPER[k] for k in ("learning_rate", *(form.get("params") or ())) if k in FINGERPRINT_HYPER}


def optimizer_kind(ns, form):
    """What a form's steps look like: ``"sgd"``, ``"momentum"`` (a step proportional to the gradient
    that remembers earlier ones), ``"rmsprop"`` (a step normalised by a running mean of squared
    gradients that forgets, no memory of their sign), ``"adagrad"`` (normalised by a sum that never
    forgets), ``"adam"`` (normalised, with memory), or ``"other"``.
    Three steps with the input the identity, so the weights' gradient is the loss gradient itself,
    its entries spread over three orders of magnitude."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    g = 10.0 ** rng.uniform(-2, 1, size=(6, 4)) * rng.choice([-1.0, 1.0], size=(6, 4))
    x = np.eye(6)
    layer = build(ns, form, 6, 4, _hyper(form))
    layer.weights, layer.biases = W.copy(), np.zeros(4)
    w1 = step(layer, g, x)
    w2 = step(layer, g, x)
    w3 = step(layer, np.zeros_like(g), x)
    d1, d2, d3 = w1 - W, w2 - w1, w3 - w2
    if not all(np.all(np.isfinite(d)) for d in (d1, d2, d3)) or np.allclose(d1, 0, atol=1e-12):
        return "other"
    c = float(np.sum(d1 * g) / np.sum(g * g))
    linear = c < 0 and np.linalg.norm(d1 - c * g) <= 1e-6 * np.linalg.norm(d1)
    size = np.abs(d1)
    normalised = bool(np.all(np.sign(d1) == -np.sign(g)) and size.std() <= 0.05 * size.mean())
    memory = np.linalg.norm(d3) > 1e-9 * np.linalg.norm(d1) and float(np.sum(d3 * g)) < 0
    if linear:
        if memory:
            return "momentum"
        return "sgd" if np.allclose(d2, d1, rtol=1e-6, atol=1e-12) else "other"
    if normalised:
        return "adam" if memory else ("rmsprop" if _forgets(layer, g, x, d1) else "adagrad")
    return "other"


def _forgets(layer, g, x, first, steps=300) -> bool:
    """Does the step's normaliser forget? After the steps with ``g``, ``steps`` steps with a gradient
    a thousand times smaller. Per unit of gradient, a sum of squared gradients (AdaGrad) makes the last
    of them about 0.7x the first step (the sum still holds ``g``); a running mean (RMSProp) has
    forgotten ``g`` and makes it larger: 3x for a decay of 0.99, far more for 0.9 (a decay of 0.999
    still remembers, and reads as a sum)."""
    h = g * 1e-3
    before = step(layer, h, x)
    for n in range(1, steps + 1):
        after = step(layer, h, x)
        last, before = after - before, after
        if n in (30, 100, steps):  # a decay of 0.9 has forgotten after 30 steps: most layers stop there
            if not np.all(np.isfinite(last)):
                return False
            if np.median((np.abs(last) / np.abs(h)) / (np.abs(first) / np.abs(g))) > 1.5:
                return True
    return False


@fingerprint
def confirm_optimizer(ns, form, label):
    """Two steps with one gradient are not both plain SGD's step, and the weights move at all
    (momentum, RMSProp and Adam alike). A candidate nothing names (``form["confirm"] == "strict"``)
    must step like its own optimizer (:func:`optimizer_kind`)."""
    if form.get("confirm") == "strict":
        kind = optimizer_kind(ns, form)
        if kind != form.get("option"):
            raise Unconfirmed(f"`{label}` steps like {'plain SGD' if kind == 'sgd' else kind}, "
                              f"not like {form.get('option')}")
        return
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    x = rng.normal(size=(5, 6))
    g = rng.normal(size=(5, 4)) / 5
    lr = 0.01
    layer = build(ns, form, 6, 4, {**_hyper(form), "learning_rate": lr})
    layer.weights, layer.biases = W.copy(), np.zeros(4)
    w1 = step(layer, g, x)
    w2 = step(layer, g, x)
    sgd = -lr * (x.T @ g)
    d1, d2 = w1 - W, w2 - w1
    if np.allclose(d1, sgd, rtol=1e-6, atol=1e-12) and np.allclose(d2, sgd, rtol=1e-6, atol=1e-12):
        raise Unconfirmed(f"`{label}` takes plain SGD steps (the same step twice for the same gradient): it "
                          "does not look like a different optimizer")
    if np.allclose(d1, 0) and np.allclose(d2, 0):
        raise Unconfirmed(f"`{label}` does not change its weights in backward")
