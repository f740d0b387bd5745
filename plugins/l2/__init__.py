"""Option II checks: ``L2Dense`` (L2 regularisation; the notebook's ``Dense_reg`` too).

The assignment's loss is ``Crossentropy + alpha * sum(W**2)``, so the weight
gradient is ``x.T @ grad_output + 2 * alpha * W``; biases are not
regularised and nothing is divided by the batch (option II).

* ``l2.grad``: one ``backward`` with non-zero biases, a learning rate other
  than 1 and a batch size other than 10. The observed gradients
  ``(W_before - W_after) / lr`` and ``(b_before - b_after) / lr`` are
  compared with the reference ``L2Dense``; when they differ, the weight
  gradient is decomposed by least squares as ``s1 * (x.T @ g) + s2 * (2
  alpha W)`` (both regressors as the reference computes them; with random
  data they are linearly independent) and the bias gradient as ``t1 *
  g.sum(0) + t2 * alpha * b``, which names the mistake: ``l2-half-convention``
  (``alpha * W``, the notebook's own ``0.5 * reg * sum(W**2)`` convention),
  ``l2-divided-by-batch`` (penalty, data term or whole gradient divided by
  the batch), ``l2-regularises-bias``. The original notebook's ``Dense_reg``
  (``x.T @ g / batch + reg * W``, bias mean) gets both of the first two.
* ``l2.experiment``: the experiment the assignment asks for: an over-sized
  784-64-10 ReLU network on 500 MNIST digits, trained by the grader's own
  loop with the student's ``L2Dense`` with and without the penalty (same
  initial weights and batches); the L2 network must end with a smaller weight
  norm and a train/validation accuracy gap no more than ``GAP_SLACK`` (2
  percentage points, for evaluation noise) wider; title, criterion and
  message all say that margin.

The original notebook's ``Dense_reg(..., reg=...)`` reaches these checks as
``L2Dense`` through the runner's class aliases; probes find the coefficient's
keyword (``alpha``, ``reg``, ``lambda_``, ...) from the constructor's signature.
"""
import inspect

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.data import load_dataset
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import as_array, check_array, mismatch_details, require_finite
from nncheck.probes import GraderReLU, array_or_description, train_step
from nncheck.plugins.l2.diagnoses import DIAGNOSES
from nncheck.plugins.l2.option import CONVENTION, L2
from nncheck.plugins.l2.sandboxed import (  # noqa: F401 - the worker-side half
    probe_experiment,
    probe_grad,
)

# --------------------------------------------------------------------------
# Probe helpers (run in the worker; plain NumPy only)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# l2.grad
# --------------------------------------------------------------------------
def grad_inputs(rng):
    b = int(rng.choice([5, 6, 7, 9, 11, 13]))  # not 10, not 1-4: 1/b must not look like 1/2 or 2
    n_in, n_out = int(rng.integers(8, 15)), int(rng.integers(6, 12))
    return {"x": rng.normal(size=(b, n_in)), "grad_output": rng.normal(size=(b, n_out)) / b,
            "W": rng.normal(size=(n_in, n_out)) * 0.5, "b": rng.normal(size=n_out),
            "lr": float(rng.uniform(0.02, 0.08)), "alpha": float(rng.uniform(0.2, 0.5))}


def _fit2(obs, a, b):
    """Least squares ``obs ≈ s1 * a + s2 * b``; return ``(s1, s2, relative residual)``."""
    A = np.stack([a.ravel(), b.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(A, obs.ravel(), rcond=None)
    resid = np.linalg.norm(obs.ravel() - A @ coef) / max(np.linalg.norm(obs.ravel()), 1e-300)
    return float(coef[0]), float(coef[1]), float(resid)


def _is(value, target, tol=1e-4):
    return abs(value - target) <= tol * max(1.0, abs(target))


def _coef_words(how):
    name = how.get("coefficient") or "alpha"
    return name.replace("attribute ", "")


def _weight_findings(s1, s2, batch, alpha, lr, coef, half_ok=False):
    """Turn the fitted ``s1`` (data term) and ``s2`` (penalty, 1 = 2*alpha*W) into findings:
    one short sentence per mistake, each with what was measured. ``half_ok``: the notebook's half
    convention (``alpha * W``) is not a mistake (the config's ``l2_convention``, lenient by default)."""
    findings = []  # (diagnosis code or None, sentence)
    if _is(s1, 1.0 / batch) and _is(s2, 1.0 / batch):
        return [("l2-divided-by-batch",
                 f"The whole weight gradient is divided by the batch size: it is {s1:.3g} (1/{batch}) of "
                 f"x.T @ grad_output + 2*{coef}*W, but grad_output is already averaged and the penalty "
                 "does not depend on the batch.")]
    if _is(s1, -1.0) and _is(s2, -1.0):
        return [("dense-update-sign", "The weights move uphill: the step is W + learning_rate * dW, "
                                      "not W - learning_rate * dW.")]
    if _is(s1, 0.0, 1e-9) and _is(s2, 0.0, 1e-9):
        return [("dense-params-not-updated", "The weights do not change in backward.")]
    if not (_is(s1, 1.0) and _is(s2, 1.0)) and _is(s1, s2, 1e-3):
        return [(None, f"The whole weight update is {s1:.4g} times the expected one: is the learning rate "
                       f"passed to the constructor ({lr:g}) the one you use?")]
    # the penalty part 2 * alpha * W
    k = 2.0 * alpha * s2  # the coefficient of W in the student's gradient
    measured = f"the weight gradient holds {k:.3g}*W for {coef}={alpha:.3g}"
    if _is(s2, 0.5):
        if not half_ok:
            findings.append(("l2-half-convention",
                             f"The penalty term is {coef}*W, not 2*{coef}*W: {measured} (the notebook's "
                             f"0.5*{coef}*sum(W**2) convention; the assignment's loss {coef}*sum(W**2) gives "
                             f"2*{coef}*W)."))
    elif _is(s2, 1.0 / batch):
        findings.append(("l2-divided-by-batch",
                         f"The penalty term 2*{coef}*W is divided by the batch size: {measured}, 1/{batch} of "
                         f"2*{coef}*W; the penalty is added once to the mean loss, so it is not divided."))
    elif _is(s2, 0.5 / batch) and half_ok:
        findings.append(("l2-divided-by-batch",
                         f"The penalty term {coef}*W (the notebook's half convention, accepted) is divided by "
                         f"the batch size: {measured}, 1/{batch} of {coef}*W; the penalty is added once to the "
                         "mean loss, so it is not divided."))
    elif _is(s2, 0.5 / batch):
        findings.append(("l2-half-convention",
                         f"The penalty term is {coef}*W, not 2*{coef}*W (the notebook's half convention): "
                         f"{measured}."))
        findings.append(("l2-divided-by-batch",
                         f"The penalty term is also divided by the batch size ({batch}), which it must not be."))
    elif _is(s2, 0.0):
        findings.append(("l2-penalty-missing", "The weight gradient has no L2 term: the weights do not decay."))
    elif s2 < 0:
        findings.append(("l2-penalty-wrong-sign",
                         f"The L2 term has the wrong sign: {measured}, expected +2*{coef}*W = "
                         f"{2 * alpha:.4g}*W; it makes the weights grow."))
    elif not _is(s2, 1.0):
        findings.append((None, f"The L2 term is off: {measured}, expected 2*{coef}*W = {2 * alpha:.4g}*W."))
    # the data part x.T @ grad_output
    if _is(s1, 1.0 / batch):
        findings.append(("l2-divided-by-batch",
                         f"x.T @ grad_output is divided by the batch size: the weight gradient holds {s1:.3g} "
                         f"(1/{batch}) of it, but grad_output is already averaged by the loss gradient "
                         "(as dense-grad-divided-by-batch in Dense)."))
    elif _is(s1, 0.0):
        findings.append((None, "The weight gradient lacks the data part x.T @ grad_output."))
    elif _is(s1, -1.0):
        findings.append(("dense-update-sign", "The data part x.T @ grad_output enters the weight update with "
                                              "the wrong sign."))
    elif not _is(s1, 1.0) and not _is(s1, 1.0 - 2.0 * alpha * s2 * lr):  # (penalty step after the data step)
        findings.append((None, f"The data part x.T @ grad_output is scaled by {s1:.4g} instead of 1."))
    return findings


def _bias_findings(t1, t2, batch, coef):
    findings = []
    if _is(t1, 1.0 / batch):
        findings.append(("l2-divided-by-batch",
                         f"The bias gradient is grad_output.mean(axis=0): {t1:.3g} (1/{batch}) of "
                         "grad_output.sum(axis=0), but grad_output is already averaged."))
    elif _is(t1, -1.0):
        findings.append(("dense-update-sign", "The biases move uphill (+ learning_rate * gradient)."))
    elif not _is(t1, 1.0):
        findings.append((None, f"The bias gradient is {t1:.4g} * grad_output.sum(axis=0) instead of "
                               "grad_output.sum(axis=0)."))
    if not _is(t2, 0.0, 1e-6):
        findings.append(("l2-regularises-bias",
                         f"The biases are regularised: their update holds {t2:.4g}*{coef}*b, but the penalty "
                         f"{coef}*sum(W**2) is on the weights only."))
    return findings


def findings_message(subject: str, findings, observed: str) -> str:
    """One finding: one sentence. Several: a first line saying how many, then one line per
    mistake (reports show each line on its own, :func:`nncheck.report.text.message_lines`)."""
    sentences = [sentence for _, sentence in findings]
    if len(sentences) == 1:
        return f"{subject}: {sentences[0]} (Observed with {observed}.)"
    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    return "\n".join([f"{subject} has {words.get(len(sentences), len(sentences))} mistakes "
                       f"(observed with {observed}):", *sentences])


HALF_NOTE = ("note: {coef}*W is the notebook's convention, the gradient of the penalty ({coef}/2)*sum(W**2); "
             "the assignment's penalty {coef}*sum(W**2) gives 2*{coef}*W, the same regularisation with {coef} "
             "doubled. Accepted here (an instructor can require the exact formula).")


def answers_grad(inputs):
    """The reference L2Dense's forward, grad_input and step on these inputs, and plain Dense's step
    (the only code of the check that calls the reference). The step is linear in the coefficient,
    so the verdict grades a coefficient the student hard-codes by scaling the ``penalty`` part."""
    from nncheck import reference as ref

    W, b, x, g = inputs["W"], inputs["b"], inputs["x"], inputs["grad_output"]
    lr, alpha = inputs["lr"], inputs["alpha"]
    reference = ref.L2Dense(W.shape[0], W.shape[1], learning_rate=lr, alpha=alpha)
    reference.weights, reference.biases = W.copy(), b.copy()
    out = reference.forward(x)
    grad_input = reference.backward(x, g)
    plain = ref.Dense(W.shape[0], W.shape[1], learning_rate=lr)
    plain.weights, plain.biases = W.copy(), b.copy()
    plain.backward(x, g)
    dW_exp, dW_data = (W - reference.weights) / lr, (W - plain.weights) / lr
    return {"out": out, "grad_input": grad_input, "dW_data": dW_data,  # x.T @ g, as the reference computes it
            "penalty": dW_exp - dW_data,  # 2 * alpha * W at the inputs' alpha, as the reference computes it
            "db": (b - reference.biases) / lr}


def verdict_grad(inputs, output, answers=None, rtol=1e-6, strict=False):
    """``strict``: the config's ``l2_convention = "strict"``: the half convention fails."""
    answers = answers or answers_grad(inputs)
    grader_alpha = inputs["alpha"]  # the answers' coefficient (a measured one may replace alpha below)
    W, b, x, g = inputs["W"], inputs["b"], inputs["x"], inputs["grad_output"]
    lr, alpha, batch = inputs["lr"], inputs["alpha"], len(inputs["x"])
    how = output.get("how") or {}
    cls_name = how.get("class", "L2Dense")
    measured = how.get("measured") if isinstance(how.get("measured"), dict) else None
    if measured is not None and not how.get("coefficient"):  # hard-coded: graded at the value it uses
        alpha = float(measured["alpha"])
        if _is(alpha, 0.0, 1e-12):
            return Result.failed(
                f"{cls_name} takes no argument for the L2 coefficient, and its weights do not shrink under a zero "
                "loss gradient: the weight gradient has no L2 term.",
                hint="dW = x.T @ grad_output + 2 * alpha * W, with alpha an argument of the constructor.",
                diagnosis="l2-penalty-missing", passed_as=how)
        inputs = dict(inputs, alpha=alpha)
        how = dict(how, coefficient="alpha")
    if not how.get("coefficient"):
        return Result.failed(
            f"nncheck could not find the regularisation coefficient of {cls_name}: its constructor takes "
            f"({', '.join(how.get('parameters') or [])}) and the instance has no attribute like alpha or reg.",
            hint="Give the constructor the coefficient as a keyword argument: "
                 "L2Dense(input_units, output_units, learning_rate=0.1, alpha=...) (reg=... also works).")
    coef = _coef_words(how)
    used = f"{coef}={alpha:.3g} passed as {how['coefficient']}, learning rate as {how.get('learning_rate')}"
    hard = ""
    if measured is not None:
        used = (f"its hard-coded coefficient, measured as {coef}={alpha:.3g}, learning rate as "
                f"{how.get('learning_rate')}")
        hard = (f"; note: {cls_name} takes no argument for the coefficient, so nncheck measured the one it uses "
                f"from the shrinkage of its weights under a zero loss gradient ({coef}={alpha:.3g}, if the "
                f"penalty is 2*{coef}*W) and graded the step at that value")

    exp_out, exp_gin, db_exp, dW_data = answers["out"], answers["grad_input"], answers["db"], answers["dW_data"]
    penalty = answers["penalty"]  # 2 * alpha * W at the grader's alpha: linear in it
    if alpha != grader_alpha:  # a coefficient the student's class hard-codes, measured
        penalty = penalty * (alpha / grader_alpha)
    dW_exp = dW_data + penalty

    # rtol 1e-6: float64 from different operation orders agrees to ~1e-12, and the observed
    # gradient (W - W_after) / lr loses ~1e-14 more (|W| ~ 1, lr >= 0.02).
    check_array(output.get("out"), exp_out, f"{cls_name}.forward(x)", rtol=rtol, atol=1e-9,
                hint="forward is input @ weights + biases, as in Dense: the penalty only changes backward.")
    W_after = require_finite(as_array(output.get("W_after"), f"{cls_name}.weights after backward", W.shape),
                             f"{cls_name}.weights after backward")
    b_after = require_finite(as_array(output.get("b_after"), f"{cls_name}.biases after backward", b.shape),
                             f"{cls_name}.biases after backward")
    dW = (W - W_after) / lr
    db = (b - b_after) / lr

    w_ok = np.allclose(dW, dW_exp, rtol=rtol, atol=1e-9)
    b_ok = np.allclose(db, db_exp, rtol=rtol, atol=1e-9)
    s1, s2, resid_w = _fit2(dW, dW_data, penalty)
    decoupled = (not w_ok and resid_w < 1e-6 and _is(s2, 1.0) and _is(s1, 1.0 - 2.0 * alpha * lr))
    # the notebook's half convention alpha*W (exact, or its penalty step after the data step)
    half = (not strict and not w_ok and resid_w < 1e-6 and _is(s2, 0.5)
            and (_is(s1, 1.0) or _is(s1, 1.0 - alpha * lr)))
    details = {"fit": {"data_term_scale": s1, "penalty_scale": s2, "residual": resid_w,
                       "meaning": "dW = data_term_scale * x.T@g + penalty_scale * 2*alpha*W"},
               "passed_as": how}
    findings = []
    if not (w_ok or decoupled or half):
        if resid_w < 1e-6:
            findings += _weight_findings(s1, s2, batch, alpha, lr, coef, half_ok=not strict)
        else:
            findings.append((None, "The weight gradient is not of the form a*(x.T @ grad_output) + c*W."))
            details.update(mismatch_details(dW, dW_exp))
    if not b_ok:
        t1, t2, resid_b = _fit2(db, g.sum(axis=0), alpha * b)
        details["bias_fit"] = {"sum_scale": t1, "alpha_b_scale": t2, "residual": resid_b}
        if resid_b < 1e-6:
            findings += _bias_findings(t1, t2, batch, coef)
        else:
            findings.append((None, "The bias gradient is not grad_output.sum(axis=0)."))
            details.setdefault("bias", mismatch_details(db, db_exp))
    if findings:
        codes = []
        for code, _ in findings:
            if code and code not in codes:
                codes.append(code)
        accepted = ""
        if not strict and resid_w < 1e-6 and _is(s2, 0.5):
            accepted = (f"\n(Its {coef}*W is the notebook's half convention, accepted: the gradient of "
                        f"({coef}/2)*sum(W**2).)")
        return Result.failed(
            findings_message(f"{cls_name}.backward", findings, f"batch size {batch}, {used}") + accepted,
            hint=f"dW = x.T @ grad_output + 2 * {coef} * W and db = grad_output.sum(axis=0); then "
                 "W -= learning_rate * dW, b -= learning_rate * db.",
            diagnosis=codes, **details)

    got_gin = as_array(output.get("grad_input"), f"{cls_name}.backward(x, grad_output)", exp_gin.shape)
    if not np.allclose(got_gin, exp_gin, rtol=rtol, atol=1e-9):
        if np.allclose(got_gin, g @ W_after.T, rtol=rtol, atol=1e-9):
            raise Fail(Result.failed(
                f"{cls_name}.backward returns grad_output @ W.T computed with the weights after the update.",
                hint="Compute grad_input before changing the weights.",
                diagnosis="dense-grad-input-after-update"))
        check_array(got_gin, exp_gin, f"{cls_name}.backward(x, grad_output)", rtol=rtol, atol=1e-9,
                    hint="grad_input = grad_output @ weights.T: the penalty does not change it.")
    note = (" (the penalty step is applied after the data step, which differs from the exact gradient "
            "step only by a term of order learning_rate * alpha)") if decoupled else ""
    if half:
        details["convention"] = "half"
        return Result.passed(f"dW = x.T @ grad_output + {coef}*W, biases not regularised ({used}); "
                             + HALF_NOTE.format(coef=coef), **details)
    return Result.passed(f"dW = x.T @ grad_output + 2*{coef}*W, biases not regularised ({used}){note}{hard}",
                         **details)


# --------------------------------------------------------------------------
# l2.experiment
# --------------------------------------------------------------------------
# 784-128-10: over-sized for 500 digits (100k weights) and half the cost of 784-256-10, with
# the same power. Measured with the reference over seeds 0-7 (float32, as the probe runs): L2
# ends with 0.60x the weight norm (0.55x with 256 hidden units) and a train/validation gap
# 1.3-4.3 points narrower (1.6-4.8 with 256), never wider, against the 2-point slack; without
# the penalty the norms are equal (1.00x: fails); 0.48 s of CPU per probe instead of 0.87 s.
# 10 epochs, not 15: over seeds 0-7 L2 ends with 0.65-0.66x the weight norm (0.60x after 15)
# and a gap 0.5-1.8 points narrower in every seed (1.5-3.9 after 15), a third less time.
# 784-64-10 (50k weights, still ~100 per digit): 0.68-0.69x the norm and a gap 0.4-2.1 points
# narrower in every one of seeds 0-7, at 0.27 s instead of 0.43 s.
EXP_SIZES = (784, 64, 10)
EXP_TRAIN, EXP_EPOCHS, EXP_BATCH, EXP_LR, EXP_ALPHA = 500, 10, 25, 0.1, 0.03
GAP_SLACK = 0.02   # "not larger": 20 of the 1000 validation digits of slack for evaluation noise
LAST = 3           # the gap is averaged over the last 3 epochs


def exp_inputs(rng, epochs=EXP_EPOCHS, alpha=EXP_ALPHA):
    return {"train_idx": rng.permutation(4000)[:EXP_TRAIN],
            "perms": np.stack([rng.permutation(EXP_TRAIN) for _ in range(epochs)]),
            "init_seed": int(rng.integers(2 ** 31)), "sizes": list(EXP_SIZES), "batch": EXP_BATCH,
            "lr": EXP_LR, "alpha": float(alpha)}


def margin_words(slack: float, noun: str = "") -> str:
    """``slack`` (a fraction of accuracy) in percentage points: "2 points", "the 2-point margin"."""
    pts = f"{100 * slack:.3g}"
    return f"{pts}-point {noun}" if noun else f"{pts} point{'' if pts == '1' else 's'}"


def verdict_experiment(inputs, output, slack=GAP_SLACK):
    how = output.get("how") or {}
    if "l2" not in output:
        return Result.failed(
            f"nncheck could not set the regularisation coefficient of {how.get('class', 'L2Dense')} "
            f"(constructor arguments: {', '.join(how.get('parameters') or [])}).",
            hint="Give the constructor the coefficient as a keyword argument alpha=... (or reg=...).")
    arms = {arm: {k: [float(v) for v in output[arm][k]] for k in ("train_acc", "val_acc", "weight_norm", "loss")}
            for arm in ("l2", "none")}
    gaps = {arm: [t - v for t, v in zip(a["train_acc"], a["val_acc"])] for arm, a in arms.items()}
    gap = {arm: float(np.mean(g[-LAST:])) for arm, g in gaps.items()}
    norm = {arm: a["weight_norm"][-1] for arm, a in arms.items()}
    details = {
        "curves": {"option": gaps["l2"], "baseline": gaps["none"],
                   "option_weight_norm": arms["l2"]["weight_norm"],
                   "baseline_weight_norm": arms["none"]["weight_norm"],
                   "option_val_acc": arms["l2"]["val_acc"], "baseline_val_acc": arms["none"]["val_acc"],
                   "option_train_acc": arms["l2"]["train_acc"], "baseline_train_acc": arms["none"]["train_acc"]},
        "metric": "train minus validation accuracy after each epoch (and the weights' L2 norm)",
        "criterion": f"the L2 network's final weight norm is smaller, and its train/validation gap (mean of "
                     f"the last {LAST} epochs) is at most {margin_words(slack)} wider than without L2 "
                     "(a margin for evaluation noise)",
        "network": "-".join(str(s) for s in inputs["sizes"]) + f" with ReLU, {len(inputs['train_idx'])} "
                   f"MNIST digits, {len(inputs['perms'])} epochs, batch {inputs['batch']}, learning rate "
                   f"{inputs['lr']}, alpha {inputs['alpha']}",
        "final_gap": gap, "final_weight_norm": norm, "passed_as": how,
    }
    wider = 100 * (gap["l2"] - gap["none"])  # percentage points
    summary = (f"weight norm {norm['l2']:.3g} with L2 vs {norm['none']:.3g} without; train/validation gap "
               f"{gap['l2']:.1%} with L2 vs {gap['none']:.1%} without")
    if how.get("own_coefficient"):  # no argument for the coefficient: its own value, against plain Dense
        summary += (f" ({how.get('class', 'L2Dense')} at the coefficient it hard-codes, against your Dense "
                    "without the penalty)")
    if not all(np.isfinite(v) for v in (*norm.values(), *gap.values())):
        return Result.failed(f"The L2 experiment diverged (NaN or infinite weights): {summary}.",
                             hint="Check l2.grad: the penalty must shrink the weights a little at each step.",
                             **details)
    if not norm["l2"] < norm["none"]:
        return Result.failed(
            f"In the overfitting experiment your L2 network does not end with smaller weights: {summary}.",
            hint="The penalty's gradient 2*alpha*W should shrink the weights at every step.", **details)
    if gap["l2"] > gap["none"] + slack:
        return Result.failed(
            f"In the overfitting experiment L2 widens the train/validation gap by {wider:.1f} points, beyond "
            f"the {margin_words(slack, 'margin')}: {summary}.",
            hint="Check l2.grad; with the right gradient the penalty narrows the train/validation gap.",
            **details)
    if wider > 0.05:
        return Result.passed(f"{summary}: {wider:.1f} points wider, within the "
                             f"{margin_words(slack, 'margin')} for evaluation noise", **details)
    return Result.passed(f"{summary}: " + ("narrower" if wider < -0.05 else "the same"), **details)


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------
@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    rtol = config.tolerance("l2.grad", 1e-6)
    strict = config.settings.get(CONVENTION, L2.settings[CONVENTION][0]) == "strict"
    slack = config.tolerance("l2.experiment", GAP_SLACK)
    return guard([
        Check("l2.grad", "L2Dense adds 2*alpha*W to the weight gradient, not to the biases, undivided",
              probe_grad, lambda i, o, a=None: verdict_grad(i, o, a, rtol, strict), grad_inputs,
              section="options", points=12, requires=("L2Dense",), answers=answers_grad,
              hint="dW = x.T @ grad_output + 2 * alpha * W; db = grad_output.sum(axis=0)."),
        Check("l2.experiment", "L2 keeps weights smaller and does not widen the train/validation gap beyond "
              f"a {margin_words(slack, 'margin')} (MNIST)",
              probe_experiment, lambda i, o: verdict_experiment(i, o, slack),
              exp_inputs, section="options", points=8,
              requires=("L2Dense",), timeout=20, downstream=("l2.", "dense.", "relu."),
              full_edition_only=True,  # trains with the grader's stand-ins (nncheck.probes.STAND_INS)
              hint="An over-sized network on few digits overfits; the L2 penalty should shrink its weights."),
    ])


#: The instructor's setting under which the half convention is a mistake (variants graded under it).
STRICT = {"options": {"l2_convention": "strict"}}

NOTEBOOK_DENSE_REG = '''\
import numpy as np


class Layer:
    def __init__(self):
        pass

    def forward(self, input):
        return input

    def backward(self, input, grad_output):
        return np.dot(grad_output, np.eye(input.shape[1]))


# Implementation of Regularization, L^2 regularization
# reg in initial is the coefficient of regularization
class Dense_reg(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1, reg=0.001):
        self.learning_rate = learning_rate
        self.reg = reg
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return np.dot(input, self.weights) + self.biases

    def backward(self, input, grad_output):
        grad_input = np.dot(grad_output, self.weights.T)

        # compute gradient w.r.t. weights and biases
        grad_weights = {grad_weights}
        grad_biases = {grad_biases}

        assert grad_weights.shape == self.weights.shape and grad_biases.shape == self.biases.shape

        self.weights = self.weights - self.learning_rate * grad_weights
        self.biases = self.biases - self.learning_rate * grad_biases

        return grad_input
'''


@nncheck.hookimpl
def nncheck_options(config):
    return [L2]


@nncheck.hookimpl(specname="nncheck_selftest_variants")
def nncheck_selftest_form_variants(config):
    """The option in the forms students write it: an own-named class, a flag, a switch (selftest.py)."""
    from nncheck.plugins.l2.selftest import form_variants

    return form_variants()


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from dataclasses import replace

    from nncheck.variants import Variant, correct, mutant

    penalty = "return grad_weights + 2.0 * self.alpha * self.weights, grad_biases"
    param_grads = ('''    def _param_gradients(self, input, grad_output):
        grad_weights, grad_biases = super()._param_gradients(input, grad_output)
        ''' + penalty + "\n")
    half = "return grad_weights + self.alpha * self.weights, grad_biases"
    init = ("    def __init__(self, input_units, output_units, learning_rate=0.1, alpha=1e-4):\n"
            "        super().__init__(input_units, output_units, learning_rate)\n        self.alpha = alpha\n")
    no_argument = ("    def __init__(self, input_units, output_units, learning_rate=0.1):\n"
                   "        super().__init__(input_units, output_units, learning_rate)\n")
    return [
        # the half convention fails only under the instructor's strict setting; by default it passes
        replace(mutant("l2-half", "l2", "l2-half-convention", "options.py", penalty, half,
                       "alpha * W: the 0.5 * alpha * sum(W**2) convention, under l2_convention = 'strict'"),
                config=STRICT),
        correct("l2-half-convention-lenient", [("options.py", penalty, half)],
                description="alpha * W, the notebook's convention: passes with a note by default", families=("l2",)),
        mutant("l2-penalty-over-batch", "l2", "l2-divided-by-batch", "options.py", penalty,
               "return grad_weights + 2.0 * self.alpha * self.weights / len(input), grad_biases",
               "the penalty term divided by the batch size"),
        mutant("l2-whole-over-batch", "l2", "l2-divided-by-batch", "options.py", penalty,
               "return (grad_weights + 2.0 * self.alpha * self.weights) / input.shape[0], grad_biases",
               "the whole weight gradient divided by the batch size"),
        mutant("l2-bias-regularised", "l2", "l2-regularises-bias", "options.py", penalty,
               "return grad_weights + 2.0 * self.alpha * self.weights, grad_biases + 2.0 * self.alpha * self.biases",
               "the biases get the L2 term too"),
        Variant("l2-hard-coded-over-batch", "mutant", "l2", "l2-divided-by-batch", [
            ("options.py", init, no_argument),
            ("options.py", penalty, "return grad_weights + 2.0 * 0.003 * self.weights / len(input), grad_biases")],
            description="a hard-coded coefficient (no argument) whose penalty is divided by the batch size"),
        mutant("l2-no-penalty", "l2", "l2-penalty-missing", "options.py", penalty,
               "return grad_weights, grad_biases", "L2Dense without its penalty"),
        mutant("l2-penalty-sign", "l2", "l2-penalty-wrong-sign", "options.py", penalty,
               "return grad_weights - 2.0 * self.alpha * self.weights, grad_biases",
               "the penalty's gradient subtracted: the weights grow"),
        Variant("l2-notebook-dense-reg", "mutant", "l2", "l2-half-convention", files={
            "submission.py": NOTEBOOK_DENSE_REG.format(
                grad_weights="np.dot(input.T, grad_output) / input.shape[0] + self.reg * self.weights",
                grad_biases="grad_output.mean(axis=0)")},
            description="the original notebook's Dense_reg: x.T@g / batch + reg * W, bias mean, under "
                        "l2_convention = 'strict'", config=STRICT),
        Variant("l2-notebook-dense-reg-lenient", "mutant", "l2", "l2-divided-by-batch", files={
            "submission.py": NOTEBOOK_DENSE_REG.format(
                grad_weights="np.dot(input.T, grad_output) / input.shape[0] + self.reg * self.weights",
                grad_biases="grad_output.mean(axis=0)")},
            description="the original notebook's Dense_reg by default: its reg * W is accepted, the division "
                        "by the batch is not", lines={"submission.py": [31, 32]}),
        correct("l2-hard-coded-coefficient", [
            ("options.py", init, no_argument),
            ("options.py", penalty, "return grad_weights + 2.0 * 0.003 * self.weights, grad_biases")],
            description="the coefficient hard-coded (2 * 0.003 * W, no argument): measured, graded at it, with a "
                        "note (the experiment needs the coefficient as an argument, to turn it off)",
            families=("l2.grad",)),
        correct("l2-einsum-in-backward", [("options.py", param_grads, '''    def backward(self, input, grad_output):
        grad_input = np.einsum("bo,io->bi", grad_output, self.weights)
        grad_weights = np.einsum("bi,bo->io", input, grad_output) + 2 * self.alpha * self.weights
        grad_biases = np.einsum("bo->o", grad_output)
        self.weights -= self.learning_rate * grad_weights
        self.biases -= self.learning_rate * grad_biases
        return grad_input
''')], description="penalty added directly in backward with einsum, in-place updates", families=("l2",)),
        correct("l2-weight-decay-first", [("options.py", param_grads, '''    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        self.weights = self.weights * (1 - 2 * self.learning_rate * self.alpha)  # decay, then the data step
        self.weights = self.weights - self.learning_rate * input.T @ grad_output
        self.biases = self.biases - self.learning_rate * grad_output.sum(axis=0)
        return grad_input
''')], description="weight decay applied before the data step (the same update)", families=("l2",)),
        correct("l2-decay-after-step", [("options.py", param_grads, '''    def backward(self, input, grad_output):
        grad_input = super().backward(input, grad_output)
        self.weights = self.weights - self.learning_rate * 2 * self.alpha * self.weights
        return grad_input
''')], description="Dense's step, then the penalty step on the new weights", families=("l2",)),
        correct("l2-notebook-dense-reg-correct", files={
            "submission.py": NOTEBOOK_DENSE_REG.format(
                grad_weights="np.dot(input.T, grad_output) + 2 * self.reg * self.weights",
                grad_biases="grad_output.sum(axis=0)")},
            description="the notebook's Dense_reg(..., reg=...) naming with the assignment's 2*reg*W",
            families=("l2",)),
    ]


@nncheck.hookimpl
def nncheck_aliases(config):
    """The original notebook's own name for the L2 layer (its ``Dense_reg``) counts as ``L2Dense``."""
    return {"Dense_reg": "L2Dense"}
