"""The update rules an optimizer option is compared with: every accepted form of
momentum, RMSProp and Adam, and the known mistakes (each with the diagnoses it names).

:data:`UPDATE_RULES` maps a family (``momentum``, ``rmsprop``, ``adam``) to its
:class:`Rule` objects; :func:`_simulate` runs one rule over a sequence of gradients.

This module ships in the student edition, and it is no solution of the assignment.
Each rule is a one-line update of one parameter array given its gradient
(``p - lr * g / (sqrt(s) + eps)``), the formulas the assignment's text and the
checks' hints already state; the accepted ones sit among their known mistakes.
Nothing here computes a gradient, a forward pass or a loss, holds a layer or
keeps a layer's state between calls: no ``Dense``, ``MomentumDense``, ... can be
built from it, and inlined into a submission it defines no name the assignment
asks for. The rules need no reference: the verdict compares the student's
trajectory with them on the gradients its answers give (``answers_gradients``),
with whatever hyperparameters the student's layer turns out to use.
"""
import itertools
import math
from dataclasses import dataclass

import numpy as np

@dataclass
class Rule:
    """One way to update a parameter: an accepted form of the assignment's rule, or a known mistake.

    ``step(p, g, state, hp, t) -> new p``: one parameter array, its own ``state``
    dict, step number ``t`` from 1.
    """

    key: str
    label: str                 # the update, as shown to students
    accepted: bool
    diagnoses: tuple = ()
    explain: str = ""          # for a mistake: what the student's code does, in words
    step: object = None
    sign: float = 1.0          # -1: the update direction flipped (lr -> -lr)
    grad_scale: str = ""       # "batch": gradients divided by the batch size
    counter: int = 1           # Adam's step counter: 1 right; 2/3 advancing twice per call (weights or
    #                            biases first); 0 stuck at 1
    deviations: int = 0

    def hp(self, hp):
        return dict(hp, learning_rate=self.sign * hp["learning_rate"])


def _simulate(rule, hp, W0, b0, grads):
    """The trajectory ``(Ws [K,...], bs [K,...], velocities of W or None)`` of ``rule``."""
    hp = rule.hp(hp)
    Ws, bs, vs = [], [], []
    W, b, sW, sb = W0.copy(), b0.copy(), {}, {}
    for k, (dW, db) in enumerate(grads, start=1):
        tW, tb = {1: (k, k), 2: (2 * k - 1, 2 * k), 3: (2 * k, 2 * k - 1), 0: (1, 1)}[rule.counter]
        W = rule.step(W, dW, sW, hp, tW)
        b = rule.step(b, db, sb, hp, tb)
        Ws.append(W.copy())
        bs.append(b.copy())
        if "v" in sW:
            vs.append(np.array(sW["v"], dtype=float))
    return np.array(Ws), np.array(bs), (np.array(vs) if vs else None)


# -- momentum --------------------------------------------------------------
def _momentum_heavy_ball(p, g, st, hp, t):
    """v = mu*v - lr*g; W += v (the assignment's form)."""
    st["v"] = hp["momentum"] * st.get("v", 0.0) - hp["learning_rate"] * g
    return p + st["v"]


def _momentum_ema(p, g, st, hp, t):
    """v = mu*v + (1-mu)*g; W -= lr*v."""
    mu = hp["momentum"]
    st["v"] = mu * st.get("v", 0.0) + (1 - mu) * g
    return p - hp["learning_rate"] * st["v"]


def _momentum_nesterov(p, g, st, hp, t):
    """Nesterov: v = mu*v - lr*g; W += mu*v - lr*g (= Sutskever's and PyTorch's forms)."""
    mu, lr = hp["momentum"], hp["learning_rate"]
    st["v"] = mu * st.get("v", 0.0) - lr * g
    return p + mu * st["v"] - lr * g


def _momentum_rules():
    forms = [
        ("heavy-ball", "v = mu*v - lr*g; W += v",
         dict(step=_momentum_heavy_ball)),
        ("ema", "v = mu*v + (1-mu)*g; W -= lr*v", dict(step=_momentum_ema)),
        ("nesterov", "Nesterov: v = mu*v - lr*g; W += mu*v - lr*g", dict(step=_momentum_nesterov)),
    ]
    rules = []
    for key, label, how in forms:
        rules.append(Rule(key, label, True, **how))
        rules.append(Rule(key + "/wrong-sign", label.replace("- lr*g", "+ lr*g").replace("W -=", "W +="),
                          False, ("optimizer-wrong-sign",),
                          "the update has the wrong sign: the weights move up the gradient",
                          sign=-1.0, deviations=1, **how))
        rules.append(Rule(key + "/grad-mean", label, False, ("dense-grad-divided-by-batch",),
                          "the update rule is right but the gradients are divided by the batch size",
                          grad_scale="batch", deviations=1, **how))
    return rules


# -- RMSProp ---------------------------------------------------------------
_RMS_ACC = {
    # key: (update of s, formula, what it means (for a mistake), diagnosis)
    "ema": (lambda s, g2, d: d * s + (1 - d) * g2, "s = d*s + (1-d)*g**2", "", None),
    # the average started at the first squared gradient instead of 0 (no small first-step bias)
    "first": (lambda s, g2, d: d * s + (1 - d) * g2, "s = g**2 at the first step, then d*s + (1-d)*g**2", "",
              None),
    "square": (lambda s, g2, d: g2, "s = g**2", "the squared gradients are not averaged over steps",
               "rmsprop-no-decay"),
    "reset": (lambda s, g2, d: (1 - d) * g2, "s = (1-d)*g**2",
              "the running average restarts from zero at every call instead of being kept between calls",
              "rmsprop-no-decay"),
    "sum": (lambda s, g2, d: s + g2, "s = s + g**2",
            "s sums the squared gradients without ever forgetting them (that is Adagrad)", "rmsprop-no-decay"),
    "sum-1md": (lambda s, g2, d: s + (1 - d) * g2, "s = s + (1-d)*g**2",
                "the old average is not multiplied by decay, so it never fades", "rmsprop-no-decay"),
    "swapped": (lambda s, g2, d: (1 - d) * s + d * g2, "s = (1-d)*s + d*g**2",
                "decay weights the new squared gradient instead of the old average",
                "rmsprop-decay-swapped"),
}
_RMS_DENOM = {
    "out": (lambda s, eps: np.sqrt(s) + eps, "W -= lr*g/(sqrt(s) + eps)", "", None),
    "in": (lambda s, eps: np.sqrt(s + eps), "W -= lr*g/sqrt(s + eps)", "", None),
    "nosqrt": (lambda s, eps: s + eps, "W -= lr*g/(s + eps)", "the step is divided by s instead of its square root",
               "rmsprop-missing-sqrt"),
}


def _rmsprop_step(acc, denom):
    acc_fn, den_fn = _RMS_ACC[acc][0], _RMS_DENOM[denom][0]

    def step(p, g, st, hp, t):
        g2 = g * g
        st["s"] = g2 if acc == "first" and "s" not in st else acc_fn(st.get("s", 0.0), g2, hp["decay"])
        return p - hp["learning_rate"] * g / den_fn(st["s"], hp["epsilon"])
    return step


def _rmsprop_rules():
    rules = []
    for (acc, (_, acc_f, acc_label, acc_diag)), (den, (_, den_f, den_label, den_diag)), sign in itertools.product(
            _RMS_ACC.items(), _RMS_DENOM.items(), (1.0, -1.0)):
        diags = tuple(d for d in (acc_diag, den_diag, "optimizer-wrong-sign" if sign < 0 else None) if d)
        label = f"{acc_f}; {den_f}"
        if sign < 0:
            label = label.replace("W -=", "W +=")
        how = dict(step=_rmsprop_step(acc, den))
        parts = [x for x, d in ((acc_label, acc_diag), (den_label, den_diag)) if d]
        if sign < 0:
            parts.append("the update has the wrong sign: the weights move up the gradient")
        rules.append(Rule(f"{acc}/{den}" + ("/wrong-sign" if sign < 0 else ""), label, not diags, diags,
                          "; ".join(parts), sign=sign, deviations=len(diags), **how))
        if not diags:
            rules.append(Rule(f"{acc}/{den}/grad-mean", label, False, ("dense-grad-divided-by-batch",),
                              "the update rule is right but the gradients are divided by the batch size",
                              grad_scale="batch", deviations=1, **how))
    return rules


# -- Adam ------------------------------------------------------------------
_ADAM_CORR = {
    # key: (formula, what it means (for a mistake), diagnosis)
    "both": ("m_hat = m/(1-b1**t), v_hat = v/(1-b2**t)", "", None),
    "none": ("m_hat = m, v_hat = v", "m and v are used without bias correction", "adam-no-bias-correction"),
    "m": ("m_hat = m/(1-b1**t), v_hat = v", "only m is bias-corrected, v is used as it is",
          "adam-no-bias-correction"),
    "v": ("m_hat = m, v_hat = v/(1-b2**t)", "only v is bias-corrected, m is used as it is",
          "adam-no-bias-correction"),
}
_ADAM_DENOM = {
    "out": ("W -= lr*m_hat/(sqrt(v_hat) + eps)", "", None),
    "in": ("W -= lr*m_hat/sqrt(v_hat + eps)", "", None),
    "paper": ("W -= lr*sqrt(1-b2**t)/(1-b1**t) * m/(sqrt(v) + eps)", "", None),
    "nosqrt": ("W -= lr*m_hat/(v_hat + eps)", "the step is divided by v_hat instead of its square root",
               "adam-missing-sqrt"),
}


def _adam_step(corr, denom):
    def step(p, g, st, hp, t):
        b1, b2, eps, lr = hp["beta1"], hp["beta2"], hp["epsilon"], hp["learning_rate"]
        st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
        st["v2"] = b2 * st.get("v2", 0.0) + (1 - b2) * g * g
        m, v = st["m"], st["v2"]
        if denom == "paper":
            return p - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        m_hat = m / (1 - b1 ** t) if corr in ("both", "m") else m
        v_hat = v / (1 - b2 ** t) if corr in ("both", "v") else v
        if denom == "out":
            return p - lr * m_hat / (np.sqrt(v_hat) + eps)
        if denom == "in":
            return p - lr * m_hat / np.sqrt(v_hat + eps)
        return p - lr * m_hat / (v_hat + eps)
    return step


def _adam_rules():
    rules = []
    combos = itertools.product(_ADAM_CORR.items(), _ADAM_DENOM.items(), (1.0, -1.0), (1, 2, 3, 0))
    for (corr, (corr_f, corr_label, corr_diag)), (den, (den_f, den_label, den_diag)), sign, counter in combos:
        if den == "paper" and corr != "both":
            continue  # the paper's form without its correction factor is the "out" form without it
        if corr == "none" and counter != 1:
            continue  # without bias correction t plays no part
        diags = tuple(d for d in (corr_diag, den_diag, "optimizer-wrong-sign" if sign < 0 else None,
                                  "adam-step-counter" if counter != 1 else None) if d)
        label = f"m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g**2, {corr_f}; {den_f}"
        if den == "paper":
            label = f"m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g**2; {den_f}"
        if sign < 0:
            label = label.replace("W -=", "W +=")
        label += {1: "", 2: " (t advancing twice per call)", 3: " (t advancing twice per call)",
                  0: " (t = 1 at every step)"}[counter]
        how = dict(step=_adam_step(corr, den))
        parts = [x for x, d in ((corr_label, corr_diag), (den_label, den_diag)) if d]
        if sign < 0:
            parts.append("the update has the wrong sign: the weights move up the gradient")
        if counter in (2, 3):
            parts.append("the step counter t advances twice per backward call (once for the weights, "
                         "once for the biases)")
        if counter == 0:
            parts.append("the step counter t stays at 1 (it is not kept or not increased between calls)")
        key = f"{corr}/{den}" + ("/wrong-sign" if sign < 0 else "")
        key += {1: "", 2: "/t-twice", 3: "/t-twice-b", 0: "/t-stuck"}[counter]
        rules.append(Rule(key,
                          label, not diags, diags, "; ".join(parts), sign=sign, counter=counter,
                          deviations=len(diags), **how))
        if not diags:
            rules.append(Rule(f"{corr}/{den}/grad-mean", label, False, ("dense-grad-divided-by-batch",),
                              "the update rule is right but the gradients are divided by the batch size",
                              grad_scale="batch", deviations=1, **how))
    return rules


UPDATE_RULES = {"momentum": _momentum_rules(), "rmsprop": _rmsprop_rules(), "adam": _adam_rules()}
