"""l2: option II in the forms students write it, for ``nncheck selftest``.

Each variant is the reference rewritten into one discovered form (``DenseL2``, ``Dense_L2``,
``Dense(..., l2=...)``, a switch ``l2=True`` beside ``lambd``). The correct ones must pass the
family; each mutant carries one known bug in that form and must be caught with its diagnosis. The
canonical class is renamed out of the way (``_Option<k>``, a name that says no option) so only the
form is graded.
"""
from dataclasses import replace

from nncheck.variants import DENSE_GRADS, DENSE_INIT, form_variant, hide_class, rename_class


def form_variants() -> list:
    init = ("    def __init__(self, input_units, output_units, learning_rate=0.1, l2=0.0):\n"
            "        self.learning_rate = learning_rate\n        self.l2 = l2\n"
            "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    penalty = "return grad_weights + 2.0 * self.alpha * self.weights, grad_biases"
    switch = ("    def __init__(self, input_units, output_units, learning_rate=0.1, lambd=0.001, l2=False):\n"
              "        self.learning_rate, self.lambd, self.l2 = learning_rate, lambd, l2\n"
              "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    half = [("layers.py", DENSE_INIT, init),
            ("layers.py", DENSE_GRADS, "        return np.dot(input.T, grad_output) + self.l2 * "
                                       "self.weights, grad_output.sum(axis=0)"), *hide_class("L2Dense", 2)]
    return [
        form_variant("discovered-l2-class-renamed", "correct", "l2", None, rename_class("L2Dense", "DenseL2"),
                     "option II as an own-named subclass DenseL2(Dense)"),
        form_variant("discovered-l2-parameter-on-dense", "correct", "l2", None,
                     [("layers.py", DENSE_INIT, init),
                      ("layers.py", DENSE_GRADS, "        return np.dot(input.T, grad_output) + 2.0 * self.l2 * "
                                                  "self.weights, grad_output.sum(axis=0)"), *hide_class("L2Dense", 2)],
                     "option II as a coefficient on Dense: Dense(..., l2=...)"),
        form_variant("discovered-l2-parameter-half", "correct", "l2", None, half,
                     "Dense(..., l2=...) with the notebook's half convention (passes with a note by default)"),
        replace(form_variant("discovered-l2-parameter-half-strict", "mutant", "l2", "l2-half-convention", half,
                             "Dense(..., l2=...) with the half convention, under l2_convention = 'strict'"),
                config={"options": {"l2_convention": "strict"}}),
        form_variant("discovered-l2-switch-beside-coefficient", "correct", "l2", None,
                     [("layers.py", DENSE_INIT, switch),
                      ("layers.py", DENSE_GRADS, "        return np.dot(input.T, grad_output) + (2.0 * self.lambd * "
                                                  "self.weights if self.l2 else 0.0), grad_output.sum(axis=0)"),
                      *hide_class("L2Dense", 2)],
                     "option II as a switch l2=True beside the coefficient lambd (the switch is not the coefficient)"),
        form_variant("discovered-l2-class-bias", "mutant", "l2", "l2-regularises-bias",
                     [*rename_class("L2Dense", "Dense_L2"),
                      ("options.py", penalty, "return grad_weights + 2.0 * self.alpha * self.weights, "
                                              "grad_biases + 2.0 * self.alpha * self.biases")],
                     "Dense_L2(Dense) regularising the biases"),
    ]
