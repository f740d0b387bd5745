"""BatchNorm's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import last_name
from nncheck.point.constructs import axis0, is_np_func, never_assigned, return_slice, rule_top_formula, uphill
from nncheck.point.context import Ctx, Pin, one_line


def _batch_stat(f, n) -> bool:
    return isinstance(n, ast.Call) and last_name(n) in ("mean", "var", "std", "average") and (
        axis0(n) if not (is_np_func(n) and len(n.args) < 1) else False)


def rule_batchnorm_eval_stats(ctx: Ctx):
    """Each batch mean or variance that evaluation's output is computed from: at evaluation no
    statistic over the batch axis belongs in it (the mean's line and the variance's, when apart)."""
    fn, sl = return_slice(ctx, "{cls}.forward", mode="eval")
    if sl is None:
        return []
    called = {id(f.node) for f, *_ in ctx.flatten(fn, "eval")}   # forward and the helpers it calls
    lines = {(id(f.node), n.lineno): Pin(f, n.lineno) for f, n in sl.find(_batch_stat) if id(f.node) in called}
    return list(lines.values()) if len(lines) <= 2 else []


def rule_batchnorm_backward_stats(ctx: Ctx):
    return rule_top_formula("{cls}.backward", mode="train")(ctx)


DIAGNOSES = [
    Diagnosis("batchnorm-batch-stats-at-eval", "BatchNorm uses batch statistics at evaluation",
              "{cls}.forward", rule_batchnorm_eval_stats),
    Diagnosis("batchnorm-running-stats-frozen", "BatchNorm never updates its running statistics",
              "{cls}.forward", never_assigned(("running_mean", "running_var"), "{cls}.forward", "train")),
    Diagnosis("batchnorm-running-stats-no-momentum", "BatchNorm's running statistics ignore the momentum",
              "{cls}.forward", None),
    Diagnosis("batchnorm-running-stats-updated-at-eval", "BatchNorm updates running statistics at evaluation",
              "{cls}.forward", None),
    Diagnosis("batchnorm-unbiased-variance", "BatchNorm normalises with the unbiased variance",
              "{cls}.forward", None),
    Diagnosis("batchnorm-ignores-gamma-beta", "BatchNorm ignores gamma and beta", "{cls}.forward", None),
    Diagnosis("batchnorm-wrong-normalisation", "BatchNorm normalises the wrong way", "{cls}.forward", None),
    Diagnosis("batchnorm-running-stats-in-training", "BatchNorm uses running statistics while training",
              "{cls}.forward", None),
    Diagnosis("batchnorm-wrong-axis", "BatchNorm averages over the wrong axis", "{cls}.forward", None),
    Diagnosis("batchnorm-backward-ignores-batch-stats", "BatchNorm backward ignores the batch statistics",
              "{cls}.backward", rule_batchnorm_backward_stats),
    Diagnosis("batchnorm-params-not-updated", "BatchNorm never updates gamma and beta", "{cls}.backward",
              never_assigned(("gamma", "beta"), "{cls}.backward", "train")),
    Diagnosis("batchnorm-grad-input-after-update", "BatchNorm's input gradient uses the updated gamma",
              "{cls}.backward", None),
    Diagnosis("batchnorm-update-sign", "BatchNorm moves gamma and beta the wrong way", "{cls}.backward",
              lambda ctx: uphill(ctx, ["gamma", "beta"], ("gamma", "beta"))),
    Diagnosis("batchnorm-grad-divided-by-batch", "BatchNorm's gamma/beta gradient divided by the batch",
              "{cls}.backward", None),
    Diagnosis("batchnorm-update-no-learning-rate", "BatchNorm ignores its learning rate", "{cls}.backward", None),
]
