"""xavier: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import numpy as np
from nncheck.data import load_dataset
from nncheck.worker.forms import Unconfirmed, build, describe_call, discovered, fingerprint, option_class, weights
from nncheck.probes import (GraderReLU, array_or_description, call_backward, call_forward, construct, make_dense,
                            reports_conventions, train_step)


def _make(cls, n_in, n_out, lr=None):
    """Construct ``cls(n_in, n_out[, learning rate])``; return ``(layer, how the rate was passed)``."""
    return make_dense(cls, "XavierDense", n_in, n_out, lr)


#: The experiment runs in single precision: data and the weights of both arms are float32 (the
#: student's own draw cast, its variance kept), so a layer that computes as the assignment does
#: computes in float32, about twice as fast. The verdict compares validation accuracies 10 points
#: apart (100 digits of 1000); float32's relative round-off is 1e-7 per operation.
DTYPE = np.float32


def _single(layer):
    """``layer``'s float weights and biases in single precision (anything else left alone)."""
    for name in ("weights", "biases"):
        value = getattr(layer, name, None)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            try:
                setattr(layer, name, value.astype(DTYPE))
            except AttributeError:  # a read-only property: the layer keeps its own
                pass
    return layer


def _train_and_track(layers, X, y, Xv, yv, perms, batch):
    """Train ``layers`` with the grader's loop; return per-epoch train loss, val accuracy, last predictions."""
    losses, val_acc = [], []
    pred = None
    for perm in perms:
        batch_losses = []
        for start in range(0, len(perm), batch):
            idx = perm[start:start + batch]
            batch_losses.append(train_step(layers, X[idx], y[idx], DTYPE))
        out = Xv
        for layer in layers:
            out = np.asarray(call_forward(layer, out), dtype=DTYPE)
        pred = out.argmax(axis=1) if np.all(np.isfinite(out)) else np.full(len(yv), -1)
        losses.append(float(np.mean(batch_losses)))
        val_acc.append(float(np.mean(pred == yv)))
    return losses, val_acc, pred


@discovered
@reports_conventions
def probe_init(ns, inputs):
    cls = option_class(ns, inputs, "XavierDense")
    weights, biases = [], []
    for n_in, n_out in inputs["shapes"]:
        layer, _ = _make(cls, int(n_in), int(n_out))
        weights.append(array_or_description(getattr(layer, "weights", None)))
        biases.append(array_or_description(getattr(layer, "biases", None)))
    return {"weights": weights, "biases": biases}


@discovered
@reports_conventions
def probe_forward_backward(ns, inputs):
    W, b, x, g = inputs["W"], inputs["b"], inputs["x"], inputs["grad_output"]
    layer, how = _make(option_class(ns, inputs, "XavierDense"), W.shape[0], W.shape[1], float(inputs["lr"]))
    layer.weights = W.copy()
    layer.biases = b.copy()
    out = call_forward(layer, x.copy())
    grad_input = call_backward(layer, x.copy(), g.copy())
    return {"out": array_or_description(out), "grad_input": array_or_description(grad_input), "W_after": array_or_description(layer.weights),
            "b_after": array_or_description(layer.biases), "lr_passed_as": how}


@discovered
@reports_conventions
def probe_experiment(ns, inputs):
    X_train, y_train, X_val, y_val = load_dataset()
    idx = inputs["train_idx"]
    X, y = X_train[idx].astype(DTYPE), y_train[idx]
    X_val = X_val.astype(DTYPE)
    perms = [np.asarray(p) for p in inputs["perms"]]
    sizes, lr, batch = inputs["sizes"], float(inputs["lr"]), int(inputs["batch"])
    cls = option_class(ns, inputs, "XavierDense")
    init_rng = np.random.default_rng(inputs["init_seed"])

    def network(small):
        layers = []
        for i in range(len(sizes) - 1):
            dense, _ = _make(cls, sizes[i], sizes[i + 1], lr)
            if small:  # the default Dense initialisation, drawn by the grader
                dense.weights = init_rng.standard_normal((sizes[i], sizes[i + 1])) * 0.01
                dense.biases = np.zeros(sizes[i + 1])
            layers.append(_single(dense))
            if i < len(sizes) - 2:
                layers.append(GraderReLU())
        return layers

    xav_loss, xav_acc, _ = _train_and_track(network(False), X, y, X_val, y_val, perms, batch)
    base_loss, base_acc, base_pred = _train_and_track(network(True), X, y, X_val, y_val, perms, batch)
    counts = np.bincount(base_pred[base_pred >= 0], minlength=10) if np.any(base_pred >= 0) else np.zeros(10)
    return {"xavier_val_acc": xav_acc, "baseline_val_acc": base_acc, "xavier_loss": xav_loss,
            "baseline_loss": base_loss, "baseline_top_class_share": float(counts.max() / len(y_val))}


# --------------------------------------------------------------------------
# The option's fingerprint: does a discovered form draw its weights like Xavier at all?
# --------------------------------------------------------------------------
@fingerprint
def confirm_xavier(ns, form, label):
    """A form found by a weak clue draws its weights at another scale than plain ``Dense`` (than the
    flag turned off, for a flag that is on by default); the weakest clues (``form["confirm"]`` is
    ``"fallback"``, an ``init`` tried with 'xavier', or ``"strict"``, a candidate nothing names) only
    at a Xavier variance. A flag on by default whose other value cannot be built is held to that too."""
    plain = ns.get("Dense")
    baseline = form.get("baseline")  # a flag that is on by default: compared with it turned off
    other = {**form, "kwargs": {**(form.get("kwargs") or {}), **baseline}} if baseline else None
    strict = form.get("confirm") in ("fallback", "strict")
    ratios = []
    for n_in, n_out in ((400, 30), (30, 400)) if other or plain is not None else ():
        a = weights(build(ns, form, n_in, n_out)).var()
        try:
            b = weights(build(ns, other, n_in, n_out) if other else
                        construct(plain, "Dense(input_units, output_units)", n_in, n_out)).var()
        except Exception:  # noqa: BLE001 - the flag's other value (or plain Dense) cannot be built
            if not other and not strict:
                raise
            strict, ratios = True, []
            break
        if b > 0 and a > 0:
            ratios.append(abs(np.log(a / b)))
        elif a != b:
            ratios.append(np.inf)
    if ratios and max(ratios) < np.log(1.5):
        than = (f"`{describe_call(form['class'], baseline)}`" if baseline else "plain `Dense`")
        raise Unconfirmed(f"`{label}` draws its weights with the same scale as {than}: it does not look "
                          "like a different initialisation")
    if strict:  # the weakest clue: only a draw at a Xavier variance counts
        for n_in, n_out in ((400, 30), (30, 400)):
            var = weights(build(ns, form, n_in, n_out)).var()
            if not any(abs(var / target - 1.0) < 0.25 for target in (2.0 / (n_in + n_out), 1.0 / n_in)):
                raise Unconfirmed(f"`{label}` draws its {n_in}x{n_out} weights with variance {var:.3g}, neither "
                                  f"Glorot's 2/(in+out) = {2.0 / (n_in + n_out):.3g} nor 1/in = {1.0 / n_in:.3g}: "
                                  "nothing says it is meant as Xavier; pin it if it is")
