"""ReLU checks: forward values and the backward mask.

Inputs include exact zeros: at 0 both 0 and 1 are valid subgradients,
so entries where the input is exactly 0 are not judged in
backward.
"""

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Result
from nncheck.verdicts import check_array, as_array, allclose
from nncheck.plugins.relu.diagnoses import DIAGNOSES, FORWARD_POINTER
from nncheck.plugins.relu.sandboxed import (  # noqa: F401 - the worker-side half
    probe_backward,
    probe_forward,
)


def relu_inputs(rng):
    b, n = int(rng.integers(3, 9)), int(rng.integers(5, 17))
    x = rng.normal(size=(b, n))
    x[rng.random((b, n)) < 0.15] = 0.0  # exact zeros: both subgradients accepted
    return {"x": x, "grad_output": rng.normal(size=(b, n))}


def answers_relu(inputs):
    """The reference's forward and backward on these inputs (the only code here that calls it)."""
    from nncheck import reference as ref

    return {"forward": ref.ReLU().forward(inputs["x"]),
            "backward": ref.ReLU().backward(inputs["x"], inputs["grad_output"])}


def verdict_forward(inputs, output, answers=None):
    expected = (answers or answers_relu(inputs))["forward"]
    check_array(output["out"], expected, "ReLU.forward(x)", rtol=0, atol=0,
                hint="ReLU keeps positive entries and replaces the others by 0: np.maximum(x, 0).")
    return Result.passed()


def verdict_backward(inputs, output, answers=None):
    x, g = inputs["x"], inputs["grad_output"]
    expected = (answers or answers_relu(inputs))["backward"]
    got = as_array(output["grad_input"], "ReLU.backward(x, grad_output)", expected.shape)
    judged = x != 0  # at exactly 0 either subgradient is fine
    if allclose(got[judged], expected[judged], 1e-12, 0):
        return Result.passed()
    if allclose(got[judged], g[judged], 1e-12, 0):
        return Result.failed(
            "ReLU.backward passes the gradient through everywhere, also where the input was negative.",
            hint="Multiply grad_output by the mask (input > 0): where ReLU output 0, no gradient flows.",
            diagnosis="relu-backward-not-masked")
    if allclose(got[judged], (x > 0)[judged].astype(float), 1e-12, 0):
        return Result.failed(
            "ReLU.backward returns the mask (input > 0) itself instead of multiplying grad_output by it.",
            hint="Chain rule: grad_input = grad_output * (input > 0).",
            diagnosis="relu-backward-not-masked")
    check_array(got, expected, "ReLU.backward(x, grad_output)", rtol=1e-12, atol=0,
                hint="grad_input = grad_output * (input > 0).")
    return Result.passed()


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    return guard([
        Check("relu.forward", "ReLU computes max(x, 0)", probe_forward, verdict_forward,
              relu_inputs, points=5, requires=("ReLU",), entry="{cls}.forward", pointer=FORWARD_POINTER,
              answers=answers_relu,
              hint="ReLU.forward should return np.maximum(input, 0)."),
        Check("relu.backward", "ReLU passes gradients only where the input was positive",
              probe_backward, verdict_backward, relu_inputs, points=5, requires=("ReLU",),
              entry="{cls}.backward", answers=answers_relu,
              hint="ReLU.backward should return grad_output * (input > 0)."),
    ])


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    return [
        mutant("relu-backward-unmasked", "relu", "relu-backward-not-masked", "layers.py",
               "return grad_output * (input > 0)", "return grad_output",
               "backward forgets the mask and passes every gradient through"),
        mutant("relu-backward-returns-mask", "relu", "relu-backward-not-masked", "layers.py",
               "return grad_output * (input > 0)", "return (input > 0).astype(float)",
               "backward returns the derivative of ReLU, not the chain-rule product"),
        correct("relu-where-style", [
            ("layers.py", "return np.maximum(input, 0.0)", "return np.where(input > 0, input, 0.0)"),
            ("layers.py", "return grad_output * (input > 0)", "return np.where(input >= 0, grad_output, 0.0)"),
        ], description="np.where, and subgradient 1 at exactly 0"),
    ]
