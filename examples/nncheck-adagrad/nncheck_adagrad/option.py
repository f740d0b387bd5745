"""How the AdaGrad option is recognised however a student writes it (grader side).

``AdaGradDense`` is the canonical class; discovery (``nncheck.discover``) also
grades a Dense layer whose name says AdaGrad (``Dense_Ada``, ``DenseAdaGrad``,
``AdagradLayer(Dense)``), a Dense that compares a parameter with ``'adagrad'``
(``Dense(..., optimizer='adagrad')``), a switch ``Dense(..., adagrad=True)``, and an
optimizer object ``Dense(..., optimizer=AdaGrad())``. A form found by a flag, a
switch or an object is graded only once ``confirm_adagrad`` (in ``sandboxed.py``, run in
the sandbox) has seen it behave like AdaGrad.
"""
from nncheck.model import Option

from nncheck_adagrad.sandboxed import HYPER_NAMES, confirm_adagrad

ADAGRAD = Option(
    name="adagrad",                      # the pin's name: `# nncheck: adagrad = Dense(optimizer="adagrad")`
    canonical="AdaGradDense",            # what the checks require
    families=("adagrad",),               # the checks graded for it: adagrad.*
    label="option III (AdaGrad)", short="option III",
    words=("adagrad",),                  # anywhere in a class name: DenseAdaGrad, Adagrad_Dense
    tokens=("ada",),                     # a whole word of a name: Dense_Ada, DenseAda
    flag_values=("adagrad", "ada_grad"),  # optimizer == 'adagrad'
    switch=True,                         # Dense(..., adagrad=True), use_adagrad=True
    hyper=("learning_rate", "epsilon"),  # AdaGradDense(input_units, output_units, learning_rate, epsilon)
    hyper_names={"epsilon": HYPER_NAMES["epsilon"]},
    fingerprint=confirm_adagrad,         # confirms a weakly evidenced form in the sandbox
    object_params=("optimizer", "optimiser", "optim", "opt", "update_rule", "solver"),
    object_kind="an optimizer class",
    pin_example='Dense(optimizer="adagrad")',
)
