"""L2Dense's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.plugins.dense.diagnoses import PARAMS
from nncheck.point.code import MATMUL, last_name
from nncheck.point.constructs import div_by_batch, per_param, update_slices
from nncheck.point.context import Ctx, Pin


def _is_l2_name(name: str) -> bool:
    low = name.lower()
    return (low in ("alpha", "lam", "lmbda", "lambd", "lambda_", "decay_rate") or low.startswith("l2")
            or "lambd" in low or "weight_decay" in low or "penal" in low
            or (low.startswith("reg") and "regress" not in low))


def _coefficient(ctx: Ctx):
    """``(attributes, backward parameters)`` that hold the L2 coefficient: the attribute the
    constructor stores it in (``self.alpha = alpha``), or a parameter of ``backward``."""
    form = ctx.form or {}
    back = form.get("backward_hyper") if isinstance(form.get("backward_hyper"), dict) else {}
    if back.get("alpha"):
        return set(), {str(back["alpha"])}
    passed = ctx.details.get("passed_as")
    hyper = form.get("hyper") if isinstance(form.get("hyper"), dict) else {}
    param = hyper.get("alpha") or (passed.get("coefficient") if isinstance(passed, dict) else None)
    fn = ctx.entry("{cls}.__init__")
    if fn is None:
        return set(), set()
    if param in fn.params:
        params = [param]
    else:
        params = [p for p in fn.positional[1:] + [a.arg for a in fn.node.args.kwonlyargs] if _is_l2_name(p)]
        if len(params) != 1:
            return set(), set()
    attrs = set()
    for sfn, s, _, _ in ctx.flatten(fn):
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and s.value.id in params:
            for t in s.targets:
                a = sfn.self_attr(t)
                if a and len(ctx.code.class_assignments(ctx.cls, a, None)) == 1:
                    attrs.add(a)   # a plain copy of the argument, never changed: its reads are the penalty
    return attrs, set()


def _reads_coefficient(ctx: Ctx):
    attrs, params = _coefficient(ctx)
    if not attrs and not params:
        return None
    return lambda f, n: (f.self_attr(n) in attrs and isinstance(n.ctx, ast.Load)) or (
        isinstance(n, ast.Name) and n.id in params and f.node.name == "backward" and n.id not in f.stores)


def rule_l2_penalty_line(ctx: Ctx):
    pred = _reads_coefficient(ctx)
    return per_param(ctx, ["weights"], pred, PARAMS) if pred else []


def rule_l2_bias(ctx: Ctx):
    pred = _reads_coefficient(ctx)
    return per_param(ctx, ["biases"], pred, PARAMS) if pred else []


def rule_l2_divided(ctx: Ctx):
    return per_param(ctx, ["weights"], lambda fn, n: div_by_batch(fn, n), PARAMS)


def rule_l2_missing(ctx: Ctx):
    """The penalty belongs in the gradient the L2 class's own helper hands on: that helper's only
    return, when the class's own code in the weights' update is that one helper (``_param_gradients``
    returning ``grad_weights, grad_biases``). A class that overrides all of ``backward`` is not pinned."""
    sinks, sl = update_slices(ctx, "weights", "{cls}.backward", PARAMS)
    entry = ctx.entry("{cls}.backward")
    if not sinks or sl is None or entry is None:
        return []
    own = {id(f.node): f for f, _ in sl.nodes if f.classdef is not None and f.classdef.name == ctx.cls}
    if len(own) != 1:
        return []
    (f,) = own.values()
    if f.node is entry.node:
        return []
    rets = f.returns(ctx.mode())
    if len(rets) != 1 or not any(n is rets[0].value or f.stmt_of(n) is rets[0] for g, n in sl.nodes if g is f):
        return []
    # what it returns is the gradient itself (a product with the input, or the base class's gradient)
    made = ctx.tracer(PARAMS).trace(f, rets[0].value)
    if not made.find(lambda g, n: isinstance(n, ast.Call) and (last_name(n) in MATMUL or (
            isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Call)
            and last_name(n.func.value) == "super")) or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult))):
        return []
    return [Pin(f, rets[0].lineno)]


DIAGNOSES = [
    Diagnosis("l2-half-convention", "L2 penalty uses the 0.5 * alpha convention",
              "{cls}.backward", rule_l2_penalty_line),
    Diagnosis("l2-penalty-wrong-sign", "The L2 penalty pushes the weights up",
              "{cls}.backward", rule_l2_penalty_line),
    Diagnosis("l2-divided-by-batch", "L2 gradient divided by the batch size", "{cls}.backward", rule_l2_divided),
    Diagnosis("l2-regularises-bias", "L2 penalty also applied to the biases", "{cls}.backward", rule_l2_bias),
    Diagnosis("l2-penalty-missing", "The L2 penalty is missing from the gradient", "{cls}.backward", rule_l2_missing),
]
