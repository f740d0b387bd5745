"""training: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
from __future__ import annotations
import math
from pathlib import Path
import numpy as np
import nncheck.data as nndata
from nncheck.probes import call_as_assignment, construct, reports_conventions


SPLIT_SEED = 0               # seed of load_dataset's train/validation split (embedded data)


EMBEDDED = "embedded"  # the ``data`` input naming nncheck's own subset, wherever it lives


def _load(data: str, n_val: int):
    """``(X_train, y_train, X_val, y_val)`` as ``nncheck.data.load_dataset`` gives them
    (``data`` is :data:`EMBEDDED` or the path of a full MNIST)."""
    if data == EMBEDDED:
        return nndata.load_dataset(n_val=n_val, seed=SPLIT_SEED)
    return nndata.load_dataset(data, n_val=n_val)


def _as_loss(value):
    """A batch loss as a float (the mean if an array came back), or None if unreadable."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.size == 0:
        return None
    return float(arr.mean())


def _sendable(pred):
    """What ``predict`` returned, as something the wire carries, without judging it."""
    if pred is None or isinstance(pred, str):
        return pred
    try:
        arr = np.asarray(pred)
    except Exception:  # noqa: BLE001 - anything a student returns
        return f"<{type(pred).__name__}>"
    if arr.dtype.hasobject or arr.dtype.kind not in "biuf":
        try:
            return np.array(pred, dtype=np.float64)
        except Exception:  # noqa: BLE001
            return f"<{type(pred).__name__} that is not a numeric array>"
    return arr


def _finite_params(network) -> bool:
    for layer in network:
        for name in ("weights", "biases"):
            value = getattr(layer, name, None)
            if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
                return False
    return True


def _run(ns, inputs, X, y, Xv) -> dict:
    """Train ``ns``'s network as the inputs say; return raw losses and predictions per epoch."""
    Dense, ReLU = ns["Dense"], ns["ReLU"]
    train, iterate_minibatches, predict = ns["train"], ns["iterate_minibatches"], ns["predict"]
    sizes = [int(s) for s in inputs["sizes"]]
    lr = float(inputs["learning_rate"])
    network, default_lrs = [], []
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        layer = construct(Dense, "Dense(input_units, output_units)", n_in, n_out)
        w0 = getattr(layer, "weights", None)
        if not isinstance(w0, np.ndarray) or tuple(w0.shape) != (n_in, n_out):
            got = ("no attribute `weights`" if w0 is None else
                   f"`weights` of shape {tuple(np.shape(w0))}" if hasattr(w0, "shape")
                   else f"`weights` of type {type(w0).__name__}")
            return {"init_problem": f"Dense({n_in}, {n_out}) has {got}, expected an array of shape ({n_in}, {n_out})"}
        layer.weights = np.array(inputs["weights"][i], dtype=np.float64, copy=True)
        b0 = getattr(layer, "biases", None)
        shape = tuple(b0.shape) if isinstance(b0, np.ndarray) and b0.size == n_out else (n_out,)
        layer.biases = np.array(inputs["biases"][i], dtype=np.float64).reshape(shape)
        seen = getattr(layer, "learning_rate", None)
        if isinstance(seen, (int, float, np.number)) and not isinstance(seen, bool):
            default_lrs.append(float(seen))
            try:
                layer.learning_rate = lr  # same step size as the reference, whatever the default
            except AttributeError:  # a read-only property: keep the student's own
                pass
        else:
            default_lrs.append(None)
        network.append(layer)
        if i < len(sizes) - 2:
            network.append(construct(ReLU, "ReLU()"))

    bs = int(inputs["batch_size"])
    n_eval = int(inputs.get("n_train_eval") or len(X))  # training accuracy: shown, never judged
    losses, readable, samples, finite, train_pred, val_pred = [], [], [], [], [], []
    max_batches = 4 * (len(X) // bs + 1)
    for perm in inputs["perms"]:
        perm = np.asarray(perm)
        Xp, yp = X[perm], y[perm]
        batch_losses, n_seen = [], 0
        batches = call_as_assignment(iterate_minibatches, "iterate_minibatches",
                                     "iterate_minibatches(inputs, targets, batchsize, shuffle=False)", Xp, yp, bs, False)
        for n_batches, batch in enumerate(batches):
            if n_batches >= max_batches:
                return {"batch_problem": f"iterate_minibatches yielded more than {max_batches} batches "
                                         f"of size {bs} for {len(X)} samples: it does not stop after one pass"}
            try:
                xb, yb = batch
            except (TypeError, ValueError):
                return {"batch_problem": "iterate_minibatches yielded something that is not an (x, y) pair "
                                         f"({type(batch).__name__})"}
            batch_losses.append(_as_loss(call_as_assignment(train, "train", "train(network, X, y)",
                                                            network, xb, yb)))
            n_seen += int(np.shape(xb)[0]) if np.ndim(xb) else 0
        losses.append([math.nan if v is None else v for v in batch_losses])
        readable.append([v is not None for v in batch_losses])
        samples.append(n_seen)
        finite.append(_finite_params(network))
        train_pred.append(_sendable(call_as_assignment(predict, "predict", "predict(network, X)", network,
                                                       X[:n_eval].copy())))
        val_pred.append(_sendable(call_as_assignment(predict, "predict", "predict(network, X)", network, Xv.copy())))
    return {"losses": [np.array(v, dtype=np.float64) for v in losses],
            "loss_readable": [np.array(v, dtype=bool) for v in readable],
            "samples": samples, "params_finite": finite, "default_learning_rates": default_lrs,
            "train_pred": train_pred, "val_pred": val_pred}


@reports_conventions
def probe_accuracy(ns, inputs):
    if inputs.get("data_error"):
        return {"data_error": inputs["data_error"]}
    n_train = int(inputs["n_train"])
    try:
        X, y, Xv, _yv = _load(inputs["data"], int(inputs["n_val"]))
    except Exception as exc:  # noqa: BLE001 - a data problem is the grader's, not the student's
        return {"data_error": f"{type(exc).__name__}: {exc}"}
    X, y = X[:n_train], y[:n_train]
    return _run(ns, inputs, X, y, Xv)
