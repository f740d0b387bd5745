"""Option III checks: ``MomentumDense``, ``RMSPropDense`` and ``AdamDense``.

Families ``momentum.``, ``rmsprop.`` and ``adam.`` (section ``options``), three
checks each:

* ``<family>.trajectory``: the layer is driven through a fixed sequence of
  inputs and ``grad_output``s chosen by the grader (6 steps, batch 7, weights
  and non-zero biases set explicitly after construction, hyperparameters
  passed by keyword under whatever name the student's ``__init__`` uses), and
  the weights and biases after every step are compared with EVERY accepted
  convention (the table ``UPDATE_RULES`` in ``rules.py``). The verdict names
  the convention found, or the known mistake whose trajectory it matches.
* ``<family>.input_grad``: ``backward`` returns ``grad_output @ W.T`` with
  the weights *before* the step (checked at every step against the
  student's own weight trajectory, so it does not depend on the optimizer).
* ``<family>.experiment``: the experiment the assignment asks for: a
  784-64-10 ReLU network trained by the grader's own loop on the embedded
  MNIST subset with the student's optimizer, against plain SGD from the same
  initial weights and batches (see ``EXPERIMENT`` for the settings and the
  criterion).

Accepted conventions (the grader's own definitions, in
``rules.UPDATE_RULES``):

* momentum: ``v = mu*v - lr*g; W += v`` (the reference),
  ``v = mu*v + g; W -= lr*v`` (the same trajectory: ``v`` is just scaled by
  ``-1/lr``; the student's velocity attribute tells which one it is),
  ``v = mu*v + (1-mu)*g; W -= lr*v`` (exponential moving average), and
  Nesterov in the form ``v = mu*v - lr*g; W += mu*v - lr*g``. In a Dense
  layer the gradient cannot be evaluated at a look-ahead point (grad_output
  is given), so every usual way to write Nesterov gives this trajectory:
  Sutskever's ``W += -mu*v_prev + (1+mu)*v`` and PyTorch's
  ``v = mu*v + g; W -= lr*(g + mu*v)`` are the same update.
* RMSProp: ``s = d*s + (1-d)*g**2`` and ``W -= lr*g/(sqrt(s) + eps)`` or
  ``W -= lr*g/sqrt(s + eps)``.
* Adam with bias correction: ``W -= lr*m_hat/(sqrt(v_hat) + eps)``,
  ``W -= lr*m_hat/sqrt(v_hat + eps)``, or the Adam paper's "efficient" form
  ``W -= lr*sqrt(1-b2**t)/(1-b1**t) * m/(sqrt(v) + eps)``.

The gradients ``x.T @ g`` and ``g.sum(0)`` come from the reference ``Dense``;
the reference's own form of each optimizer is simulated with the reference
class itself.

Hyperparameters: passed by keyword under the student's own name (aliases in
``HYPER_ALIASES``), else written to the matching attribute after
construction. When no accepted form matches with the values passed, the
verdict tries the signature's defaults, CONTRACT's defaults, Dense's 0.1 for
a learning rate not passed on to ``super().__init__`` and usual hard-coded
epsilons: an ignored epsilon (or a hyperparameter the ``__init__`` does not
take at all) still passes, with a note; an accepted keyword whose value is
ignored fails (``optimizer-ignores-hyperparameter``).

Diagnoses: ``momentum-no-velocity`` (every step a fixed multiple of the
current gradient: plain SGD, or the velocity restarted at each call),
``optimizer-wrong-sign``, ``rmsprop-missing-sqrt``, ``rmsprop-no-decay``
(``s = g**2``; ``s`` restarted at each call; ``s += g**2`` as in Adagrad;
``s += (1-d)*g**2``), ``rmsprop-decay-swapped``, ``adam-no-bias-correction``
(none, or of one moment only), ``adam-missing-sqrt``, ``adam-step-counter``
(t advancing twice per call, or stuck at 1), ``optimizer-plain-sgd``,
``optimizer-ignores-hyperparameter``, ``dense-grad-divided-by-batch``,
``dense-params-not-updated`` and, in ``<family>.input_grad``,
``dense-grad-input-after-update``.
"""
import inspect
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.data import load_dataset
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import as_array, mismatch_details, require_finite
from nncheck.plugins.optimizers.rules import UPDATE_RULES, Rule, _simulate
from nncheck.plugins.optimizers.diagnoses import DIAGNOSES
from nncheck.plugins.optimizers.option import OPTIONS
from nncheck.plugins.optimizers.sandboxed import (  # noqa: F401 - the worker-side half
    _number,
    probe_experiment,
    probe_trajectory,
)

FAMILIES = {
    "momentum": {"class": "MomentumDense", "name": "momentum",
                 "defaults": {"learning_rate": 0.1, "momentum": 0.9}},
    "rmsprop": {"class": "RMSPropDense", "name": "RMSProp",
                "defaults": {"learning_rate": 0.001, "decay": 0.9, "epsilon": 1e-8}},
    "adam": {"class": "AdamDense", "name": "Adam",
             "defaults": {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}},
}


# ==========================================================================
# Grader side: the accepted conventions and the known mistakes (rules.py)
# ==========================================================================
HINTS = {
    "momentum-no-velocity": "Create the velocities once in __init__ (zeros shaped like weights and biases), keep "
                            "them as attributes, and in backward update them before moving the parameters: "
                            "v = mu*v - lr*g; W += v.",
    "optimizer-wrong-sign": "The step must go against the gradient: W -= lr * (...) (or, with a velocity, "
                            "v = mu*v - lr*g; W += v).",
    "rmsprop-missing-sqrt": "Divide by the square root of the running average: W -= lr*g/(np.sqrt(s) + eps).",
    "rmsprop-no-decay": "Keep s between calls (create it in __init__) and update it as an exponential moving "
                        "average: s = decay*s + (1-decay)*g**2.",
    "rmsprop-decay-swapped": "decay is the weight of the OLD average: s = decay*s + (1-decay)*g**2.",
    "adam-no-bias-correction": "Count the steps t (starting at 1 on the first call) and divide: "
                               "m_hat = m/(1-beta1**t), v_hat = v/(1-beta2**t); then W -= lr*m_hat/(sqrt(v_hat)+eps).",
    "adam-missing-sqrt": "Divide by the square root of the second moment: W -= lr*m_hat/(np.sqrt(v_hat) + eps).",
    "adam-step-counter": "Keep the step counter as an attribute (t = 0 in __init__) and increase it exactly once "
                         "per backward call, before updating both the weights and the biases.",
    "dense-grad-divided-by-batch": "grad_output is already divided by the batch size: dW = input.T @ grad_output "
                                   "and db = grad_output.sum(axis=0), without another division.",
    "dense-params-not-updated": "backward must update self.weights and self.biases (assign the new arrays to "
                                "the attributes).",
    "optimizer-plain-sgd": "backward takes a plain SGD step: apply the option's update rule instead.",
    "optimizer-ignores-hyperparameter": "Store every constructor argument (self.momentum = momentum, ...) and "
                                        "use the stored value in backward; pass learning_rate on to "
                                        "super().__init__.",
}


# -- matching --------------------------------------------------------------
@dataclass
class Match:
    rule: Rule
    hp: dict
    err_w: float
    err_b: float
    velocities: object = None

    @property
    def err(self):
        return max(self.err_w, self.err_b)


@dataclass
class Analysis:
    family: str
    hp0: dict
    tol: float
    accepted: Match | None = None
    alt_hyper: dict = field(default_factory=dict)       # hyperparameters that differ from the ones passed
    mistake: Match | None = None
    split: tuple | None = None                           # (Match for W, Match for b) when they differ
    closest: Match | None = None
    also: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    fitted: dict = field(default_factory=dict)          # hard-coded hyperparameters measured from the steps


def _rel_err(got, exp, start):
    scale = max(float(np.abs(exp - start).max(initial=0.0)), 1e-12)
    return float(np.abs(got - exp).max(initial=0.0)) / scale


def answers_gradients(inputs):
    """``(x.T @ g, g.sum(0))`` per step, from the reference ``Dense``, and the same divided by the
    batch (the only code of the trajectory check that calls the reference)."""
    from nncheck import reference as ref

    layer = ref.Dense(inputs["W0"].shape[0], inputs["W0"].shape[1])
    grads, means = [], []
    for x, g in zip(inputs["xs"], inputs["gs"]):
        dW, db = layer._param_gradients(x, g)
        grads.append([dW, db])
        means.append([dW / len(x), db / len(x)])
    return {"grads": grads, "grads_batch": means}


def answers_experiment(inputs):
    """The reference gradients of the short trajectory a momentum experiment reads its form from
    (none for the other experiments: they compare with thresholds)."""
    return answers_gradients(inputs["traj"]) if isinstance(inputs.get("traj"), dict) else {}


def _gradients(inputs, scale="", answers=None):
    """``(x.T @ g, g.sum(0))`` per step (divided by the batch for ``scale="batch"``), from the answers."""
    answers = answers or answers_gradients(inputs)
    return [tuple(step) for step in answers["grads_batch" if scale == "batch" else "grads"]]


# Epsilons a student may hard-code (Keras uses 1e-7): tried when the layer ignores the one passed.
EPS_GRID = (1e-8, 1e-7, 1e-6, 1e-5, 1e-10, 1e-12, 0.0)


def _hyper_candidates(family, hp0, info):
    """Other values the student's layer may be using for each hyperparameter, most likely first."""
    defaults = FAMILIES[family]["defaults"]
    cands = {}
    for k, v in hp0.items():
        c = [v]
        extras = [info.get("stored", {}).get(k), info.get("defaults", {}).get(k),
                  info.get("attributes_before", {}).get(k), defaults.get(k)]
        if k == "learning_rate":
            extras.append(0.1)  # Dense's default: learning_rate not passed on to super().__init__
        if k == "epsilon":
            extras += list(EPS_GRID)
        for extra in extras:
            if extra is not None and _number(extra) and not any(math.isclose(extra, x) for x in c):
                c.append(float(extra))
        cands[k] = c
    return cands


def _fit(rules, hp, inputs, Ws, bs, grads_by_scale):
    W0, b0 = inputs["W0"], inputs["b0"]
    out = []
    for rule in rules:
        with np.errstate(all="ignore"):
            try:
                eW, eb, vs = _simulate(rule, hp, W0, b0, grads_by_scale[rule.grad_scale])
            except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError):
                continue
            errs = _rel_err(Ws, eW, W0), _rel_err(bs, eb, b0)
        if all(math.isfinite(e) for e in errs):
            out.append(Match(rule, hp, errs[0], errs[1], vs))
    return out


def _fit_hard_coded(rules, hp0, info, inputs, Ws, bs, grads, tol):
    """``{hyperparameter: value}`` for those the layer takes no argument for (hard-coded) or whose
    argument its steps do not change with (``info["inert"]``), each measured from its steps: the value
    in (0, 1) (epsilon: on a log scale) at which an accepted rule reproduces the trajectory, the others
    held at the values passed (two rounds, for two of them)."""
    keys = [k for k in [*info.get("missing", []), *info.get("inert", [])] if k in hp0 and k != "learning_rate"]
    accepted = [r for r in rules if r.accepted]
    if not keys:
        return {}
    hp = dict(hp0)

    def err(k, v):
        return min((m.err for m in _fit(accepted, dict(hp, **{k: v}), inputs, Ws, bs, grads)), default=math.inf)

    best = {}
    for _ in range(2 if len(keys) > 1 else 1):
        for k in keys:
            grid = np.logspace(-12, -1, 45) if k == "epsilon" else np.linspace(0.005, 0.999, 100)
            errs = [err(k, float(v)) for v in grid]
            i = int(np.argmin(errs))
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
            for _ in range(60):  # golden-section search in the best bracket
                a, b = hi - (hi - lo) / 1.618034, lo + (hi - lo) / 1.618034
                if err(k, float(a)) < err(k, float(b)):
                    hi = b
                else:
                    lo = a
            v = float((lo + hi) / 2)
            hp[k] = v if err(k, v) <= errs[i] else float(grid[i])
            best[k] = hp[k]
    return best if min((m.err for m in _fit(accepted, hp, inputs, Ws, bs, grads)), default=math.inf) <= tol else {}


def analyse(family, inputs, Ws, bs, info, tol, answers=None):
    """Compare a trajectory with every rule of ``family``; see :class:`Analysis`."""
    rules = UPDATE_RULES[family]
    hp0 = dict(inputs["hyper"])
    answers = answers or answers_gradients(inputs)
    grads = {"": _gradients(inputs, "", answers), "batch": _gradients(inputs, "batch", answers)}
    an = Analysis(family, hp0, tol)
    stage1 = _fit(rules, hp0, inputs, Ws, bs, grads)
    an.errors = {m.rule.key: round(m.err, 6) for m in sorted(stage1, key=lambda m: m.err)[:8]}
    ok = sorted((m for m in stage1 if m.rule.accepted and m.err <= tol), key=lambda m: m.err)
    if ok:
        an.accepted = ok[0]
        an.also = [m.rule.label for m in ok[1:]]
        return an
    bad = sorted((m for m in stage1 if m.err <= tol), key=lambda m: (m.rule.deviations, m.err))
    if bad:
        an.mistake = bad[0]
        return an
    # Stage 2: the student's layer may use other hyperparameter values (a keyword it ignores, a
    # hard-coded constant, learning_rate not passed on to Dense).
    cands = _hyper_candidates(family, hp0, info)
    an.fitted = _fit_hard_coded(rules, hp0, info, inputs, Ws, bs, grads, tol)
    for k, v in an.fitted.items():
        if not any(math.isclose(v, c, rel_tol=1e-9) for c in cands[k]):
            cands[k].append(v)
    keys = list(cands)
    sets = [dict(zip(keys, vals)) for vals in itertools.product(*(cands[k] for k in keys))][1:]
    # every combination for the accepted rules (at most a few hundred); for the mistakes only one
    # hyperparameter differing from the passed ones, to bound the time spent on a wrong submission
    one_off = [hp for hp in sets if sum(hp[k] != hp0[k] for k in keys) == 1]
    for pool, pool_sets in (([r for r in rules if r.accepted], sets), ([r for r in rules if not r.accepted], one_off)):
        found = []
        for hp in pool_sets:
            found += [m for m in _fit(pool, hp, inputs, Ws, bs, grads) if m.err <= tol]
        if found:
            best = min(found, key=lambda m: (sum(m.hp[k] != hp0[k] for k in keys), m.rule.deviations, m.err))
            an.alt_hyper = {k: best.hp[k] for k in keys if best.hp[k] != hp0[k]}
            if best.rule.accepted:
                an.accepted = best
            else:
                an.mistake = best
            return an
    # Stage 3: weights and biases follow different rules (say, biases left on plain SGD).
    best_w = min(stage1, key=lambda m: (m.err_w > tol, m.rule.deviations, m.err_w))
    best_b = min(stage1, key=lambda m: (m.err_b > tol, m.rule.deviations, m.err_b))
    if best_w.err_w <= tol or best_b.err_b <= tol:
        an.split = (best_w if best_w.err_w <= tol else None, best_b if best_b.err_b <= tol else None)
    an.closest = min((m for m in stage1 if m.rule.accepted), key=lambda m: m.err)
    return an


def _velocity_name(match, states, lr):
    """For heavy-ball/Nesterov momentum, which convention the student's velocity attribute follows."""
    if match.velocities is None:
        return None, None
    v1 = match.velocities
    conventions = [(v1, "v = mu*v - lr*g"), (-v1 / lr, "v = mu*v + g"), (-v1, "v = mu*v + lr*g")]
    for name, seq in states.items():
        arr = np.asarray(seq, dtype=float)
        if arr.shape != v1.shape:
            continue
        for target, conv in conventions:
            if np.allclose(arr, target, rtol=1e-6, atol=1e-12 * max(1.0, float(np.abs(target).max()))):
                return name, conv
    return None, None


def describe_accepted(match, states):
    """The variant's name for students, using the velocity attribute to tell equivalent forms apart."""
    rule = match.rule
    label = rule.label
    attr = None
    if rule.key in ("heavy-ball", "nesterov"):
        attr, conv = _velocity_name(match, states, match.hp["learning_rate"])
        if rule.key == "heavy-ball":
            if conv == "v = mu*v + g":
                label = "v = mu*v + g; W -= lr*v"
            elif conv == "v = mu*v + lr*g":
                label = "v = mu*v + lr*g; W -= v"
            elif conv is None:
                label = "v = mu*v - lr*g; W += v (or equivalently v = mu*v + g; W -= lr*v)"
        elif conv == "v = mu*v + g":
            label = "Nesterov: v = mu*v + g; W -= lr*(g + mu*v)"
    return label, attr


# ==========================================================================
# Inputs and verdicts
# ==========================================================================
def _hyper(family, rng):
    lr = lambda lo, hi: float(round(rng.uniform(lo, hi), 4))  # noqa: E731
    if family == "momentum":
        return {"learning_rate": lr(0.03, 0.08), "momentum": float(round(rng.uniform(0.6, 0.85), 3))}
    # epsilon 1e-3 (not 1e-8) so that eps inside or outside the root give visibly different steps.
    if family == "rmsprop":
        return {"learning_rate": lr(0.005, 0.02), "decay": float(round(rng.uniform(0.75, 0.9), 3)),
                "epsilon": 1e-3}
    return {"learning_rate": lr(0.005, 0.02), "beta1": float(round(rng.uniform(0.7, 0.85), 3)),
            "beta2": float(round(rng.uniform(0.9, 0.97), 3)), "epsilon": 1e-3}


def trajectory_inputs(family, steps=6):
    def inputs(rng):
        n_in, n_out, b = int(rng.integers(3, 7)), int(rng.integers(2, 6)), 7
        return {
            "family": family, "class": FAMILIES[family]["class"], "hyper": _hyper(family, rng),
            "W0": rng.normal(0, 0.5, size=(n_in, n_out)), "b0": rng.normal(0, 0.5, size=n_out),
            "xs": rng.normal(size=(steps, b, n_in)),
            # grad_output as train() passes it: already divided by the batch size
            "gs": rng.normal(size=(steps, b, n_out)) / b,
        }
    return inputs


def _read_trajectory(inputs, output, what):
    K = len(inputs["xs"])
    shape_w, shape_b = inputs["W0"].shape, inputs["b0"].shape
    ws, bs = output.get("weights") or [], output.get("biases") or []
    if len(ws) != K or len(bs) != K:
        raise Fail(Result.failed(f"{what}: could not read the weights after each of the {K} steps."))
    Ws = np.array([as_array(w, f"{what}.weights after step {k + 1}", shape_w) for k, w in enumerate(ws)])
    bs = np.array([as_array(b, f"{what}.biases after step {k + 1}", shape_b) for k, b in enumerate(bs)])
    hint = "Look for an overflow or a division by zero (Adam: t must be 1 on the first step, not 0)."
    for arr, name in ((Ws, "weights"), (bs, "biases")):
        try:
            require_finite(arr, f"{what}.{name} during the steps")
        except Fail as fail:
            fail.result.hint = hint
            raise
    return Ws, bs


def _passed_as_text(info):
    parts = [f"{k} as {v}=" for k, v in info.get("passed_as", {}).items()]
    parts += [f"{k} by setting the attribute {v}" for k, v in info.get("set_attribute", {}).items()]
    return ", ".join(parts)


def _hp_text(hp):
    return ", ".join(f"{k}={v:g}" for k, v in hp.items())


def verdict_trajectory_for(family, config):
    tol = config.tolerance(f"{family}.trajectory", 1e-6)
    cls_name, name = FAMILIES[family]["class"], FAMILIES[family]["name"]

    def verdict(inputs, output, answers=None):
        answers = answers or answers_gradients(inputs)
        info = output.get("info") or {}
        Ws, bs = _read_trajectory(inputs, output, cls_name)
        an = analyse(family, inputs, Ws, bs, info, tol, answers)
        K = len(inputs["xs"])
        common = {"hyperparameters": inputs["hyper"], "passed_as": info.get("passed_as", {}),
                  "set_attribute": info.get("set_attribute", {}), "not_passed": info.get("missing", []),
                  "signature": info.get("signature", ""), "steps": K, "batch": len(inputs["xs"][0]),
                  "tolerance": tol, "errors_by_variant": an.errors}
        if an.accepted is not None:
            m = an.accepted
            label, attr = describe_accepted(m, output.get("states") or {})
            notes = []
            unpassable = set(info.get("missing", []))
            for k, v in an.alt_hyper.items():
                if k == "epsilon" or k in unpassable:
                    continue
                return Result.failed(
                    f"{cls_name} follows {name} in the form {label}, but with {k}={v:g} instead of the "
                    f"{k}={an.hp0[k]:g} it was constructed with: the argument is ignored.",
                    hint=HINTS["optimizer-ignores-hyperparameter"],
                    diagnosis="optimizer-ignores-hyperparameter", variant=m.rule.key, formula=label,
                    used_hyperparameters=m.hp, **common)
            if "epsilon" in an.alt_hyper and "epsilon" not in unpassable:
                notes.append(f"it uses epsilon={an.alt_hyper['epsilon']:g}, not the epsilon it was given")
            for k, name_set in info.get("set_attribute", {}).items():
                notes.append(f"its __init__ takes no {k} argument, so self.{name_set} was set after construction")
            for k in sorted(unpassable & set(an.alt_hyper)):
                how = "measured from its steps" if k in an.fitted else "found among the usual values"
                notes.append(f"its __init__ takes no {k} argument; it uses {k}={an.alt_hyper[k]:.4g} "
                             f"({how}), and its steps are graded at that value")
            for k, name_found in (info.get("by_behaviour") or {}).items():
                notes.append(f"its {k} is the argument `{name_found}` (no name said so; its steps change with it)")
            msg = f"{cls_name} matches {name} in the form {label} over {K} steps"
            if attr:
                msg += f" (velocity kept in self.{attr})"
            if notes:
                msg += "; note: " + "; ".join(notes)
            return Result.passed(msg + ".", variant=m.rule.key, formula=label, velocity_attribute=attr,
                                 used_hyperparameters=m.hp, max_rel_error=m.err,
                                 also_consistent_with=an.also, **common)
        if an.mistake is not None:
            m = an.mistake
            diags = list(m.rule.diagnoses)
            extra = ""
            if an.alt_hyper:
                extra = f" (with {_hp_text(an.alt_hyper)})"
            hint = " ".join(HINTS[d] for d in diags if d in HINTS)
            return Result.failed(
                f"{cls_name} does not take correct {name} steps: they match {m.rule.label}{extra}, that is: "
                f"{m.rule.explain}.",
                hint=hint, diagnosis=diags, variant=m.rule.key, formula=m.rule.label,
                used_hyperparameters=m.hp, **common)
        return _unexplained(family, inputs, Ws, bs, an, common, answers)

    return verdict


def _sgd_multiple(traj, start, grads):
    """``c`` if every step of ``traj`` is ``-c`` times the current gradient (plain SGD-like), else None."""
    steps = np.concatenate([(traj[k] - (traj[k - 1] if k else start)).ravel() for k in range(len(traj))])
    g = np.concatenate([gr.ravel() for gr in grads])
    if not np.any(steps) or not np.any(g):
        return None
    c = -float(steps @ g) / float(g @ g)
    return c if np.abs(steps + c * g).max() <= 1e-6 * np.abs(steps).max() else None


def _describe_sgd_like(family, c, hp):
    """Words and diagnoses for parameters that move by ``c`` times the current gradient."""
    lr = hp["learning_rate"]
    diags = ["momentum-no-velocity" if family == "momentum" else "optimizer-plain-sgd"]
    if family == "momentum":
        mu = hp["momentum"]
        known = [(lr, "plain SGD steps W -= lr*g"),
                 (lr * (1 - mu), "steps of lr*(1-mu)*g (the moving-average form with the velocity restarted "
                                 "from zero at every call)"),
                 (lr * (1 + mu), "steps of lr*(1+mu)*g (Nesterov with the velocity restarted from zero at "
                                 "every call)")]
        what = next((w for v, w in known if math.isclose(abs(c), v, rel_tol=1e-6)),
                    f"steps of {abs(c):.4g} times the current gradient")
        text = (f"take {what}: each step depends only on the current gradient, so the velocity is not "
                "carried from one call to the next (it is reset, or not used)")
    else:
        text = (f"take plain SGD steps ({abs(c):.4g} times the current gradient): the "
                f"{FAMILIES[family]['name']} scaling of the step is missing")
    if c < 0:
        diags.append("optimizer-wrong-sign")
        text += ", and in the wrong direction (up the gradient)"
    return text, diags


def _unexplained(family, inputs, Ws, bs, an, common, answers=None):
    cls_name, name = FAMILIES[family]["class"], FAMILIES[family]["name"]
    W0, b0 = inputs["W0"], inputs["b0"]
    hp0 = an.hp0
    grads = _gradients(inputs, "", answers)
    still_w = np.array_equal(Ws, np.broadcast_to(W0, Ws.shape))
    still_b = np.array_equal(bs, np.broadcast_to(b0, bs.shape))
    if still_w and still_b:
        return Result.failed(f"{cls_name}.backward did not change weights or biases.",
                             hint=HINTS["dense-params-not-updated"], diagnosis="dense-params-not-updated", **common)
    # Every step a fixed multiple of the current gradient: plain SGD, or the state restarted each call.
    both = _sgd_multiple([np.concatenate([w.ravel(), b]) for w, b in zip(Ws, bs)],
                         np.concatenate([W0.ravel(), b0]), [np.concatenate([dW.ravel(), db]) for dW, db in grads])
    if both is not None:
        text, diags = _describe_sgd_like(family, both, hp0)
        return Result.failed(f"{cls_name}'s weights and biases {text}.", hint=" ".join(HINTS[d] for d in diags),
                             diagnosis=diags, effective_step=both, **common)
    # Weights and biases follow different rules (say, the biases are left on plain SGD).
    if an.split is not None or still_w or still_b:
        parts, diags = [], []
        for i, (what, traj, start, still) in enumerate((("weights", Ws, W0, still_w), ("biases", bs, b0, still_b))):
            m = an.split[i] if an.split is not None else None
            c = None if still else _sgd_multiple(traj, start, [gr[i] for gr in grads])
            if m is not None and m.rule.accepted:
                parts.append(f"the {what} follow {m.rule.label}")
                continue
            if still:
                parts.append(f"the {what} are never updated")
                new = ["dense-params-not-updated"]
            elif m is not None:
                parts.append(f"the {what} follow {m.rule.label}, that is: {m.rule.explain}")
                new = list(m.rule.diagnoses)
            elif c is not None:
                text, new = _describe_sgd_like(family, c, hp0)
                parts.append(f"the {what} {text}")
            else:
                parts.append(f"the {what} follow no known rule")
                new = []
            diags += [d for d in new if d not in diags]
        return Result.failed(f"{cls_name}: " + "; ".join(parts) + ".",
                             hint=" ".join(HINTS[d] for d in diags if d in HINTS) or
                             "Apply the same update rule to the weights and to the biases.",
                             diagnosis=diags, **common)
    m = an.closest
    eW, eb, _ = _simulate(m.rule, hp0, W0, b0, grads)
    first_ok = any(_rel_err(Ws[:1], e[0][:1], W0) <= an.tol and _rel_err(bs[:1], e[1][:1], b0) <= an.tol
                   for e in (_simulate(r, hp0, W0, b0, grads)[:2] for r in UPDATE_RULES[family] if r.accepted))
    bad = int(np.argmax([max(_rel_err(Ws[k:k + 1], eW[k:k + 1], W0), _rel_err(bs[k:k + 1], eb[k:k + 1], b0))
                         > an.tol for k in range(len(Ws))]))
    msg = (f"{cls_name}'s weights do not follow any accepted {name} update (closest: {m.rule.label}, "
           f"largest relative error {m.err:.2g}; the first step that differs is step {bad + 1}).")
    hint = {"momentum": "Accepted: v = mu*v - lr*g; W += v, or v = mu*v + g; W -= lr*v, or "
                        "v = mu*v + (1-mu)*g; W -= lr*v, or Nesterov; the same for the biases.",
            "rmsprop": "s = decay*s + (1-decay)*g**2; W -= lr*g/(sqrt(s) + eps); the same for the biases.",
            "adam": "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g**2; t += 1 once per call; "
                    "W -= lr*(m/(1-b1**t))/(sqrt(v/(1-b2**t)) + eps); the same for the biases."}[family]
    if first_ok:
        msg += (" The first step is right but later ones differ: check what the layer keeps between calls "
                "(velocities, running averages, the step counter).")
    return Result.failed(msg, hint=hint, closest=m.rule.key,
                         **{**common, **mismatch_details(Ws[bad], eW[bad])})


def verdict_input_grad_for(family, config):
    tol = config.tolerance(f"{family}.input_grad", 1e-8)
    cls_name = FAMILIES[family]["class"]

    def verdict(inputs, output):
        # The weights before each step are the student's own (their trajectory), so no table can hold
        # the expected values: the check's own formula, grad_output @ W.T (the one its title states),
        # is computed here on them, the same in both editions.
        Ws, _ = _read_trajectory(inputs, output, cls_name)
        gis = output.get("grad_inputs") or []
        before = [inputs["W0"]] + list(Ws[:-1])
        for k, (x, g) in enumerate(zip(inputs["xs"], inputs["gs"])):
            got = as_array(gis[k] if k < len(gis) else None, f"{cls_name}.backward (step {k + 1})", x.shape)
            expected = np.dot(g, before[k].T)
            scale = max(float(np.abs(expected).max()), 1e-12)
            if np.abs(got - expected).max() <= tol * scale:
                continue
            after = np.dot(g, Ws[k].T)
            if np.abs(got - after).max() <= tol * max(float(np.abs(after).max()), 1e-12):
                return Result.failed(
                    f"{cls_name}.backward returns grad_output @ W.T computed with the weights AFTER the "
                    f"update (seen at step {k + 1}).",
                    hint="Compute grad_input = grad_output @ self.weights.T first, then update the weights.",
                    diagnosis="dense-grad-input-after-update", step=k + 1, **mismatch_details(got, expected))
            return Result.failed(
                f"{cls_name}.backward does not return grad_output @ W.T (step {k + 1}, largest relative "
                f"error {np.abs(got - expected).max() / scale:.2g}).",
                hint="backward returns grad_output @ self.weights.T, with the weights before the update.",
                step=k + 1, **mismatch_details(got, expected))
        return Result.passed(f"{cls_name}.backward returns grad_output @ W.T with the weights before each "
                             f"of the {len(inputs['xs'])} steps.")

    return verdict


# -- experiment ------------------------------------------------------------
# Measured with the reference: after 100 steps of batch 32 from randn*0.01 weights, the mean
# cross-entropy on 1000 fixed training digits was, over seeds 0-5, 0.36-0.54 for momentum (lr 0.05,
# mu 0.9), 0.39-0.44 for RMSProp and 0.34-0.43 for Adam (lr 0.003), against 1.05-1.14 for plain SGD
# at lr 0.1 (the assignment's default, twice momentum's lr). After 200 steps the gap was narrower
# (0.24-0.33 against 0.49-0.56): SGD is still on its plateau at 100, and each arm costs half.
EXPERIMENT = {
    "steps": 100, "batch": 32, "eval": 1000, "init_std": 0.01, "sgd_lr": 0.1,
    "hyper": {
        "momentum": {"learning_rate": 0.05, "momentum": 0.9},
        "rmsprop": {"learning_rate": 0.003, "decay": 0.9, "epsilon": 1e-8},
        "adam": {"learning_rate": 0.003, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    },
}
N_TRAIN = 4000  # rows of load_dataset()'s training split; the probe wraps indices with % len(X)


def experiment_inputs(family):
    def inputs(rng):
        e = EXPERIMENT
        out = {
            "family": family, "class": FAMILIES[family]["class"], "hyper": dict(e["hyper"][family]),
            "sgd_lr": e["sgd_lr"],
            "W1": rng.normal(0, e["init_std"], size=(784, 64)), "W2": rng.normal(0, e["init_std"], size=(64, 10)),
            "batches": np.array([rng.choice(N_TRAIN, e["batch"], replace=False) for _ in range(e["steps"])]),
            "eval": rng.choice(N_TRAIN, e["eval"], replace=False),
        }
        if family == "momentum":
            # The moving-average form v = mu*v + (1-mu)*g; W -= lr*v takes steps (1-mu) times smaller: it is
            # also run at lr/(1-mu), and a short trajectory tells the verdict which run is in the student's form.
            h = out["hyper"]
            out["hyper_ema"] = dict(h, learning_rate=h["learning_rate"] / (1 - h["momentum"]))
            out["traj"] = trajectory_inputs(family, steps=4)(rng)
        return out
    return inputs


def verdict_experiment_for(family, config):
    cls_name, name = FAMILIES[family]["class"], FAMILIES[family]["name"]
    tol = config.tolerance(f"{family}.trajectory", 1e-6)

    def verdict(inputs, output, answers=None):
        e = EXPERIMENT
        run, arm_note = output["option"], ""
        hyper = inputs["hyper"]
        if family == "momentum" and "traj" in output:
            t_in, t_out = inputs["traj"], output["traj"]
            try:
                Ws, bs = _read_trajectory(t_in, t_out, cls_name)
                an = analyse(family, t_in, Ws, bs, t_out.get("info") or {}, tol,
                             answers or answers_experiment(inputs))
            except Fail:
                an = None
            ema = an is not None and an.accepted is not None and an.accepted.rule.key == "ema"
            if ema and "option_ema" in output:  # (not run when the first step was plainly -lr*dW)
                run, hyper = output["option_ema"], inputs["hyper_ema"]
                arm_note = (" (your layer uses the moving-average form v = mu*v + (1-mu)*g, so it ran at "
                            f"lr = {hyper['learning_rate']:g} = lr/(1-mu), the same effective step)")
        opt, sgd = float(run["final"]), float(output["sgd"]["final"])
        sgd_arm = output.get("sgd_arm", "grader")
        baseline = ("your Dense" if sgd_arm == "student" else "nncheck's SGD Dense" +
                    (f" ({sgd_arm.split('(', 1)[1]}" if "(" in sgd_arm else ""))
        criterion = (f"after {e['steps']} steps of batch {e['batch']} from the same initial weights (randn*"
                     f"{e['init_std']:g}) and batches, the mean cross-entropy on {e['eval']} fixed training digits "
                     f"is lower with {cls_name} ({_hp_text(hyper)}) than with plain SGD at learning_rate "
                     f"{e['sgd_lr']:g} (the assignment's Dense default)")
        details = {"curves": {"option": run["losses"], "baseline": output["sgd"]["losses"]},
                   "labels": {"option": f"{cls_name} ({_hp_text(hyper)})",
                              "baseline": f"SGD lr={e['sgd_lr']:g} ({baseline})"},
                   "metric": "training cross-entropy per step (minibatch mean); final: mean over "
                             f"{e['eval']} fixed training digits",
                   "criterion": criterion, "final": {"option": opt, "baseline": sgd},
                   "sgd_arm": sgd_arm, "hyperparameters": hyper}
        if not math.isfinite(opt):
            return Result.failed(f"Training with {cls_name} diverged (the loss became NaN or infinite){arm_note}.",
                                 hint="Check the size and the sign of the update.", **details)
        if not math.isfinite(sgd) or opt < sgd:
            return Result.passed(f"{name} helps: loss {opt:.3f} after {e['steps']} steps against {sgd:.3f} with "
                                 f"plain SGD{arm_note}.", **details)
        return Result.failed(
            f"{name} did not beat plain SGD: loss {opt:.3f} after {e['steps']} steps against {sgd:.3f} with "
            f"SGD at learning rate {e['sgd_lr']:g}{arm_note}.",
            hint=f"With a correct {name} update this network trains clearly faster than with plain SGD; "
                 f"compare your update rule with the assignment's.", **details)

    return verdict


# ==========================================================================
# Hooks
# ==========================================================================
@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    checks = []
    for family, meta in FAMILIES.items():
        cls_name, name = meta["class"], meta["name"]
        req = (cls_name,)
        checks += [
            Check(f"{family}.trajectory", f"{cls_name} takes {name} steps (any accepted form)",
                  probe_trajectory, verdict_trajectory_for(family, config), trajectory_inputs(family),
                  section="options", points=12, requires=req, answers=answers_gradients,
                  hint=f"Compare your {cls_name}.backward with the {name} update of the assignment."),
            Check(f"{family}.input_grad", f"{cls_name}.backward returns grad_output @ W.T before the step",
                  probe_trajectory, verdict_input_grad_for(family, config), trajectory_inputs(family),
                  section="options", points=3, requires=req,
                  hint="grad_input = grad_output @ self.weights.T, computed before the update."),
            Check(f"{family}.experiment", f"{name} trains faster than plain SGD on MNIST",
                  probe_experiment, verdict_experiment_for(family, config), experiment_inputs(family),
                  section="options", points=5, requires=req, after=(f"{family}.trajectory",), timeout=20,
                  answers=answers_experiment if family == "momentum" else None,
                  downstream=(f"{family}.", "dense.", "relu."),
                  full_edition_only=True,  # trains with the grader's stand-ins (probes.STAND_INS)
                  hint=f"A correct {name} layer should reach a lower loss than SGD in the same number of steps."),
        ]
    return guard(checks)


_MOM_STEP = """        self.velocity_weights = self.momentum * self.velocity_weights - self.learning_rate * grad_weights
        self.velocity_biases = self.momentum * self.velocity_biases - self.learning_rate * grad_biases
        self.weights = self.weights + self.velocity_weights
        self.biases = self.biases + self.velocity_biases
"""
_MOM_INIT = ("    def __init__(self, input_units, output_units, learning_rate=0.1, momentum=0.9):\n"
             "        super().__init__(input_units, output_units, learning_rate)\n"
             "        self.momentum = momentum\n")
_MOM_UPDATE = """        self.weights = self.weights + self.velocity_weights
        self.biases = self.biases + self.velocity_biases
"""
_RMS_CACHE = """        self.cache_weights = d * self.cache_weights + (1 - d) * grad_weights ** 2
        self.cache_biases = d * self.cache_biases + (1 - d) * grad_biases ** 2
"""
_RMS_UPDATE = """        self.weights = self.weights - self.learning_rate * grad_weights / (np.sqrt(self.cache_weights) + self.epsilon)
        self.biases = self.biases - self.learning_rate * grad_biases / (np.sqrt(self.cache_biases) + self.epsilon)
"""
_ADAM_UPDATE = """        self.weights = self.weights - self.learning_rate * (self.m_weights / c1) / (np.sqrt(self.v_weights / c2) + self.epsilon)
        self.biases = self.biases - self.learning_rate * (self.m_biases / c1) / (np.sqrt(self.v_biases / c2) + self.epsilon)
"""


@nncheck.hookimpl
def nncheck_options(config):
    return list(OPTIONS)


@nncheck.hookimpl(specname="nncheck_selftest_variants")
def nncheck_selftest_form_variants(config):
    """The option in the forms students write it: an own-named class, a flag, a switch (selftest.py)."""
    from nncheck.plugins.optimizers.selftest import form_variants

    return form_variants()


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    f = "options.py"
    return [
        # -- momentum mistakes
        mutant("momentum-plain-sgd", "momentum", "momentum-no-velocity", f, _MOM_STEP,
               "        self.weights = self.weights - self.learning_rate * grad_weights\n"
               "        self.biases = self.biases - self.learning_rate * grad_biases\n",
               "no velocity at all: plain SGD steps"),
        mutant("momentum-velocity-reset", "momentum", "momentum-no-velocity", f, _MOM_STEP,
               "        self.velocity_weights = np.zeros_like(self.weights)\n"
               "        self.velocity_biases = np.zeros_like(self.biases)\n" + _MOM_STEP,
               "the velocity is reset to zero at every call"),
        mutant("momentum-wrong-sign", "momentum", "optimizer-wrong-sign", f, _MOM_UPDATE,
               _MOM_UPDATE.replace(" + self.velocity", " - self.velocity"), "W -= v with v = mu*v - lr*g"),
        mutant("momentum-grad-input-after-update", "momentum", "dense-grad-input-after-update", f,
               "        self.velocity_biases = np.zeros_like(self.biases)\n",
               "        self.velocity_biases = np.zeros_like(self.biases)\n\n"
               "    def backward(self, input, grad_output):\n"
               "        self._step(*self._param_gradients(input, grad_output))\n"
               "        return np.dot(grad_output, self.weights.T)\n",
               "backward returns the input gradient computed with the updated weights"),
        mutant("momentum-argument-ignored", "momentum", "optimizer-ignores-hyperparameter", f, _MOM_INIT,
               _MOM_INIT.replace("self.momentum = momentum", "self.momentum = 0.95  # the argument is not used"),
               "takes a momentum argument but uses a hard-coded 0.95"),
        # -- RMSProp mistakes
        mutant("rmsprop-missing-sqrt", "rmsprop", "rmsprop-missing-sqrt", f, _RMS_UPDATE,
               _RMS_UPDATE.replace("np.sqrt(self.cache_weights)", "self.cache_weights")
               .replace("np.sqrt(self.cache_biases)", "self.cache_biases"), "divides by s + eps"),
        mutant("rmsprop-adagrad", "rmsprop", "rmsprop-no-decay", f, _RMS_CACHE,
               _RMS_CACHE.replace("d * self.cache_weights + (1 - d) * grad_weights ** 2",
                                  "self.cache_weights + grad_weights ** 2")
               .replace("d * self.cache_biases + (1 - d) * grad_biases ** 2", "self.cache_biases + grad_biases ** 2"),
               "s accumulates without decay (Adagrad)"),
        mutant("rmsprop-no-average", "rmsprop", "rmsprop-no-decay", f, _RMS_CACHE,
               "        self.cache_weights = grad_weights ** 2\n        self.cache_biases = grad_biases ** 2\n",
               "s = g**2 at every step"),
        mutant("rmsprop-decay-swapped", "rmsprop", "rmsprop-decay-swapped", f, _RMS_CACHE,
               _RMS_CACHE.replace("d * self.cache_weights + (1 - d) * grad_weights",
                                  "(1 - d) * self.cache_weights + d * grad_weights")
               .replace("d * self.cache_biases + (1 - d) * grad_biases",
                        "(1 - d) * self.cache_biases + d * grad_biases"),
               "decay weights the new squared gradient"),
        mutant("rmsprop-wrong-sign", "rmsprop", "optimizer-wrong-sign", f, _RMS_UPDATE,
               _RMS_UPDATE.replace("self.weights - ", "self.weights + ").replace("self.biases - ", "self.biases + "),
               "W += lr*g/(sqrt(s)+eps)"),
        mutant("rmsprop-plain-sgd", "rmsprop", "optimizer-plain-sgd", f, _RMS_UPDATE,
               "        self.weights = self.weights - self.learning_rate * grad_weights\n"
               "        self.biases = self.biases - self.learning_rate * grad_biases\n",
               "the RMSProp scaling is missing"),
        mutant("rmsprop-ignores-learning-rate", "rmsprop", "optimizer-ignores-hyperparameter", f,
               "        super().__init__(input_units, output_units, learning_rate)\n        self.decay = decay\n",
               "        super().__init__(input_units, output_units)\n        self.decay = decay\n",
               "learning_rate is not passed on to Dense (so it stays 0.1)"),
        # -- Adam mistakes
        mutant("adam-no-bias-correction", "adam", "adam-no-bias-correction", f,
               "        c1 = 1 - b1 ** self.t\n        c2 = 1 - b2 ** self.t\n",
               "        c1 = 1.0\n        c2 = 1.0\n", "m and v used without bias correction"),
        mutant("adam-wrong-sign", "adam", "optimizer-wrong-sign", f, _ADAM_UPDATE,
               _ADAM_UPDATE.replace("self.weights - ", "self.weights + ").replace("self.biases - ", "self.biases + "),
               "W += lr*m_hat/(sqrt(v_hat)+eps)"),
        mutant("adam-missing-sqrt", "adam", "adam-missing-sqrt", f, _ADAM_UPDATE,
               _ADAM_UPDATE.replace("np.sqrt(self.v_weights / c2)", "(self.v_weights / c2)")
               .replace("np.sqrt(self.v_biases / c2)", "(self.v_biases / c2)"), "divides by v_hat + eps"),
        mutant("adam-t-twice", "adam", "adam-step-counter", f, _ADAM_UPDATE,
               _ADAM_UPDATE.replace("\n        self.biases",
                                    "\n        self.t += 1\n        c1 = 1 - b1 ** self.t\n"
                                    "        c2 = 1 - b2 ** self.t\n        self.biases"),
               "t advances once for the weights and once more for the biases"),
        mutant("adam-t-stuck", "adam", "adam-step-counter", f, "        self.t += 1\n", "        self.t = 1\n",
               "t is set to 1 at every call instead of counting the steps"),
        # -- accepted conventions
        correct("momentum-form-g", [(f, _MOM_STEP,
                "        self.velocity_weights = self.momentum * self.velocity_weights + grad_weights\n"
                "        self.velocity_biases = self.momentum * self.velocity_biases + grad_biases\n"
                "        self.weights -= self.learning_rate * self.velocity_weights\n"
                "        self.biases -= self.learning_rate * self.velocity_biases\n")],
                description="v = mu*v + g; W -= lr*v (in-place updates)", families=("momentum",)),
        correct("momentum-form-ema", [(f, _MOM_STEP,
                "        mu = self.momentum\n"
                "        self.velocity_weights = mu * self.velocity_weights + (1 - mu) * grad_weights\n"
                "        self.velocity_biases = mu * self.velocity_biases + (1 - mu) * grad_biases\n"
                "        self.weights = self.weights - self.learning_rate * self.velocity_weights\n"
                "        self.biases = self.biases - self.learning_rate * self.velocity_biases\n")],
                description="v = mu*v + (1-mu)*g; W -= lr*v", families=("momentum",)),
        correct("momentum-nesterov-sutskever", [(f, _MOM_STEP,
                "        mu, lr = self.momentum, self.learning_rate\n"
                "        vw_prev, vb_prev = self.velocity_weights, self.velocity_biases\n"
                "        self.velocity_weights = mu * vw_prev - lr * grad_weights\n"
                "        self.velocity_biases = mu * vb_prev - lr * grad_biases\n"
                "        self.weights = self.weights - mu * vw_prev + (1 + mu) * self.velocity_weights\n"
                "        self.biases = self.biases - mu * vb_prev + (1 + mu) * self.velocity_biases\n")],
                description="Nesterov, W += -mu*v_prev + (1+mu)*v", families=("momentum",)),
        correct("momentum-nesterov-torch", [(f, _MOM_STEP,
                "        mu, lr = self.momentum, self.learning_rate\n"
                "        self.velocity_weights = mu * self.velocity_weights + grad_weights\n"
                "        self.velocity_biases = mu * self.velocity_biases + grad_biases\n"
                "        self.weights = self.weights - lr * (grad_weights + mu * self.velocity_weights)\n"
                "        self.biases = self.biases - lr * (grad_biases + mu * self.velocity_biases)\n")],
                description="Nesterov, v = mu*v + g; W -= lr*(g + mu*v)", families=("momentum",)),
        correct("momentum-other-names", [(f,
                "    def __init__(self, input_units, output_units, learning_rate=0.1, momentum=0.9):\n"
                "        super().__init__(input_units, output_units, learning_rate)\n"
                "        self.momentum = momentum\n",
                "    def __init__(self, input_units, output_units, lr=0.1, mu=0.9):\n"
                "        super().__init__(input_units, output_units, lr)\n"
                "        self.momentum = mu\n")],
                description="hyperparameters named lr and mu", families=("momentum",)),
        correct("momentum-hard-coded", [
            (f, _MOM_INIT, "    def __init__(self, input_units, output_units, learning_rate=0.1):\n"
                           "        super().__init__(input_units, output_units, learning_rate)\n"
                           "        self.coef = 0.95  # no argument: graded at the value it uses\n"),
            (f, "self.momentum * self.velocity_weights", "self.coef * self.velocity_weights"),
            (f, "self.momentum * self.velocity_biases", "self.coef * self.velocity_biases")],
                description="momentum hard-coded (0.95) with no argument: measured from the steps, with a note",
                families=("momentum",)),
        correct("momentum-named-beta1", [(f, _MOM_INIT, _MOM_INIT.replace("momentum=0.9", "beta1=0.9")
                                          .replace("self.momentum = momentum", "self.momentum = beta1"))],
                description="the momentum coefficient named beta1: found as the argument the steps change with",
                families=("momentum",)),
        correct("rmsprop-eps-inside", [(f, _RMS_UPDATE,
                _RMS_UPDATE.replace("(np.sqrt(self.cache_weights) + self.epsilon)",
                                    "np.sqrt(self.cache_weights + self.epsilon)")
                .replace("(np.sqrt(self.cache_biases) + self.epsilon)", "np.sqrt(self.cache_biases + self.epsilon)"))],
                description="eps inside the square root", families=("rmsprop",)),
        correct("rmsprop-average-starts-at-first-square", [(f,
                "        self.cache_weights = np.zeros_like(self.weights)\n"
                "        self.cache_biases = np.zeros_like(self.biases)\n",
                "        self.cache_weights = None\n        self.cache_biases = None\n"), (f,
                "        d = self.decay\n",
                "        d = self.decay\n        if self.cache_weights is None:\n"
                "            self.cache_weights, self.cache_biases = grad_weights ** 2, grad_biases ** 2\n")],
                description="the running average starts at the first squared gradient instead of 0",
                families=("rmsprop",)),
        correct("rmsprop-rho-fixed-eps", [(f,
                "    def __init__(self, input_units, output_units, learning_rate=0.001, decay=0.9, epsilon=1e-8):\n"
                "        super().__init__(input_units, output_units, learning_rate)\n"
                "        self.decay = decay\n        self.epsilon = epsilon\n",
                "    def __init__(self, input_units, output_units, learning_rate=0.001, rho=0.9):\n"
                "        super().__init__(input_units, output_units, learning_rate)\n"
                "        self.decay = rho\n        self.epsilon = 1e-8\n")],
                description="decay named rho, no epsilon argument (fixed 1e-8)", families=("rmsprop",)),
        correct("adam-paper-form", [(f, _ADAM_UPDATE,
                "        lr_t = self.learning_rate * np.sqrt(c2) / c1\n"
                "        self.weights = self.weights - lr_t * self.m_weights / "
                "(np.sqrt(self.v_weights) + self.epsilon)\n"
                "        self.biases = self.biases - lr_t * self.m_biases / "
                "(np.sqrt(self.v_biases) + self.epsilon)\n")],
                description="the Adam paper's efficient form", families=("adam",)),
    ]
