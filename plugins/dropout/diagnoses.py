"""Dropout's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import last_name
from nncheck.point.constructs import is_random, return_slice
from nncheck.point.context import Ctx, one_line


def rule_dropout_mask_changed(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.backward", mode="train")
    if sl is None:
        return []
    return one_line(sl.find(lambda f, n: f is fn and is_random(n)))


def rule_dropout_keep_prob(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.forward", mode="train")
    if sl is None:
        return []

    def name_of(f, e):
        attr = f.self_attr(e)
        if attr is not None:
            return attr
        return e.id if isinstance(e, ast.Name) else None

    def confused(f, n):
        """The draw that keeps a unit with the wrong probability: ``rand < p`` keeps with
        probability ``p`` (a drop probability used as a keep one); ``rand >= keep_prob`` the
        other way round."""
        if isinstance(n, ast.Call) and last_name(n) == "binomial" and len(n.args) >= 2:
            name = name_of(f, n.args[1])
            return name is not None and "keep" not in name.lower()
        if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
            return False
        left, right, op = n.left, n.comparators[0], n.ops[0]
        if is_random(left) and not is_random(right):
            prob, keep_below = right, isinstance(op, (ast.Lt, ast.LtE))
        elif is_random(right) and not is_random(left):
            prob, keep_below = left, isinstance(op, (ast.Gt, ast.GtE))
        else:
            return False
        name = name_of(f, prob)
        if name is None:
            return False
        return keep_below != ("keep" in name.lower())
    return one_line(sl.find(confused))


DIAGNOSES = [
    Diagnosis("dropout-mask-changed", "Dropout's backward uses a different mask from its forward",
              "{cls}.backward", rule_dropout_mask_changed),
    Diagnosis("dropout-stale-mask", "Dropout reuses an old mask", "{cls}.backward", rule_dropout_mask_changed),
    Diagnosis("dropout-keep-prob-confused", "Dropout's p is used as the keep probability",
              "{cls}.forward", rule_dropout_keep_prob),
    Diagnosis("dropout-no-rescale", "Dropout does not rescale the kept units", "{cls}.forward", None),
    Diagnosis("dropout-active-at-eval", "Dropout still drops units at evaluation", "{cls}.forward", None),
    Diagnosis("dropout-wrong-scale", "Dropout rescales by the wrong factor", "{cls}.forward", None),
    Diagnosis("dropout-wrong-rate", "Dropout drops the wrong share of units", "{cls}.forward", None),
    Diagnosis("dropout-not-dropping", "Dropout drops nothing in training", "{cls}.forward", None),
    Diagnosis("dropout-mask-shared-across-batch", "Dropout uses one mask for every sample", "{cls}.forward", None),
    Diagnosis("dropout-mask-reused", "Dropout draws the same mask every time", "{cls}.forward", None),
    Diagnosis("dropout-returns-mask", "Dropout returns the mask instead of the output", "{cls}.forward", None),
    Diagnosis("dropout-backward-not-masked", "Dropout's backward ignores the mask", "{cls}.backward", None),
]
