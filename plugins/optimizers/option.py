"""optimizers: how option III (momentum, RMSProp, Adam) is recognised however a student writes it.

Grader side. Each optimizer is an option of its own: ``MomentumDense``,
``Dense_Momentum``, ``DenseRMSProp``, ``Dense_RMS``, ``DenseWithAdam``;
``Dense(..., optimizer='momentum')``; a switch ``Dense(..., rmsprop=True)``;
an optimizer object ``Dense(..., optimizer=Adam(b1, b2))``. A form found by a
flag, a switch or an object is graded only when
:func:`nncheck.plugins.optimizers.sandboxed.confirm_optimizer` sees two steps
with one gradient differ from plain SGD's (see docs/option-styles.md).
"""
from nncheck.model import Option
from nncheck.plugins.optimizers.sandboxed import confirm_optimizer

#: Constructor parameters of a Dense-like class that take an optimizer object.
OPTIMIZER_PARAMS = ("optimizer", "optimiser", "optim", "opt", "update_rule", "solver")
EPSILON_NAMES = ("epsilon", "eps", "delta")


def _optimizer(name, canonical, what, words, flag_values, hyper, hyper_names, tokens=()):
    return Option(name=name, canonical=canonical, families=(name,), label=f"option III ({what})",
                  short="option III", words=words, tokens=tokens, flag_values=flag_values, switch=True,
                  hyper=("learning_rate", *hyper), hyper_names=hyper_names, fingerprint=confirm_optimizer,
                  object_params=OPTIMIZER_PARAMS, object_kind="an optimizer class", in_core=True)


MOMENTUM = _optimizer("momentum", "MomentumDense", "momentum", ("momentum", "nesterov"),
                      ("momentum", "sgd_momentum", "nesterov", "sgdm"), ("momentum",),
                      {"momentum": ("momentum", "mu", "beta", "gamma", "rho", "momentum_rate", "m")})
RMSPROP = _optimizer("rmsprop", "RMSPropDense", "RMSProp", ("rmsprop",), ("rmsprop", "rms_prop", "rms"),
                     ("decay", "epsilon"),
                     {"decay": ("decay", "decay_rate", "rho", "beta", "gamma", "beta2", "rms_decay"),
                      "epsilon": EPSILON_NAMES},
                     tokens=("rms",))
ADAM = _optimizer("adam", "AdamDense", "Adam", ("adam",), ("adam",), ("beta1", "beta2", "epsilon"),
                  {"beta1": ("beta1", "beta_1", "b1", "beta_one"), "beta2": ("beta2", "beta_2", "b2", "beta_two"),
                   "epsilon": EPSILON_NAMES})
OPTIONS = (MOMENTUM, RMSPROP, ADAM)
