"""Loss checks: softmax cross-entropy per sample, and its gradient.

The logits mix scales on purpose: a nearly uniform row, ordinary rows and
rows of +/-50 (large enough to expose a sloppy formula, small enough that
the notebook's own un-shifted ``np.exp`` does not overflow: that happens
only beyond ~700).

Recognised mistakes:

* ``loss-not-per-sample``: a scalar (the mean or the sum) instead of ``[b]``.
* ``loss-wrong-sign``: the loss is ``+a_correct - log sum exp a``.
* ``loss-log-clipped``: right except on a confidently wrong row, where it is capped
  (``log(softmax + eps)``, clipped probabilities).
* ``loss-grad-not-divided-by-batch``: gradient == b * reference.
* ``loss-grad-wrong-sign``: gradient == -reference (``onehot - softmax``).
* ``loss-grad-missing-onehot``: gradient == softmax (/ b), the one-hot never subtracted.
"""
import functools

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import close_to_scale, student_array, mismatch_details, near, require_finite, scale_between
from nncheck.probes import as_float_array
from nncheck.plugins.loss.diagnoses import DIAGNOSES
from nncheck.plugins.loss.sandboxed import (  # noqa: F401 - the worker-side half
    probe_grad,
    probe_value,
)

# Relative to the largest expected entry (see _close). A stable and a naive (un-shifted)
# float64 implementation agree to ~1e-14 on these logits; 1e-7 also forgives float32
# arithmetic, and every judged mistake is off by a factor (b, -1, a scalar) or by O(1).
VALUE_RTOL = 1e-6
GRAD_RTOL = 1e-6


# ---------------------------------------------------------------------------
# worker side
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# grading side
# ---------------------------------------------------------------------------

def _large_row(rng, k, answer_positive):
    """A row of +/-50 (plus a little noise) whose answer sits on a +50 or a -50 entry."""
    signs = rng.choice([-1.0, 1.0], size=k)
    answer = int(rng.integers(k))
    signs[answer] = 1.0 if answer_positive else -1.0
    signs[(answer + 1) % k] = -signs[answer]  # both signs present in the row
    return 50.0 * signs + 0.5 * rng.normal(size=k), answer


def _logits(rng, b, k):
    logits = np.empty((b, k))
    answers = rng.integers(0, k, size=b)
    logits[0] = 0.01 * rng.normal(size=k)                      # nearly uniform
    logits[1], answers[1] = _large_row(rng, k, True)           # loss ~ 0
    logits[2], answers[2] = _large_row(rng, k, False)          # loss ~ 100
    for i in range(3, b):
        logits[i] = rng.choice([0.5, 2.0, 5.0, 15.0]) * rng.normal(size=k)
    order = rng.permutation(b)
    return logits[order], answers[order].astype(np.int64)


def value_inputs(rng):
    b, k = int(rng.integers(6, 10)), int(rng.integers(4, 8))
    logits, answers = _logits(rng, b, k)
    return {"logits": logits, "answers": answers}


def grad_inputs(rng):
    b, k = int(rng.integers(11, 17)), int(rng.integers(3, 8))  # b is the signature of a missing /b
    logits, answers = _logits(rng, b, k)
    return {"logits": logits, "answers": answers}


_VALUE_HINT = ("For each row: loss = -logits[i, answer_i] + log(sum_j exp(logits[i, j])); "
               "return the vector of b losses (train() takes the mean).")


def answers_value(inputs):
    """The reference's per-sample losses for these logits (the only code here that calls it)."""
    from nncheck import reference as ref

    return {"loss": ref.softmax_crossentropy_with_logits(inputs["logits"], inputs["answers"])}


def answers_grad(inputs):
    """The reference's gradient of the mean loss for these logits."""
    from nncheck import reference as ref

    return {"grad": ref.grad_softmax_crossentropy_with_logits(inputs["logits"], inputs["answers"])}


def verdict_value(inputs, output, answers=None, rtol=VALUE_RTOL):
    expected = (answers or answers_value(inputs))["loss"]
    logits, answers = inputs["logits"], inputs["answers"]
    b = len(logits)
    what = "softmax_crossentropy_with_logits(logits, answers)"
    got = student_array(output.get("loss"), what)
    if got.size == 1 and b > 1:
        value = float(got.ravel()[0])
        if near(value, float(expected.mean()), 1e-6):
            did = "the mean over the batch"
        elif near(value, float(expected.sum()), 1e-6):
            did = "the sum over the batch"
        else:
            did = "a single number"
        raise Fail(Result.failed(
            f"{what} returns {did} ({value:.6g}) instead of one loss per sample (shape [{b}]).",
            hint="Do not average or sum: return the [b] vector of per-sample losses; the caller "
                 "(train) takes the mean itself.",
            diagnosis="loss-not-per-sample", expected=expected, got=got))
    got = student_array(got, what, expected.shape)
    require_finite(got, what)
    if close_to_scale(got, expected, rtol):
        return Result.passed()
    if close_to_scale(got, -expected, rtol):
        raise Fail(Result.failed(
            f"{what} has the wrong sign: a cross-entropy is never negative.",
            hint="loss = -logits[answer] + log(sum(exp(logits))), not the other way round.",
            diagnosis="loss-wrong-sign", **mismatch_details(got, expected)))
    scale = float(np.abs(expected).max(initial=0.0))
    bad = ~np.isclose(got, expected, rtol=rtol, atol=rtol * scale)
    if np.all(expected[bad] > 20) and np.all(got[bad] < expected[bad]):
        i = int(np.flatnonzero(bad)[0])
        raise Fail(Result.failed(
            f"{what} is right except for a confidently wrong prediction (the correct logit far "
            f"below the largest): loss {got[i]:.4g} instead of {expected[i]:.4g}. Something caps "
            "the loss there, typically log(softmax + eps) or clipping the probabilities.",
            hint="Compute the loss from the logits themselves: -logit_correct + log(sum(exp(logits))), "
                 "subtracting the row's maximum inside exp for stability; never take log of a softmax.",
            diagnosis="loss-log-clipped", **mismatch_details(got, expected)))
    raise Fail(Result.failed(f"{what} is wrong.", hint=_VALUE_HINT, **mismatch_details(got, expected)))


_GRAD_HINT = ("grad = (softmax(logits) - onehot(answers)) / b, where softmax is taken along each row "
              "and b is the batch size.")


def verdict_grad(inputs, output, answers=None, rtol=GRAD_RTOL):
    expected = (answers or answers_grad(inputs))["grad"]
    logits, answers = inputs["logits"], inputs["answers"]
    b, k = logits.shape
    what = "grad_softmax_crossentropy_with_logits(logits, answers)"
    got = student_array(output.get("grad"), what, expected.shape)
    require_finite(got, what)
    if close_to_scale(got, expected, rtol):
        return Result.passed()
    details = mismatch_details(got, expected)
    s = scale_between(got, expected)
    if near(s, float(b)):
        raise Fail(Result.failed(
            f"{what} is {b} times too large: it is not divided by the batch size (b = {b}). "
            "train() minimises the MEAN loss over the batch, so its gradient carries a 1/b.",
            hint="Return (softmax - onehot) / logits.shape[0].",
            diagnosis="loss-grad-not-divided-by-batch", scale=s, **details))
    if near(s, -1.0) or near(s, -float(b)):
        codes = ["loss-grad-wrong-sign"] + (["loss-grad-not-divided-by-batch"] if near(s, -float(b)) else [])
        extra = f" and {b} times too large (not divided by the batch size)" if len(codes) > 1 else ""
        raise Fail(Result.failed(
            f"{what} has the wrong sign{extra}: it is (onehot - softmax), which makes training "
            "climb the loss.",
            hint="The derivative of -a_correct + log sum exp a is softmax - onehot.",
            diagnosis=codes, scale=s, **details))
    if near(s, 1.0 / b):
        raise Fail(Result.failed(
            f"{what} is divided by the batch size twice ({b} times too small).",
            hint="Divide (softmax - onehot) by the batch size once.", scale=s, **details))
    # softmax without the one-hot subtracted: expected + onehot / b == softmax / b
    onehot = np.eye(k)[answers]
    for factor, how in ((1.0 / b, ""), (1.0, " (and not divided by the batch size)")):
        if close_to_scale(got, (expected + onehot / b) * (b * factor), rtol):
            raise Fail(Result.failed(
                f"{what} returns the softmax itself{how}: the one-hot of the correct answers is "
                "never subtracted.", hint=_GRAD_HINT, diagnosis="loss-grad-missing-onehot", **details))
    raise Fail(Result.failed(f"{what} is wrong.", hint=_GRAD_HINT, **details))


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
        Check("loss.value", "softmax_crossentropy_with_logits returns one loss per sample",
              probe_value, functools.partial(verdict_value, rtol=tol("loss.value", VALUE_RTOL)),
              value_inputs, points=5, requires=("softmax_crossentropy_with_logits",), hint=_VALUE_HINT,
              entry="softmax_crossentropy_with_logits", answers=answers_value),
        Check("loss.grad", "grad_softmax_crossentropy_with_logits is (softmax - onehot) / b",
              probe_grad, functools.partial(verdict_grad, rtol=tol("loss.grad", GRAD_RTOL)),
              grad_inputs, points=5, requires=("grad_softmax_crossentropy_with_logits",), hint=_GRAD_HINT,
              entry="grad_softmax_crossentropy_with_logits", answers=answers_grad),
    ])


_F = "loss.py"
_VAL = "return -_log_softmax(logits)[rows, reference_answers]"
_GRAD = "return (softmax - ones_for_answers) / logits.shape[0]"
_GRAD_BODY = """    ones_for_answers = np.zeros_like(logits)
    ones_for_answers[np.arange(len(logits)), reference_answers] = 1
    softmax = np.exp(_log_softmax(logits))
    return (softmax - ones_for_answers) / logits.shape[0]"""


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    return [
        mutant("loss-mean", "loss", "loss-not-per-sample", _F, _VAL,
               "return -_log_softmax(logits)[rows, reference_answers].mean()", "returns the mean"),
        mutant("loss-sum", "loss", "loss-not-per-sample", _F, _VAL,
               "return -_log_softmax(logits)[rows, reference_answers].sum()", "returns the sum"),
        mutant("loss-sign", "loss", "loss-wrong-sign", _F, _VAL,
               "return _log_softmax(logits)[rows, reference_answers]", "log-likelihood, not its negative"),
        mutant("loss-log-softmax-eps", "loss", "loss-log-clipped", _F, _VAL,
               "return -np.log(np.exp(_log_softmax(logits)) + 1e-15)[rows, reference_answers]",
               "log(softmax + eps) caps the loss near 34.5"),
        mutant("loss-grad-no-batch", "loss", "loss-grad-not-divided-by-batch", _F, _GRAD,
               "return softmax - ones_for_answers", "gradient of the summed loss"),
        mutant("loss-grad-sign", "loss", "loss-grad-wrong-sign", _F, _GRAD,
               "return (ones_for_answers - softmax) / logits.shape[0]", "onehot - softmax"),
        mutant("loss-grad-no-onehot", "loss", "loss-grad-missing-onehot", _F, _GRAD,
               "return softmax / logits.shape[0]", "forgets the one-hot"),
        correct("loss-logsumexp", edits=[
            (_F, _VAL, "m = logits.max(axis=1, keepdims=True)\n"
                       "    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))\n"
                       "    return lse - logits[rows, reference_answers]"),
        ], description="explicit stable log-sum-exp, no scipy", families=("dense", "loss")),
        correct("loss-notebook-naive", edits=[
            (_F, _VAL, "logits_for_answers = logits[np.arange(len(logits)), reference_answers]\n"
                       "    return -logits_for_answers + np.log(np.sum(np.exp(logits), axis=-1))"),
            (_F, _GRAD_BODY,
             "    ones_for_answers = np.zeros_like(logits)\n"
             "    ones_for_answers[np.arange(len(logits)), reference_answers] = 1\n"
             "    softmax = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)\n"
             "    return (- ones_for_answers + softmax) / logits.shape[0]"),
        ], description="the notebook's own un-shifted formulas", families=("dense", "loss")),
        correct("loss-grad-eye", edits=[
            (_F, _GRAD_BODY,
             "    onehot = np.eye(logits.shape[1])[reference_answers]\n"
             "    e = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
             "    return (e / e.sum(axis=1, keepdims=True) - onehot) / len(logits)"),
        ], description="one-hot via np.eye, stable softmax", families=("dense", "loss")),
    ]
