"""xavier: how option I is recognised however a student writes it (grader side).

``XavierDense``, ``Xavier_Dense``, ``GlorotDense``; ``Dense(..., init='xavier')``
(or a dict of schemes looked up with ``init``); ``Dense(..., xavier=True)``;
an ``init`` parameter compared only with other schemes, tried with 'xavier'.
A form found by a flag, a switch or a tried parameter is graded only when
:func:`nncheck.plugins.xavier.sandboxed.confirm_xavier` sees it draw its weights
at another scale than plain ``Dense`` (see docs/option-styles.md).
"""
from nncheck.model import Option
from nncheck.plugins.xavier.sandboxed import confirm_xavier

#: Constructor parameters that choose an initialisation scheme.
INIT_PARAMS = ("init", "initialization", "initialisation", "initializer", "initialiser", "init_method",
               "weight_init", "init_type", "initialization_method", "init_mode", "w_init", "scheme")

XAVIER = Option(
    name="xavier",
    canonical="XavierDense",
    families=("xavier",),
    label="option I (Xavier initialisation)",
    short="option I",
    words=("xavier", "glorot"),
    flag_values=("xavier", "glorot", "xavier_normal", "xavier_uniform", "glorot_normal", "glorot_uniform"),
    switch=True,
    hyper=("learning_rate",),
    fingerprint=confirm_xavier,
    try_params=INIT_PARAMS,
    helper_functions=True,
    pin_example='Dense(init="xavier")',
)
