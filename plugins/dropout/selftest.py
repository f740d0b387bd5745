"""dropout: bonus Dropout in the forms students write it, for ``nncheck selftest``.

Each variant is the reference rewritten into one discovered form (``Dropout(keep_prob=...)``). The
correct ones must pass the family; each mutant carries one known bug in that form and must be caught
with its diagnosis. The canonical class is renamed out of the way (``_Option<k>``, a name that says
no option) so only the form is graded.
"""
from nncheck.variants import form_variant


def form_variants() -> list:
    init = "    def __init__(self, p=0.5):\n        self.p = p\n"
    return [
        form_variant("discovered-dropout-keep-prob", "correct", "dropout", None,
                     [("regularization.py", init, "    def __init__(self, keep_prob=0.5):\n"
                                                  "        self.p = 1.0 - keep_prob\n")],
                     "Dropout(keep_prob=...) taking the probability to keep a unit"),
        form_variant("discovered-dropout-keep-prob-as-drop", "mutant", "dropout", "dropout-keep-prob-confused",
                     [("regularization.py", init, "    def __init__(self, keep_prob=0.5):\n"
                                                  "        self.p = keep_prob\n")],
                     "Dropout(keep_prob=...) that drops with probability keep_prob"),
    ]
