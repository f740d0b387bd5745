"""xavier: option I in the forms students write it, for ``nncheck selftest``.

Each variant is the reference rewritten into one discovered form (``Xavier_Dense``, ``DenseXavier``,
``Dense(..., init='xavier')``, ``Dense(..., xavier=True)``). The correct ones must pass the family;
each mutant carries one known bug in that form and must be caught with its diagnosis. The canonical
class is renamed out of the way (``_Option<k>``, a name that says no option) so only the form is
graded.
"""
from nncheck.variants import DENSE_INIT, form_variant, hide_class, rename_class


def form_variants() -> list:
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
        form_variant("discovered-xavier-class-renamed", "correct", "xavier", None,
                     rename_class("XavierDense", "Xavier_Dense"),
                     "option I as an own-named subclass Xavier_Dense(Dense)"),
        form_variant("discovered-xavier-flag", "correct", "xavier", None,
                     [("layers.py", DENSE_INIT, flag.replace("{SCALE}", glorot)), *hide_class("XavierDense", 1)],
                     "option I as a flag on Dense: Dense(..., init='xavier')"),
        form_variant("discovered-xavier-flag-he", "mutant", "xavier", "xavier-wrong-variance",
                     [("layers.py", DENSE_INIT, flag.replace("{SCALE}", "np.sqrt(2.0 / input_units)")),
                      *hide_class("XavierDense", 1)],
                     "Dense(..., init='xavier') drawing He's 2/in"),
        form_variant("discovered-xavier-switch", "correct", "xavier", None,
                     [("layers.py", DENSE_INIT, switch.replace("{SCALE}", glorot)), *hide_class("XavierDense", 1)],
                     "option I as a boolean switch on Dense: Dense(..., xavier=True)"),
        form_variant("discovered-xavier-switch-he", "mutant", "xavier", "xavier-wrong-variance",
                     [("layers.py", DENSE_INIT, switch.replace("{SCALE}", "np.sqrt(2.0 / input_units)")),
                      *hide_class("XavierDense", 1)],
                     "Dense(..., xavier=True) drawing He's 2/in"),
        form_variant("discovered-xavier-class-std-as-variance", "mutant", "xavier", "xavier-wrong-variance",
                     [*rename_class("XavierDense", "DenseXavier"),
                      ("options.py", std, "        std = 2.0 / (input_units + output_units)\n")],
                     "DenseXavier(Dense) using the variance as the std"),
    ]
