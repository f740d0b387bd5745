"""BatchNorm checks (bonus): training forward, full backward, running statistics, eval mode.

The layer: ``BatchNorm(units, learning_rate=0.1, momentum=0.9, epsilon=1e-5)``
with attributes ``gamma``, ``beta``, ``running_mean``, ``running_var`` and
``training``. Training normalises with the batch mean and the *biased* batch
variance; backward returns the gradient through the batch statistics and
takes an SGD step on ``gamma``/``beta``; the running statistics follow
either momentum convention (``r = m*r + (1-m)*batch`` or PyTorch's
``r = (1-m)*r + m*batch``) with the biased or the unbiased batch variance;
``training = False`` normalises with the running statistics.

Constructor keywords are matched by name (``learning_rate``/``lr``,
``momentum``, ``epsilon``/``eps``), so a student's spelling does not matter.

Tolerances: where epsilon enters, its placement is a matter of style
(``sqrt(var + eps)`` or ``sqrt(var) + eps``); the inputs keep every variance
>= 0.25, so the two differ by at most ``eps / std`` ~ 2e-5 relative. Outputs
and gradients are therefore compared at ``rtol = 1e-4`` (5x that margin),
while every mistake recognised here changes them by percents (the unbiased
variance of a batch of <= 13 rows alone changes the output by >= 4 %).
"""
import functools
import inspect

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import as_array, mismatch_details, near, require_finite
from nncheck.plugins.batchnorm.diagnoses import DIAGNOSES
from nncheck.plugins.batchnorm.option import BATCHNORM
from nncheck.plugins.batchnorm.sandboxed import (  # noqa: F401 - the worker-side half
    probe_backward,
    probe_eval,
    probe_running,
    probe_train,
)

DEFAULTS = {"learning_rate": 0.1, "momentum": 0.9, "epsilon": 1e-5}  # CONTRACT §1


# --------------------------------------------------------------------------
# probe helpers (worker)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# inputs (grader)
# --------------------------------------------------------------------------

def _batch(rng, b, units, centre=None, spread=None):
    centre = rng.normal(0.0, 3.0, size=units) if centre is None else centre
    spread = rng.uniform(0.7, 3.0, size=units) if spread is None else spread
    x = centre + spread * rng.normal(size=(b, units))
    # keep every batch variance >= 0.25 (see the module docstring on epsilon)
    while x.var(axis=0).min() < 0.25:
        x = centre + spread * rng.normal(size=(b, units))
    return x


def _common(rng):
    b = int(rng.choice([5, 6, 7, 9, 11, 13]))
    units = int(rng.integers(3, 8))
    return b, units, {"learning_rate": float(rng.choice([0.05, 0.2, 0.3])),
                      "momentum": float(rng.choice([0.7, 0.8, 0.85])),
                      "epsilon": 1e-5,
                      "gamma": rng.uniform(0.5, 2.0, size=units) * rng.choice([-1.0, 1.0], size=units),
                      "beta": rng.normal(size=units)}


def train_inputs(rng):
    b, units, d = _common(rng)
    d["x"] = _batch(rng, b, units)
    return d


def backward_inputs(rng):
    b, units, d = _common(rng)
    d["x"] = _batch(rng, b, units)
    d["grad_output"] = rng.normal(size=(b, units)) / b
    return d


def running_inputs(rng):
    b, units, d = _common(rng)
    d["xs"] = [_batch(rng, b, units) for _ in range(4)]  # each batch with its own mean and variance
    return d


def eval_inputs(rng):
    b, units, d = _common(rng)
    centre = rng.normal(0.0, 3.0, size=units)
    d["xs_train"] = [_batch(rng, b, units, centre=centre) for _ in range(3)]
    # far from every training batch (so from any running average of them): batch and running
    # normalisation differ clearly
    d["x"] = _batch(rng, int(rng.choice([4, 6, 8])), units,
                    centre=centre + rng.uniform(4.0, 6.0, size=units) * rng.choice([-1.0, 1.0], size=units),
                    spread=rng.uniform(3.5, 4.5, size=units))
    return d


# --------------------------------------------------------------------------
# probes (worker)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# verdict helpers (grader)
# --------------------------------------------------------------------------

def _setting(output, key):
    v = (output.get("effective") or {}).get(key)
    return DEFAULTS[key] if v is None else float(v)


def _vector(got, what, units):
    arr = as_array(got, what)
    if arr.size != units:
        raise Fail(Result.failed(f"{what} has shape {arr.shape}, expected ({units},).",
                                 hint="gamma, beta, running_mean and running_var hold one value per unit."))
    return arr.reshape(units)


def _ref_layer(inputs, output, gamma=None, beta=None, momentum=None):
    from nncheck import reference as ref  # grader side only: the student edition has none

    units = len(inputs["gamma"])
    layer = ref.BatchNorm(units, learning_rate=_setting(output, "learning_rate"),
                          momentum=_setting(output, "momentum") if momentum is None else momentum,
                          epsilon=_setting(output, "epsilon"))
    layer.gamma = np.array(inputs["gamma"] if gamma is None else gamma, dtype=float)
    layer.beta = np.array(inputs["beta"] if beta is None else beta, dtype=float)
    return layer


def _normalised_with(inputs, output, x, mean, var, gamma=None, beta=None):
    """The reference's output for ``x`` normalised with the given statistics (eval mode)."""
    layer = _ref_layer(inputs, output, gamma, beta)
    layer.training = False
    layer.running_mean, layer.running_var = np.asarray(mean, float), np.asarray(var, float)
    return layer.forward(x)


def _close(got, expected, rtol):
    # atol relative to the array's scale: entries near 0 come from cancellation (gamma * x_hat + beta,
    # or the centred terms of the gradient), where the epsilon-placement difference (relative to the
    # terms, not to their sum) would otherwise exceed rtol (see the module docstring)
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=rtol * float(np.abs(expected).max(initial=1e-300))))


def _settings_note(output):
    missing = [k for k, v in (output.get("keywords") or {}).items() if v is None]
    if not missing:
        return {}
    return {"settings_not_passed": missing,
            "settings_used": {k: _setting(output, k) for k in DEFAULTS}}


# --------------------------------------------------------------------------
# verdicts (grader)
# --------------------------------------------------------------------------

def verdict_train(inputs, output, rtol=1e-4):
    x = inputs["x"]
    b = len(x)
    what = "BatchNorm.forward(x) in training mode"
    got = require_finite(as_array(output["out"], what, x.shape), what)
    expected = _ref_layer(inputs, output).forward(x)
    details = _settings_note(output)
    if _close(got, expected, rtol):
        return Result.passed("normalised with the batch mean and biased variance, then gamma and beta", **details)
    details.update(mismatch_details(got, expected))
    mean, var = x.mean(axis=0), x.var(axis=0)
    checks = [
        (_normalised_with(inputs, output, x, mean, var * b / (b - 1)),
         f"normalises with the unbiased variance (divided by b-1 = {b - 1}); in training BatchNorm uses the "
         "biased batch variance (divided by b).",
         "Use input.var(axis=0) (ddof=0) to normalise.", "batchnorm-unbiased-variance"),
        (_normalised_with(inputs, output, x, mean, var, gamma=np.ones_like(mean), beta=np.zeros_like(mean)),
         "returns the normalised input without applying gamma and beta.",
         "The output is gamma * x_hat + beta.", "batchnorm-ignores-gamma-beta"),
        (_normalised_with(inputs, output, x, mean, var ** 2),
         "divides by the variance instead of the standard deviation.",
         "x_hat = (x - mean) / sqrt(var + eps).", "batchnorm-wrong-normalisation"),
        (_normalised_with(inputs, output, x, mean, np.sqrt(var)),
         "divides by sqrt(std) instead of the standard deviation: take the square root of the variance, "
         "not of the standard deviation.", "x_hat = (x - mean) / sqrt(var + eps).",
         "batchnorm-wrong-normalisation"),
    ]
    rm0, rv0 = output.get("running_mean0"), output.get("running_var0")
    if not isinstance(rm0, str) and not isinstance(rv0, str) and rm0 is not None and rv0 is not None:
        try:
            checks.append((_normalised_with(inputs, output, x, np.ravel(rm0), np.ravel(rv0)),
                           "uses the running statistics in training mode, not the batch statistics.",
                           "While self.training is True, normalise with input.mean(axis=0) and input.var(axis=0).",
                           "batchnorm-running-stats-in-training"))
        except ValueError:
            pass
    row_mean, row_var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    checks.append((inputs["gamma"] * (x - row_mean) / np.sqrt(row_var + _setting(output, "epsilon"))
                   + inputs["beta"],
                   "normalises each sample over its units (axis=1) instead of each unit over the batch (axis=0).",
                   "Take the mean and variance with axis=0.", "batchnorm-wrong-axis"))
    for candidate, message, hint, code in checks:
        if candidate.shape == got.shape and _close(got, candidate, rtol):
            return Result.failed(f"BatchNorm.forward {message}", hint=hint, diagnosis=code, **details)
    return Result.failed(f"{what} is wrong (largest relative error {details.get('max_rel_error', 0):.2g}).",
                         hint="out = gamma * (x - mean) / sqrt(var + eps) + beta with the batch mean and "
                              "biased variance over axis 0.", **details)


def verdict_backward(inputs, output, rtol=1e-4):
    x, g = inputs["x"], inputs["grad_output"]
    b, units = x.shape
    lr = _setting(output, "learning_rate")
    what = "BatchNorm.backward(x, grad_output)"
    gi = require_finite(as_array(output["grad_input"], what, x.shape), what)
    g0 = _vector(output["gamma_before"], "gamma before backward", units)
    b0 = _vector(output["beta_before"], "beta before backward", units)
    g1 = _vector(output["gamma_after"], "gamma after backward", units)
    b1 = _vector(output["beta_after"], "beta after backward", units)

    layer = _ref_layer(inputs, output, gamma=g0, beta=b0)
    layer.forward(x)
    expected_gi = layer.backward(x, g)
    expected_dgamma = (g0 - layer.gamma) / lr
    expected_dbeta = (b0 - layer.beta) / lr
    got_dgamma, got_dbeta = (g0 - g1) / lr, (b0 - b1) / lr

    details = _settings_note(output)
    details["learning_rate"] = lr
    problems = []  # (message, hint, code)

    if not _close(gi, expected_gi, rtol):
        details.update(mismatch_details(gi, expected_gi))
        mean, var = x.mean(axis=0), x.var(axis=0)
        eps = _setting(output, "epsilon")
        inv_std = 1.0 / np.sqrt(var + eps)
        # the same gradient with the batch statistics treated as constants (reference in eval mode)
        frozen = _ref_layer(inputs, output, gamma=g0, beta=b0)
        frozen.training = False
        frozen.running_mean, frozen.running_var = mean, var
        naive = frozen.backward(x, g)
        grad_x_hat = g * g0
        mean_only = inv_std * (grad_x_hat - grad_x_hat.mean(axis=0))
        updated = _ref_layer(inputs, output, gamma=layer.gamma, beta=layer.beta)
        updated.forward(x)
        after_update = updated.backward(x, g)
        if _close(gi, naive, rtol):
            problems.append((
                "BatchNorm.backward returns grad_output * gamma / sqrt(var + eps): it treats the batch mean "
                "and variance as constants, but in training they depend on every input.",
                "Back-propagate through the mean and the variance too: with x_hat the normalised input and "
                "dx_hat = grad_output * gamma, grad_input = (dx_hat - dx_hat.mean(0) - x_hat * "
                "(dx_hat * x_hat).mean(0)) / sqrt(var + eps).",
                "batchnorm-backward-ignores-batch-stats"))
        elif _close(gi, mean_only, rtol):
            problems.append((
                "BatchNorm.backward back-propagates through the batch mean but not through the batch variance.",
                "The variance depends on every input as well: subtract x_hat * (dx_hat * x_hat).mean(0) too.",
                "batchnorm-backward-ignores-batch-stats"))
        elif not np.allclose(g0, layer.gamma) and _close(gi, after_update, rtol):
            problems.append((
                "BatchNorm.backward computes grad_input with gamma after the SGD step.",
                "Compute grad_input with the gamma used in forward, then update gamma and beta.",
                "batchnorm-grad-input-after-update"))
        else:
            problems.append((
                f"{what} is wrong (largest relative error {details.get('max_rel_error', 0):.2g}).",
                "grad_input = (dx_hat - dx_hat.mean(0) - x_hat * (dx_hat * x_hat).mean(0)) / sqrt(var + eps) "
                "with dx_hat = grad_output * gamma.", None))

    unchanged = np.array_equal(g0, g1) and np.array_equal(b0, b1)
    if unchanged:
        problems.append((
            "BatchNorm.backward does not change gamma and beta.",
            "After computing grad_input, take an SGD step: gamma -= learning_rate * dgamma, "
            "beta -= learning_rate * dbeta, with dgamma = (grad_output * x_hat).sum(0), "
            "dbeta = grad_output.sum(0).",
            "batchnorm-params-not-updated"))
    else:
        for name, got_d, exp_d in (("gamma", got_dgamma, expected_dgamma), ("beta", got_dbeta, expected_dbeta)):
            if _close(got_d, exp_d, rtol):
                continue
            details[f"d{name}"] = mismatch_details(got_d, exp_d)
            s = None
            denom = float(exp_d @ exp_d)
            if denom > 0:
                s = float(got_d @ exp_d) / denom
                if not _close(got_d, s * exp_d, rtol):
                    s = None
            if not np.any(got_d):
                msg, code = f"BatchNorm.backward does not update {name}.", "batchnorm-params-not-updated"
            elif near(s, -1.0):
                msg, code = (f"BatchNorm.backward moves {name} up the gradient (wrong sign of the step).",
                             "batchnorm-update-sign")
            elif near(s, 1.0 / b):
                msg, code = (f"BatchNorm.backward divides the gradient of {name} by the batch size; grad_output "
                             "is already averaged, so just sum over the batch.", "batchnorm-grad-divided-by-batch")
            elif near(s, 1.0 / lr):
                msg, code = (f"BatchNorm.backward changes {name} by its gradient without multiplying by the "
                             "learning rate.", "batchnorm-update-no-learning-rate")
            else:
                msg, code = (f"The update of {name} in BatchNorm.backward is not learning_rate times its gradient "
                             f"(observed (before - after) / learning_rate differs from the gradient).", None)
            problems.append((msg, "dgamma = (grad_output * x_hat).sum(0), dbeta = grad_output.sum(0); "
                                  "then param -= learning_rate * dparam.", code))
    if not problems:
        return Result.passed("gradient through the batch statistics and SGD step on gamma, beta", **details)
    return Result.failed(" ".join(m for m, _, _ in problems), hint=problems[0][1],
                         diagnosis=list(dict.fromkeys(c for _, _, c in problems if c)), **details)


def _simulate(start, stats, a):
    """Running averages ``r = a * r + (1 - a) * stat`` from ``start`` over ``stats``."""
    out, r = [], np.asarray(start, dtype=float)
    for s in stats:
        r = a * r + (1 - a) * s
        out.append(r)
    return np.array(out)


def verdict_running(inputs, output, rtol=1e-8):
    xs = inputs["xs"]
    units = xs[0].shape[1]
    m = _setting(output, "momentum")
    for key in ("mean0", "var0"):
        if output.get(key) is None:
            name = "running_mean" if key == "mean0" else "running_var"
            raise Fail(Result.failed(f"BatchNorm has no `{name}` after construction.",
                                     hint="Create running_mean (zeros) and running_var (ones) in __init__."))
    mean0 = _vector(output["mean0"], "running_mean after construction", units)
    var0 = _vector(output["var0"], "running_var after construction", units)
    means = np.array([_vector(v, f"running_mean after training step {i + 1}", units)
                      for i, v in enumerate(output["means"])])
    variances = np.array([_vector(v, f"running_var after training step {i + 1}", units)
                          for i, v in enumerate(output["vars"])])
    batch_mean = [x.mean(axis=0) for x in xs]
    batch_var = {0: [x.var(axis=0) for x in xs], 1: [x.var(axis=0, ddof=1) for x in xs]}
    # tolerance: running averages of batch statistics, only round-off of a few operations apart
    close = lambda a, b: bool(np.allclose(a, b, rtol=rtol, atol=rtol * 1e-2))  # noqa: E731
    conventions = {m: f"r = {m:g} * r + {1 - m:g} * batch (momentum weights the old value)",
                   1 - m: f"r = {1 - m:g} * r + {m:g} * batch (PyTorch style: momentum weights the new batch)"}
    details = {"momentum": m, "steps": len(xs)}
    candidates = {}  # (a, ddof) -> (running means, running vars) after each step
    for a in conventions:
        # biased variance: the reference itself, run with momentum a (a = 1 - m is PyTorch's convention)
        layer = _ref_layer({"gamma": np.ones(units), "beta": np.zeros(units)}, output, momentum=a)
        layer.running_mean, layer.running_var = mean0.copy(), var0.copy()
        ref_means, ref_vars = [], []
        for x in xs:
            layer.forward(x)
            ref_means.append(layer.running_mean.copy())
            ref_vars.append(layer.running_var.copy())
        candidates[a, 0] = np.array(ref_means), np.array(ref_vars)
        # unbiased running variance (the reference has no such option)
        candidates[a, 1] = np.array(ref_means), _simulate(var0, batch_var[1], a)
    mean_conv = [a for a in conventions if close(means, candidates[a, 0][0])]
    found = [(a, ddof) for a in mean_conv for ddof in (0, 1) if close(variances, candidates[a, ddof][1])]
    if found:
        a, ddof = found[0]
        name = f"{conventions[a]}, {'biased' if ddof == 0 else 'unbiased'} batch variance"
        return Result.passed(f"running statistics follow {name}", convention=name, **details)
    details.update({"running_mean": means, "running_var": variances})
    frozen_mean = np.allclose(means, mean0, rtol=0, atol=0)
    frozen_var = np.allclose(variances, var0, rtol=0, atol=0)
    if frozen_mean or frozen_var:
        which = ("running_mean and running_var" if frozen_mean and frozen_var
                 else "running_mean" if frozen_mean else "running_var")
        return Result.failed(
            f"BatchNorm's {which} never change{'s' if which != 'running_mean and running_var' else ''} "
            "during training forwards.",
            hint="In every training forward update running = momentum * running + (1 - momentum) * batch_stat "
                 "for the mean and the variance; evaluation mode needs them.",
            diagnosis="batchnorm-running-stats-frozen", **details)
    if close(means, np.array(batch_mean)) or any(close(variances, np.array(batch_var[d])) for d in (0, 1)):
        return Result.failed(
            "BatchNorm's running statistics are replaced by the latest batch's statistics instead of being "
            "averaged with momentum.",
            hint="running = momentum * running + (1 - momentum) * batch_stat.",
            diagnosis="batchnorm-running-stats-no-momentum", **details)
    if not mean_conv:
        msg = "BatchNorm's running_mean does not follow running = momentum * running + (1 - momentum) * batch_mean"
    else:
        msg = "BatchNorm's running_var does not follow the same momentum rule as running_mean"
    return Result.failed(
        msg + f" (nor the PyTorch convention) with momentum {m:g}.",
        hint="Update in every training forward: running_mean = m * running_mean + (1 - m) * batch_mean and "
             "running_var = m * running_var + (1 - m) * batch_var.", **details)


def verdict_eval(inputs, output, rtol=1e-4):
    x = inputs["x"]
    units = x.shape[1]
    what = "BatchNorm.forward(x) with training=False"
    got = require_finite(as_array(output["out"], what, x.shape), what)
    running = {}
    for key in ("running_mean", "running_var"):
        if output.get(key) is None:
            raise Fail(Result.failed(f"BatchNorm has no `{key}` attribute after training forwards.",
                                     hint="Keep running_mean and running_var (one value per unit) on the layer."))
        running[key] = _vector(output[key], f"{key} after training forwards", units)
    # judged with the running statistics the layer itself holds (batchnorm.running_stats judges those)
    expected = _normalised_with(inputs, output, x, running["running_mean"], running["running_var"])
    details = _settings_note(output)
    changed = []
    for key in ("running_mean", "running_var"):
        after = output.get(f"{key}_after")
        if after is None or isinstance(after, str) or np.size(after) != units \
                or not np.array_equal(np.ravel(after), running[key]):
            changed.append(key)
    if _close(got, expected, rtol) and not changed:
        return Result.passed("normalised with the running statistics", **details)
    if changed and _close(got, expected, rtol):
        return Result.failed(
            f"BatchNorm.forward with training=False changes {' and '.join(changed)}.",
            hint="Update the running statistics only while self.training is True.",
            diagnosis="batchnorm-running-stats-updated-at-eval", **details)
    details.update(mismatch_details(got, expected))
    batch = _ref_layer(inputs, output).forward(x)
    if _close(got, batch, rtol):
        return Result.failed(
            "BatchNorm.forward with training=False normalises with the statistics of the batch it is given, "
            "not with the running statistics.",
            hint="When self.training is False use (x - running_mean) / sqrt(running_var + eps): a prediction must "
                 "not depend on the other samples in the batch.",
            diagnosis="batchnorm-batch-stats-at-eval", **details)
    if changed:
        return Result.failed(
            f"BatchNorm.forward with training=False updates {' and '.join(changed)} and does not normalise with "
            "the running statistics it was given.",
            hint="When self.training is False, use running_mean and running_var as they are.",
            diagnosis="batchnorm-running-stats-updated-at-eval", **details)
    return Result.failed(
        f"{what} is wrong (largest relative error {details.get('max_rel_error', 0):.2g}).",
        hint="When self.training is False: gamma * (x - running_mean) / sqrt(running_var + eps) + beta.",
        **details)


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    def tol(check_id, default):
        return config.tolerance(check_id, default)

    # Every verdict runs the reference BatchNorm with what the student's layer uses (its epsilon,
    # momentum and learning rate, its gamma and beta before the step, its running statistics), so no
    # table of answers computed from the inputs alone can hold them: the student edition leaves these
    # checks to the course's grader (Check.full_edition_only), and ships no BatchNorm formula instead.
    common = dict(section="bonus", requires=("BatchNorm",), full_edition_only=True)
    return guard([
        Check("batchnorm.train_forward", "BatchNorm normalises with the batch statistics in training",
              probe_train, functools.partial(verdict_train, rtol=tol("batchnorm.train_forward", 1e-4)),
              train_inputs, points=3, **common,
              hint="out = gamma * (x - x.mean(0)) / sqrt(x.var(0) + eps) + beta."),
        Check("batchnorm.backward", "BatchNorm back-propagates through the batch statistics and updates gamma, beta",
              probe_backward, functools.partial(verdict_backward, rtol=tol("batchnorm.backward", 1e-4)),
              backward_inputs, points=4, **common,
              hint="The gradient flows through the batch mean and variance; then SGD on gamma and beta."),
        Check("batchnorm.running_stats", "BatchNorm keeps running averages of the batch statistics",
              probe_running, functools.partial(verdict_running, rtol=tol("batchnorm.running_stats", 1e-8)),
              running_inputs, points=3, **common,
              hint="running = momentum * running + (1 - momentum) * batch_stat in every training forward."),
        Check("batchnorm.eval", "BatchNorm uses the running statistics when training is False",
              probe_eval, functools.partial(verdict_eval, rtol=tol("batchnorm.eval", 1e-4)),
              eval_inputs, points=3, **common,
              hint="if not self.training: normalise with running_mean and running_var."),
    ])


@nncheck.hookimpl
def nncheck_options(config):
    return [BATCHNORM]


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    f = "regularization.py"
    update = ("self.running_mean = m * self.running_mean + (1 - m) * mean\n"
              "            self.running_var = m * self.running_var + (1 - m) * var")
    full = ("if self.training:\n"
            "            grad_input = inv_std * (\n"
            "                grad_x_hat\n"
            "                - grad_x_hat.mean(axis=0)\n"
            "                - x_hat * (grad_x_hat * x_hat).mean(axis=0)\n"
            "            )\n"
            "        else:\n"
            "            grad_input = grad_x_hat * inv_std")
    sgd = ("self.gamma = self.gamma - self.learning_rate * grad_gamma\n"
           "        self.beta = self.beta - self.learning_rate * grad_beta\n")
    return [
        mutant("batchnorm-batch-stats-at-eval", "batchnorm", "batchnorm-batch-stats-at-eval", f,
               "return self.running_mean, self.running_var",
               "return input.mean(axis=0), input.var(axis=0)",
               "evaluation normalises with the batch's own statistics"),
        mutant("batchnorm-running-stats-frozen", "batchnorm", "batchnorm-running-stats-frozen", f,
               update, "pass", "running statistics never updated"),
        mutant("batchnorm-backward-ignores-batch-stats", "batchnorm", "batchnorm-backward-ignores-batch-stats", f,
               full, "grad_input = grad_x_hat * inv_std",
               "backward treats the batch mean and variance as constants"),
        mutant("batchnorm-params-not-updated", "batchnorm", "batchnorm-params-not-updated", f,
               sgd, "pass  # no SGD step\n", "backward never updates gamma and beta"),
        correct("batchnorm-pytorch-momentum-unbiased", [
            (f, update, "self.running_mean = (1 - m) * self.running_mean + m * mean\n"
                        "            self.running_var = (1 - m) * self.running_var + m * input.var(axis=0, ddof=1)"),
        ], description="PyTorch-style momentum and unbiased running variance", families=("batchnorm",)),
        correct("batchnorm-cs231n-backward", [
            (f, full, "if self.training:\n"
                      "            b = input.shape[0]\n"
                      "            xmu = input - mean\n"
                      "            dvar = np.sum(grad_x_hat * xmu, axis=0) * -0.5 * (var + self.epsilon) ** -1.5\n"
                      "            dmean = np.sum(-grad_x_hat * inv_std, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)\n"
                      "            grad_input = grad_x_hat * inv_std + dvar * 2.0 * xmu / b + dmean / b\n"
                      "        else:\n"
                      "            grad_input = grad_x_hat * inv_std"),
            (f, sgd, "self.gamma -= self.learning_rate * grad_gamma\n"
                     "        self.beta -= self.learning_rate * grad_beta\n"),
        ], description="step-by-step dvar/dmean backward and in-place updates", families=("batchnorm",)),
        correct("batchnorm-eps-outside-sqrt", [
            (f, "x_hat = (input - mean) / np.sqrt(var + self.epsilon)",
             "x_hat = (input - mean) / (np.sqrt(var) + self.epsilon)"),
        ], description="epsilon added to the standard deviation (forward only)", families=("batchnorm",)),
    ]
