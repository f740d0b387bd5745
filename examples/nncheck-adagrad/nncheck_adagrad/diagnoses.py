"""The AdaGrad diagnoses: the title a report shows, and where pointing finds each mistake.

Grader side. A pointer reads the student's parsed code (never runs it) and returns
the line that makes the mistake, or ``[]`` when the evidence is not conclusive. The
searches reuse :mod:`nncheck.point.constructs`: ``per_param`` (the one line of each
parameter's update that holds a construct) and ``uphill`` (an update that adds a step
free of any sign flip).
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import SQRT, const_value, last_name
from nncheck.point.constructs import per_param, uphill
from nncheck.point.context import Ctx, Pin

PARAMS = ("weights", "biases")


def _squares(value) -> bool:
    """``g ** 2``, ``np.square(g)`` or ``g * g`` anywhere in ``value``."""
    for n in ast.walk(value):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and const_value(n.right) == 2:
            return True
        if isinstance(n, ast.Call) and last_name(n) == "square":
            return True
        if (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and not isinstance(n.left, ast.Constant)
                and ast.dump(n.left) == ast.dump(n.right)):
            return True
    return False


def _accumulators(ctx: Ctx):
    """``(order, {attr: [(fn, stmt, conditional)]})``: the attributes ``backward`` (with the helpers it
    calls) assigns from a squared gradient, with every assignment of them there."""
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return [], {}
    order = ctx.flatten(fn)
    assigned: dict = {}
    for f, s, cond, _ in order:
        if isinstance(s, (ast.Assign, ast.AugAssign)):
            for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                attr = f.self_attr(t)
                if attr and attr not in PARAMS:
                    assigned.setdefault(attr, []).append((f, s, cond))
    return order, {a: st for a, st in assigned.items() if any(_squares(s.value) for _, s, _ in st)}


def rule_missing_sqrt(ctx: Ctx):
    """The division, in each parameter's update, by the accumulator with no root taken of it."""
    order, acc = _accumulators(ctx)
    if not acc:
        return []
    tracer = ctx.tracer((*PARAMS, *acc), None, order)

    def is_root(f, n):
        return (isinstance(n, ast.Call) and last_name(n) in SQRT) or (
            isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and const_value(n.right) == 0.5)

    def divides_by_accumulator(f, n):
        if not (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)):
            return False
        den = tracer.trace(f, n.right)
        return any(f2.self_attr(x) in acc for f2, x in den.nodes) and not den.find(is_root)

    return per_param(ctx, PARAMS, divides_by_accumulator, (*PARAMS, *acc))


def rule_no_accumulation(ctx: Ctx):
    """The line that sets the accumulator without its old value (``G = g**2``, or a reset to zeros)."""
    _, acc = _accumulators(ctx)
    cands = {}
    for attr, stmts in acc.items():
        for f, s, cond in stmts:
            if cond or not isinstance(s, ast.Assign):
                continue
            if not any(f.self_attr(n) == attr for n in ast.walk(s.value)):
                cands[(id(f.node), s.lineno)] = Pin(f, s.lineno)
    return list(cands.values()) if 0 < len(cands) <= 2 else []


def rule_wrong_sign(ctx: Ctx):
    """``W = W + lr * g / ...``: the update that adds a step free of any sign flip."""
    return uphill(ctx, PARAMS, PARAMS)


DIAGNOSES = [
    Diagnosis("adagrad-missing-sqrt", "AdaGrad divides by the summed squares, not their root",
              "{cls}.backward", rule_missing_sqrt),
    Diagnosis("adagrad-no-accumulation", "AdaGrad forgets the squared gradients of earlier steps",
              "{cls}.backward", rule_no_accumulation),
    Diagnosis("adagrad-wrong-sign", "AdaGrad steps up the gradient", "{cls}.backward", rule_wrong_sign),
    Diagnosis("adagrad-grad-input-after-update", "AdaGrad's backward returns the gradient of the updated "
              "weights", "{cls}.backward", None),
]
