"""Dense checks: initialisation, forward, the input gradient and the SGD step.

Every probe builds the student's ``Dense`` the way the notebook does
(``Dense(n_in, n_out, learning_rate=lr)``), then overwrites ``weights`` and
``biases`` with grader-chosen arrays (copies), so the values judged do not
depend on the student's initialisation. The backward probe calls ``forward``
and then ``backward`` with the same input (a layer may cache its input), and
reports the weights and biases *after* the call; the parameter gradients are
read off the update, ``dW = (W_before - W_after) / lr``.

Known mistakes are recognised by their numeric signature:

* ``dense-init-scale``: std of the initial weights outside (1e-3, 1e-1),
  or every weight equal (zeros: the units can never become different).
* ``dense-init-not-centered``: initial weights whose mean is far from 0
  (``np.random.rand`` instead of ``randn``).
* ``dense-forward-missing-bias``: forward == ``x @ W``.
* ``dense-forward-transposed-weights``: forward == ``x @ W.T + b`` (square layer).
* ``dense-grad-input-after-update``: grad_input == ``grad_output @ W_new.T``.
* ``dense-grad-divided-by-batch``: observed dW == reference dW / batch.
* ``dense-bias-grad-mean``: dW right, observed db == reference db / batch.
* ``dense-update-sign``: observed dW (or db) == -reference (gradient ascent).
* ``dense-params-not-updated``: weights (or biases) unchanged by backward.
* ``dense-learning-rate-ignored``: the step is ``dW`` or ``0.1 * dW`` whatever
  ``learning_rate`` the layer was built with.
"""
import functools

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import close_to_scale, student_array, mismatch_details, near, require_finite, scale_between
from nncheck.probes import as_float_array
from nncheck.plugins.dense.diagnoses import DIAGNOSES, GRAD_INPUT_POINTER
from nncheck.plugins.dense.sandboxed import (  # noqa: F401 - the worker-side half
    probe_backward,
    probe_forward,
    probe_init,
)

# Default tolerances (relative to the largest entry of the expected array; see _close).
# Correct float64 code differs from the reference only by round-off of a different
# operation order (~1e-15); 1e-7 also forgives a float32 computation (~1e-7 relative)
# and is still orders of magnitude below every mistake we judge (errors of order 1).
FORWARD_RTOL = 1e-6
GRAD_INPUT_RTOL = 1e-6
# dW is read off an update (W_before - W_after) / lr: one more subtraction, so a
# little looser; mistakes change dW by factors like 1/batch, -1 or 1/lr.
PARAMS_RTOL = 1e-5


# ---------------------------------------------------------------------------
# worker side (probes): plain data only
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# grading side: inputs and verdicts
# ---------------------------------------------------------------------------

def init_inputs(rng):
    n_in = int(rng.integers(3, 9))
    small = [n_in, n_in + int(rng.integers(1, 4))]  # never square: a transposed shape shows
    return {"shapes": [[128, 150], [300, 20], small], "repeats": 3}


def forward_inputs(rng):
    b = int(rng.integers(4, 9))
    n = int(rng.integers(3, 7))
    n_in = int(rng.integers(3, 8))
    n_out = n_in + int(rng.integers(1, 5))
    return {
        "x_sq": rng.normal(size=(b, n)), "W_sq": rng.normal(size=(n, n)),
        "b_sq": rng.normal(size=n) + 0.5,
        "x": rng.normal(size=(b + 1, n_in)), "W": rng.normal(size=(n_in, n_out)),
        "b": rng.normal(size=n_out) - 0.5,
    }


def _backward_inputs(rng, b, lr):
    n_in = int(rng.integers(4, 9))
    n_out = n_in + int(rng.integers(1, 4))  # not square: W and W.T cannot be confused silently
    return {"x": rng.normal(size=(b, n_in)), "W": 0.5 * rng.normal(size=(n_in, n_out)),
            "b": rng.normal(size=n_out), "grad_output": rng.normal(size=(b, n_out)), "lr": lr}


def backward_input_inputs(rng):
    # lr = 0.5 moves the weights a lot, so grad_input computed after the step is visible.
    return _backward_inputs(rng, int(rng.integers(11, 17)), 0.5)


def backward_params_inputs(rng):
    # batch 17..23 and lr 0.25: the signatures 1/batch, -1, 1/lr = 4 and 0.1/lr = 0.4 all differ.
    return _backward_inputs(rng, int(rng.integers(17, 24)), 0.25)


def _ref_dense(W, b, lr=0.0):
    from nncheck import reference as ref  # grader side only: the student edition has none

    layer = ref.Dense(W.shape[0], W.shape[1], learning_rate=lr)
    layer.weights = np.array(W, dtype=np.float64)
    layer.biases = np.array(b, dtype=np.float64)
    return layer


def _ref_backward(inputs, W=None):
    """The reference's (grad_input, W_after, b_after) for these inputs (optionally other weights)."""
    layer = _ref_dense(inputs["W"] if W is None else W, inputs["b"], float(inputs["lr"]))
    x = inputs["x"]
    layer.forward(x)
    grad_input = layer.backward(x, inputs["grad_output"])
    return grad_input, layer.weights, layer.biases


def answers_forward(inputs):
    """The reference's forward on the square and the rectangular layer, and the square one's
    outputs without bias, with the transposed weights, and with both (the mistakes diagnosed)."""
    x, W, b = inputs["x_sq"], inputs["W_sq"], inputs["b_sq"]
    zero = np.zeros_like(b)
    return {"square": _ref_dense(W, b).forward(x), "no_bias": _ref_dense(W, zero).forward(x),
            "transposed": _ref_dense(W.T, b).forward(x), "transposed_no_bias": _ref_dense(W.T, zero).forward(x),
            "rect": _ref_dense(inputs["W"], inputs["b"]).forward(inputs["x"])}


def answers_backward(inputs):
    """The reference's grad_input, weights and biases after one step, and grad_input computed with
    the weights after that step (the mistake dense-grad-input-after-update)."""
    grad_input, w_after, b_after = _ref_backward(inputs)
    after = _ref_dense(w_after, inputs["b"]).backward(inputs["x"], inputs["grad_output"])
    return {"grad_input": grad_input, "weights": w_after, "biases": b_after, "grad_input_after_step": after}


def _failed(message, hint, diagnosis=None, got=None, expected=None, **details):
    if got is not None and expected is not None:
        details = {**mismatch_details(got, expected), **details}
    return Result.failed(message, hint=hint, diagnosis=diagnosis, **details)


# -- dense.init --------------------------------------------------------------

_INIT_HINT = ("Initialise weights with small zero-mean random numbers, e.g. "
              "np.random.randn(input_units, output_units) * 0.01, and biases with np.zeros(output_units).")


def verdict_init(inputs, output):
    layers = output.get("layers") or []
    by_shape = {}
    for item in layers:
        n_in, n_out = item["shape"]
        W = student_array(item["weights"], f"Dense({n_in}, {n_out}).weights", (n_in, n_out))
        b = student_array(item["biases"], f"Dense({n_in}, {n_out}).biases", (n_out,))
        require_finite(W, f"Dense({n_in}, {n_out}).weights")
        if np.any(b != 0):
            raise Fail(Result.failed(
                f"Dense({n_in}, {n_out}).biases are not all zero (largest {np.abs(b).max():.3g}).",
                hint="Start the biases at zero: np.zeros(output_units).", diagnosis="dense-init-bias"))
        if W.size > 1 and np.all(W == W.flat[0]):
            raise Fail(Result.failed(
                f"All weights of Dense({n_in}, {n_out}) are equal ({W.flat[0]:.3g}): the network "
                "can't break symmetry, every unit of a layer would compute the same thing and "
                "receive the same update forever.",
                hint=_INIT_HINT, diagnosis="dense-init-scale"))
        distinct = by_shape.setdefault((n_in, n_out), [])
        if not any(np.array_equal(W, seen) for seen in distinct):  # a seeded __init__ repeats itself
            distinct.append(W)
    stats = {}
    for (n_in, n_out), arrays in by_shape.items():
        if n_in * n_out < 1000:
            continue  # too few weights for a statistic; the shapes and biases were checked above
        pooled = np.concatenate([a.ravel() for a in arrays])
        n = pooled.size
        mean, std = float(pooled.mean()), float(pooled.std())
        stats[f"{n_in}x{n_out}"] = {"mean": mean, "std": std, "weights": n}
        # The sample std of n draws scatters by ~std/sqrt(2n); allow 6 such errors at the
        # bounds so that e.g. randn * 0.1 (std exactly at the bound) never fails by chance.
        margin = 6.0 / np.sqrt(2.0 * n)
        if not (1e-3 * (1 - margin) < std < 1e-1 * (1 + margin)):
            if 0.5 < std < 2.0:
                why = ("that is the scale of np.random.randn without the factor 0.01: with weights this "
                       "large the activations and gradients blow up layer after layer.")
            elif std >= 1e-1:
                why = "too large: activations and gradients blow up layer after layer."
            else:
                why = "too small: the signal and the gradients vanish, the network barely learns."
            raise Fail(Result.failed(
                f"The initial weights of Dense({n_in}, {n_out}) have standard deviation {std:.3g}; "
                f"it should be between 0.001 and 0.1, {why}",
                hint=_INIT_HINT, diagnosis="dense-init-scale", init_stats=stats))
        # The mean of n zero-mean draws scatters by std/sqrt(n): 6 of those is never chance.
        if abs(mean) > 6.0 * std / np.sqrt(n):
            raise Fail(Result.failed(
                f"The initial weights of Dense({n_in}, {n_out}) have mean {mean:.3g} (standard "
                f"deviation {std:.3g}): they should be centred on zero, with positive and negative values.",
                hint="np.random.rand draws from [0, 1); use np.random.randn (or a uniform range "
                     "symmetric around 0) times a small factor.",
                diagnosis="dense-init-not-centered", init_stats=stats))
    return Result.passed(init_stats=stats)


# -- dense.forward -----------------------------------------------------------

_FORWARD_HINT = "Dense.forward should return input @ self.weights + self.biases ([b, n_in] @ [n_in, n_out] + [n_out])."


def verdict_forward(inputs, output, answers=None, rtol=FORWARD_RTOL):
    answers = answers or answers_forward(inputs)
    x, W, b = inputs["x_sq"], inputs["W_sq"], inputs["b_sq"]
    expected = answers["square"]
    what = f"Dense({W.shape[0]}, {W.shape[1]}).forward(x)"
    got = student_array(output.get("square"), what, expected.shape)
    require_finite(got, what)
    if not close_to_scale(got, expected, rtol):
        if close_to_scale(got, answers["no_bias"], rtol):
            raise Fail(_failed(
                "Dense.forward returns input @ weights but forgets to add the biases.",
                "Add self.biases (shape [n_out]) to the product; broadcasting adds it to every row.",
                "dense-forward-missing-bias", got, expected))
        if close_to_scale(got, answers["transposed"], rtol):
            raise Fail(_failed(
                "Dense.forward multiplies by the transposed weights (input @ weights.T): weights are "
                "stored as [n_in, n_out], so the product is input @ weights.",
                _FORWARD_HINT, "dense-forward-transposed-weights", got, expected))
        if close_to_scale(got, answers["transposed_no_bias"], rtol):
            raise Fail(_failed(
                "Dense.forward multiplies by the transposed weights and forgets the biases.",
                _FORWARD_HINT, ["dense-forward-transposed-weights", "dense-forward-missing-bias"],
                got, expected))
        raise Fail(_failed(f"{what} is wrong.", _FORWARD_HINT, None, got, expected))
    # The same layer with different numbers of inputs and outputs.
    x, W, b = inputs["x"], inputs["W"], inputs["b"]
    what = f"Dense({W.shape[0]}, {W.shape[1]}).forward(x)"
    if "rect_error" in output:
        raise Fail(Result.failed(
            f"{what} raised {output['rect_error']} (it worked for a layer with as many outputs as inputs).",
            hint="Check the order of the matrix product: input [b, n_in] @ weights [n_in, n_out]."))
    expected = answers["rect"]
    got = student_array(output.get("rect"), what, expected.shape)
    require_finite(got, what)
    if not close_to_scale(got, expected, rtol):
        raise Fail(_failed(f"{what} is wrong (a square layer was right).", _FORWARD_HINT, None,
                           got, expected))
    return Result.passed()


# -- dense.backward.input ----------------------------------------------------

_GRAD_INPUT_HINT = ("grad_input = grad_output @ self.weights.T, computed BEFORE you change the weights "
                    "(the forward pass used the old ones).")


def _weights_after(output, W):
    """The student's weights after backward as an array of W's shape, or None."""
    try:
        after = np.asarray(output.get("weights"), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return after if after.shape == W.shape and np.all(np.isfinite(after)) else None


def verdict_backward_input(inputs, output, answers=None, rtol=GRAD_INPUT_RTOL):
    answers = answers or answers_backward(inputs)
    W = inputs["W"]
    expected = answers["grad_input"]
    what = f"Dense({W.shape[0]}, {W.shape[1]}).backward(x, grad_output)"
    got = student_array(output.get("grad_input"), what, expected.shape)
    require_finite(got, what)
    if close_to_scale(got, expected, rtol):
        return Result.passed()
    # Computed with the weights after the step: the reference's, or the student's own (their
    # step may be wrong too, which dense.backward.params reports). grad_input is linear in the
    # weights, so with the student's own weights it is the expected one moved by
    # grad_output @ (W_new - W).T: no reference needed on the student's values.
    candidates = [answers["grad_input_after_step"]]
    student_after = _weights_after(output, W)
    if student_after is not None and not close_to_scale(student_after, W, 1e-12):
        candidates.append(expected + np.dot(inputs["grad_output"], (student_after - W).T))
    for after_step in candidates:
        if close_to_scale(got, after_step, rtol):
            raise Fail(_failed(
                "Dense.backward computes grad_input with the weights AFTER the SGD update; the "
                "gradient with respect to the input must use the weights the forward pass used.",
                "Compute grad_input = grad_output @ self.weights.T first, then update the weights, "
                "then return grad_input.", "dense-grad-input-after-update", got, expected))
    s = scale_between(got, expected)
    if near(s, -1.0):
        raise Fail(_failed(f"{what} returns minus the input gradient.", _GRAD_INPUT_HINT,
                           "dense-grad-input-sign", got, expected))
    raise Fail(_failed(f"{what} returns a wrong grad_input.", _GRAD_INPUT_HINT, None, got, expected))


# -- dense.backward.params ---------------------------------------------------

_PARAMS_HINT = ("After computing grad_input: dW = input.T @ grad_output, db = grad_output.sum(axis=0), "
                "then self.weights = self.weights - self.learning_rate * dW (same for the biases).")


def verdict_backward_params(inputs, output, answers=None, rtol=PARAMS_RTOL):
    answers = answers or answers_backward(inputs)
    W, b, lr = inputs["W"], inputs["b"], float(inputs["lr"])
    batch = inputs["x"].shape[0]
    ref_w_after, ref_b_after = answers["weights"], answers["biases"]
    w_after = student_array(output.get("weights"), "Dense.weights after backward", W.shape)
    b_after = student_array(output.get("biases"), "Dense.biases after backward", b.shape)
    require_finite(w_after, "Dense.weights after backward")
    require_finite(b_after, "Dense.biases after backward")
    w_same, b_same = bool(np.array_equal(w_after, W)), bool(np.array_equal(b_after, b))
    if w_same or b_same:
        which = "weights and biases are" if w_same and b_same else ("weights are" if w_same else "biases are")
        raise Fail(Result.failed(
            f"The {which} unchanged after Dense.backward (learning_rate={lr:g}): the layer never learns.",
            hint="Assign the new values to the layer's attributes: self.weights = self.weights - "
                 "self.learning_rate * dW (or self.weights -= ...). Updating a local variable or a "
                 "copy leaves the layer as it was.",
            diagnosis="dense-params-not-updated"))
    # The gradients as the student's update applied them, and as they should be.
    dw_got, db_got = (W - w_after) / lr, (b - b_after) / lr
    dw_exp, db_exp = (W - ref_w_after) / lr, (b - ref_b_after) / lr
    dw_ok, db_ok = close_to_scale(dw_got, dw_exp, rtol), close_to_scale(db_got, db_exp, rtol)
    if dw_ok and db_ok:
        return Result.passed()
    sw, sb = scale_between(dw_got, dw_exp), scale_between(db_got, db_exp)
    sw = 1.0 if dw_ok else sw
    sb = 1.0 if db_ok else sb
    details = {"dW": mismatch_details(dw_got, dw_exp), "db": mismatch_details(db_got, db_exp),
               "dW_scale": sw, "db_scale": sb, "batch": batch, "learning_rate": lr}
    if near(sw, 1 / batch):
        raise Fail(Result.failed(
            f"The weight update is {batch} times too small: dW is divided by the batch size "
            f"({batch}){' (and so is db)' if near(sb, 1 / batch) else ''}. grad_output already "
            "carries the 1/batch from the mean loss, so dividing again shrinks every step.",
            hint="Use dW = input.T @ grad_output and db = grad_output.sum(axis=0) with no "
                 "division by the batch size.", diagnosis="dense-grad-divided-by-batch", **details))
    if near(sw, -1.0) or (sw == 1.0 and near(sb, -1.0)):
        which = "weights and biases" if near(sb, -1.0) and sw != 1.0 else ("weights" if sw != 1.0 else "biases")
        raise Fail(Result.failed(
            f"The {which} move in the direction of the gradient (gradient ascent): the loss goes "
            "up instead of down.",
            hint="Gradient descent subtracts: self.weights = self.weights - self.learning_rate * dW.",
            diagnosis="dense-update-sign", **details))
    if sw == 1.0 and near(sb, 1 / batch):
        raise Fail(Result.failed(
            f"The bias gradient is averaged over the batch (grad_output.mean(axis=0)), so the "
            f"bias step is {batch} times too small; the weight step is right.",
            hint="db = grad_output.sum(axis=0): grad_output is already divided by the batch size.",
            diagnosis="dense-bias-grad-mean", **details))
    if near(sw, 1 / lr) or near(sw, 0.1 / lr) or near(sw, lr):
        if near(sw, 1 / lr):
            step = "dW without the learning rate"
        elif near(sw, 0.1 / lr):
            step = "0.1 * dW, a hard-coded learning rate"
        else:
            step = "learning_rate**2 * dW (the learning rate is applied twice)"
        raise Fail(Result.failed(
            f"The update step is {step}, not learning_rate * dW: the layer was built with "
            f"learning_rate={lr:g}.",
            hint="Store the constructor's learning_rate (self.learning_rate = learning_rate) and "
                 "use it once: self.weights -= self.learning_rate * dW.",
            diagnosis="dense-learning-rate-ignored", **details))
    if not dw_ok:
        raise Fail(Result.failed("Dense.backward updates the weights with a wrong dW.",
                                 hint=_PARAMS_HINT, **details))
    raise Fail(Result.failed("Dense.backward updates the biases with a wrong db.",
                             hint=_PARAMS_HINT, **details))


# ---------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------

@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    tol = config.tolerance
    return guard([
        Check("dense.init", "Dense starts with small zero-mean random weights and zero biases",
              probe_init, verdict_init, init_inputs, points=5, requires=("Dense",), entry="{cls}.__init__",
              hint=_INIT_HINT),
        Check("dense.forward", "Dense computes input @ W + b", probe_forward,
              functools.partial(verdict_forward, rtol=tol("dense.forward", FORWARD_RTOL)),
              forward_inputs, points=5, requires=("Dense",), entry="{cls}.forward", hint=_FORWARD_HINT,
              answers=answers_forward),
        Check("dense.backward.input", "Dense returns grad_output @ W.T with the weights before the step",
              probe_backward,
              functools.partial(verdict_backward_input, rtol=tol("dense.backward.input", GRAD_INPUT_RTOL)),
              backward_input_inputs, points=5, requires=("Dense",), hint=_GRAD_INPUT_HINT,
              pointer=GRAD_INPUT_POINTER, answers=answers_backward),
        Check("dense.backward.params", "Dense updates W and b by SGD", probe_backward,
              functools.partial(verdict_backward_params, rtol=tol("dense.backward.params", PARAMS_RTOL)),
              backward_params_inputs, points=10, requires=("Dense",), hint=_PARAMS_HINT,
              answers=answers_backward),
    ])


_L = "layers.py"
_INIT = "self.weights = np.random.randn(input_units, output_units) * 0.01"
_FWD = "return np.dot(input, self.weights) + self.biases"
_GIN = "grad_input = np.dot(grad_output, self.weights.T)"
_PG = "return np.dot(input.T, grad_output), grad_output.sum(axis=0)"
_STEP = ("self.weights = self.weights - self.learning_rate * grad_weights\n"
         "        self.biases = self.biases - self.learning_rate * grad_biases")


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    return [
        mutant("dense-init-unscaled", "dense", "dense-init-scale", _L, _INIT,
               "self.weights = np.random.randn(input_units, output_units)",
               "randn without the 0.01 factor"),
        mutant("dense-init-zeros", "dense", "dense-init-scale", _L, _INIT,
               "self.weights = np.zeros((input_units, output_units))", "all-zero weights"),
        mutant("dense-init-rand", "dense", "dense-init-not-centered", _L, _INIT,
               "self.weights = np.random.rand(input_units, output_units) * 0.01",
               "uniform [0, 0.01): right scale, not centred"),
        mutant("dense-init-bias-random", "dense", "dense-init-bias", _L,
               "self.biases = np.zeros(output_units)",
               "self.biases = np.random.randn(output_units) * 0.01", "random biases"),
        mutant("dense-forward-no-bias", "dense", "dense-forward-missing-bias", _L, _FWD,
               "return np.dot(input, self.weights)", "forward forgets + b"),
        mutant("dense-forward-wt", "dense", "dense-forward-transposed-weights", _L, _FWD,
               "return np.dot(input, self.weights.T) + self.biases", "forward uses W.T"),
        mutant("dense-grad-input-after-step", "dense", "dense-grad-input-after-update", _L,
               "self._step(grad_weights, grad_biases)\n        return grad_input",
               "self._step(grad_weights, grad_biases)\n        return np.dot(grad_output, self.weights.T)",
               "grad_input computed with the updated weights"),
        mutant("dense-dw-mean", "dense", "dense-grad-divided-by-batch", _L, _PG,
               "return np.dot(input.T, grad_output) / len(input), grad_output.sum(axis=0)",
               "dW divided by the batch size"),
        mutant("dense-dw-db-mean", "dense", "dense-grad-divided-by-batch", _L, _PG,
               "return np.dot(input.T, grad_output) / len(input), grad_output.mean(axis=0)",
               "dW and db divided by the batch size"),
        mutant("dense-db-mean", "dense", "dense-bias-grad-mean", _L, _PG,
               "return np.dot(input.T, grad_output), grad_output.mean(axis=0)",
               "db averaged instead of summed"),
        mutant("dense-ascent", "dense", "dense-update-sign", _L, _STEP,
               "self.weights = self.weights + self.learning_rate * grad_weights\n"
               "        self.biases = self.biases + self.learning_rate * grad_biases",
               "gradient ascent on W and b"),
        mutant("dense-bias-ascent", "dense", "dense-update-sign", _L, _STEP,
               "self.weights = self.weights - self.learning_rate * grad_weights\n"
               "        self.biases = self.biases + self.learning_rate * grad_biases",
               "gradient ascent on b only"),
        mutant("dense-update-local", "dense", "dense-params-not-updated", _L, _STEP,
               "weights = self.weights - self.learning_rate * grad_weights\n"
               "        biases = self.biases - self.learning_rate * grad_biases",
               "updates local variables"),
        mutant("dense-update-copy", "dense", "dense-params-not-updated", _L, _STEP,
               "w, b = self.weights.copy(), self.biases.copy()\n"
               "        w -= self.learning_rate * grad_weights\n"
               "        b -= self.learning_rate * grad_biases",
               "updates copies in place"),
        mutant("dense-lr-hardcoded", "dense", "dense-learning-rate-ignored", _L, _STEP,
               "self.weights = self.weights - 0.1 * grad_weights\n"
               "        self.biases = self.biases - 0.1 * grad_biases",
               "learning rate 0.1 hard-coded"),
        correct("dense-operators-inplace", edits=[
            (_L, _FWD, "return input @ self.weights + self.biases"),
            (_L, _GIN, "grad_input = grad_output @ self.weights.T"),
            (_L, _PG, "return input.T @ grad_output, grad_output.sum(axis=0)"),
            (_L, _STEP, "self.weights -= self.learning_rate * grad_weights\n"
                        "        self.biases -= self.learning_rate * grad_biases"),
        ], description="@ operators and in-place -= updates", families=("dense", "loss")),
        correct("dense-einsum", edits=[
            (_L, _FWD, "return np.einsum('bi,io->bo', input, self.weights) + self.biases"),
            (_L, _GIN, "grad_input = np.einsum('bo,io->bi', grad_output, self.weights)"),
            (_L, _PG, "return np.einsum('bi,bo->io', input, grad_output), np.einsum('bo->o', grad_output)"),
        ], description="einsum everywhere", families=("dense", "loss")),
        correct("dense-cached-input", edits=[
            (_L, _FWD, "self._cached_input = input.copy()\n"
                       "        return np.dot(input, self.weights) + self.biases"),
            (_L, _PG, "return np.dot(self._cached_input.T, grad_output), grad_output.sum(axis=0)"),
        ], description="backward uses the input cached by forward", families=("dense", "loss")),
        correct("dense-init-xavier-uniform", edits=[
            (_L, _INIT, "limit = np.sqrt(6.0 / (input_units + output_units))\n"
                        "        self.weights = np.random.uniform(-limit, limit, (input_units, output_units))"),
        ], description="Glorot uniform initialisation (std < 0.1 for the judged shapes)",
            families=("dense", "loss")),
        correct("dense-init-std-0.1", edits=[
            (_L, _INIT, "self.weights = np.random.normal(0.0, 0.1, size=(input_units, output_units))"),
        ], description="std exactly at the contract's bound", families=("dense", "loss")),
    ]
