"""Numerical-gradient checks: the student's backward against finite differences
of the student's *own* forward, as the notebook's own tests do.

These are self-consistency checks (they need no reference): a backward that
does not differentiate its forward is wrong whatever the forward computes,
and a right backward of a wrong forward passes here (the forward's own check
fails instead), so one mistake is not counted twice.
The finite differences run in the worker (they call the student's forward
many times); the verdict compares the two gradients with the CS231n relative
error (:mod:`nncheck.gradient_check`).

Tolerances: central differences with ``h = 1e-5`` are exact up to round-off
for the affine maps of Dense and for ReLU away from its kink (inputs here
keep ``|x| >= 0.05``, far beyond ``h``), ~1e-10 relative; for the smooth
softmax cross-entropy the truncation error is O(h^2) ~ 1e-10 relative too.
A tolerance of 1e-6 (each entry measured against at least 1 % of the largest,
see :func:`gradient_error`) is far below every mistake (ratios like 1/b, -1, or
O(1) errors). Not covered: a forward that computes in float32 on purpose; its
central differences with h = 1e-5 are round-off, and such a submission fails here.
"""
import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.gradient_check import numerical_gradient, numerical_gradient_array
from nncheck.model import Check, Result
from nncheck.probes import as_float_array
from nncheck.verdicts import mismatch_details, near, require_finite, scale_between, student_array
from nncheck.plugins.gradcheck.sandboxed import (  # noqa: F401 - the worker-side half
    probe_dense,
    probe_loss,
    probe_relu,
)

RTOL = 1e-6


def _away_from_zero(rng, shape):
    x = rng.uniform(0.05, 1.5, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape)


# --------------------------------------------------------------------------- inputs (grader)
def relu_inputs(rng):
    b, n = int(rng.integers(3, 8)), int(rng.integers(4, 9))
    return {"x": _away_from_zero(rng, (b, n)), "g": rng.normal(size=(b, n))}


def dense_inputs(rng):
    b, n_in, n_out = int(rng.integers(11, 16)), int(rng.integers(3, 7)), int(rng.integers(2, 6))
    return {"x": rng.normal(size=(b, n_in)), "g": rng.normal(size=(b, n_out)) / b,
            "W": rng.normal(size=(n_in, n_out)) * 0.5, "b": rng.normal(size=n_out) * 0.5}


def loss_inputs(rng):
    b, k = int(rng.integers(5, 9)), int(rng.integers(3, 7))
    return {"logits": rng.normal(size=(b, k)) * 2.0, "answers": rng.integers(0, k, size=b)}


# --------------------------------------------------------------------------- probes (worker)


# --------------------------------------------------------------------------- verdicts (grader)
FLOOR = 1e-2  # of the largest numerical gradient entry: what each entry's error is measured against, at least


def gradient_error(got, numeric) -> float:
    """The largest relative error between two gradients, each entry measured against at least
    ``FLOOR`` times the largest numerical entry.

    The CS231n formula alone (``|a - b| / (|a| + |b|)``) judges an entry of 1e-6 (a softmax
    probability of 1e-5, over a batch of 8) by the round-off of central differences (2e-11: a loss
    of order one, h = 1e-5): a relative error of 1e-5, and the reference failed
    loss.numerical_gradient on 32 of 2,000 seeds (hidden inputs in a class run: a false failure).
    Measured against 1 % of the largest entry, the reference's largest error over 2,000 seeds is
    4.8e-8 (loss), 4.8e-9 (Dense), 3e-12 (ReLU), and none of 5,000 fails; every mistake these
    checks catch is of the size of the gradient itself (1/b, -1, a missing term).
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if not numeric.size:
        return 0.0
    floor = max(1e-8, FLOOR * float(np.max(np.abs(numeric))))
    return float(np.max(np.abs(got - numeric) / np.maximum(floor, np.abs(got) + np.abs(numeric))))


def _compare(analytic, numeric, what, hint):
    """Fail with a heatmap-ready error map unless ``analytic`` matches ``numeric``."""
    got = require_finite(student_array(analytic, what, numeric.shape), what)
    err = gradient_error(got, numeric)
    if err <= RTOL:
        return None, got
    return (f"{what} does not match the numerical gradient of your own forward "
            f"(largest relative error {err:.2g})", hint, mismatch_details(got, numeric)), got


def verdict_relu(inputs, output):
    numeric = np.asarray(output["numeric"])
    problem, got = _compare(output["analytic"], numeric, "ReLU.backward(x, grad_output)",
                            "grad_input = grad_output * (input > 0): the derivative of max(x, 0).")
    if problem is None:
        return Result.passed()
    message, hint, details = problem
    codes = []
    if np.allclose(got, inputs["g"]):
        codes, message = ["relu-backward-not-masked"], message + ": it passes grad_output through unmasked."
    return Result.failed(message, hint=hint, diagnosis=codes, **details)


def verdict_dense(inputs, output):
    b = len(inputs["x"])
    parts = [("analytic_x", "numeric_x", "Dense.backward's grad_input",
              "grad_input = grad_output @ W.T (with the weights before the step)."),
             ("analytic_W", "numeric_W", "the weight step of Dense.backward (lr = 1)",
              "dW = input.T @ grad_output: a sum over the batch, not a mean."),
             ("analytic_b", "numeric_b", "the bias step of Dense.backward (lr = 1)",
              "db = grad_output.sum(axis=0): a sum over the batch, not a mean.")]
    for got_key, num_key, what, hint in parts:
        numeric = np.asarray(output[num_key])
        problem, got = _compare(output[got_key], numeric, what, hint)
        if problem is None:
            continue
        message, hint, details = problem
        s = scale_between(got, numeric)
        codes = []
        if not np.any(got):
            codes = ["dense-params-not-updated"] if got_key != "analytic_x" else []
            message += ": it is all zeros"
        elif near(s, 1.0 / b):
            codes = ["dense-bias-grad-mean" if got_key == "analytic_b" else "dense-grad-divided-by-batch"]
            message += f": exactly 1/{b} (the batch size) of it"
        elif near(s, -1.0):
            codes = ["dense-update-sign"] if got_key != "analytic_x" else []
            message += ": it has the opposite sign"
        return Result.failed(message, hint=hint, diagnosis=codes, **details)
    return Result.passed()


def verdict_loss(inputs, output):
    numeric = np.asarray(output["numeric"])
    b = len(inputs["answers"])
    problem, got = _compare(output["analytic"], numeric,
                            "grad_softmax_crossentropy_with_logits(logits, answers)",
                            "The gradient of the MEAN loss over the batch is (softmax - onehot) / batch.")
    if problem is None:
        return Result.passed()
    message, hint, details = problem
    codes = []
    if near(scale_between(got, numeric), float(b)):
        codes = ["loss-grad-not-divided-by-batch"]
        message += f": exactly {b} (the batch size) times it"
    return Result.failed(message, hint=hint, diagnosis=codes, **details)


@nncheck.hookimpl
def nncheck_checks(config):
    return guard([
        Check("relu.numerical_gradient", "ReLU's backward matches finite differences of its forward",
              probe_relu, verdict_relu, relu_inputs, points=2, requires=("ReLU",)),
        Check("dense.numerical_gradient", "Dense's gradients match finite differences of its forward",
              probe_dense, verdict_dense, dense_inputs, points=3, requires=("Dense",)),
        Check("loss.numerical_gradient", "The loss gradient matches finite differences of the loss",
              probe_loss, verdict_loss, loss_inputs, points=2,
              requires=("softmax_crossentropy_with_logits", "grad_softmax_crossentropy_with_logits")),
    ])
