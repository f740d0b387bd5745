"""nncheck checks for ``LeakyReLU(slope)``: forward values and backward gradient.

The grader side: inputs, verdicts against this package's own reference, and
the hooks. The probe lives in :mod:`nncheck_leakyrelu.sandboxed`, the only module
of this package the sandbox sees. Registered through the ``nncheck``
entry-point group (see pyproject.toml), so ``pip install nncheck-leakyrelu``
is all an instructor needs.
"""
import numpy as np

import nncheck
from nncheck.model import Check, Result
from nncheck.variants import Variant
from nncheck.verdicts import check_array

from nncheck_leakyrelu.sandboxed import probe
from nncheck_leakyrelu.reference import LeakyReLU


def make_inputs(rng):
    b, n = int(rng.integers(3, 9)), int(rng.integers(4, 12))
    return {"x": rng.normal(size=(b, n)), "grad_output": rng.normal(size=(b, n)),
            "slope": float(rng.uniform(0.05, 0.3))}


def verdict_forward(inputs, output):
    expected = LeakyReLU(inputs["slope"]).forward(inputs["x"])
    got = check_array(output["out"], expected, "LeakyReLU.forward(x)", rtol=1e-12,
                      hint="Negative inputs are multiplied by the slope, not set to 0.")
    del got
    return Result.passed()


def verdict_backward(inputs, output):
    expected = LeakyReLU(inputs["slope"]).backward(inputs["x"], inputs["grad_output"])
    check_array(output["grad_input"], expected, "LeakyReLU.backward(x, grad_output)", rtol=1e-12,
                hint="Where the input was negative the gradient is slope * grad_output.")
    return Result.passed()


@nncheck.hookimpl
def nncheck_checks(config):
    return [
        Check("leakyrelu.forward", "LeakyReLU keeps positives and scales negatives", probe,
              verdict_forward, make_inputs, section="bonus", points=2, requires=("LeakyReLU",)),
        Check("leakyrelu.backward", "LeakyReLU's gradient is 1 or the slope", probe,
              verdict_backward, make_inputs, section="bonus", points=2, requires=("LeakyReLU",)),
    ]


GOOD = '''
import numpy as np
class LeakyReLU:
    def __init__(self, slope=0.01):
        self.slope = slope
    def forward(self, input):
        return np.maximum(input, self.slope * input)
    def backward(self, input, grad_output):
        return grad_output * np.where(input > 0, 1.0, self.slope)
'''


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    return [
        Variant("leakyrelu-good", "correct", files={"leaky.py": GOOD}, families=("leakyrelu",)),
        Variant("leakyrelu-relu-backward", "mutant", family="leakyrelu",
                files={"leaky.py": GOOD.replace("np.where(input > 0, 1.0, self.slope)", "(input > 0)")}),
    ]
