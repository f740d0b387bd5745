"""l2: how option II is recognised however a student writes it (grader side).

``L2Dense``, ``DenseL2``, ``Dense_reg``, ``RegularizedDense``; a coefficient on
``Dense`` itself (``Dense(..., l2=0.0)``, ``reg_coef=...``); an extra argument
of ``backward`` (``backward(input, grad_output, l2_reg_factor=0)``, and on a
Dense-like layer's ``backward`` also ``alpha``, ``lam``); a flag or switch
(``penalty == 'l2'``, ``l2=True``) beside a coefficient. "reg" in a name says
many things, so every form but a pin is graded only when
:func:`nncheck.plugins.l2.sandboxed.confirm_l2` sees the weights shrink under a
zero loss gradient (see docs/option-styles.md).
"""
from nncheck.model import Coefficient, Option
from nncheck.plugins.l2.sandboxed import confirm_l2

#: Parameter names that are an L2 coefficient.
L2_PARAMS = ("l2", "l2_reg", "reg_coef", "l2_lambda", "reg_lambda", "lambda_reg", "l2_reg_factor",
             "reg_factor", "l2_coef", "weight_decay", "reg", "reg_strength", "lambd", "lambda_", "lmbda",
             "l2_alpha", "reg_param", "l2_penalty", "regularization_strength")
#: Extra parameters of ``Dense.backward`` that are an L2 coefficient there (too generic elsewhere).
BACKWARD_L2 = ("alpha", "lam", "lamb")


#: The config's ``[options] l2_convention``: ``"lenient"`` (default): the notebook's half convention
#: ``dW += alpha * W`` passes with a note; ``"strict"``: it fails with ``l2-half-convention``.
CONVENTION = "l2_convention"


def is_l2_param(name: str) -> bool:
    """Whether a parameter's name says it is an L2 coefficient (not ``l1``, not a bias, not a regression)."""
    low = name.lower()
    if "l1" in low or "regress" in low or "bias" in low:
        return False
    return (low in L2_PARAMS or "l2" in low or "lambd" in low or "weight_decay" in low
            or "penal" in low or low.startswith("reg"))


def l2_coefficient(params, backward=False):
    """The parameter that holds the L2 coefficient: one that says l2, else one that looks like it; among
    ``backward``'s extra parameters also ``alpha``, ``lam``, ``lamb``."""
    return (next((p for p in params if "l2" in p.lower() and is_l2_param(p)), None)
            or next((p for p in params if is_l2_param(p)), None)
            or (next((p for p in params if p.lower() in BACKWARD_L2), None) if backward else None))


L2 = Option(
    name="l2",
    canonical="L2Dense",
    families=("l2",),
    label="option II (L2 regularisation)",
    short="option II",
    words=("l2", "reg", "ridge", "weightdecay"),
    flag_values=("l2", "ridge"),
    switch=True,
    hyper=("learning_rate", "alpha"),
    hyper_names={"alpha": ("alpha", "reg", "l2", "l2_reg", "reg_coef", "lambda_", "lambd", "lamb", "lam", "lmbda",
                           "l2_lambda", "reg_lambda", "lambda_reg", "reg_strength", "weight_decay", "l2_reg_factor",
                           "reg_factor", "l2_coef", "regularization", "regularisation", "reg_param", "l2_alpha")},
    fingerprint=confirm_l2,
    confirm_names=True,
    coefficient=Coefficient("alpha", l2_coefficient, "the L2 coefficient"),
    helper_functions=True,
    in_core=True,
    settings={CONVENTION: ("lenient", "strict")},
)
