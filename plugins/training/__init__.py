"""Training check: the student's own layers and ``train`` learn MNIST as the reference does.

``training.accuracy`` builds the notebook's network (Dense 784-100, ReLU,
Dense 100-200, ReLU, Dense 200-10) from the student's ``Dense`` and ``ReLU``,
gives it initial weights chosen by the grader, and trains it for a few epochs
with the student's ``iterate_minibatches`` and ``train`` on batches the grader
fixes (one permutation of the training digits per epoch, then
``iterate_minibatches(..., shuffle=False)``). The reference does exactly the
same in the grading process, so a correct submission follows the reference's
trajectory up to floating-point round-off and ends at (nearly) the same
validation accuracy.

Data: the MNIST subset shipped with nncheck (``nncheck.data.EMBEDDED``) or,
with ``config.training["data"]`` (``nncheck submit --data``), a full MNIST.
The arrays never cross the worker boundary: the probe loads them itself with
the same :func:`nncheck.data.load_dataset` from the path in its inputs, and
sends back only the student's losses and predictions. Accuracies are computed
here, against labels the grader loaded.

Settings (``[training]`` in the config): ``epochs`` (2), ``n_train`` (3000,
rounded down to a multiple of ``batch_size`` so that keeping or dropping the
last partial batch cannot matter), ``n_val`` (1000), ``batch_size`` (32).
Two epochs of 3,000 digits, not three of 4,000: the check is a class run's
largest, and it runs twice for a graded submission (the student's network, and
the reference's on the same hidden inputs). Measured on seed 0, the reference
reaches 0.876 (0.916 after 3 epochs of 4,000) and a correct in-place einsum
variant exactly the same; a dW averaged over the batch reaches 0.525 (0.671),
so a slow learner is, if anything, further behind; no step stays at 0.142 and
a summed loss gradient collapses to one class either way. The selftest's
mutants and correct variants get the same statuses. The reference run is
cached across submissions with the same inputs.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

import nncheck
from nncheck.verdicts import guard
# Imported at the top on purpose: the worker imports this module before it
# blocks every nncheck import, and the probe needs load_dataset there.
import nncheck.data as nndata
from nncheck.model import Check, Fail, Result
from nncheck.plugins.training.diagnoses import DIAGNOSES
from nncheck.plugins.training.sandboxed import (  # noqa: F401 - the worker-side half
    EMBEDDED,
    SPLIT_SEED,
    _load,
    _run,
    probe_accuracy,
)

CHECK_ID = "training.accuracy"
DEFAULTS = {"epochs": 2, "n_train": 3000, "n_val": 1000, "batch_size": 32}
HIDDEN = (100, 200)          # the notebook's 784-100-200-10 network
N_CLASSES = 10
LEARNING_RATE = 0.1          # Dense's default learning rate in the assignment
# A correct submission differs from the reference only by float64 round-off
# (~1e-16 relative per operation, from a different order of operations).
# Over ~250 SGD steps that could at most flip a few borderline predictions of
# the 1,000 validation digits; measured, a variant with in-place updates,
# einsum gradients and a dropped last batch matched the reference's curves to
# 6 digits over seeds 0-3. 0.02 (20 digits) is far above that noise and far
# below what a real bug costs (measured, seed 0: dW divided by the batch size
# 0.67 vs 0.92; the first layer never updated 0.82; a flipped update sign NaN).
DEFAULT_MARGIN = 0.02
COLLAPSE_SLACK = 0.02        # "collapsed": accuracy <= largest class share + this ...
COLLAPSE_DOMINANCE = 0.8     # ... and >= 80% of the predictions are one class
NO_LEARNING_SHARE = 0.25     # "did not learn": under a quarter of the reference's gain over chance
# The training accuracy of each epoch (a curve of the report, never judged) is measured on the
# first 1000 training digits, not all of them: predicting on all of them each epoch was a fifth of
# the run, for the student and the reference alike. The verdict reads validation accuracy only.
TRAIN_EVAL = 1000


# --------------------------------------------------------------------------
# Settings, data and initial state (grading process; the data part also in the worker)
# --------------------------------------------------------------------------
def _settings(config) -> dict:
    training = dict(getattr(config, "training", None) or {})
    s = {k: int(training.get(k, v)) for k, v in DEFAULTS.items()}
    for k, v in s.items():
        if v <= 0:
            s[k] = DEFAULTS[k]
    data = training.get("data")
    s["data"] = str(Path(data).expanduser().resolve()) if data else EMBEDDED
    return s


@functools.lru_cache(maxsize=2)
def _dataset(data: str, n_train: int, n_val: int, batch_size: int):
    """The subset a check trains on, in the grading process; cached (full MNIST is slow to read).

    ``n_train`` is what the config asks for; it is cut to the digits available
    and rounded down to whole batches, so keeping or dropping a last partial
    batch (both correct) cannot make a difference.
    """
    X, y, Xv, yv = _load(data, n_val)
    n = _whole_batches(len(X), n_train, batch_size)
    return X[:n].copy(), y[:n].copy(), Xv.copy(), yv.copy()


def _whole_batches(available: int, n_train: int, batch_size: int) -> int:
    n = min(n_train, available)
    return max(min(batch_size, available), n - n % batch_size)


@functools.lru_cache(maxsize=2)
def _targets(data: str, n_train: int, n_val: int, batch_size: int):
    """``(y, y_val)`` of :func:`_dataset`, without the images: choosing the inputs and judging the
    predictions need only these, so the grading process converts no images on its way to
    launching the probe (the reference's run, in the answers, reads them)."""
    y, yv = nndata.load_labels(None if data == EMBEDDED else data, n_val=n_val,
                               **({"seed": SPLIT_SEED} if data == EMBEDDED else {}))
    return y[:_whole_batches(len(y), n_train, batch_size)].copy(), yv.copy()


def _initial_state(init_seed: int, sizes: tuple, n_train: int, epochs: int):
    """Glorot-normal weights, zero biases and one permutation per epoch, all from ``init_seed``.

    Glorot scale, not the notebook's ``0.01``: with 0.01 the 3-layer network
    sits at ~25% accuracy for the first 2-3 epochs, so a short run would tell
    little. Biases stay zero (as every correct ``Dense`` starts them), so a
    submission whose bias attribute is named differently is not penalised here.
    """
    rng = np.random.default_rng(init_seed)
    weights = [rng.normal(size=(a, b)) * np.sqrt(2.0 / (a + b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    perms = [rng.permutation(n_train) for _ in range(epochs)]
    return weights, biases, perms


def _make_inputs(settings: dict, rng) -> dict:
    inputs = {k: settings[k] for k in ("data", "epochs", "n_val", "batch_size")}
    inputs.update(learning_rate=LEARNING_RATE, sizes=[784, *HIDDEN, N_CLASSES],
                  init_seed=int(rng.integers(0, 2**31 - 1)))
    inputs["n_train_requested"] = settings["n_train"]
    try:
        y, yv = _targets(settings["data"], settings["n_train"], settings["n_val"], settings["batch_size"])
    except (nndata.DataError, OSError, ValueError) as exc:
        inputs.update(data_error=str(exc), n_train=0, n_val=0, weights=[], biases=[], perms=[])
        return inputs
    inputs["n_train"] = len(y)
    inputs["n_train_eval"] = min(TRAIN_EVAL, len(y))
    inputs["n_val"] = len(yv)  # (the images are 28x28 = 784 pixels, in every MNIST load_dataset reads)
    weights, biases, perms = _initial_state(inputs["init_seed"], tuple(inputs["sizes"]),
                                            inputs["n_train"], inputs["epochs"])
    inputs.update(weights=weights, biases=biases, perms=perms)
    return inputs


# --------------------------------------------------------------------------
# The training run (used by the probe on the student's names, and on the reference's)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The verdict (grading process)
# --------------------------------------------------------------------------
def _reference_ns() -> dict:
    from nncheck import reference as ref  # grader side only: the student edition has none

    return {"Dense": ref.Dense, "ReLU": ref.ReLU, "train": ref.train,
            "iterate_minibatches": ref.iterate_minibatches, "predict": ref.predict}


def _labels(got, n: int, what: str) -> np.ndarray:
    """``got`` as ``[n]`` int class ids, or a failure a student understands."""
    if got is None:
        raise Fail(Result.failed(f"{what} returned None.", hint="Did you forget a `return` in predict?"))
    if isinstance(got, str):
        raise Fail(Result.failed(f"{what} did not return an array of class ids (it returned {got[:80]}).",
                                 hint="predict should return np.argmax(logits, axis=-1)."))
    arr = np.asarray(got)
    if arr.shape != (n,):
        if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] > 1:
            hint = ("It looks like one row of scores per sample (logits or probabilities): "
                    "take the argmax over the classes, np.argmax(logits, axis=-1).")
        elif arr.size == n:
            hint = "The numbers may be right but the layout is not: return a flat array of shape (n,)."
        else:
            hint = "predict returns one class id per row of X: np.argmax(logits, axis=-1)."
        raise Fail(Result.failed(f"{what} returned shape {arr.shape}, expected ({n},).", hint=hint,
                                 diagnosis="training-predict-shape", expected_shape=[n],
                                 got_shape=list(arr.shape)))
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)  # class ids stored as floats: still class ids
    sample = arr[:3].tolist()
    raise Fail(Result.failed(
        f"{what} returned values that are not class ids (dtype {arr.dtype}, e.g. {sample}).",
        hint="predict should return integer class ids: np.argmax(logits, axis=-1), not probabilities.",
        diagnosis="training-predict-not-int"))


def _curves(run: dict, y: np.ndarray, yv: np.ndarray) -> dict:
    """Per-epoch mean train loss, train accuracy and validation accuracy."""
    loss = []  # mean of the losses train() returned; NaN if it returned nothing readable (None, say)
    readable = run.get("loss_readable") or [None] * len(run["losses"])
    for batch, known in zip(run["losses"], readable):
        b = np.asarray(batch, dtype=np.float64).ravel()
        if known is not None and np.shape(known) == b.shape:
            b = b[np.asarray(known, dtype=bool)]
        loss.append(float(b.mean()) if b.size else math.nan)
    train_acc = [float(np.mean(_labels(p, len(y), "predict(network, X_train)") == y)) for p in run["train_pred"]]
    val_acc = [float(np.mean(_labels(p, len(yv), "predict(network, X_val)") == yv)) for p in run["val_pred"]]
    return {"train_loss": loss, "train_accuracy": train_acc, "val_accuracy": val_acc}


@functools.lru_cache(maxsize=8)
def _reference_run(data: str, n_train_requested: int, n_val: int, batch_size: int, epochs: int,
                   learning_rate: float, sizes: tuple, init_seed: int) -> dict:
    """The reference's curves for these inputs; cached, so grading many students trains it once."""
    X, y, Xv, yv = _dataset(data, n_train_requested, n_val, batch_size)
    n_train = len(X)
    weights, biases, perms = _initial_state(init_seed, sizes, n_train, epochs)
    n_eval = min(TRAIN_EVAL, n_train)
    inputs = {"sizes": list(sizes), "learning_rate": learning_rate, "batch_size": batch_size,
              "weights": weights, "biases": biases, "perms": perms, "n_train_eval": n_eval}
    with np.errstate(all="ignore"):  # one BLAS thread, like the worker: set in nncheck/__init__
        run = _run(_reference_ns(), inputs, X, y, Xv)
    return _curves(run, y[:n_eval], yv)


def answers_accuracy(inputs) -> dict:
    """The reference's curves from the same starting weights and batches (the only code of the
    check that calls the reference); none when the data could not be loaded."""
    if "data_error" in inputs:
        return {}
    return {"curves": _reference_run(
        inputs["data"], int(inputs["n_train_requested"]), int(inputs["n_val"]), int(inputs["batch_size"]),
        int(inputs["epochs"]), float(inputs["learning_rate"]), tuple(int(s) for s in inputs["sizes"]),
        int(inputs["init_seed"]))}


def _first_bad_epoch(output: dict):
    """1-based epoch where the loss or the parameters first became NaN/inf, and the batch."""
    readable = output.get("loss_readable") or [None] * len(output["losses"])
    for e, (batch, known, ok) in enumerate(zip(output["losses"], readable, output["params_finite"]), start=1):
        b = np.asarray(batch, dtype=np.float64).ravel()
        known = np.ones(b.shape, bool) if known is None else np.asarray(known, dtype=bool).ravel()
        bad = np.flatnonzero(~np.isfinite(b) & known) if known.shape == b.shape else np.array([], int)
        if bad.size:
            return e, int(bad[0]) + 1
        if not ok:
            return e, None
    return None


def _round(curves: dict) -> dict:
    return {k: [round(v, 6) if math.isfinite(v) else v for v in vals] for k, vals in curves.items()}


def make_verdict(margin: float):
    def verdict_accuracy(inputs, output, answers=None):
        if "data_error" in output:
            return Result.error(f"nncheck could not load the training data: {output['data_error']}",
                                hint="This is a problem of the grading setup (the --data path), not of your code.")
        if "init_problem" in output:
            return Result.failed(
                f"{output['init_problem']}, so the grader could not give your network the same starting "
                "weights as the reference.",
                hint="Dense must keep its weight matrix in self.weights, shape (input_units, output_units), "
                     "and use it in forward and backward.",
                diagnosis="training-weights-not-settable")
        if "batch_problem" in output:
            return Result.failed(f"{output['batch_problem']}.",
                                 hint="iterate_minibatches should yield (x_batch, y_batch) pairs covering "
                                      "the data once.")
        n_train, n_val, epochs = int(inputs["n_train"]), int(inputs["n_val"]), int(inputs["epochs"])
        requested = int(inputs["n_train_requested"])
        y, yv = _targets(inputs["data"], requested, n_val, int(inputs["batch_size"]))
        if len(y) != n_train or len(yv) != n_val:
            return Result.error("nncheck's training data changed between choosing the inputs and judging them.")
        reference = (answers or answers_accuracy(inputs))["curves"]
        student = _curves(output, y[:int(inputs.get("n_train_eval") or n_train)], yv)
        got, want = student["val_accuracy"][-1], reference["val_accuracy"][-1]
        details = {"curves": {"student": _round(student), "reference": _round(reference)},
                   "epochs": epochs, "margin": margin, "n_train": n_train, "n_val": n_val,
                   "batch_size": int(inputs["batch_size"]), "learning_rate": float(inputs["learning_rate"]),
                   "hidden": list(HIDDEN), "data": Path(inputs["data"]).name,
                   "student_val_accuracy": got, "reference_val_accuracy": want}
        summary = (f"After {epochs} epochs your network reaches {got:.3f} validation accuracy; the reference, "
                   f"from the same starting weights and the same batches, reaches {want:.3f} "
                   f"(allowed margin {margin:g}).")
        bad = _first_bad_epoch(output)
        if got >= want - margin:
            note = ""
            if bad is not None:
                note = f" Note: the loss train() returned was NaN or infinite at epoch {bad[0]}."
            return Result.passed(summary + note, **details)

        notes = []
        samples = [int(s) for s in output.get("samples", [])]
        if any(s != n_train for s in samples):
            notes.append(f"train() saw {samples} samples per epoch instead of {n_train}: "
                         "check that iterate_minibatches covers every sample exactly once.")
        lrs = [v for v in output.get("default_learning_rates", []) if v is not None]
        if any(abs(v - LEARNING_RATE) > 1e-12 for v in lrs):
            notes.append(f"(Your Dense's default learning rate is {lrs[0]:g}, the assignment's is "
                         f"{LEARNING_RATE:g}; this check set it to {LEARNING_RATE:g}.)")
        extra = (" " + " ".join(notes)) if notes else ""

        if bad is not None:
            epoch, batch = bad
            where = f" (batch {batch})" if batch else ""
            return Result.failed(
                f"The loss became NaN at epoch {epoch}{where}: learning rate too large, or an exp overflow "
                f"in the loss. {summary}{extra}",
                hint="Compute the loss from logits with the max subtracted before exp (log-sum-exp), and check "
                     "that the gradient is divided by the batch size once and the update subtracts lr * gradient.",
                diagnosis="training-nan", **details)

        classes = np.bincount(yv, minlength=N_CLASSES) / len(yv)
        preds = _labels(output["val_pred"][-1], n_val, "predict(network, X_val)")
        values, counts = np.unique(preds, return_counts=True)  # not bincount: ids may be anything
        dominant = float(counts.max() / len(preds)) if len(preds) else 0.0
        chance = float(classes.max())
        details.update(largest_class_share=chance, dominant_prediction_share=dominant)
        if got <= chance + COLLAPSE_SLACK and dominant >= COLLAPSE_DOMINANCE:
            top = int(values[counts.argmax()])
            return Result.failed(
                f"Training collapsed: your network predicts class {top} for {dominant:.0%} of the validation "
                f"digits, so it is no better than always answering one class. {summary}{extra}",
                hint="The network is pushed towards one class: check the update sign (W -= lr * dW), the loss "
                     "gradient (softmax - one_hot) / batch_size, and that every layer gets its own input in backward.",
                diagnosis="training-collapsed", **details)
        if got - chance < NO_LEARNING_SHARE * (want - chance):
            return Result.failed(
                f"Your network did not learn: its validation accuracy stays near chance ({chance:.2f}). "
                f"{summary}{extra}",
                hint="Check that Dense.backward updates weights and biases with W -= learning_rate * dW (a minus "
                     "sign), that train() calls backward on every layer from last to first, and that the loss "
                     "gradient is softmax - one_hot divided by the batch size.",
                diagnosis="training-no-learning", **details)
        return Result.failed(
            f"Your network learns, but more slowly than the reference. {summary}{extra}",
            hint="Usually a step that is too small or a layer that does not learn: dW = input.T @ grad_output "
                 "with no extra division by the batch size (grad_output is already averaged), "
                 "db = grad_output.sum(axis=0), and train() must call backward on every layer, the first included.",
            diagnosis="training-below-reference", **details)

    return verdict_accuracy


# --------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------
@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    settings = _settings(config)
    margin = config.tolerance(CHECK_ID, DEFAULT_MARGIN)
    return guard([
        Check(CHECK_ID, "Your network trains to the reference's accuracy on MNIST",
              probe_accuracy, make_verdict(margin), functools.partial(_make_inputs, settings),
              section="core", points=20,
              requires=("Dense", "ReLU", "train", "iterate_minibatches", "predict"),
              timeout=20.0, downstream=("relu.", "dense.", "loss.", "network.", "minibatches."),
              answers=answers_accuracy,
              hint="Train a 784-100-200-10 network with your Dense, ReLU, train and iterate_minibatches; "
                   "it should learn like the reference."),
    ])


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    # Diagnoses as measured (seed 0, defaults): each mutant ends far outside the margin.
    from nncheck.variants import correct, mutant

    return [
        mutant("training-update-sign", "training", "training-nan", "layers.py",
               "self.weights = self.weights - self.learning_rate * grad_weights",
               "self.weights = self.weights + self.learning_rate * grad_weights",
               "W += lr * dW climbs the loss: the weights blow up and the loss is NaN within epoch 1."),
        mutant("training-dw-mean", "training", "training-below-reference", "layers.py",
               "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
               "return np.dot(input.T, grad_output) / len(input), grad_output.sum(axis=0)",
               "dW divided by the batch size a second time: learns much more slowly (0.67 vs 0.92)."),
        mutant("training-no-step", "training", "training-no-learning", "layers.py",
               "self._step(grad_weights, grad_biases)", "pass",
               "Dense.backward never updates its parameters: accuracy stays at chance."),
        mutant("training-loss-grad-sum", "training", "training-collapsed", "loss.py",
               "return (softmax - ones_for_answers) / logits.shape[0]",
               "return softmax - ones_for_answers",
               "loss gradient not divided by the batch: 32x steps, the network predicts one class."),
        mutant("training-predict-logits", "training", "training-predict-shape", "network.py",
               "return forward(network, X)[-1].argmax(axis=-1)",
               "return forward(network, X)[-1]",
               "predict returns the logits instead of their argmax."),
        correct("training-inplace-einsum", [
            ("layers.py", "self.weights = self.weights - self.learning_rate * grad_weights",
             "self.weights -= self.learning_rate * grad_weights"),
            ("layers.py", "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
             'return np.einsum("bi,bo->io", input, grad_output), np.einsum("bo->o", grad_output)'),
            ("network.py", "for start in range(0, n, batchsize):",
             "for start in range(0, n - batchsize + 1, batchsize):  # drops a last partial batch"),
            ("network.py", "return forward(network, X)[-1].argmax(axis=-1)",
             "return np.argmax(forward(network, X)[-1], axis=1)"),
        ], description="in-place updates, einsum gradients, last partial batch dropped, np.argmax"),
    ]
