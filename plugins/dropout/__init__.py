"""Dropout checks (bonus): drop rate and scaling in training, the mask in backward, eval mode.

The layer: ``Dropout(p=0.5)`` with a ``training`` attribute (True after
construction). Training: zero each unit with probability ``p`` and scale the
kept ones by ``1/(1-p)``; ``backward`` uses the mask of the latest
``forward``. ``training = False``: the identity.

The student's random generator is theirs (``np.random``, a private
``np.random.default_rng()``, ``np.random.binomial`` ...): no verdict re-draws
or predicts a mask. Every judgement is made from what the probe observed:

* the drop rate is the share of exact zeros in the output of a large,
  strictly positive input (so an output of 0 can only come from the mask),
  judged with a Hoeffding confidence interval (rigorous, no normal
  approximation): ``P(|rate - p| > t) <= 2 exp(-2 n t^2)``. With
  ``n = 200 * 500`` units and ``t`` solved for ``1e-7``, ``t ~= 0.0092``; two
  rates are judged, so a correct submission fails this family by bad luck
  with probability below ``2e-7 < 1e-6``. The rates tested (p in 0.2-0.35 and
  0.7-0.8) are at least 0.3 away from ``1 - p``, so a layer that uses ``p`` as
  the *keep* probability is told apart with the same margin;
* the scale of kept units is ``output / input`` on the kept units, which must
  be one constant equal to ``1/(1-p)`` up to float64 round-off;
* backward is judged against the zero pattern of the probe's own latest
  forward output.
"""
import inspect

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import as_array, mismatch_details, near, require_finite
from nncheck.plugins.dropout.diagnoses import DIAGNOSES
from nncheck.plugins.dropout.option import DROPOUT
from nncheck.plugins.dropout.sandboxed import (  # noqa: F401 - the worker-side half
    probe_backward,
    probe_eval,
    probe_train,
)

#: Hoeffding bound on the observed drop rate: P(|rate - p| > t) <= DELTA per rate tested.
DELTA = 1e-7
TRAIN_SHAPE = (200, 500)


def _hoeffding_t(n: int, delta: float = DELTA) -> float:
    return float(np.sqrt(np.log(2.0 / delta) / (2.0 * n)))


# --------------------------------------------------------------------------
# probe helpers (run in the worker; plain data only)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# inputs (grader)
# --------------------------------------------------------------------------

def train_inputs(rng):
    # strictly positive, "ones-ish" values: an exact 0 in the output can only be a dropped unit
    return {"x": rng.uniform(0.5, 1.5, size=TRAIN_SHAPE),
            "p_low": float(rng.choice([0.2, 0.25, 0.3, 0.35])),
            "p_high": float(rng.choice([0.7, 0.75, 0.8]))}


def backward_inputs(rng):
    b, n = int(rng.integers(40, 70)), int(rng.integers(90, 160))
    return {"x": rng.uniform(0.5, 1.5, size=(b, n)),
            "grad_output": rng.normal(size=(b, n)) + 0.1,  # no exact zeros (continuous)
            "p": float(rng.choice([0.25, 0.3, 0.35, 0.7, 0.75]))}


def eval_inputs(rng):
    b, n = int(rng.integers(20, 40)), int(rng.integers(30, 60))
    return {"x_train": rng.uniform(0.5, 1.5, size=(b, n)),
            "x": rng.normal(size=(b, n)) + 2.0,
            "grad_output": rng.normal(size=(b, n)) + 0.1,
            "p": float(rng.choice([0.3, 0.35, 0.7, 0.75]))}


# --------------------------------------------------------------------------
# probes (worker)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# verdicts (grader)
# --------------------------------------------------------------------------

def _scale_name(r, p):
    """Recognise a constant scale of kept units; returns (ok, diagnosis, words) ."""
    if near(r, 1.0 / (1.0 - p), 1e-9):
        return True, None, ""
    if near(r, 1.0, 1e-9):
        return False, "dropout-no-rescale", "are not rescaled at all (scale 1)"
    if near(r, 1.0 - p, 1e-9):
        return False, "dropout-wrong-scale", f"are multiplied by 1-p = {1 - p:g} instead of divided by it"
    if near(r, 1.0 / p, 1e-9):
        return False, "dropout-wrong-scale", f"are divided by p = {p:g} instead of by 1-p = {1 - p:g}"
    if near(r, p, 1e-9):
        return False, "dropout-wrong-scale", f"are multiplied by p = {p:g} instead of divided by 1-p"
    return False, "dropout-wrong-scale", f"are multiplied by {r:.6g} instead of 1/(1-p) = {1 / (1 - p):.6g}"


_RESCALE_HINT = ("Inverted dropout divides the kept units by the keep probability 1-p, so the expected "
                 "output equals the input: output = input * mask / (1 - p) with mask = rand >= p.")


def _judge_train_output(x, out, p, training_attr):
    """Problems (message, diagnosis) of one training forward of Dropout(p), and its drop rate."""
    zero = out == 0
    rate = float(zero.mean())
    t = _hoeffding_t(zero.size)
    problems = []
    if not zero.any():
        if np.allclose(out, x, rtol=1e-12, atol=0):
            why = (" Your layer's `training` attribute is " + repr(training_attr) + " after construction;"
                   " it must be True." if training_attr is not True else "")
            problems.append((f"Dropout({p:g}).forward in training mode returned its input unchanged: "
                             f"no unit was dropped.{why}", "dropout-not-dropping"))
        else:
            problems.append((f"Dropout({p:g}).forward in training mode dropped no unit at all (no zero in "
                             f"{zero.size} outputs), expected about {p:.0%} zeros.", "dropout-not-dropping"))
        return problems, rate
    if zero.all():
        return [(f"Dropout({p:g}).forward set every unit to 0.", "dropout-wrong-rate")], rate
    kept = ~zero
    ratio = out[kept] / x[kept]
    r = float(np.median(ratio))
    if zero.shape[0] > 1 and (zero == zero[:1]).all():
        problems.append((f"Dropout({p:g}) drops the same units in every row of the batch: the mask is drawn "
                         "once per feature instead of once per unit of every sample.",
                         "dropout-mask-shared-across-batch"))
    if abs(rate - p) <= t:
        pass
    elif abs(rate - (1 - p)) <= t:
        problems.append((f"Dropout({p:g}) dropped {rate:.1%} of the units, which is 1-p: p is used as the "
                         f"probability to KEEP a unit, but it is the probability to DROP it "
                         f"(expected {p:.0%} zeros).", "dropout-keep-prob-confused"))
    else:
        problems.append((f"Dropout({p:g}) dropped {rate:.2%} of the units; expected p = {p:.0%} "
                         f"(accepted {p - t:.2%} to {p + t:.2%}, a 1-in-10^7 confidence interval).",
                         "dropout-wrong-rate"))
    if not np.allclose(ratio, r, rtol=1e-9, atol=0):
        if np.allclose(out[kept], 1.0 / (1.0 - p), rtol=1e-9, atol=0) or np.allclose(out[kept], 1.0, rtol=1e-9):
            problems.append((f"Dropout({p:g}).forward returns the mask itself, not input * mask.",
                             "dropout-returns-mask"))
        else:
            problems.append((f"Dropout({p:g}).forward: the kept units are not the input times one constant "
                             f"(output/input ranges from {ratio.min():.4g} to {ratio.max():.4g}).",
                             "dropout-wrong-scale"))
        return problems, rate
    ok, code, words = _scale_name(r, p)
    if not ok:
        confused = any(c == "dropout-keep-prob-confused" for _, c in problems)
        if confused and near(r, 1.0 / p, 1e-9):
            pass  # consistent with the keep-probability mix-up already reported
        else:
            problems.append((f"In Dropout({p:g}).forward the kept units {words}.", code))
    return problems, rate


def verdict_train(inputs, output):
    x = inputs["x"]
    problems, rates, details = [], {}, {}
    for key in ("low", "high"):
        p = inputs[f"p_{key}"]
        out = require_finite(as_array(output[f"out_{key}"], f"Dropout({p:g}).forward(x)", x.shape),
                             f"Dropout({p:g}).forward(x)")
        found, rate = _judge_train_output(x, out, p, output.get(f"training_{key}"))
        rates[p] = rate
        problems += found
        again = as_array(output[f"again_{key}"], f"a second Dropout({p:g}).forward(x)", x.shape)
        if not found and (again == 0).any() and np.array_equal(again == 0, out == 0):
            problems.append((f"Dropout({p:g}) dropped exactly the same units in two forward calls: the "
                             "mask is drawn once and reused, but every forward must draw a new one.",
                             "dropout-mask-reused"))
    details["drop_rates"] = {f"p={p:g}": rate for p, rate in rates.items()}
    details["accepted_deviation"] = _hoeffding_t(x.size)
    details["false_failure_probability"] = 2 * DELTA
    if not problems:
        keep = output.get("keep_param")
        note = (f"; note: its argument `{keep}` is the probability to keep a unit (its name or the share of "
                "units it drops says so), so it was given 1-p") if keep else ""
        return Result.passed(", ".join(f"p={p:g}: {r:.2%} dropped" for p, r in rates.items())
                             + ", kept units scaled by 1/(1-p)" + note, **details)
    diagnosis = list(dict.fromkeys(code for _, code in problems))
    hint = _RESCALE_HINT
    if "dropout-keep-prob-confused" in diagnosis:
        hint = ("p is the DROP probability: keep a unit when np.random.rand(...) >= p (or draw "
                "np.random.binomial(1, 1 - p, shape)), then divide by 1 - p.")
    elif diagnosis[0] in ("dropout-not-dropping", "dropout-wrong-rate", "dropout-mask-shared-across-batch",
                          "dropout-mask-reused"):
        hint = ("Draw a new mask of the input's full shape in every training forward: "
                "mask = np.random.rand(*input.shape) >= p, then output = input * mask / (1 - p).")
    if output.get("param") and "keep" in str(output["param"]).lower():
        hint += f" (Your constructor calls its argument {output['param']!r}; the assignment's p drops units.)"
    return Result.failed(" ".join(m for m, _ in problems), hint=hint, diagnosis=diagnosis, **details)


def verdict_backward(inputs, output):
    x, g, p = inputs["x"], inputs["grad_output"], inputs["p"]
    first = as_array(output["first"], f"Dropout({p:g}).forward(x)", x.shape)
    last = as_array(output["last"], f"Dropout({p:g}).forward(x)", x.shape)
    gi = require_finite(as_array(output["grad_input"], f"Dropout({p:g}).backward(x, grad_output)", x.shape),
                        f"Dropout({p:g}).backward(x, grad_output)")
    z_first, z_last, z_grad = first == 0, last == 0, gi == 0
    details = {"dropped_in_forward": float(z_last.mean()), "zero_in_grad_input": float(z_grad.mean())}
    if not np.array_equal(z_grad, z_last):
        where = float((z_grad != z_last).mean())
        if not np.array_equal(z_first, z_last) and np.array_equal(z_grad, z_first):
            return Result.failed(
                f"Dropout({p:g}).backward uses the mask of an earlier forward call, not of the latest one.",
                hint="Store the mask in self in every training forward and use that stored mask in backward.",
                diagnosis="dropout-stale-mask", **details)
        if not z_grad.any():
            return Result.failed(
                f"Dropout({p:g}).backward lets the gradient through every unit, also the ones the forward "
                f"dropped ({z_last.mean():.0%} of them).",
                hint="A dropped unit did not influence the output, so its gradient is 0: "
                     "grad_input = grad_output * mask / (1 - p), with the mask stored by forward.",
                diagnosis="dropout-backward-not-masked", **details)
        return Result.failed(
            f"Dropout({p:g}).backward zeroes other units than the latest forward dropped ({where:.0%} of the "
            "units differ): it draws a new mask instead of reusing the forward's.",
            hint="Save the mask in forward (self.mask = ...) and multiply grad_output by that same mask in "
                 "backward; never call the random generator in backward.",
            diagnosis="dropout-mask-changed", **details)
    kept = ~z_last
    if not kept.any():
        raise Fail(Result.failed(f"Dropout({p:g}).forward dropped every unit, so backward cannot be judged.",
                                 diagnosis="dropout-wrong-rate", **details))
    expected_kept = g[kept] / (1.0 - p)
    if np.allclose(gi[kept], expected_kept, rtol=1e-9, atol=0):
        return Result.passed("backward uses the latest forward's mask and scale 1/(1-p)", **details)
    ratio = gi[kept] / g[kept]
    r = float(np.median(ratio))
    if np.allclose(ratio, r, rtol=1e-9, atol=0):
        ok, code, words = _scale_name(r, p)
        rate = float(z_last.mean())
        if not ok and near(r, 1.0 / p, 1e-9) and abs(rate - (1 - p)) < abs(rate - p):
            return Result.failed(
                f"Dropout({p:g}) keeps {1 - rate:.0%} of the units and backward divides their gradients by "
                f"p = {p:g}: p is used as the probability to KEEP a unit, but it is the probability to DROP it.",
                hint="Keep a unit when np.random.rand(...) >= p and divide by 1 - p, in forward and backward.",
                diagnosis="dropout-keep-prob-confused", **details)
        if not ok:
            return Result.failed(f"In Dropout({p:g}).backward the gradients of the kept units {words}.",
                                 hint="backward must apply exactly what forward applied: "
                                      "grad_input = grad_output * mask / (1 - p).",
                                 diagnosis=code, **details)
    expected = np.where(kept, g / (1.0 - p), 0.0)
    return Result.failed(f"Dropout({p:g}).backward is wrong on the kept units.",
                         hint="grad_input = grad_output * mask / (1 - p), with the mask of the latest forward.",
                         diagnosis="dropout-wrong-scale", **details, **mismatch_details(gi, expected))


def verdict_eval(inputs, output):
    x, g, p = inputs["x"], inputs["grad_output"], inputs["p"]
    out = require_finite(as_array(output["out"], f"Dropout({p:g}).forward(x) with training=False", x.shape),
                         "Dropout.forward(x) with training=False")
    gi = as_array(output["grad_input"], f"Dropout({p:g}).backward(x, grad_output) with training=False", x.shape)
    # identity: only float64 round-off of e.g. x * 1.0 is tolerated
    fwd_ok = np.allclose(out, x, rtol=1e-12, atol=0)
    bwd_ok = np.allclose(gi, g, rtol=1e-12, atol=0)
    if fwd_ok and bwd_ok:
        return Result.passed("identity in evaluation mode")
    initial = output.get("training_initial")
    extra = ""
    if initial == "<missing>":
        extra = (" Your layer has no `training` attribute: the grader (like the notebook) switches to "
                 "evaluation with `layer.training = False`, so name the flag `training`.")
    problems = []
    for what, got, want in (("forward", out, x), ("backward", gi, g)):
        if np.allclose(got, want, rtol=1e-12, atol=0):
            continue
        zero = (got == 0) & (want != 0)
        ratio = got[want != 0] / want[want != 0]
        r = float(np.median(ratio))
        if zero.any():
            problems.append(f"with training=False, {what} still zeroes {zero.mean():.0%} of the units.")
        elif np.allclose(ratio, r, rtol=1e-9, atol=0) and near(r, 1 - p, 1e-9):
            problems.append(f"with training=False, {what} multiplies by 1-p = {1 - p:g}; with inverted dropout "
                            "(rescaled in training) evaluation is the plain identity.")
        elif np.allclose(ratio, r, rtol=1e-9, atol=0):
            problems.append(f"with training=False, {what} multiplies by {r:.6g} instead of returning its "
                            "argument unchanged.")
        else:
            problems.append(f"with training=False, {what} does not return its argument unchanged.")
    details = mismatch_details(out, x) if not fwd_ok else mismatch_details(gi, g)
    return Result.failed(f"Dropout({p:g}): " + " Also ".join(problems) + extra,
                         hint="When self.training is False, forward must return input and backward grad_output "
                              "unchanged (no mask, no scaling).",
                         diagnosis="dropout-active-at-eval", **details)


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    return guard([
        Check("dropout.train_forward", "Dropout drops units with probability p and rescales the rest by 1/(1-p)",
              probe_train, verdict_train, train_inputs, section="bonus", points=4, requires=("Dropout",),
              hint="In training: mask = np.random.rand(*input.shape) >= p; return input * mask / (1 - p)."),
        Check("dropout.backward", "Dropout backward uses the latest forward's mask",
              probe_backward, verdict_backward, backward_inputs, section="bonus", points=3,
              requires=("Dropout",),
              hint="Store the mask in forward; backward returns grad_output * mask / (1 - p)."),
        Check("dropout.eval", "Dropout is the identity when training is False",
              probe_eval, verdict_eval, eval_inputs, section="bonus", points=3, requires=("Dropout",),
              entry="{cls}.forward",
              hint="if not self.training: return input (and grad_output in backward)."),
    ])


@nncheck.hookimpl
def nncheck_options(config):
    return [DROPOUT]


@nncheck.hookimpl(specname="nncheck_selftest_variants")
def nncheck_selftest_form_variants(config):
    """The option in the forms students write it: an own-named class, a flag, a switch (selftest.py)."""
    from nncheck.plugins.dropout.selftest import form_variants

    return form_variants()


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    f = "regularization.py"
    draw = "keep = np.random.rand(*input.shape) >= self.p\n        self.mask = keep / (1.0 - self.p)"
    return [
        mutant("dropout-no-rescale", "dropout", "dropout-no-rescale", f,
               "self.mask = keep / (1.0 - self.p)", "self.mask = keep.astype(float)",
               "kept units are not divided by 1-p"),
        mutant("dropout-active-at-eval", "dropout", "dropout-active-at-eval", f,
               "if not self.training:\n            return input\n",
               "if False:\n            return input\n",
               "forward keeps dropping units when training is False"),
        mutant("dropout-mask-changed", "dropout", "dropout-mask-changed", f,
               "return grad_output * self.mask",
               "return grad_output * ((np.random.rand(*grad_output.shape) >= self.p) / (1.0 - self.p))",
               "backward draws a new mask instead of reusing the forward's"),
        mutant("dropout-keep-prob-confused", "dropout", "dropout-keep-prob-confused", f, draw,
               "keep = np.random.rand(*input.shape) < self.p\n        self.mask = keep / self.p",
               "p used as the probability to keep a unit"),
        correct("dropout-private-rng", [
            (f, "self.mask = None\n", "self.mask = None\n        self._rng = np.random.default_rng()\n"),
            (f, "keep = np.random.rand(*input.shape) >= self.p", "keep = self._rng.random(input.shape) >= self.p"),
        ], description="an unseeded private np.random.default_rng()", families=("dropout",)),
        correct("dropout-binomial", [
            (f, draw, "self.mask = np.random.binomial(1, 1 - self.p, size=input.shape) / (1 - self.p)"),
        ], description="mask drawn with np.random.binomial", families=("dropout",)),
        correct("dropout-bool-mask", [
            (f, draw, "self.keep = np.random.uniform(size=input.shape) > self.p\n"
                      "        self.mask = None\n"
                      "        return np.where(self.keep, input, 0.0) / (1 - self.p)"),
            (f, "return grad_output * self.mask", "return grad_output * self.keep / (1 - self.p)"),
        ], description="boolean mask stored, np.where, scale applied separately", families=("dropout",)),
    ]
