"""Dense's diagnoses: titles, and where pointing finds them.

The pointers here are shared with the option families built on ``Dense``
(``xavier`` and the optimizers import :data:`PARAMS` and the initialisation
pointers). The five mistakes of ``backward`` that an option class inherits with it
are declared ``inherited``: the report then says to fix them once, in ``Dense``.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import UNIFORM01, MATMUL, const_value, dotted, keyword_arg, last_name
from nncheck.point.constructs import (div_by_batch, init_value, never_assigned, only_return, per_param,
                                      return_slice, rule_top_sign, step_term, uphill)
from nncheck.point.context import Ctx, Pin, one_line
from nncheck.point.slicing import Slice, Tracer, attr_sinks


PARAMS = ("weights", "biases")
"""A Dense layer's parameters: the attributes its update assigns, and which a check sets itself."""

GRAD_INPUT_POINTER = only_return("{cls}.backward")
"""dense.backward.input's own pointer (``Check.pointer``): a wrong grad_input made on backward's only
return line, all of it (``return grad_output``)."""


def _near(a, b, tol=0.02) -> bool:
    return a is not None and b is not None and abs(a - b) <= tol * max(abs(b), 1e-12)


def _params_from_scales(ctx: Ctx, target: float | None = None, sign=False):
    """Which of weights and biases the verdict's evidence says are wrong (both when it says nothing)."""
    sw, sb = ctx.scale("dW_scale"), ctx.scale("db_scale")
    if sw is None and sb is None:
        return list(PARAMS)
    out = []
    for attr, s in (("weights", sw), ("biases", sb)):
        if s is None:
            continue
        if (sign and _near(s, -1.0)) or (target is not None and _near(s, target)):
            out.append(attr)
    return out or list(PARAMS)


def rule_divided_by_batch(ctx: Ctx):
    b = ctx.batch()
    attrs = _params_from_scales(ctx, 1.0 / b if b else None)
    return per_param(ctx, attrs, lambda fn, n: div_by_batch(fn, n), PARAMS)


def rule_bias_mean(ctx: Ctx):
    return per_param(ctx, ["biases"], lambda fn, n: div_by_batch(fn, n), PARAMS)


def rule_update_sign(ctx: Ctx):
    return uphill(ctx, _params_from_scales(ctx, sign=True), PARAMS)


def _message_params(ctx: Ctx):
    m = ctx.message
    if "weights and biases" in m or ("weights" in m and "biases" in m):
        return list(PARAMS)
    if "weights" in m:
        return ["weights"]
    if "biases" in m:
        return ["biases"]
    return list(PARAMS)


def _local_updates(ctx: Ctx, attrs, entry="{cls}.backward"):
    """Lines that compute a parameter's new value into a local name that goes nowhere."""
    fn = ctx.entry(entry)
    if fn is None:
        return []
    order = ctx.flatten(fn)
    pins = []
    for attr in attrs:
        if attr_sinks(order, attr):
            continue   # the attribute is assigned: the problem is elsewhere
        cands = []
        for sfn, s, _, sargs in order:
            if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                name, arith = s.target.id, True
            elif (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                name, arith = s.targets[0].id, isinstance(s.value, ast.BinOp)
            else:
                continue
            if not arith:
                continue
            reads = [n for n in sfn.body_nodes() if isinstance(n, ast.Name) and n.id == name
                     and isinstance(n.ctx, ast.Load)]
            if reads:
                continue   # the new value is used (returned, stored elsewhere): not this construct
            sl = ctx.tracer((), None, order).trace(sfn, s.value if isinstance(s, ast.Assign) else s, None, sargs)
            if isinstance(s, ast.AugAssign):
                Tracer(ctx.code)._name(sfn, name, s, sargs, sl, 0)
            if any(sfn2.self_attr(n) == attr for sfn2, n in sl.nodes):
                cands.append((sfn, s))
        pins += one_line(cands)
    return pins


def rule_params_not_updated(ctx: Ctx):
    attrs = _message_params(ctx)
    # a new value computed into a local; else ``self.b = self.b`` (or the template's ``pass``)
    return _local_updates(ctx, attrs) or never_assigned(attrs, "{cls}.backward")(ctx)


def rule_learning_rate(ctx: Ctx):
    """A literal step size (``0.1 * dW``) in a parameter's update."""
    pins = []
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return pins
    order = ctx.flatten(fn)
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            continue
        k = sinks[0]
        op, term = step_term(k.fn, k.stmt, attr)
        if term is None:
            continue
        sl = ctx.tracer(PARAMS, None, order).trace(k.fn, term, None, k.args)
        lits = sl.find(lambda f, n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and any(
            const_value(x) not in (None, 1, 2, -1) for x in (n.left, n.right)))
        pins += one_line(lits)
    return pins


def rule_grad_input_after_update(ctx: Ctx):
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return []
    order = ctx.flatten(fn)
    position = {}
    for i, (sfn, s, _, _) in enumerate(order):
        position.setdefault((id(sfn.node), id(s)), i)
    updates = [position[(id(k.fn.node), id(k.stmt))] for k in attr_sinks(order, "weights")]
    if not updates:
        return []
    first = min(updates)
    sl = Slice()
    tr = ctx.tracer(PARAMS, None, order)
    for ret in fn.returns(ctx.mode()):
        tr.trace(fn, ret.value, None, None, sl)
    cands = []
    for rfn, n in sl.nodes:
        if rfn.self_attr(n) == "weights" and isinstance(n.ctx, ast.Load):
            st = rfn.stmt_of(n)
            p = position.get((id(rfn.node), id(st)))
            if p is not None and p > first:
                cands.append((rfn, n))
    return one_line(cands)


def _is_matmul(fn, n) -> bool:
    return (isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)) or (
        isinstance(n, ast.Call) and last_name(n) in MATMUL)


def rule_forward_missing_bias(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.forward", PARAMS)
    if sl is None or not sl.complete:
        return []
    attrs = {f.self_attr(n) for f, n in sl.nodes} - {None}
    if attrs - {"weights"}:
        return []
    return one_line(sl.find(_is_matmul))


def rule_forward_transposed(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.forward", PARAMS)
    if sl is None:
        return []

    def transposed(f, n):
        if isinstance(n, ast.Attribute) and n.attr == "T" and f.self_attr(n.value) == "weights":
            return True
        if isinstance(n, ast.Call) and last_name(n) in ("transpose", "swapaxes"):
            return any(f.self_attr(x) == "weights" for x in [*n.args, getattr(n.func, "value", None)])
        return False
    return one_line(sl.find(transposed))


def _whole_on_one_line(found):
    """The sink's line, when everything that computes the value is written on it."""
    if found is None:
        return []
    sfn, s, sl = found
    if not sl.complete:
        return []
    lines = {(id(f.node), ln) for f, ln in sl.lines()}
    return [Pin(sfn, s.lineno)] if lines == {(id(sfn.node), s.lineno)} else []


def rule_init_weights_scale(ctx: Ctx):
    return _whole_on_one_line(init_value(ctx, "weights"))


def rule_init_bias(ctx: Ctx):
    """Biases must start at zero: the assignment that leaves them their initial value is the line."""
    found = init_value(ctx, "biases")
    return [] if found is None else [Pin(found[0], found[1].lineno)]


def rule_init_not_centered(ctx: Ctx):
    found = init_value(ctx, "weights")
    if found is None:
        return []

    def uniform01(f, n):
        if not isinstance(n, ast.Call):
            return False
        if last_name(n) in UNIFORM01 and "random" in dotted(n.func):
            return True
        if last_name(n) == "uniform":
            low = keyword_arg(n, "low") or (n.args[0] if n.args else None)
            return low is None or (const_value(low) is not None and const_value(low) >= 0)
        return False
    return one_line(found[2].find(uniform01))


DIAGNOSES = [
    Diagnosis("dense-grad-divided-by-batch", "Dense gradient divided by the batch size a second time",
              "{cls}.backward", rule_divided_by_batch, inherited=True),
    Diagnosis("dense-bias-grad-mean", "Bias gradient averaged instead of summed",
              "{cls}.backward", rule_bias_mean, inherited=True),
    Diagnosis("dense-update-sign", "Parameters move up the gradient (wrong sign)",
              "{cls}.backward", rule_update_sign, inherited=True),
    Diagnosis("dense-params-not-updated", "Weights and biases are never updated",
              "{cls}.backward", rule_params_not_updated, inherited=True),
    Diagnosis("dense-learning-rate-ignored", "The layer's learning rate is ignored",
              "{cls}.backward", rule_learning_rate),
    Diagnosis("dense-grad-input-after-update", "grad_input computed with the already-updated weights",
              "{cls}.backward", rule_grad_input_after_update, inherited=True),
    Diagnosis("dense-grad-input-sign", "Dense input gradient has the wrong sign", "{cls}.backward",
              rule_top_sign("{cls}.backward")),
    Diagnosis("dense-forward-missing-bias", "Dense forward forgets the bias",
              "{cls}.forward", rule_forward_missing_bias),
    Diagnosis("dense-forward-transposed-weights", "Dense forward uses the transposed weights",
              "{cls}.forward", rule_forward_transposed),
    Diagnosis("dense-init-scale", "Initial weights have the wrong scale",
              "{cls}.__init__", rule_init_weights_scale),
    Diagnosis("dense-init-not-centered", "Initial weights are not centred on zero",
              "{cls}.__init__", rule_init_not_centered),
    Diagnosis("dense-init-bias", "Biases do not start at zero", "{cls}.__init__", rule_init_bias),
]
