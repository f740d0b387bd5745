"""The reference AdaGrad, and the known mistakes as variations of it (grader side).

AdaGrad keeps, for every parameter, the sum ``G`` of its squared gradients over
all steps so far and divides each step by its root:

    G += g**2
    W -= lr * g / (sqrt(G) + eps)        (or, just as good, / sqrt(G + eps))

:data:`RULES` is every combination of the four choices a student makes (the
direction of the step, whether ``G`` accumulates, whether the root is taken, where
eps goes); exactly the forward-stepping, accumulating, rooted ones are accepted,
and each other one names the diagnoses of what it gets wrong.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rule:
    """One way to update a parameter: an accepted form of AdaGrad or a known mistake."""

    descends: bool = True        # W -= ... (False: W += ..., uphill)
    accumulates: bool = True     # G += g**2 (False: G = g**2, the current step only)
    root: bool = True            # divides by sqrt(G) (False: by G itself)
    eps_inside: bool = False     # sqrt(G + eps) instead of sqrt(G) + eps

    @property
    def accepted(self) -> bool:
        return self.descends and self.accumulates and self.root

    @property
    def diagnoses(self) -> tuple[str, ...]:
        out = []
        if not self.root:
            out.append("adagrad-missing-sqrt")
        if not self.accumulates:
            out.append("adagrad-no-accumulation")
        if not self.descends:
            out.append("adagrad-wrong-sign")
        return tuple(out)

    @property
    def label(self) -> str:
        g = "G += g**2" if self.accumulates else "G = g**2"
        den = ("sqrt(G + eps)" if self.eps_inside else "(sqrt(G) + eps)") if self.root else "(G + eps)"
        return f"{g}; W {'-' if self.descends else '+'}= lr * g / {den}"

    def step(self, p, g, G, lr, eps):
        """``(new p, new G)`` after one step of this rule."""
        G = G + g ** 2 if self.accumulates else g ** 2
        if self.root:
            den = np.sqrt(G + eps) if self.eps_inside else np.sqrt(G) + eps
        else:
            den = G + eps
        return (p - lr * g / den if self.descends else p + lr * g / den), G


RULES = [Rule(d, a, r, e) for d, a, r, e in itertools.product((True, False), repeat=4)
         if r or not e]  # without a root, eps inside or outside is the same rule


def gradients(xs, gs):
    """``(x.T @ g, g.sum(0))`` for each step: the Dense gradients of the assignment."""
    return [(x.T @ g, g.sum(axis=0)) for x, g in zip(xs, gs)]


def trajectory(rule: Rule, W0, b0, grads, lr, eps):
    """The weights and biases after every step of ``rule``: arrays ``[steps, ...]``."""
    W, b = np.array(W0, dtype=float), np.array(b0, dtype=float)
    GW, Gb = np.zeros_like(W), np.zeros_like(b)
    Ws, bs = [], []
    for dW, db in grads:
        W, GW = rule.step(W, dW, GW, lr, eps)
        b, Gb = rule.step(b, db, Gb, lr, eps)
        Ws.append(W.copy())
        bs.append(b.copy())
    return np.array(Ws), np.array(bs)


class AdaGradDense:
    """The reference layer, for reading: ``AdaGradDense(input_units, output_units, learning_rate, epsilon)``."""

    def __init__(self, input_units, output_units, learning_rate=0.01, epsilon=1e-8):
        self.learning_rate, self.epsilon = learning_rate, epsilon
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
        self.G_weights = np.zeros_like(self.weights)
        self.G_biases = np.zeros_like(self.biases)

    def forward(self, input):
        return input @ self.weights + self.biases

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        rule = Rule()
        self.weights, self.G_weights = rule.step(self.weights, input.T @ grad_output, self.G_weights,
                                                 self.learning_rate, self.epsilon)
        self.biases, self.G_biases = rule.step(self.biases, grad_output.sum(axis=0), self.G_biases,
                                               self.learning_rate, self.epsilon)
        return grad_input
