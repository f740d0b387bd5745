"""The loss functions' diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import const_value, last_name
from nncheck.point.constructs import (div_by_batch, first_of, return_slice, returned_root, rule_full_reduction,
                                      rule_top_formula, rule_top_sign, top_tree)
from nncheck.point.context import Ctx, one_line


LOSS = "softmax_crossentropy_with_logits"
GRAD = "grad_softmax_crossentropy_with_logits"


def rule_log_clipped(ctx: Ctx):
    fn, sl = return_slice(ctx, "softmax_crossentropy_with_logits")
    if sl is None:
        return []

    def small(e):
        v = const_value(e)
        return v is not None and 0 < abs(v) < 1e-2

    def clipped(f, n):
        if isinstance(n, ast.Call) and last_name(n) == "clip":
            return True
        if isinstance(n, ast.Call) and last_name(n) in ("log", "log2", "log10") and n.args:
            a = n.args[0]
            if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Add) and (small(a.left) or small(a.right)):
                return True
            if isinstance(a, ast.Call) and last_name(a) == "maximum" and any(small(x) for x in a.args):
                return True
        return False
    return one_line(sl.find(clipped))


def rule_sign_missing(entry):
    """The minus is missing altogether: no negation or subtraction in the returned formula's top
    (``return log_softmax(logits)[rows, answers]``), written on one line: that line."""
    def rule(ctx: Ctx):
        fn, root = returned_root(ctx, entry)
        if root is None or isinstance(root, ast.Name):
            return []
        if any((isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub))
               or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub)) for _, n in top_tree(fn, root, ctx.mode())):
            return []
        return rule_top_formula(entry)(ctx)
    return rule


DIAGNOSES = [
    Diagnosis("loss-not-per-sample", "Loss returns one number instead of one per sample",
              "softmax_crossentropy_with_logits", rule_full_reduction(LOSS)),
    Diagnosis("loss-wrong-sign", "Loss has the wrong sign",
              "softmax_crossentropy_with_logits", first_of(rule_top_sign(LOSS), rule_sign_missing(LOSS))),
    Diagnosis("loss-log-clipped", "Loss clips or shifts the logarithm",
              "softmax_crossentropy_with_logits", rule_log_clipped),
    Diagnosis("loss-grad-not-divided-by-batch", "Loss gradient not divided by the batch size",
              "grad_softmax_crossentropy_with_logits", rule_top_formula(GRAD, absent=lambda f, n: div_by_batch(f, n))),
    Diagnosis("loss-grad-wrong-sign", "Loss gradient has the wrong sign",
              "grad_softmax_crossentropy_with_logits", rule_top_sign(GRAD)),
    Diagnosis("loss-grad-missing-onehot", "Loss gradient never subtracts the one-hot answers",
              "grad_softmax_crossentropy_with_logits", rule_top_formula(GRAD)),
]
