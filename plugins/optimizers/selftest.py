"""optimizers: option III in the forms students write it, for ``nncheck selftest``.

Each variant is the reference rewritten into one discovered form (``Dense_Momentum``,
``DenseRMSProp``, ``DenseAdam``, ``Dense(..., optimizer='momentum')``). The correct ones must pass
the family; each mutant carries one known bug in that form and must be caught with its diagnosis.
The canonical class is renamed out of the way (``_Option<k>``, a name that says no option) so only
the form is graded.
"""
from nncheck.variants import DENSE_INIT, DENSE_STEP, form_variant, hide_class, rename_class


def form_variants() -> list:
    flag_init = ("    def __init__(self, input_units, output_units, learning_rate=0.1, optimizer='sgd', "
                 "momentum=0.9):\n"
                 "        self.learning_rate = learning_rate\n        self.optimizer = optimizer\n"
                 "        self.momentum = momentum\n"
                 "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
    flag_step = ("        if self.optimizer == 'momentum':\n"
                 "            self.vw = self.momentum * getattr(self, 'vw', 0.0) - self.learning_rate * grad_weights\n"
                 "            self.vb = self.momentum * getattr(self, 'vb', 0.0) - self.learning_rate * grad_biases\n"
                 "            self.weights = self.weights + self.vw\n"
                 "            self.biases = self.biases + self.vb\n"
                 "            return\n" + DENSE_STEP)
    sqrt = "np.sqrt(self.cache_weights)"
    return [
        form_variant("discovered-momentum-class-renamed", "correct", "momentum", None,
                     rename_class("MomentumDense", "Dense_Momentum"), "option III as Dense_Momentum(Dense)"),
        form_variant("discovered-momentum-flag", "correct", "momentum", None,
                     [("layers.py", DENSE_INIT, flag_init), ("layers.py", DENSE_STEP, flag_step),
                      *hide_class("MomentumDense", 3)],
                     "option III as a flag on Dense: Dense(..., optimizer='momentum')"),
        form_variant("discovered-momentum-flag-beta1", "correct", "momentum", None,
                     [("layers.py", DENSE_INIT, flag_init.replace("momentum=0.9", "beta1=0.9")
                       .replace("self.momentum = momentum", "self.momentum = beta1")),
                      ("layers.py", DENSE_STEP, flag_step), *hide_class("MomentumDense", 3)],
                     "Dense(..., optimizer='momentum', beta1=0.9): the coefficient named as Adam's"),
        form_variant("discovered-momentum-flag-wrong-sign", "mutant", "momentum", "optimizer-wrong-sign",
                     [("layers.py", DENSE_INIT, flag_init),
                      ("layers.py", DENSE_STEP, flag_step.replace("self.weights + self.vw", "self.weights - self.vw")
                       .replace("self.biases + self.vb", "self.biases - self.vb")), *hide_class("MomentumDense", 3)],
                     "Dense(..., optimizer='momentum') stepping uphill"),
        form_variant("discovered-momentum-class-plain-sgd", "mutant", "momentum", "momentum-no-velocity",
                     [*rename_class("MomentumDense", "Dense_Momentum"),
                      ("options.py", "        self.velocity_weights = self.momentum * self.velocity_weights - "
                                     "self.learning_rate * grad_weights\n",
                       "        self.velocity_weights = -self.learning_rate * grad_weights\n"),
                      ("options.py", "        self.velocity_biases = self.momentum * self.velocity_biases - "
                                     "self.learning_rate * grad_biases\n",
                       "        self.velocity_biases = -self.learning_rate * grad_biases\n")],
                     "Dense_Momentum(Dense) whose velocity forgets the previous steps"),
        form_variant("discovered-rmsprop-class-renamed", "correct", "rmsprop", None,
                     rename_class("RMSPropDense", "DenseRMSProp"), "option III as DenseRMSProp(Dense)"),
        form_variant("discovered-rmsprop-class-missing-sqrt", "mutant", "rmsprop", "rmsprop-missing-sqrt",
                     [*rename_class("RMSPropDense", "DenseRMSProp"), ("options.py", sqrt, "self.cache_weights"),
                      ("options.py", "np.sqrt(self.cache_biases)", "self.cache_biases")],
                     "DenseRMSProp(Dense) without the square root"),
        form_variant("discovered-adam-class-renamed", "correct", "adam", None, rename_class("AdamDense", "DenseAdam"),
                     "option III as DenseAdam(Dense)"),
        form_variant("discovered-adam-class-no-bias-correction", "mutant", "adam", "adam-no-bias-correction",
                     [*rename_class("AdamDense", "DenseAdam"),
                      ("options.py", "        c1 = 1 - b1 ** self.t\n        c2 = 1 - b2 ** self.t\n",
                       "        c1 = 1.0\n        c2 = 1.0\n")],
                     "DenseAdam(Dense) without bias correction"),
    ]
