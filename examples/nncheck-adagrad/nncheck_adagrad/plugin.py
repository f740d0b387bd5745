"""nncheck checks for an AdaGrad option: the grader side (inputs, verdicts, hooks).

Two checks in section ``options`` (family ``adagrad``), on one probe
(:func:`nncheck_adagrad.sandboxed.probe_trajectory`, the only module of this package
the sandbox sees):

* ``adagrad.trajectory``: the layer is driven through 6 steps of grader-chosen
  inputs and ``grad_output``s from weights and biases set after construction; the
  weights and the biases after every step are compared with every rule of
  :data:`nncheck_adagrad.reference.RULES`. Accepted: ``G += g**2`` and
  ``W -= lr * g / (sqrt(G) + eps)`` or ``/ sqrt(G + eps)``. Any other rule that
  matches names its mistakes: ``adagrad-missing-sqrt``, ``adagrad-no-accumulation``,
  ``adagrad-wrong-sign``.
* ``adagrad.input_grad``: ``backward`` returns ``grad_output @ W.T`` with the
  weights before the step.

The option itself (how a student's own class or flag is recognised) is in
``option.py``; the diagnoses' titles and pointers in ``diagnoses.py``.
Registered through the ``nncheck`` entry-point group (see pyproject.toml).
"""
import numpy as np

import nncheck
from nncheck.model import Check, Fail, Result
from nncheck.variants import Variant
from nncheck.verdicts import as_array, mismatch_details, require_finite

from nncheck_adagrad.diagnoses import DIAGNOSES
from nncheck_adagrad.option import ADAGRAD
from nncheck_adagrad.sandboxed import probe_trajectory
from nncheck_adagrad.reference import RULES, Rule, gradients, trajectory

STEPS = 6
#: Epsilons a student may hard-code instead of the one passed: tried when the one passed does not fit.
EPS_GRID = (1e-8, 1e-7, 1e-6, 1e-10, 0.0)
HINTS = {
    "adagrad-missing-sqrt": "Divide by the square root of the accumulated squares: "
                            "W -= lr * g / (np.sqrt(G) + eps).",
    "adagrad-no-accumulation": "Create G once in __init__ (zeros shaped like the parameter) and add to it at "
                               "every step: G += g ** 2; never set it to this step's g ** 2 alone.",
    "adagrad-wrong-sign": "Step against the gradient: W -= lr * g / (np.sqrt(G) + eps).",
}
ACCEPTED = "G += g**2; W -= lr * g / (sqrt(G) + eps), or / sqrt(G + eps); the same for the biases"


def make_inputs(rng):
    n_in, n_out, batch = int(rng.integers(3, 7)), int(rng.integers(2, 6)), 7
    return {"hyper": {"learning_rate": float(round(rng.uniform(0.01, 0.05), 4)), "epsilon": 1e-6},
            "W0": rng.normal(0, 0.5, size=(n_in, n_out)), "b0": rng.normal(0, 0.5, size=n_out),
            "xs": rng.normal(size=(STEPS, batch, n_in)),
            "gs": rng.normal(size=(STEPS, batch, n_out)) / batch}  # as train() passes it: divided by the batch


def _read(inputs, output):
    """The student's weights and biases after every step, as arrays ``[steps, ...]``."""
    ws, bs = output.get("weights") or [], output.get("biases") or []
    if len(ws) != STEPS or len(bs) != STEPS:
        raise Fail(Result.failed(f"could not read the weights after each of the {STEPS} steps."))
    Ws = np.array([as_array(w, f"weights after step {k + 1}", inputs["W0"].shape) for k, w in enumerate(ws)])
    bs = np.array([as_array(b, f"biases after step {k + 1}", inputs["b0"].shape) for k, b in enumerate(bs)])
    require_finite(Ws, "the weights during the steps")
    require_finite(bs, "the biases during the steps")
    return Ws, bs


def _rel_err(got, expected, start):
    scale = max(float(np.abs(expected - start).max(initial=0.0)), 1e-12)
    return float(np.abs(got - expected).max(initial=0.0)) / scale


def fit(inputs, got, part, tol):
    """``(rule, eps, error)`` of every rule that reproduces the student's ``part`` (0: weights, 1:
    biases), best first: accepted rules, then the fewest mistakes; the epsilon passed before others."""
    grads = gradients(inputs["xs"], inputs["gs"])
    lr, eps0 = inputs["hyper"]["learning_rate"], inputs["hyper"]["epsilon"]
    start = (inputs["W0"], inputs["b0"])[part]
    found = []
    for eps in [eps0, *(e for e in EPS_GRID if e != eps0)]:
        for rule in RULES:
            with np.errstate(all="ignore"):
                expected = trajectory(rule, inputs["W0"], inputs["b0"], grads, lr, eps)[part]
            err = _rel_err(got, expected, start)
            if np.isfinite(err) and err <= tol:
                found.append((rule, eps, err))
    return sorted(found, key=lambda m: (not m[0].accepted, len(m[0].diagnoses), m[1] != eps0, m[2]))


def _first_wrong_step(inputs, Ws, tol):
    grads = gradients(inputs["xs"], inputs["gs"])
    h = inputs["hyper"]
    eW, _ = trajectory(Rule(), inputs["W0"], inputs["b0"], grads, h["learning_rate"], h["epsilon"])
    for k in range(STEPS):
        if _rel_err(Ws[k], eW[k], inputs["W0"]) > tol:
            return k, eW[k]
    return STEPS - 1, eW[-1]


def verdict_trajectory_for(config):
    tol = config.tolerance("adagrad.trajectory", 1e-6)

    def verdict(inputs, output):
        Ws, bs = _read(inputs, output)
        common = {"hyperparameters": inputs["hyper"], "passed_as": output.get("how") or {}, "steps": STEPS,
                  "tolerance": tol}
        matches = [fit(inputs, Ws, 0, tol), fit(inputs, bs, 1, tol)]
        best = [m[0] if m else None for m in matches]
        if all(m is not None and m[0].accepted for m in best):
            rule, eps, _ = best[0]
            note = ""
            if eps != inputs["hyper"]["epsilon"]:
                note = f"; note: it uses epsilon={eps:g}, not the epsilon={inputs['hyper']['epsilon']:g} it was given"
            return Result.passed(f"Your AdaGrad layer takes AdaGrad steps ({rule.label}) over {STEPS} steps{note}.",
                                 formula=rule.label, epsilon_used=eps, **common)
        if all(m is not None for m in best):
            parts, diagnoses = [], []
            for what, (rule, eps, _) in zip(("weights", "biases"), best):
                parts.append(f"the {what} follow {rule.label}" + (" (accepted)" if rule.accepted else ""))
                diagnoses += [d for d in rule.diagnoses if d not in diagnoses]
            return Result.failed(f"Your AdaGrad layer does not take AdaGrad steps: {'; '.join(parts)}.",
                                 hint=" ".join(HINTS[d] for d in diagnoses), diagnosis=diagnoses,
                                 formulas={"weights": best[0][0].label, "biases": best[1][0].label}, **common)
        if np.array_equal(Ws, np.broadcast_to(inputs["W0"], Ws.shape)):
            return Result.failed("Your AdaGrad layer's backward does not change the weights.",
                                 hint="backward must assign the updated arrays to self.weights and self.biases.",
                                 **common)
        k, expected = _first_wrong_step(inputs, Ws, tol)
        return Result.failed(f"Your AdaGrad layer's weights follow no AdaGrad update nncheck knows (the first "
                             f"step that differs from {Rule().label} is step {k + 1}).",
                             hint=f"Accepted: {ACCEPTED}.", **common, **mismatch_details(Ws[k], expected))

    return verdict


def verdict_input_grad(inputs, output):
    Ws, _ = _read(inputs, output)
    gis = output.get("grad_inputs") or []
    before = [inputs["W0"], *Ws[:-1]]
    for k, (x, g) in enumerate(zip(inputs["xs"], inputs["gs"])):
        got = as_array(gis[k] if k < len(gis) else None, f"backward (step {k + 1})", x.shape)
        expected, after = g @ before[k].T, g @ Ws[k].T
        if np.allclose(got, expected, rtol=1e-8, atol=1e-12):
            continue
        if np.allclose(got, after, rtol=1e-8, atol=1e-12):
            return Result.failed(f"backward returns grad_output @ W.T computed with the weights AFTER the update "
                                 f"(seen at step {k + 1}).",
                                 hint="Compute grad_input = grad_output @ self.weights.T first, then update.",
                                 diagnosis="adagrad-grad-input-after-update", step=k + 1)
        return Result.failed(f"backward does not return grad_output @ W.T (step {k + 1}).",
                             hint="backward returns grad_output @ self.weights.T, with the weights before the "
                                  "update.", step=k + 1, **mismatch_details(got, expected))
    return Result.passed(f"backward returns grad_output @ W.T with the weights before each of the {STEPS} steps.")


# ==========================================================================
# Hooks
# ==========================================================================
@nncheck.hookimpl
def nncheck_checks(config):
    req = (ADAGRAD.canonical,)  # discovery swaps in the student's own class or form
    return [
        Check("adagrad.trajectory", "AdaGrad takes AdaGrad steps (any accepted form)", probe_trajectory,
              verdict_trajectory_for(config), make_inputs, section="options", points=12, requires=req,
              entry="{cls}.backward", hint="Compare your backward with G += g**2; W -= lr*g/(sqrt(G)+eps)."),
        Check("adagrad.input_grad", "AdaGrad's backward returns grad_output @ W.T before the step",
              probe_trajectory, verdict_input_grad, make_inputs, section="options", points=3, requires=req,
              entry="{cls}.backward", hint="grad_input = grad_output @ self.weights.T, computed before the update."),
    ]


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_options(config):
    return [ADAGRAD]


# -- selftest: the option under a name of its own and as a flag, right and with a bug --
LAYER = """import numpy as np


class Layer:
    def forward(self, input):
        return input

    def backward(self, input, grad_output):
        return grad_output
"""
GOOD = LAYER + """

class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return input @ self.weights + self.biases

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        self.weights = self.weights - self.learning_rate * input.T @ grad_output
        self.biases = self.biases - self.learning_rate * grad_output.sum(axis=0)
        return grad_input


class Dense_Ada(Dense):
    def __init__(self, input_units, output_units, lr=0.01, eps=1e-8):
        super().__init__(input_units, output_units, lr)
        self.eps = eps
        self.G_w = np.zeros((input_units, output_units))
        self.G_b = np.zeros(output_units)

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        grad_w, grad_b = input.T @ grad_output, grad_output.sum(axis=0)
        self.G_w += grad_w ** 2
        self.G_b += grad_b ** 2
        self.weights = self.weights - self.learning_rate * grad_w / (np.sqrt(self.G_w) + self.eps)
        self.biases = self.biases - self.learning_rate * grad_b / (np.sqrt(self.G_b) + self.eps)
        return grad_input
"""
#: AdaGrad as a flag on Dense: a weak clue, graded once the option's fingerprint confirms it.
FLAG = LAYER + """

class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1, optimizer='sgd'):
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
        self.G_w, self.G_b = 0.0, 0.0

    def forward(self, input):
        return input @ self.weights + self.biases

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        grad_w, grad_b = input.T @ grad_output, grad_output.sum(axis=0)
        if self.optimizer == 'adagrad':
            self.G_w = self.G_w + grad_w ** 2
            self.G_b = self.G_b + grad_b ** 2
            grad_w, grad_b = grad_w / np.sqrt(self.G_w + 1e-8), grad_b / np.sqrt(self.G_b + 1e-8)
        self.weights = self.weights - self.learning_rate * grad_w
        self.biases = self.biases - self.learning_rate * grad_b
        return grad_input
"""
MUTANTS = [  # (name, diagnosis, the correct submission, its line the bug rewrites, the line it becomes)
    ("adagrad-missing-sqrt", "adagrad-missing-sqrt", GOOD,
     "        self.weights = self.weights - self.learning_rate * grad_w / (np.sqrt(self.G_w) + self.eps)",
     "        self.weights = self.weights - self.learning_rate * grad_w / (self.G_w + self.eps)"),
    ("adagrad-no-accumulation", "adagrad-no-accumulation", GOOD,
     "        self.G_w += grad_w ** 2", "        self.G_w = grad_w ** 2"),
    ("adagrad-wrong-sign", "adagrad-wrong-sign", GOOD,
     "        self.weights = self.weights - self.learning_rate * grad_w / (np.sqrt(self.G_w) + self.eps)",
     "        self.weights = self.weights + self.learning_rate * grad_w / (np.sqrt(self.G_w) + self.eps)"),
    ("adagrad-flag-missing-sqrt", "adagrad-missing-sqrt", FLAG,
     "            grad_w, grad_b = grad_w / np.sqrt(self.G_w + 1e-8), grad_b / np.sqrt(self.G_b + 1e-8)",
     "            grad_w, grad_b = grad_w / (self.G_w + 1e-8), grad_b / (self.G_b + 1e-8)"),
]


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    """Each mutant must fail ``adagrad`` naming its diagnosis, and pin only the line it rewrote."""
    out = [Variant("adagrad-own-name", "correct", files={"adagrad.py": GOOD}, families=("adagrad",),
                   description="AdaGrad as Dense_Ada(Dense), hyperparameters named lr and eps"),
           Variant("adagrad-flag", "correct", files={"adagrad.py": FLAG}, families=("adagrad",),
                   description="AdaGrad as Dense(..., optimizer='adagrad'), eps fixed inside the root")]
    for name, code, base, old, new in MUTANTS:
        line = base.split("\n").index(old) + 1
        out.append(Variant(name, "mutant", "adagrad", code, files={"adagrad.py": base.replace(old, new)},
                           lines={"adagrad.py": [line]}, description=new.strip()))
    return out
