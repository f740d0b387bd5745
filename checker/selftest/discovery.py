"""``nncheck selftest`` variants in the forms students write options in (issue 10).

Each is the reference rewritten into one discovered form: an own-named
subclass (``Xavier_Dense``, ``DenseL2``, ``Dense_Momentum``, ``DenseRMSProp``,
``DenseAdam``), a flag on ``Dense`` (``init='xavier'``, ``l2=...``,
``optimizer='momentum'``), a keep-probability ``Dropout``. The correct ones
must pass their family; each mutant carries one known bug in that form and
must be caught with its diagnosis. The canonical class is renamed out of the
way (``_OptionN``, a name that says no option) so only the form is graded.
"""
from __future__ import annotations

import nncheck
from nncheck.variants import Variant

_CANON = {"xavier": "XavierDense", "l2": "L2Dense", "momentum": "MomentumDense", "rmsprop": "RMSPropDense",
          "adam": "AdamDense"}

_DENSE_INIT = ("    def __init__(self, input_units, output_units, learning_rate=0.1):\n"
               "        self.learning_rate = learning_rate\n"
               "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
_DENSE_GRADS = "        return np.dot(input.T, grad_output), grad_output.sum(axis=0)"
_DENSE_STEP = ("        self.weights = self.weights - self.learning_rate * grad_weights\n"
               "        self.biases = self.biases - self.learning_rate * grad_biases\n")


def _hide(option: str, k: int) -> list:
    """Edits renaming the canonical class (and its ``__all__`` entry) to a name that says no option."""
    canon = _CANON[option]
    return [("options.py", f"class {canon}(Dense):", f"class _Option{k}(Dense):"),
            ("options.py", f'"{canon}"', f'"_Option{k}"')]


def _rename(option: str, new: str) -> list:
    canon = _CANON[option]
    return [("options.py", f"class {canon}(Dense):", f"class {new}(Dense):"),
            ("options.py", f'"{canon}"', f'"{new}"')]


def _variant(name, kind, family, diagnosis, edits, description):
    return Variant(name, kind, family if kind == "mutant" else None, diagnosis, edits, description=description,
                   families=(family,) if kind == "correct" else None)


def xavier_variants() -> list:
    std = "        std = np.sqrt(2.0 / (input_units + output_units))\n"
    flag = ("    def __init__(self, input_units, output_units, learning_rate=0.1, init='small'):\n"
            "        self.learning_rate = learning_rate\n"
            "        scale = {SCALE} if init == 'xavier' else 0.01\n"
            "        self.weights = np.random.randn(input_units, output_units) * scale\n")
    switch = ("    def __init__(self, input_units, output_units, learning_rate=0.1, xavier=False):\n"
              "        self.learning_rate = learning_rate\n"
              "        scale = {SCALE} if xavier else 0.01\n"
              "        self.weights = np.random.randn(input_units, output_units) * scale\n")
    glorot = "np.sqrt(2.0 / (input_units + output_units))"
    return [
        _variant("discovered-xavier-class-renamed", "correct", "xavier", None, _rename("xavier", "Xavier_Dense"),
                 "option I as an own-named subclass Xavier_Dense(Dense)"),
        _variant("discovered-xavier-flag", "correct", "xavier", None,
                 [("layers.py", _DENSE_INIT, flag.replace("{SCALE}", glorot)), *_hide("xavier", 1)],
                 "option I as a flag on Dense: Dense(..., init='xavier')"),
        _variant("discovered-xavier-flag-he", "mutant", "xavier", "xavier-wrong-variance",
                 [("layers.py", _DENSE_INIT, flag.replace("{SCALE}", "np.sqrt(2.0 / input_units)")),
                  *_hide("xavier", 1)],
                 "Dense(..., init='xavier') drawing He's 2/in"),
        _variant("discovered-xavier-switch", "correct", "xavier", None,
                 [("layers.py", _DENSE_INIT, switch.replace("{SCALE}", glorot)), *_hide("xavier", 1)],
                 "option I as a boolean switch on Dense: Dense(..., xavier=True)"),
        _variant("discovered-xavier-switch-he", "mutant", "xavier", "xavier-wrong-variance",
                 [("layers.py", _DENSE_INIT, switch.replace("{SCALE}", "np.sqrt(2.0 / input_units)")),
                  *_hide("xavier", 1)],
                 "Dense(..., xavier=True) drawing He's 2/in"),
        _variant("discovered-xavier-class-std-as-variance", "mutant", "xavier", "xavier-wrong-variance",
                 [*_rename("xavier", "DenseXavier"),
                  ("options.py", std, "        std = 2.0 / (input_units + output_units)\n")],
                 "DenseXavier(Dense) using the variance as the std"),
    ]


def l2_variants() -> list:
    init = ("    def __init__(self, input_units, output_units, learning_rate=0.1, l2=0.0):\n"
            "        self.learning_rate = learning_rate\n        self.l2 = l2\n"
            "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    penalty = "return grad_weights + 2.0 * self.alpha * self.weights, grad_biases"
    switch = ("    def __init__(self, input_units, output_units, learning_rate=0.1, lambd=0.001, l2=False):\n"
              "        self.learning_rate, self.lambd, self.l2 = learning_rate, lambd, l2\n"
              "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    return [
        _variant("discovered-l2-class-renamed", "correct", "l2", None, _rename("l2", "DenseL2"),
                 "option II as an own-named subclass DenseL2(Dense)"),
        _variant("discovered-l2-parameter-on-dense", "correct", "l2", None,
                 [("layers.py", _DENSE_INIT, init),
                  ("layers.py", _DENSE_GRADS, "        return np.dot(input.T, grad_output) + 2.0 * self.l2 * "
                                              "self.weights, grad_output.sum(axis=0)"), *_hide("l2", 2)],
                 "option II as a coefficient on Dense: Dense(..., l2=...)"),
        _variant("discovered-l2-parameter-half", "mutant", "l2", "l2-half-convention",
                 [("layers.py", _DENSE_INIT, init),
                  ("layers.py", _DENSE_GRADS, "        return np.dot(input.T, grad_output) + self.l2 * "
                                              "self.weights, grad_output.sum(axis=0)"), *_hide("l2", 2)],
                 "Dense(..., l2=...) with the 0.5 convention"),
        _variant("discovered-l2-switch-beside-coefficient", "correct", "l2", None,
                 [("layers.py", _DENSE_INIT, switch),
                  ("layers.py", _DENSE_GRADS, "        return np.dot(input.T, grad_output) + (2.0 * self.lambd * "
                                              "self.weights if self.l2 else 0.0), grad_output.sum(axis=0)"),
                  *_hide("l2", 2)],
                 "option II as a switch l2=True beside the coefficient lambd (the switch is not the coefficient)"),
        _variant("discovered-l2-class-bias", "mutant", "l2", "l2-regularises-bias",
                 [*_rename("l2", "Dense_L2"),
                  ("options.py", penalty, "return grad_weights + 2.0 * self.alpha * self.weights, "
                                          "grad_biases + 2.0 * self.alpha * self.biases")],
                 "Dense_L2(Dense) regularising the biases"),
    ]


def optimizer_variants() -> list:
    flag_init = ("    def __init__(self, input_units, output_units, learning_rate=0.1, optimizer='sgd', momentum=0.9):\n"
                 "        self.learning_rate = learning_rate\n        self.optimizer = optimizer\n"
                 "        self.momentum = momentum\n"
                 "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    flag_step = ("        if self.optimizer == 'momentum':\n"
                 "            self.vw = self.momentum * getattr(self, 'vw', 0.0) - self.learning_rate * grad_weights\n"
                 "            self.vb = self.momentum * getattr(self, 'vb', 0.0) - self.learning_rate * grad_biases\n"
                 "            self.weights = self.weights + self.vw\n"
                 "            self.biases = self.biases + self.vb\n"
                 "            return\n" + _DENSE_STEP)
    sqrt = "np.sqrt(self.cache_weights)"
    return [
        _variant("discovered-momentum-class-renamed", "correct", "momentum", None,
                 _rename("momentum", "Dense_Momentum"), "option III as Dense_Momentum(Dense)"),
        _variant("discovered-momentum-flag", "correct", "momentum", None,
                 [("layers.py", _DENSE_INIT, flag_init), ("layers.py", _DENSE_STEP, flag_step),
                  *_hide("momentum", 3)], "option III as a flag on Dense: Dense(..., optimizer='momentum')"),
        _variant("discovered-momentum-flag-wrong-sign", "mutant", "momentum", "optimizer-wrong-sign",
                 [("layers.py", _DENSE_INIT, flag_init),
                  ("layers.py", _DENSE_STEP, flag_step.replace("self.weights + self.vw", "self.weights - self.vw")
                   .replace("self.biases + self.vb", "self.biases - self.vb")), *_hide("momentum", 3)],
                 "Dense(..., optimizer='momentum') stepping uphill"),
        _variant("discovered-momentum-class-plain-sgd", "mutant", "momentum", "momentum-no-velocity",
                 [*_rename("momentum", "Dense_Momentum"),
                  ("options.py", "        self.velocity_weights = self.momentum * self.velocity_weights - "
                                 "self.learning_rate * grad_weights\n",
                   "        self.velocity_weights = -self.learning_rate * grad_weights\n"),
                  ("options.py", "        self.velocity_biases = self.momentum * self.velocity_biases - "
                                 "self.learning_rate * grad_biases\n",
                   "        self.velocity_biases = -self.learning_rate * grad_biases\n")],
                 "Dense_Momentum(Dense) whose velocity forgets the previous steps"),
        _variant("discovered-rmsprop-class-renamed", "correct", "rmsprop", None,
                 _rename("rmsprop", "DenseRMSProp"), "option III as DenseRMSProp(Dense)"),
        _variant("discovered-rmsprop-class-missing-sqrt", "mutant", "rmsprop", "rmsprop-missing-sqrt",
                 [*_rename("rmsprop", "DenseRMSProp"), ("options.py", sqrt, "self.cache_weights"),
                  ("options.py", "np.sqrt(self.cache_biases)", "self.cache_biases")],
                 "DenseRMSProp(Dense) without the square root"),
        _variant("discovered-adam-class-renamed", "correct", "adam", None, _rename("adam", "DenseAdam"),
                 "option III as DenseAdam(Dense)"),
        _variant("discovered-adam-class-no-bias-correction", "mutant", "adam", "adam-no-bias-correction",
                 [*_rename("adam", "DenseAdam"),
                  ("options.py", "        c1 = 1 - b1 ** self.t\n        c2 = 1 - b2 ** self.t\n",
                   "        c1 = 1.0\n        c2 = 1.0\n")],
                 "DenseAdam(Dense) without bias correction"),
    ]


def dropout_variants() -> list:
    init = "    def __init__(self, p=0.5):\n        self.p = p\n"
    return [
        _variant("discovered-dropout-keep-prob", "correct", "dropout", None,
                 [("regularization.py", init, "    def __init__(self, keep_prob=0.5):\n"
                                              "        self.p = 1.0 - keep_prob\n")],
                 "Dropout(keep_prob=...) taking the probability to keep a unit"),
        _variant("discovered-dropout-keep-prob-as-drop", "mutant", "dropout", "dropout-keep-prob-confused",
                 [("regularization.py", init, "    def __init__(self, keep_prob=0.5):\n"
                                              "        self.p = keep_prob\n")],
                 "Dropout(keep_prob=...) that drops with probability keep_prob"),
    ]


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    return xavier_variants() + l2_variants() + optimizer_variants() + dropout_variants()
